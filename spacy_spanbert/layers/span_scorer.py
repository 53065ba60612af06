"""Label probabilities for each span: boundary features, a layer-normed ReLU layer,
softmax; at prediction time without a feature row per span.

Profiled with MiniLM (`benchmarks/systems/spacy_pipeline.py profile`), building every
candidate's feature row and multiplying it by the hidden layer was most of the span
head's time: 10% of inference on one thread before, 5-6% after. Prediction
computes the same hidden pre-activations with `project_span_boundaries` (tokens
projected once, spans gathered after); training runs the layers as a chain, whose
backprop is the tested one.
"""

from typing import Callable, Tuple, cast

from thinc.api import Dropout, LayerNorm, Model, Relu, Softmax_v2, chain
from thinc.layers.chain import init as chain_init
from thinc.types import Floats1d, Floats2d

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
    layers = chain(chain(chain(hidden, norm), Dropout(dropout)), output)
    return Model(
        "span_scorer",
        forward,
        init=chain_init,
        layers=[features, layers],
        refs={"hidden": hidden, "norm": norm, "output": output},
        dims={"nO": None, "nI": None},
    )


def forward(
    model: Model[TokensAndSpans, Floats2d], inputs: TokensAndSpans, is_train: bool
) -> Tuple[Floats2d, Callable]:
    features, layers = model.layers
    if is_train:
        Z, backprop_features = features(inputs, is_train)
        Y, backprop_layers = layers(Z, is_train)
        return Y, lambda dY: backprop_features(backprop_layers(dY))
    X, spans = inputs
    hidden = model.get_ref("hidden")
    W = cast(Floats2d, hidden.get_param("W"))
    b = cast(Floats1d, hidden.get_param("b"))
    H = project_span_boundaries(features, X, spans, W) + b
    H = model.get_ref("norm").predict(model.ops.relu(H))
    return model.get_ref("output").predict(H), no_backprop(model.name)
