"""SpanBERT for spaCy: a shared encoder, span-based NER and spancat span representations."""

from . import architectures, suggesters
from .encoder_component import make_spanbert
from .fork_safety import register_fork_handler
from .hf_loading import EncoderLoadError, UnsupportedEncoderError
from .serialization import PipelineFileError
from .ner import SpanBertNER, make_spanbert_ner

__version__ = "0.1.0"

register_fork_handler()

__all__ = [
    "architectures",
    "suggesters",
    "make_spanbert",
    "make_spanbert_ner",
    "SpanBertNER",
    "EncoderLoadError",
    "UnsupportedEncoderError",
    "PipelineFileError",
]
