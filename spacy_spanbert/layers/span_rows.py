"""Adapters between spaCy's span layouts and (token rows, [start, end) rows).

spaCy hands span models either per-doc token offsets (suggesters) or a ragged array
of each span's token vectors (`extract_spans`, what spancat reducers receive). These
adapters convert between them with whole-array index arithmetic: no loop per span.
"""

from typing import Callable, Tuple, cast

from thinc.api import Model, Ops
from thinc.types import Floats2d, Ints1d, Ints2d, Ragged

# Token vectors, and one [start, end) row of token indices into them per span.
TokensAndSpans = Tuple[Floats2d, Ints2d]


def span_token_indices(ops: Ops, starts: Ints1d, lengths: Ints1d) -> Ints1d:
    """Rows of every token of every span, flat: spans (5, 9), (8, 10) give 5 6 7 8 8 9."""
    xp = ops.xp
    total = int(lengths.sum())
    offsets = xp.cumsum(lengths) - lengths
    within = xp.arange(total, dtype="int32") - xp.repeat(offsets, lengths)
    return (within + xp.repeat(starts, lengths)).astype("int32")


def doc_spans_to_rows() -> Model[Tuple[Ragged, Ragged], TokensAndSpans]:
    """(token vectors per doc, candidate spans per doc) -> rows into the flat token array.

    Spans come per doc, as spaCy's suggesters give them: (start, end) token offsets.
    """
    return Model("doc_spans_to_rows", _doc_spans_forward)


def _flat_span_rows(ops: Ops, tokens: Ragged, spans: Ragged) -> Ints2d:
    xp = ops.xp
    doc_offsets = xp.cumsum(tokens.lengths) - tokens.lengths
    span_doc_offsets = xp.repeat(doc_offsets, spans.lengths)
    return (spans.dataXd + xp.expand_dims(span_doc_offsets, 1)).astype("int32")


def _doc_spans_forward(
    model: Model, inputs: Tuple[Ragged, Ragged], is_train: bool
) -> Tuple[TokensAndSpans, Callable]:
    tokens, spans = inputs
    rows = _flat_span_rows(model.ops, tokens, spans)

    def backprop(d_outputs: TokensAndSpans) -> Tuple[Ragged, Ragged]:
        return Ragged(d_outputs[0], tokens.lengths), spans

    return (_vectors(tokens), rows), backprop


def extract_spans() -> Model[Tuple[Ragged, Ragged], Ragged]:
    """spaCy's `extract_spans` (token vectors per doc, spans per doc -> each span's
    token vectors, ragged), with the gather indices built on the array backend
    instead of a Python loop over spans."""
    return Model("extract_spans", _extract_forward)


def _extract_forward(
    model: Model, inputs: Tuple[Ragged, Ragged], is_train: bool
) -> Tuple[Ragged, Callable]:
    ops = model.ops
    tokens, spans = inputs
    rows = _flat_span_rows(ops, tokens, spans)
    lengths = cast(Ints1d, (rows[:, 1] - rows[:, 0]).astype("int32"))
    indices = span_token_indices(ops, rows[:, 0], lengths)
    X = _vectors(tokens)
    Y = Ragged(X[indices], lengths)

    def backprop(dY: Ragged) -> Tuple[Ragged, Ragged]:
        dX = ops.alloc2f(*X.shape)
        ops.scatter_add(dX, indices, _vectors(dY))
        return Ragged(dX, tokens.lengths), spans

    return Y, backprop


def ragged_to_rows() -> Model[Ragged, TokensAndSpans]:
    """A ragged array of span token vectors (spaCy's `extract_spans`) -> one row range per span.

    This is the layout a spancat reducer receives.
    """
    return Model("ragged_to_rows", _ragged_forward)


def _ragged_forward(
    model: Model, span_tokens: Ragged, is_train: bool
) -> Tuple[TokensAndSpans, Callable]:
    xp = model.ops.xp
    lengths = span_tokens.lengths
    ends = xp.cumsum(lengths)
    rows = xp.stack([ends - lengths, ends], axis=1).astype("int32")

    def backprop(d_outputs: TokensAndSpans) -> Ragged:
        return Ragged(d_outputs[0], lengths)

    return (_vectors(span_tokens), rows), backprop


def _vectors(ragged: Ragged) -> Floats2d:
    """A ragged array's rows: token (or gradient) vectors."""
    return cast(Floats2d, ragged.dataXd)
