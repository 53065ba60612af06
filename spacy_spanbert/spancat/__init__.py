"""`spanbert_spancat`: spaCy's span categorizer on SpanBERT's boundary representation,
learning rare labels from the start."""

from .component import SpanBertSpanCategorizer, make_spanbert_spancat

__all__ = ["SpanBertSpanCategorizer", "make_spanbert_spancat"]
