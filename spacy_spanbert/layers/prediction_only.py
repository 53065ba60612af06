"""The backprop callback of layers that take a cheaper path when not training."""

from typing import Any, Callable, NoReturn


def no_backprop(layer: str) -> Callable[[Any], NoReturn]:
    """A callback that refuses: the prediction path keeps nothing a gradient needs."""

    def backprop(d_output: Any) -> NoReturn:
        raise ValueError(f"{layer} computes no gradient outside training (is_train=False).")

    return backprop
