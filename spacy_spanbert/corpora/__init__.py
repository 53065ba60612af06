"""Corpora to spaCy Docs: CoNLL-style IOB files and nested-span JSON lines, their counts,
document layouts, splits and span widths, and the document-chunk augmenter."""

from .counts import CorpusCounts
from .documents import LAYOUTS, as_documents, layout_docs
from .errors import CorpusFormatError
from .iob import read_iob_docs, tags_to_spans
from .nested import outermost_spans, read_nested_docs
from .split import split_by_document

__all__ = [
    "LAYOUTS",
    "as_documents",
    "layout_docs",
    "CorpusCounts",
    "CorpusFormatError",
    "outermost_spans",
    "read_iob_docs",
    "read_nested_docs",
    "split_by_document",
    "tags_to_spans",
]
