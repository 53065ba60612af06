"""What this package's span components (`spanbert_ner`, `spanbert_spancat`) share:
the `SpanPipe` core, candidate spans within sentences, gold spans found among them,
label priors, the decision of which spans are written, and threshold search."""

from .base import Predictions, SpanPipe
from .decisions import KeptSpans
from .suggesters import build_sentence_ngram_suggester, sentence_ngram_suggester

__all__ = [
    "KeptSpans",
    "Predictions",
    "SpanPipe",
    "build_sentence_ngram_suggester",
    "sentence_ngram_suggester",
]
