"""A quantized copy of a trained pipeline: its SpanBERT encoders set to int8, saved.

The setting is the encoders' own (`quantization`), so the copy is an ordinary spaCy
pipeline: `spacy.load` reads the setting from its config and the int8 weights from
its files, and `nlp.to_disk` writes them back as they are. The trained pipeline is
saved and loaded again with the int8 setting; given calibration texts, its encoders'
inputs are smoothed first (`smoothing.py`: the same outputs in full precision), for
the ranges each Linear sees while the pipeline runs over the texts.
"""

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
    nlp = spacy.load(model)
    paths = encoder_setting_paths(nlp.config)
    if not paths:
        raise ValueError(f"{model} has no SpanBERT encoder to quantize.")
    if calibration_texts:
        smooth_encoders(nlp, calibration_texts)
    with make_tempdir() as temp_dir:
        nlp.to_disk(temp_dir)
        overrides = {f"{path}.quantization": quantization for path in paths}
        return spacy.load(temp_dir, config=overrides)


def smooth_encoders(nlp: Language, texts: Sequence[str]) -> None:
    """Smooth the inputs of every SpanBERT encoder's int8 Linears for the ranges
    they see on `texts` (one pass of the pipeline)."""
    transformers = list(_encoder_transformers(nlp))
    linears = {
        (i, name): linear
        for i, transformer in enumerate(transformers)
        for name, linear in int8_linears(transformer)
    }

    def run() -> None:
        with torch.no_grad():
            for _ in nlp.pipe(texts):
                pass

    maxima = input_maxima(linears, run)
    for i, transformer in enumerate(transformers):
        smooth(transformer, {name: x_max for (j, name), x_max in maxima.items() if j == i})


def _encoder_transformers(nlp: Language) -> Iterator[torch.nn.Module]:
    """The torch module of each loaded SpanBERT encoder in the pipeline, once."""
    seen = set()
    for _, pipe in nlp.pipeline:
        for node in pipe.model.walk() if hasattr(pipe, "model") else []:
            if isinstance(node, SpanBertTransformerModel) and node.attrs["has_transformer"]:
                if id(node) not in seen:
                    seen.add(id(node))
                    shim = node.wrapper.shims[0]
                    assert isinstance(shim, PyTorchShim)
                    yield shim_torch_model(shim)


def _encoder_blocks(block: Any, path: str) -> Iterator[str]:
    if not isinstance(block, dict):
        return
    if block.get("@architectures") in (ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE):
        yield path
        return
    for key, value in block.items():
        yield from _encoder_blocks(value, f"{path}.{key}")
