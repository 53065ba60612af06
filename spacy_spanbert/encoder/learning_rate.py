"""A slower learning rate for the pretrained encoder than for the task heads.

The heads start from random weights; the encoder is pretrained and is ruined by the
rate a head needs (SpanBERT's own fine-tuning gives task layers 10-20x the encoder's
rate). Heads, ours and spaCy's (`spancat`, `ner`), learn at the optimizer's rate; the
encoder, inline or shared through listeners, at `encoder_lr_scale` times it.
"""

from typing import Tuple, cast

from thinc.api import Model, Optimizer
from thinc.types import FloatsXd

DEFAULT_ENCODER_LR_SCALE = 0.05


class ScaledOptimizer:
    """An optimizer's update with its learning rate multiplied by `scale`.

    Stands in for the optimizer where thinc's `Model.finish_update` and its shims
    call it: they only call it, with a key, the parameter and its gradient.
    """

    def __init__(self, optimizer: Optimizer, scale: float) -> None:
        self.optimizer = optimizer
        self.scale = scale

    def __call__(
        self, key: Tuple[int, str], weights: FloatsXd, gradient: FloatsXd, *, lr_scale: float = 1.0
    ) -> Tuple[FloatsXd, FloatsXd]:
        return self.optimizer(key, weights, gradient, lr_scale=lr_scale * self.scale)


def scaled(optimizer: Optimizer, scale: float) -> Optimizer:
    """`optimizer` stepping at `scale` times its rate, typed as what thinc's
    `Model.finish_update` and spaCy's `update` take (they only call it)."""
    return cast(Optimizer, ScaledOptimizer(optimizer, scale))


def validate_encoder_lr_scale(scale: float, component: str) -> float:
    """Refuse a scale that would freeze or reverse the encoder, when the component is made."""
    if not scale > 0:
        raise ValueError(
            f"'{component}': encoder_lr_scale must be positive, got {scale}. To keep "
            "the encoder fixed, list its component in [training.frozen_components]."
        )
    return scale


def finish_update_scaled(model: Model, sgd: Optimizer, encoder_lr_scale: float) -> None:
    """Step a component's model: its "tok2vec" ref (an inline encoder) at
    `encoder_lr_scale` times the optimizer's rate, every other parameter at the rate.
    A listener's tok2vec has no parameters: its encoder steps with its own component."""
    encoder = model.get_ref("tok2vec")
    encoder.finish_update(scaled(sgd, encoder_lr_scale))
    encoder_ids = {node.id for node in encoder.walk()}
    for node in model.walk():
        if node.id in encoder_ids:
            continue
        for name in node.param_names:
            if node.has_grad(name):
                param, _ = sgd((node.id, name), node.get_param(name), node.get_grad(name))
                node.set_param(name, param)
