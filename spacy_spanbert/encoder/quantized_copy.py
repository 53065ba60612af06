"""A quantized copy of a trained pipeline: its SpanBERT encoders set to int8, saved.

The setting is the encoders' own (`quantization`), so the copy is an ordinary spaCy
pipeline: `spacy.load` reads the setting from its config and the int8 weights from
its files, and `nlp.to_disk` writes them back as they are.
"""

from pathlib import Path
from typing import Any, Dict, Iterator, List

import spacy
from spacy.language import Language

from .default_config import ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE
from .quantization import validate_quantization


def encoder_setting_paths(config: Dict[str, Any]) -> List[str]:
    """The dotted config path of every SpanBERT encoder block in a pipeline's
    config (`components.spanbert_ner.model.tok2vec`, ...)."""
    return list(_encoder_blocks(config.get("components", {}), "components"))


def load_quantized(model: str, quantization: str) -> Language:
    """Load a trained pipeline with every SpanBERT encoder set to `quantization`."""
    validate_quantization(quantization)
    config = spacy.util.load_config(Path(model) / "config.cfg") if Path(model).is_dir() else None
    if config is None:
        config = spacy.load(model).config
    paths = encoder_setting_paths(config)
    if not paths:
        raise ValueError(f"{model} has no SpanBERT encoder to quantize.")
    return spacy.load(model, config={f"{path}.quantization": quantization for path in paths})


def _encoder_blocks(block: Any, path: str) -> Iterator[str]:
    if not isinstance(block, dict):
        return
    if block.get("@architectures") in (ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE):
        yield path
        return
    for key, value in block.items():
        yield from _encoder_blocks(value, f"{path}.{key}")
