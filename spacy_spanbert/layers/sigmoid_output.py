"""Label probabilities for multi-label span classification, trained with binary
cross-entropy.

spaCy's `spacy.LinearLogistic.v1` ends in thinc's `Logistic`, whose backprop
multiplies by the sigmoid's derivative p(1 - p): paired with a loss on the
probabilities, a rare label whose probability starts at its prior (say 0.001) gets
almost no gradient. Here, as thinc's `Softmax_v2` does for softmax, the backprop
takes the gradient of the logits, p - target for binary cross-entropy, so a rare
label learns from its first examples.
"""

from typing import Callable, Optional, Tuple

from thinc.api import Linear, Model, chain, zero_init
from thinc.types import Floats2d

# The `activation` attr the span models read, to know the loss the output pairs with.
SIGMOID, SOFTMAX = "sigmoid", "softmax"


def linear_sigmoid(nO: Optional[int] = None, nI: Optional[int] = None) -> Model[Floats2d, Floats2d]:
    """Linear, then the sigmoid; the backprop takes the gradient of the logits.
    Ref "logits": the Linear layer, whose bias a component may start at the priors.
    Its weights start at zero, as thinc's Softmax_v2 does: the first predictions are
    the bias alone."""
    linear = Linear(nO=nO, nI=nI, init_W=zero_init)
    model = chain(linear, Model("sigmoid_of_logits", _sigmoid_forward))
    model.set_ref("logits", linear)
    model.attrs["activation"] = SIGMOID
    return model


def _sigmoid_forward(
    model: Model[Floats2d, Floats2d], logits: Floats2d, is_train: bool
) -> Tuple[Floats2d, Callable[[Floats2d], Floats2d]]:
    def backprop(d_logits: Floats2d) -> Floats2d:
        return d_logits

    return model.ops.sigmoid(logits), backprop
