"""Annotate corpora with a pipeline: JSON lines or plain text in, JSON lines out."""

from .annotator import annotate_records
from .local_engine import annotate_local
from .records import InputRecord, read_input_files, read_records

__all__ = ["InputRecord", "read_input_files", "read_records", "annotate_records", "annotate_local"]
