"""A span's hidden vector from SpanBERT's boundary representation, through the
per-token projections: what spancat's reducers compute, without a feature row or a
copy of the span's tokens per candidate.

spaCy's spancat extracts every candidate's tokens (a copy per span) and reduces them.
Here the model gets the doc's token vectors and the candidates' [start, end) rows;
`project_span_boundaries` maps [x_start; x_end; (head;) width] through a maxout layer
(the pieces of every unit projected per token, gathered per span), then a LayerNorm.
The maxout and LayerNorm layers are sublayers: they hold the weights.
"""

from typing import Callable, Optional, Tuple, cast

from thinc.api import LayerNorm, Maxout, Model
from thinc.types import Floats2d, Floats3d, Ints2d

from .span_boundary import project_span_boundaries
from .span_rows import TokensAndSpans

MAXOUT_PIECES = 3


def span_boundary_reducer(
    features: Model[TokensAndSpans, Floats2d], hidden_size: int
) -> Model[TokensAndSpans, Floats2d]:
    """features >> Maxout(hidden_size, 3 pieces) >> LayerNorm, computed by projection.

    features: `span_boundary_features`, whose output the maxout layer takes.
    """
    maxout = Maxout(nO=hidden_size, nP=MAXOUT_PIECES)
    norm = LayerNorm(nI=hidden_size)
    return Model(
        "span_boundary_reducer",
        forward,
        init=init,
        layers=[features, maxout, norm],
        refs={"features": features, "maxout": maxout, "norm": norm},
        dims={"nO": hidden_size},
    )


def init(
    model: Model[TokensAndSpans, Floats2d],
    X: Optional[TokensAndSpans] = None,
    Y: Optional[Floats2d] = None,
) -> None:
    features, maxout, norm = model.layers
    features.initialize(X=X)
    sample = features.predict(X) if X is not None else None
    maxout.initialize(X=sample)
    norm.initialize(X=maxout.predict(sample) if sample is not None else None)


def forward(
    model: Model[TokensAndSpans, Floats2d], inputs: TokensAndSpans, is_train: bool
) -> Tuple[Floats2d, Callable]:
    ops = model.ops
    features, maxout, norm = model.layers
    X, spans = inputs
    nO, nP = maxout.get_dim("nO"), maxout.get_dim("nP")
    W = cast(Floats3d, maxout.get_param("W"))
    b = cast(Floats2d, maxout.get_param("b"))
    H, backprop_projection = project_span_boundaries(
        features, X, spans, ops.reshape2f(W, nO * nP, W.shape[2]), is_train
    )
    H += ops.reshape1f(b, nO * nP)
    best, which = ops.maxout(ops.reshape3f(H, H.shape[0], nO, nP))
    Y, backprop_norm = norm(best, is_train)

    def backprop(dY: Floats2d) -> Tuple[Floats2d, Ints2d]:
        d_pieces = ops.backprop_maxout(backprop_norm(dY), which, nP)
        dH = ops.reshape2f(d_pieces, d_pieces.shape[0], nO * nP)
        dX, dW = backprop_projection(dH)
        maxout.inc_grad("W", ops.reshape3f(dW, nO, nP, dW.shape[1]))
        maxout.inc_grad("b", ops.reshape2f(dH.sum(axis=0), nO, nP))
        return dX, spans

    return Y, backprop
