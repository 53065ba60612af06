"""What this package's spaCy components share: reading their files with errors that
name the file, and candidate spans that respect sentences."""

from .files import PipelineFileError, component_from_disk
from .suggesters import build_sentence_ngram_suggester, sentence_ngram_suggester

__all__ = [
    "PipelineFileError",
    "build_sentence_ngram_suggester",
    "component_from_disk",
    "sentence_ngram_suggester",
]
