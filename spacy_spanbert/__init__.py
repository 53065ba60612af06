"""SpanBERT for spaCy: a shared encoder, span-based NER and spancat span representations."""

from . import architectures, legacy
from .corpora import document_chunks
from .encoder import (
    EncoderLoadError,
    SpanBertTransformer,
    UnsupportedEncoderError,
    make_spanbert,
    register_fork_handler,
)
from .ner import SpanBertNER, make_spanbert_ner
from .pipeline import PipelineFileError, build_sentence_ngram_suggester
from .spancat import SpanBertSpanCategorizer, make_spanbert_spancat

__version__ = "0.1.0"

register_fork_handler()

__all__ = [
    "EncoderLoadError",
    "PipelineFileError",
    "SpanBertNER",
    "SpanBertSpanCategorizer",
    "SpanBertTransformer",
    "UnsupportedEncoderError",
    "architectures",
    "build_sentence_ngram_suggester",
    "document_chunks",
    "legacy",
    "make_spanbert",
    "make_spanbert_ner",
    "make_spanbert_spancat",
]
