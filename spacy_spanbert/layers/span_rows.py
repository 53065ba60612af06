"""Adapters that turn spaCy's span layouts into (token rows, [start, end) rows)."""

from typing import Callable, Tuple

from thinc.api import Model
from thinc.types import Floats2d, Ints2d, Ragged


def doc_spans_to_rows() -> Model[Tuple[Ragged, Ragged], Tuple[Floats2d, Ints2d]]:
    """(token vectors per doc, candidate spans per doc) -> rows into the flat token array.

    Spans come per doc, as spaCy's suggesters give them: (start, end) token offsets.
    """
    return Model("doc_spans_to_rows", _doc_spans_forward)


def _doc_spans_forward(
    model: Model, inputs: Tuple[Ragged, Ragged], is_train: bool
) -> Tuple[Tuple[Floats2d, Ints2d], Callable]:
    xp = model.ops.xp
    tokens, spans = inputs
    doc_offsets = xp.cumsum(tokens.lengths) - tokens.lengths
    span_doc_offsets = xp.repeat(doc_offsets, spans.lengths)
    rows = (spans.dataXd + xp.expand_dims(span_doc_offsets, 1)).astype("int32")

    def backprop(d_outputs: Tuple[Floats2d, Ints2d]) -> Tuple[Ragged, Ragged]:
        return Ragged(d_outputs[0], tokens.lengths), spans

    return (tokens.dataXd, rows), backprop


def ragged_to_rows() -> Model[Ragged, Tuple[Floats2d, Ints2d]]:
    """A ragged array of span token vectors (spaCy's `extract_spans`) -> one row range per span.

    This is the layout a spancat reducer receives.
    """
    return Model("ragged_to_rows", _ragged_forward)


def _ragged_forward(
    model: Model, span_tokens: Ragged, is_train: bool
) -> Tuple[Tuple[Floats2d, Ints2d], Callable]:
    xp = model.ops.xp
    lengths = span_tokens.lengths
    ends = xp.cumsum(lengths)
    rows = xp.stack([ends - lengths, ends], axis=1).astype("int32")

    def backprop(d_outputs: Tuple[Floats2d, Ints2d]) -> Ragged:
        return Ragged(d_outputs[0], lengths)

    return (span_tokens.dataXd, rows), backprop
