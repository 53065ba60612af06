"""A quantized copy of a trained pipeline: its SpanBERT encoders set to int8, saved.

The setting is the encoders' own (`quantization`), so the copy is an ordinary spaCy
pipeline: `spacy.load` reads the setting from its config and the int8 weights from
its files, and `nlp.to_disk` writes them back as they are. Given calibration texts,
the encoders' inputs are smoothed first (`smoothing.py`): the pipeline runs over the
texts to find each Linear's input range, is saved smoothed (the same outputs in full
precision) and loaded again with the int8 setting.
"""

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

import spacy
import torch
from spacy.language import Language
from spacy.util import make_tempdir
from thinc.api import PyTorchShim

from ..compat import shim_torch_model
from .default_config import ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE
from .model import SpanBertTransformerModel
from .quantization import int8_linears, validate_quantization
from .smoothing import input_maxima, smooth


def encoder_setting_paths(config: Dict[str, Any]) -> List[str]:
    """The dotted config path of every SpanBERT encoder block in a pipeline's
    config (`components.spanbert_ner.model.tok2vec`, ...)."""
    return list(_encoder_blocks(config.get("components", {}), "components"))


def load_quantized(
    model: str, quantization: str, calibration_texts: Optional[Sequence[str]] = None
) -> Language:
    """Load a trained pipeline with every SpanBERT encoder set to `quantization`;
    with calibration texts, each encoder's inputs smoothed for it first."""
    validate_quantization(quantization)
    config = spacy.util.load_config(Path(model) / "config.cfg") if Path(model).is_dir() else None
    if config is None:
        config = spacy.load(model).config
    paths = encoder_setting_paths(config)
    if not paths:
        raise ValueError(f"{model} has no SpanBERT encoder to quantize.")
    overrides = {f"{path}.quantization": quantization for path in paths}
    if not calibration_texts:
        return spacy.load(model, config=overrides)
    nlp = spacy.load(model)
    smooth_encoders(nlp, calibration_texts)
    with make_tempdir() as temp_dir:
        nlp.to_disk(temp_dir)
        return spacy.load(temp_dir, config=overrides)


def smooth_encoders(nlp: Language, texts: Sequence[str]) -> None:
    """Smooth the inputs of every SpanBERT encoder's int8 Linears for the ranges
    they see on `texts` (one pass of the pipeline)."""
    transformers: Dict[int, torch.nn.Module] = {}
    for _, pipe in nlp.pipeline:
        for node in pipe.model.walk() if hasattr(pipe, "model") else []:
            if isinstance(node, SpanBertTransformerModel) and node.attrs["has_transformer"]:
                shim = node.wrapper.shims[0]
                assert isinstance(shim, PyTorchShim)
                transformers[id(node)] = shim_torch_model(shim)
    linears = {
        (key, name): linear
        for key, transformer in transformers.items()
        for name, linear in int8_linears(transformer)
    }
    flat = {f"{key}/{name}": linear for (key, name), linear in linears.items()}

    def run() -> None:
        with torch.no_grad():
            for _ in nlp.pipe(texts):
                pass

    maxima = input_maxima(flat, run)
    for key, transformer in transformers.items():
        prefix = f"{key}/"
        smooth(
            transformer, {k[len(prefix) :]: v for k, v in maxima.items() if k.startswith(prefix)}
        )


def _encoder_blocks(block: Any, path: str) -> Iterator[str]:
    if not isinstance(block, dict):
        return
    if block.get("@architectures") in (ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE):
        yield path
        return
    for key, value in block.items():
        yield from _encoder_blocks(value, f"{path}.{key}")
