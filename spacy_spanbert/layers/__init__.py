"""Span layers: span rows from spaCy's layouts, boundary features, scoring, chunking."""

from .span_boundary import project_span_boundaries, span_boundary_features
from .span_chunks import in_span_chunks
from .span_rows import TokensAndSpans, doc_spans_to_rows, extract_spans, ragged_to_rows
from .span_scorer import span_scorer

__all__ = [
    "TokensAndSpans",
    "doc_spans_to_rows",
    "extract_spans",
    "in_span_chunks",
    "project_span_boundaries",
    "ragged_to_rows",
    "span_boundary_features",
    "span_scorer",
]
