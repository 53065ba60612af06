"""Annotate corpora with a pipeline: JSON lines or plain text in, JSON lines out."""

from .annotator import annotate_records
from .local_engine import annotate_local

__all__ = ["annotate_records", "annotate_local"]
