"""Annotate corpora with a pipeline: JSON lines or plain text in, JSON lines out."""

from .records import InputRecord, read_input_files, read_records
from .annotator import annotate_records
from .local_engine import annotate_local

__all__ = ["InputRecord", "read_input_files", "read_records", "annotate_records", "annotate_local"]
