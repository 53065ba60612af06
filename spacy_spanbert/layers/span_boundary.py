"""Span representations from boundary tokens, width and an attention-pooled head.

Lee et al. (2017), as used by SpanBERT for coreference: a span from token `s` to
token `e` (inclusive) is `[x_s; x_e; head; width_embedding(e - s + 1)]`, where `head`
is an attention-weighted sum of the span's tokens. SpanBERT's span boundary objective
trained `x_s` and `x_e` to carry what lies between them. Every operation works on
whole arrays of spans through thinc's ops, so it runs on numpy or cupy alike.
"""

from typing import Callable, Optional, Tuple

from thinc.api import Model, Ops, normal_init
from thinc.types import Floats1d, Floats2d, Ints1d, Ints2d

from .span_rows import span_token_indices

InT = Tuple[Floats2d, Ints2d]


def span_boundary_features(
    width_embedding_size: int, max_width: int, with_head: bool = False
) -> Model[InT, Floats2d]:
    """Map (token vectors, spans as [start, end) rows into them) to one vector per span.

    Spans wider than `max_width` share the last width embedding.
    """
    if max_width < 1:
        raise ValueError(f"max_width must be at least 1, got {max_width}.")
    return Model(
        "span_boundary_features",
        forward,
        init=init,
        params={"W": None, "A": None},
        dims={"nI": None, "nO": None, "nW": width_embedding_size, "nV": max_width},
        attrs={"with_head": with_head},
    )


def init(model: Model[InT, Floats2d], X: Optional[InT] = None, Y=None) -> None:
    if X is not None:
        model.set_dim("nI", X[0].shape[1])
    nI = model.get_dim("nI")
    nW = model.get_dim("nW")
    n_vectors = 3 if model.attrs["with_head"] else 2
    model.set_dim("nO", n_vectors * nI + nW)
    model.set_param("W", normal_init(model.ops, (model.get_dim("nV"), nW)))
    # A zero attention vector starts the head as the mean of the span's tokens.
    model.set_param("A", model.ops.alloc1f(nI))


def forward(
    model: Model[InT, Floats2d], inputs: InT, is_train: bool
) -> Tuple[Floats2d, Callable]:
    ops = model.ops
    X, spans = inputs
    W = model.get_param("W")
    starts = spans[:, 0]
    lasts = spans[:, 1] - 1
    lengths = (spans[:, 1] - spans[:, 0]).astype("int32")
    buckets = ops.xp.minimum(lengths, model.get_dim("nV")) - 1
    parts = [X[starts], X[lasts]]
    backprop_head: Optional[Callable] = None
    if model.attrs["with_head"]:
        head, backprop_head = _attention_head(
            ops, model.get_param("A"), X, starts, lengths
        )
        parts.append(head)
    parts.append(W[buckets])
    Y = ops.xp.hstack(parts)
    nI = X.shape[1]

    def backprop(dY: Floats2d) -> Tuple[Floats2d, Ints2d]:
        dX = ops.alloc2f(*X.shape)
        ops.scatter_add(dX, starts, ops.xp.ascontiguousarray(dY[:, :nI]))
        ops.scatter_add(dX, lasts, ops.xp.ascontiguousarray(dY[:, nI : 2 * nI]))
        if backprop_head is not None:
            dA = backprop_head(dX, dY[:, 2 * nI : 3 * nI])
            model.inc_grad("A", dA)
        dW = ops.alloc2f(*W.shape)
        ops.scatter_add(dW, buckets, ops.xp.ascontiguousarray(dY[:, -W.shape[1] :]))
        model.inc_grad("W", dW)
        return dX, spans

    return Y, backprop


def _attention_head(
    ops: Ops, A: Floats1d, X: Floats2d, starts: Ints1d, lengths: Ints1d
) -> Tuple[Floats2d, Callable[[Floats2d, Floats2d], Floats1d]]:
    """Softmax-weighted sum of each span's tokens, weights from a learned vector A."""
    rows = span_token_indices(ops, starts, lengths)
    Xt = X[rows]
    alpha = ops.softmax_sequences(ops.xp.expand_dims(Xt @ A, 1), lengths)
    head = ops.reduce_sum(Xt * alpha, lengths)

    def backprop_head(dX: Floats2d, d_head: Floats2d) -> Floats1d:
        """Add the head's gradient into dX in place; return the gradient of A."""
        d_weighted = ops.backprop_reduce_sum(ops.xp.ascontiguousarray(d_head), lengths)
        d_alpha = (d_weighted * Xt).sum(axis=1, keepdims=True)
        d_logits = ops.backprop_softmax_sequences(d_alpha, alpha, lengths)
        ops.scatter_add(dX, rows, d_weighted * alpha + d_logits * A)
        return (d_logits * Xt).sum(axis=0)

    return head, backprop_head
