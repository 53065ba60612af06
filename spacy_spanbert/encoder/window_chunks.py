"""Run the encoder over a batch's windows in chunks of similar length.

spacy-transformers encodes every window of a batch in one forward pass, padded to
the longest: about 1,040 windows of 128 tokens for one 100k-token doc, whose
attention tensors alone take gigabytes, and for a batch of sentences mostly padding
(CoNLL-2003's sentences have 14 tokens on average and up to 124; attention costs the
square of the padded length). The windows are independent, so they go through in
chunks of `chunk_windows`, shortest first, each cut to its own longest window; the
outputs are padded back and put in batch order. A batch of at most `chunk_windows`
windows in prediction is one pass, as it comes: nothing to sort or merge (batch 1).

In prediction each chunk runs without gradients, so memory is bounded by the chunk.
In training each chunk keeps its graph, and the backward pass runs once over all of
them (one `torch.autograd.backward` through the shim, so gradient scaling for mixed
precision is applied once): the same gradients as one padded pass, without the
compute spent on padding.
"""

from typing import Any, Callable, List, Tuple

import numpy
import torch
from spacy_transformers.data_classes import WordpieceBatch
from thinc.api import ArgsKwargs, Model

from ..compat import pytorch_wrapper_forward
from ..layers.prediction_only import no_backprop

CHUNK_WINDOWS = 16


def window_chunked_forward(
    model: Model, wordpieces: WordpieceBatch, is_train: bool
) -> Tuple[Any, Callable]:
    """thinc's PyTorch wrapper forward (what spacy-transformers' HFWrapper runs), by
    chunks of `model.attrs["chunk_windows"]` windows sorted by length."""
    size = model.attrs["chunk_windows"]
    order = numpy.argsort(numpy.asarray(wordpieces.lengths), kind="stable")
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    if is_train:
        return _train_in_chunks(model, wordpieces, chunks)
    if len(chunks) == 1:
        # One chunk is the whole batch: run it in batch order, with nothing to merge.
        output = pytorch_wrapper_forward(model, wordpieces, False)[0]
        return output, no_backprop("The encoder")
    outputs = [pytorch_wrapper_forward(model, _rows(wordpieces, rows), False)[0] for rows in chunks]
    return _merged(outputs, wordpieces.input_ids.shape[1], chunks), no_backprop("The encoder")


def _train_in_chunks(
    model: Model, wordpieces: WordpieceBatch, chunks: List[numpy.ndarray]
) -> Tuple[Any, Callable]:
    shim = model.shims[0]
    outputs = []
    backprops = []
    for rows in chunks:
        inputs, _ = model.attrs["convert_inputs"](model, _rows(wordpieces, rows), True)
        output, backprop_chunk = shim(inputs, True)
        outputs.append(output)
        backprops.append(backprop_chunk)
    width = wordpieces.input_ids.shape[1]
    with torch.no_grad():
        merged = _merged(outputs, width, chunks)
    positions = torch.as_tensor(numpy.concatenate(chunks))

    def backprop(d_output: Any) -> List:
        # spacy-transformers names the gradients output_0, ...: the first is the last
        # hidden state's, the only output its layers pass a gradient back for.
        d_hidden = next(iter(d_output.values()))
        d_ordered = d_hidden.index_select(0, positions.to(d_hidden.device))
        hidden = [output["last_hidden_state"] for output in outputs]
        grads, start = [], 0
        for tensor in hidden:
            grads.append(d_ordered[start : start + len(tensor), : tensor.shape[1]])
            start += len(tensor)
        # One backward over every chunk's graph, through the first chunk's shim callback.
        backprops[0](ArgsKwargs(args=(tuple(hidden),), kwargs={"grad_tensors": tuple(grads)}))
        return []

    return merged, backprop


def _merged(outputs: List[Any], width: int, chunks: List[numpy.ndarray]) -> Any:
    """The chunks' outputs (in length order) as one batch output in batch order."""
    merged = {
        key: _merge([output[key] for output in outputs], width, chunks) for key in outputs[0].keys()
    }
    return type(outputs[0])(**merged)


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


def _merge(parts: list, width: int, chunks: List[numpy.ndarray]) -> Any:
    """Chunks' outputs as one batch in batch order, wordpiece axes zero-padded to
    `width`: tensors, or tuples of them (e.g. all hidden states). Each chunk is
    written once into its rows of the batch."""
    if isinstance(parts[0], tuple):
        return tuple(_merge(list(layer), width, chunks) for layer in zip(*parts))
    first = parts[0]
    n_rows = sum(len(rows) for rows in chunks)
    if first.dim() == 3:  # (windows, wordpieces, hidden) hidden states
        merged = first.new_zeros((n_rows, width, first.shape[2]))
    elif first.dim() == 4:  # (windows, heads, wordpieces, wordpieces) attentions
        merged = first.new_zeros((n_rows, first.shape[1], width, width))
    else:  # pooled rows: no wordpiece axis
        merged = first.new_zeros((n_rows, *first.shape[1:]))
    for rows, part in zip(chunks, parts):
        index = torch.as_tensor(rows, device=merged.device)
        if part.dim() == 3:
            merged[index, : part.shape[1]] = part
        elif part.dim() == 4:
            merged[index, :, : part.shape[2], : part.shape[3]] = part
        else:
            merged[index] = part
    return merged
