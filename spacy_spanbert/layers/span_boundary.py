"""Span representations from boundary tokens, width and an attention-pooled head.

Lee et al. (2017), as used by SpanBERT for coreference: a span from token `s` to
token `e` (inclusive) is `[x_s; x_e; head; width_embedding(e - s + 1)]`, where `head`
is an attention-weighted sum of the span's tokens. SpanBERT's span boundary objective
trained `x_s` and `x_e` to carry what lies between them. Every operation works on
whole arrays of spans through thinc's ops, so it runs on numpy or cupy alike.
"""

from typing import Callable, Optional, Tuple, cast

from thinc.api import Model, Ops, normal_init
from thinc.types import Floats1d, Floats2d, Ints1d, Ints2d

from ..compat import SOFTMAX_SEQUENCES_CLIP
from .prediction_only import no_backprop
from .span_rows import TokensAndSpans, span_token_indices

# In prediction, spans holding at least this many token rows pool the head by the
# running softmax; fewer (a short text alone) take the gather, whose few array
# operations cost less than the running softmax's steps (crossover ~1,800 rows on CPU).
ONLINE_POOL_MIN_ROWS = 2048


def span_boundary_features(
    width_embedding_size: int, max_span_width: int, with_head: bool
) -> Model[TokensAndSpans, Floats2d]:
    """Map (token vectors, spans as [start, end) rows into them) to one vector per span.

    Spans wider than `max_span_width` share the last width embedding. The head
    (`with_head`) costs a gather over every token of every span, against two rows
    for the boundaries: about max_span_width / 2 times the rows on n-gram candidates.
    """
    if max_span_width < 1:
        raise ValueError(f"max_span_width must be at least 1, got {max_span_width}.")
    return Model(
        "span_boundary_features",
        forward,
        init=init,
        params={"W": None, "A": None},
        dims={"nI": None, "nO": None, "nW": width_embedding_size, "nV": max_span_width},
        attrs={"with_head": with_head},
    )


def init(
    model: Model[TokensAndSpans, Floats2d], X: Optional[TokensAndSpans] = None, Y=None
) -> None:
    if X is not None:
        model.set_dim("nI", X[0].shape[1])
    nI = model.get_dim("nI")
    nW = model.get_dim("nW")
    n_vectors = 3 if model.attrs["with_head"] else 2
    model.set_dim("nO", n_vectors * nI + nW)
    model.set_param("W", normal_init(model.ops, (model.get_dim("nV"), nW)))
    # A zero attention vector starts the head as the mean of the span's tokens.
    model.set_param("A", model.ops.alloc1f(nI))


def _span_positions(
    model: Model[TokensAndSpans, Floats2d], spans: Ints2d
) -> Tuple[Ints1d, Ints1d, Ints1d, Ints1d]:
    """Each span's first token, last token, length and width-embedding row."""
    starts = spans[:, 0]
    lasts = spans[:, 1] - 1
    lengths = cast(Ints1d, (spans[:, 1] - spans[:, 0]).astype("int32"))
    buckets = model.ops.xp.minimum(lengths, model.get_dim("nV")) - 1
    return starts, lasts, lengths, buckets


def forward(
    model: Model[TokensAndSpans, Floats2d], inputs: TokensAndSpans, is_train: bool
) -> Tuple[Floats2d, Callable]:
    ops = model.ops
    X, spans = inputs
    W = cast(Floats2d, model.get_param("W"))
    starts, lasts, lengths, buckets = _span_positions(model, spans)
    parts = [X[starts], X[lasts]]
    backprop_head: Optional[Callable] = None
    if model.attrs["with_head"]:
        A = cast(Floats1d, model.get_param("A"))
        head, backprop_head = _attention_pool(ops, A, X, X, starts, lengths)
        parts.append(head)
    parts.append(W[buckets])
    Y = ops.xp.hstack(parts)
    nI = X.shape[1]
    nW = W.shape[1]

    def backprop(dY: Floats2d) -> Tuple[Floats2d, Ints2d]:
        dX = ops.alloc2f(*X.shape, dtype=X.dtype)
        ops.scatter_add(dX, starts, ops.xp.ascontiguousarray(dY[:, :nI]))
        ops.scatter_add(dX, lasts, ops.xp.ascontiguousarray(dY[:, nI : 2 * nI]))
        if backprop_head is not None:
            model.inc_grad("A", backprop_head(dY[:, 2 * nI : 3 * nI], dX, dX))
        dW = ops.alloc2f(*W.shape, dtype=W.dtype)
        ops.scatter_add(dW, buckets, ops.xp.ascontiguousarray(dY[:, -nW:]))
        model.inc_grad("W", dW)
        return dX, spans

    return Y, backprop


def project_span_boundaries(
    model: Model[TokensAndSpans, Floats2d],
    X: Floats2d,
    spans: Ints2d,
    W: Floats2d,
    is_train: bool = True,
) -> Tuple[Floats2d, Callable[[Floats2d], Tuple[Floats2d, Floats2d]]]:
    """`model((X, spans)) @ W.T` without building the span features, and its backprop.

    A linear map of [x_s; x_e; head; width] is the sum of the maps of its parts, and
    the head is a weighted sum of tokens: so every token is projected once by each
    block of W and each span only gathers and adds rows of nO. That is about
    max_span_width times fewer multiplications than projecting every span's feature
    row. The backprop scatter-adds each span's gradient into the rows of the tokens
    it gathered, then multiplies once per token; it returns the gradients of X and W
    and adds those of the model's width embeddings and attention vector. Outside
    training there is no backprop, and spans holding `ONLINE_POOL_MIN_ROWS` token rows
    or more pool the head without gathering each span's tokens
    (`_online_attention_pool`).
    """
    ops = model.ops
    nI, nO = X.shape[1], W.shape[0]
    starts, lasts, lengths, buckets = _span_positions(model, spans)
    n_vectors = 3 if model.attrs["with_head"] else 2
    # Rows [W_start; W_last; (W_head)], so one product projects every token by each.
    W_blocks = ops.reshape3f(W[:, : n_vectors * nI], nO, n_vectors, nI)
    W_tokens = ops.xp.ascontiguousarray(
        ops.reshape2f(W_blocks.transpose((1, 0, 2)), n_vectors * nO, nI)
    )
    W_width = ops.xp.ascontiguousarray(W[:, n_vectors * nI :])
    P = ops.gemm(X, W_tokens, trans2=True)
    width_embeddings = cast(Floats2d, model.get_param("W"))
    widths = ops.gemm(width_embeddings, W_width, trans2=True)
    Y = P[starts, :nO] + P[lasts, nO : 2 * nO] + widths[buckets]
    backprop_head: Optional[Callable] = None
    if model.attrs["with_head"]:
        A = cast(Floats1d, model.get_param("A"))
        if not is_train and int(lengths.sum()) >= ONLINE_POOL_MIN_ROWS:
            Y += _online_attention_pool(ops, A, X, P[:, 2 * nO :], starts, lengths)
        else:
            head, backprop_head = _attention_pool(ops, A, X, P[:, 2 * nO :], starts, lengths)
            Y += head
    if not is_train:
        return Y, no_backprop("project_span_boundaries")

    def backprop(dY: Floats2d) -> Tuple[Floats2d, Floats2d]:
        dX = ops.alloc2f(*X.shape, dtype=X.dtype)
        # Per block, the gradient of every token's projection: spans scattered back.
        d_start = ops.alloc2f(X.shape[0], nO, dtype=dY.dtype)
        d_last = ops.alloc2f(X.shape[0], nO, dtype=dY.dtype)
        ops.scatter_add(d_start, starts, dY)
        ops.scatter_add(d_last, lasts, dY)
        d_projections = [d_start, d_last]
        if backprop_head is not None:
            d_head = ops.alloc2f(X.shape[0], nO, dtype=dY.dtype)
            model.inc_grad("A", backprop_head(dY, dX, d_head))
            d_projections.append(d_head)
        dP = ops.xp.hstack(d_projections)
        dX += ops.gemm(dP, W_tokens)
        d_blocks = ops.reshape3f(ops.gemm(dP, X, trans1=True), n_vectors, nO, nI)
        d_widths = ops.alloc2f(*widths.shape, dtype=dY.dtype)
        ops.scatter_add(d_widths, buckets, dY)
        model.inc_grad("W", ops.gemm(d_widths, W_width))
        d_width_weights = ops.gemm(d_widths, width_embeddings, trans1=True)
        d_token_weights = ops.reshape2f(d_blocks.transpose((1, 0, 2)), nO, n_vectors * nI)
        return dX, ops.xp.hstack([d_token_weights, d_width_weights])

    return Y, backprop


def _attention_pool(
    ops: Ops, A: Floats1d, X: Floats2d, values: Floats2d, starts: Ints1d, lengths: Ints1d
) -> Tuple[Floats2d, Callable[[Floats2d, Floats2d, Floats2d], Floats1d]]:
    """Each span's sum of its tokens' rows of `values`, weighted by a softmax over its
    tokens of X @ A: the attention-pooled head (values = X), or its projection.

    Each token's logit is computed once and gathered per span, and the gradients of X
    and A come from the per-token sums of the spans' logit gradients: X is gathered
    per span only where it is the values (the unprojected head), not for the logits.
    """
    rows = span_token_indices(ops, starts, lengths)
    token_logits = ops.xp.expand_dims(X @ A, 1)
    alpha = ops.softmax_sequences(ops.xp.ascontiguousarray(token_logits[rows]), lengths)
    Vt = values[rows]
    pooled = ops.reduce_sum(Vt * alpha, lengths)

    def backprop(d_pooled: Floats2d, dX: Floats2d, d_values: Floats2d) -> Floats1d:
        """Add the gradients of X and `values` into dX and d_values in place (they
        may be one array); return the gradient of A."""
        d_weighted = ops.backprop_reduce_sum(ops.xp.ascontiguousarray(d_pooled), lengths)
        d_alpha = (d_weighted * Vt).sum(axis=1, keepdims=True)
        d_logits = ops.backprop_softmax_sequences(d_alpha, alpha, lengths)
        ops.scatter_add(d_values, rows, d_weighted * alpha)
        d_token_logits = ops.alloc2f(X.shape[0], 1, dtype=d_logits.dtype)
        ops.scatter_add(d_token_logits, rows, d_logits)
        dX += d_token_logits * A
        return (d_token_logits * X).sum(axis=0)

    return pooled, backprop


def _online_attention_pool(
    ops: Ops, A: Floats1d, X: Floats2d, values: Floats2d, starts: Ints1d, lengths: Ints1d
) -> Floats2d:
    """What `_attention_pool` computes, for prediction, with one step per span width
    instead of a row per token of every span: each token, as a start, keeps a running
    softmax-weighted sum of the rows of `values` from it onwards (the online softmax
    of flash attention: sums rescaled as the running maximum logit rises), and a span
    of width w reads its start's sums after step w. The steps cost (tokens x widths)
    rows; the gather costs (spans x mean width) rows, about max_span_width / 2 times
    as many on n-gram candidates, and the temporaries they fill.
    """
    xp = ops.xp
    n_tokens = X.shape[0]
    # Clipped as thinc's softmax_sequences clips them in training.
    logits = xp.clip(X @ A, -SOFTMAX_SEQUENCES_CLIP, SOFTMAX_SEQUENCES_CLIP)
    positions = xp.arange(n_tokens)
    running_max = xp.full((n_tokens,), -xp.inf, dtype=logits.dtype)
    total = xp.zeros((n_tokens,), dtype=logits.dtype)
    weighted = xp.zeros((n_tokens, values.shape[1]), dtype=values.dtype)
    pooled = ops.alloc2f(starts.shape[0], values.shape[1], dtype=values.dtype)
    for step in range(int(lengths.max()) if lengths.size else 0):
        # Past the last token the rows are clipped: no span reads those sums.
        token = xp.minimum(positions + step, n_tokens - 1)
        step_logits = logits[token]
        new_max = xp.maximum(running_max, step_logits)
        rescale = xp.exp(running_max - new_max)
        weight = xp.exp(step_logits - new_max)
        total = total * rescale + weight
        weighted = weighted * rescale[:, None] + weight[:, None] * values[token]
        running_max = new_max
        ending = xp.flatnonzero(lengths == step + 1)
        if ending.size:
            at = starts[ending]
            pooled[ending] = weighted[at] / total[at, None]
    return pooled
