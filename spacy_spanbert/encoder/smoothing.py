"""Input smoothing before int8 (SmoothQuant, Xiao et al. 2023): move each Linear's
input outliers into its weights.

Dynamic quantization gives a Linear's input one scale per batch (and 7 bits on CPUs
without VNNI, where fbgemm reduces the range), so the few hidden channels with large
activations that transformers have leave the others few levels. Dividing input
channel j by s_j and multiplying the weights' column j by s_j leaves the product
unchanged in full precision and evens out the channels that share that scale;
s_j = max|x_j|^α / max|W_j|^(1-α), with max|x_j| from calibration texts.

In BERT each LayerNorm's output is also the next residual, so the division can't be
folded into the LayerNorm (as in pre-LN models): `SmoothedLinear` applies it as one
elementwise product before its Linear, and saves its scales with the weights.
"""

from collections.abc import Callable, Hashable
from typing import Dict, TypeVar

import torch

# Migration strength: 0.75 evened MiniLM's token vectors best on CoNLL-2003 dev text
# (benchmarks/RESULTS.md, CPU inference).
ALPHA = 0.75
INPUT_SCALE = "input_scale"
Key = TypeVar("Key", bound=Hashable)


class SmoothedLinear(torch.nn.Module):
    """A Linear whose input is multiplied by per-channel scales first."""

    input_scale: torch.Tensor

    def __init__(self, linear: torch.nn.Module, input_scale: torch.Tensor) -> None:
        super().__init__()
        self.linear = linear
        self.register_buffer(INPUT_SCALE, input_scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x * self.input_scale)


def input_maxima(
    linears: Dict[Key, torch.nn.Linear], run: Callable[[], None]
) -> Dict[Key, torch.Tensor]:
    """Each Linear's largest absolute input per channel while `run` runs."""
    maxima: Dict[Key, torch.Tensor] = {}

    def recorder(name: Key) -> Callable:
        def record(module: torch.nn.Module, inputs: tuple) -> None:
            x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).abs().amax(0)
            maxima[name] = torch.maximum(maxima[name], x) if name in maxima else x

        return record

    hooks = [linear.register_forward_pre_hook(recorder(name)) for name, linear in linears.items()]
    try:
        run()
    finally:
        for hook in hooks:
            hook.remove()
    return maxima


@torch.no_grad()
def smooth(
    transformer: torch.nn.Module,
    maxima: Dict[str, torch.Tensor],
    alpha: float = ALPHA,
) -> None:
    """Replace each Linear named in `maxima` by a `SmoothedLinear` computing the same
    in full precision, with its input channels evened out."""
    for name, x_max in maxima.items():
        linear = transformer.get_submodule(name)
        assert isinstance(linear, torch.nn.Linear)
        w_max = linear.weight.abs().amax(0).clamp(min=1e-5)
        scale = (x_max.clamp(min=1e-5) ** alpha / w_max ** (1 - alpha)).clamp(min=1e-5)
        linear.weight.mul_(scale[None, :])
        _replace(transformer, name, SmoothedLinear(linear, 1 / scale))


def restore_smoothing(transformer: torch.nn.Module, state: Dict[str, torch.Tensor]) -> None:
    """Before loading `state` into a fresh transformer: wrap the Linears that were
    smoothed when it was saved (their `input_scale` keys), so the keys match."""
    suffix = f".{INPUT_SCALE}"
    for key, input_scale in state.items():
        if key.endswith(suffix):
            name = key[: -len(suffix)]
            linear = transformer.get_submodule(name)
            _replace(transformer, name, SmoothedLinear(linear, torch.ones_like(input_scale)))


def _replace(transformer: torch.nn.Module, name: str, module: torch.nn.Module) -> None:
    parent, _, child = name.rpartition(".")
    setattr(transformer.get_submodule(parent), child, module)
