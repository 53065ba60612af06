"""SpanBERT for spaCy: a shared encoder, span-based NER and spancat span representations.

spaCy finds the components, architectures and layers through the entry points in
setup.cfg. Importing the package loads nothing else: data conversion and record
reading run without transformers, and the names below load their module when used.
"""

import importlib
from typing import Any, Dict

__version__ = "0.2.0"

# Public name -> the module that defines it.
_PUBLIC: Dict[str, str] = {
    "EncoderLoadError": "encoder.loading",
    "UnsupportedEncoderError": "encoder.loading",
    "SpanBertTransformer": "encoder.component",
    "make_spanbert": "encoder.component",
    "SpanBertNER": "ner.component",
    "make_spanbert_ner": "ner.component",
    "SpanBertSpanCategorizer": "spancat.component",
    "make_spanbert_spancat": "spancat.component",
    "PipelineFileError": "pipe_files",
    "build_sentence_ngram_suggester": "span_pipe.suggesters",
    "UpstreamChanged": "compat",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_PUBLIC[name]}"), name)
