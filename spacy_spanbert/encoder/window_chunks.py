"""Run the encoder over a batch's windows in chunks of similar length at prediction time.

spacy-transformers encodes every window of a batch in one forward pass, padded to
the longest: about 1,040 windows of 128 tokens for one 100k-token doc, whose
attention tensors alone take gigabytes, and for a batch of sentences mostly padding
(CoNLL-2003's test sentences have 14 tokens on average and up to 124). In prediction
the windows are independent, so they go through in chunks, shortest first, each cut
to its own longest window; the outputs are padded back and put in batch order. The
same result, with memory bounded by the chunk and little compute spent on padding.
Training keeps the single pass, which backprop needs.
"""

from typing import Any, Callable, Tuple

import numpy
import torch
from spacy_transformers.data_classes import WordpieceBatch
from thinc.api import Model
from thinc.layers.pytorchwrapper import forward as pytorch_forward

from ..layers.prediction_only import no_backprop

PREDICT_CHUNK_WINDOWS = 16


def window_chunked_forward(
    model: Model, wordpieces: WordpieceBatch, is_train: bool
) -> Tuple[Any, Callable]:
    """thinc's PyTorch wrapper forward (what spacy-transformers' HFWrapper runs), by
    chunks of `model.attrs["predict_chunk_windows"]` windows sorted by length when
    not training."""
    size = model.attrs["predict_chunk_windows"]
    if is_train:
        return pytorch_forward(model, wordpieces, is_train)
    lengths = numpy.asarray(wordpieces.lengths)
    order = numpy.argsort(lengths, kind="stable")
    outputs = [
        pytorch_forward(model, _rows(wordpieces, order[i : i + size]), False)[0]
        for i in range(0, len(order), size)
    ]
    width = wordpieces.input_ids.shape[1]
    batch_order = torch.as_tensor(numpy.argsort(order, kind="stable"))
    merged = {
        key: _merge([output[key] for output in outputs], width, batch_order)
        for key in outputs[0].keys()
    }
    return type(outputs[0])(**merged), no_backprop("The encoder")


def _rows(wordpieces: WordpieceBatch, rows: numpy.ndarray) -> WordpieceBatch:
    """The windows at `rows`, cut to the longest of them."""
    n = int(max(wordpieces.lengths[row] for row in rows))
    return WordpieceBatch(
        strings=[wordpieces.strings[row] for row in rows],
        input_ids=_cut(wordpieces.input_ids, rows, n),
        attention_mask=_cut(wordpieces.attention_mask, rows, n),
        lengths=[wordpieces.lengths[row] for row in rows],
        token_type_ids=_cut(wordpieces.token_type_ids, rows, n),
    )


def _cut(array: Any, rows: numpy.ndarray, n: int) -> Any:
    """The rows of a (windows, wordpieces) array, its first n wordpieces; None stays None."""
    return None if array is None else array[rows, :n]


def _merge(parts: list, width: int, batch_order: torch.Tensor) -> Any:
    """Chunks' outputs as one batch in batch order, wordpiece axes padded to `width`:
    tensors, or tuples of them (e.g. all hidden states)."""
    if isinstance(parts[0], tuple):
        return tuple(_merge(list(layer), width, batch_order) for layer in zip(*parts))
    padded = [_pad_wordpiece_axes(part, width) for part in parts]
    merged = torch.cat(padded)
    return merged.index_select(0, batch_order.to(merged.device))


def _pad_wordpiece_axes(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Zero-pad the wordpiece axes: (windows, wordpieces, hidden) hidden states or
    (windows, heads, wordpieces, wordpieces) attentions; pooled rows have none."""
    if tensor.dim() == 3:
        return torch.nn.functional.pad(tensor, (0, 0, 0, width - tensor.shape[1]))
    if tensor.dim() == 4:
        extra = width - tensor.shape[-1]
        return torch.nn.functional.pad(tensor, (0, extra, 0, extra))
    return tensor
