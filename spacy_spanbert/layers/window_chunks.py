"""Run the encoder over a batch's windows in chunks at prediction time.

spacy-transformers encodes every window of a batch in one forward pass: about 1,040
windows of 128 tokens for one 100k-token doc, whose attention tensors alone take
gigabytes. In prediction the windows are independent, so they go through a chunk at
a time and the outputs are concatenated: the same result, with memory bounded by the
chunk. Training keeps the single pass, which backprop needs.
"""

from typing import Any, Callable, Tuple

import torch
from spacy_transformers.data_classes import WordpieceBatch
from thinc.api import Model
from thinc.layers.pytorchwrapper import forward as pytorch_forward

PREDICT_CHUNK_WINDOWS = 64


def predict_in_window_chunks(wrapper: Model, chunk_size: int = PREDICT_CHUNK_WINDOWS) -> None:
    """Make the HF wrapper layer of a TransformerModel (spacy-transformers' HFWrapper)
    predict `chunk_size` windows at a time. The wrapper stays in place, since
    TransformerModel reaches into its shim; only its forward function changes."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    wrapper.attrs["predict_chunk_windows"] = chunk_size
    wrapper._func = chunked_forward


def chunked_forward(model: Model, wordpieces: WordpieceBatch, is_train: bool) -> Tuple[Any, Callable]:
    """HFWrapper's forward, a chunk of windows at a time when not training."""
    size = model.attrs["predict_chunk_windows"]
    if is_train or len(wordpieces) <= size:
        return pytorch_forward(model, wordpieces, is_train)
    outputs = [
        pytorch_forward(model, wordpieces[i : i + size], False)[0]
        for i in range(0, len(wordpieces), size)
    ]
    merged = {key: _concatenate([output[key] for output in outputs]) for key in outputs[0].keys()}
    return type(outputs[0])(**merged), _no_backprop


def _concatenate(parts: list) -> Any:
    """Along the window axis: tensors, or tuples of them (e.g. all hidden states)."""
    if isinstance(parts[0], tuple):
        return tuple(torch.cat(layer) for layer in zip(*parts))
    return torch.cat(parts)


def _no_backprop(d_output: Any) -> Any:
    raise ValueError("The encoder computes no gradient outside training (is_train=False).")
