"""Score spans in fixed-size chunks at prediction time, so memory stays bounded.

A doc of n tokens has about n * max_span_width candidate spans; scoring them all at
once holds one feature row and one hidden row per candidate: gigabytes for a 100k-token
document. In prediction nothing needs all rows at once, so they go through in chunks,
each with the token rows its spans cover (candidates come in token order). Training
keeps the single pass, which backprop needs.
"""

from typing import Callable, Tuple

from thinc.api import Model
from thinc.types import Floats2d, Ints2d

from .prediction_only import no_backprop
from .span_rows import TokensAndSpans

PREDICT_CHUNK_SPANS = 16384


def in_span_chunks(
    layer: Model[TokensAndSpans, Floats2d], chunk_size: int = PREDICT_CHUNK_SPANS
) -> Model[TokensAndSpans, Floats2d]:
    """Wrap a layer over (token vectors, span rows) to run on `chunk_size` spans at a
    time when not training; the output is the same."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}.")
    return Model(
        f"in_span_chunks({layer.name})",
        forward,
        init=init,
        layers=[layer],
        dims={"nO": None},
        attrs={"chunk_size": chunk_size},
    )


def init(model: Model[TokensAndSpans, Floats2d], X=None, Y=None) -> None:
    layer = model.layers[0]
    layer.initialize(X=X, Y=Y)
    if layer.has_dim("nO"):
        model.set_dim("nO", layer.get_dim("nO"))


def forward(
    model: Model[TokensAndSpans, Floats2d], inputs: TokensAndSpans, is_train: bool
) -> Tuple[Floats2d, Callable]:
    layer = model.layers[0]
    X, spans = inputs
    size = model.attrs["chunk_size"]
    if is_train or spans.shape[0] <= size:
        return layer(inputs, is_train)
    chunks = [_predict_chunk(layer, X, spans[i : i + size]) for i in range(0, spans.shape[0], size)]
    return model.ops.xp.concatenate(chunks), no_backprop(model.name)


def _predict_chunk(layer: Model[TokensAndSpans, Floats2d], X: Floats2d, spans: Ints2d) -> Floats2d:
    """The layer on these spans, given only the token rows they cover: a layer that
    works per token (as span_scorer's projection does) then costs the chunk's tokens,
    not the whole doc's, for every chunk."""
    first, end = int(spans[:, 0].min()), int(spans[:, 1].max())
    return layer.predict((X[first:end], spans - first))
