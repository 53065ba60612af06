from .encoder import SpanBertTransformerModel
from .span_boundary import span_boundary_features
from .span_chunks import in_span_chunks
from .span_rows import doc_spans_to_rows, ragged_to_rows
from .span_scorer import span_scorer

__all__ = [
    "SpanBertTransformerModel",
    "span_boundary_features",
    "in_span_chunks",
    "doc_spans_to_rows",
    "ragged_to_rows",
    "span_scorer",
]
