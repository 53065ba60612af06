"""Label probabilities for each span: boundary features, a layer-normed ReLU layer,
softmax; without a feature row per span.

Building every candidate's feature row and multiplying it by the hidden layer was
most of the span head's time (profiled with MiniLM: 10% of inference on one thread;
5-6% with projections). Prediction and training compute the hidden pre-activations
with `project_span_boundaries` (tokens projected once, spans gathered after, and its
backprop scattering back). The model keeps the feature layer and the layer chain as
its sublayers: they hold the weights, and the tests check that the projected path
computes what the chain computes on the features, forward and backward.
"""

from typing import Callable, Tuple, cast

from thinc.api import Dropout, LayerNorm, Model, Relu, Softmax_v2, chain
from thinc.types import Floats1d, Floats2d, Ints2d

from ..compat import chain_init
from .prediction_only import no_backprop
from .span_boundary import project_span_boundaries
from .span_rows import TokensAndSpans


def span_scorer(
    features: Model[TokensAndSpans, Floats2d], hidden_size: int, dropout: float
) -> Model[TokensAndSpans, Floats2d]:
    """features >> Relu(hidden_size, layer-normed, dropout) >> Softmax.

    features: `span_boundary_features`, whose output the hidden layer takes.
    """
    hidden = Relu(nO=hidden_size)
    norm = LayerNorm(nI=hidden_size)
    output = Softmax_v2()
    # Nested as thinc's Relu(normalize=True, dropout=...) nests them, so the layout
    # matches pipelines saved when this was chain(features, chain(Relu(...), Softmax)).
    dropout_layer: Model[Floats2d, Floats2d] = Dropout(dropout)
    layers = chain(chain(chain(hidden, norm), dropout_layer), output)
    return Model(
        "span_scorer",
        forward,
        init=chain_init,
        layers=[features, layers],
        refs={"hidden": hidden, "norm": norm, "dropout": dropout_layer, "output": output},
        dims={"nO": None, "nI": None},
    )


def forward(
    model: Model[TokensAndSpans, Floats2d], inputs: TokensAndSpans, is_train: bool
) -> Tuple[Floats2d, Callable]:
    features = model.layers[0]
    hidden = model.get_ref("hidden")
    X, spans = inputs
    W = cast(Floats2d, hidden.get_param("W"))
    b = cast(Floats1d, hidden.get_param("b"))
    H, backprop_projection = project_span_boundaries(features, X, spans, W, is_train)
    H = model.ops.relu(H + b)
    if not is_train:
        H = model.get_ref("norm").predict(H)
        return model.get_ref("output").predict(H), no_backprop(model.name)
    Z, backprop_norm = model.get_ref("norm")(H, is_train)
    Z, backprop_dropout = model.get_ref("dropout")(Z, is_train)
    Y, backprop_output = model.get_ref("output")(Z, is_train)

    def backprop(dY: Floats2d) -> Tuple[Floats2d, Ints2d]:
        dZ = backprop_dropout(backprop_output(dY))
        dH = model.ops.backprop_relu(backprop_norm(dZ), H)
        dX, dW = backprop_projection(dH)
        hidden.inc_grad("W", dW)
        hidden.inc_grad("b", dH.sum(axis=0))
        return dX, spans

    return Y, backprop
