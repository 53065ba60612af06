"""An int8 encoder for CPU inference: PyTorch's dynamic quantization of the encoder's
Linear layers, and the weights saved so that a quantized pipeline reloads as it was.

Dynamic quantization stores each Linear's weights as int8 with one scale per output
row and quantizes its input per batch; on CPU (fbgemm / oneDNN kernels) that runs the
encoder's matrix products in int8. torchao is PyTorch's maintained successor, but
its CPU int8 kernels need `torch.compile` (eager they ran slower than fp32 here:
benchmarks/RESULTS.md), which a spaCy pipeline cannot count on; `torch.ao`'s dynamic
quantization runs eager on every CPU torch build.

Quantized weights are not plain tensors, so they are saved as their int8 values,
per-row scales and zero points (safetensors holds those) and rebuilt with the same
values on load. Training a quantized encoder is refused: its weights have no
gradients, and the int8 values are fixed.
"""

import warnings
from typing import Dict, Iterator, Optional, Tuple

import torch
from torch.ao.nn.quantized.dynamic import Linear as QuantizedLinear
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

from .smoothing import restore_smoothing

INT8 = "int8"
QUANTIZATIONS = (INT8,)
# The Linears kept in full precision: the feed-forward output projection of every
# layer (`layer.N.output.dense`; not `attention.output.dense`), whose inputs are the
# GELU activations with the widest range, which one scale per batch resolves worst.
FULL_PRECISION_SUFFIX = "output.dense"
ATTENTION_OUTPUT_SUFFIX = "attention.output.dense"


class QuantizedEncoderError(ValueError):
    """A quantized encoder was asked to do what only a full-precision one can."""


def validate_quantization(quantization: Optional[str]) -> None:
    """Refuse an unknown quantization setting, naming the ones there are."""
    if quantization is not None and quantization not in QUANTIZATIONS:
        raise ValueError(
            f"Unknown encoder quantization {quantization!r}: use one of "
            f"{', '.join(repr(q) for q in QUANTIZATIONS)}, or null for full precision."
        )


def is_quantized(transformer: torch.nn.Module) -> bool:
    return any(isinstance(module, QuantizedLinear) for module in transformer.modules())


def quantize_encoder(transformer: torch.nn.Module) -> None:
    """Quantize the transformer's Linear layers to int8 in place (all but the
    feed-forward output projections). CPU only: the kernels have no GPU version."""
    device = next(transformer.parameters()).device
    if device.type != "cpu":
        raise QuantizedEncoderError(
            f"The int8 encoder runs on CPU only, but the encoder is on {device}: "
            "set quantization = null to run it on a GPU."
        )
    names = [name for name, _ in int8_linears(transformer)]
    with warnings.catch_warnings():
        # torch.ao announces its move to torchao on every call (see the docstring).
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        quantize_dynamic(
            transformer,
            {name: per_channel_dynamic_qconfig for name in names},
            dtype=torch.qint8,
            inplace=True,
        )


def quantized_state(transformer: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """The quantized transformer's weights as plain tensors: the full-precision ones
    by their state-dict names, each quantized Linear as `{name}.int8_weight`,
    `.weight_scales`, `.weight_zero_points` and `.bias`."""
    quantized = dict(_quantized_linears(transformer))
    state = {
        name: tensor.contiguous()
        for name, tensor in transformer.state_dict().items()
        if isinstance(tensor, torch.Tensor) and _owner(name) not in quantized
    }
    for name, module in quantized.items():
        weight = module.weight()
        state[f"{name}.int8_weight"] = weight.int_repr().contiguous()
        state[f"{name}.weight_scales"] = weight.q_per_channel_scales().contiguous()
        state[f"{name}.weight_zero_points"] = weight.q_per_channel_zero_points().contiguous()
        state[f"{name}.bias"] = module.bias().contiguous()
    return state


def load_quantized_state(transformer: torch.nn.Module, state: Dict[str, torch.Tensor]) -> None:
    """Load `quantized_state`'s tensors into a full-precision transformer of the same
    config and quantize it in place: the same int8 values, scales and zero points
    (and input smoothing, where it was smoothed)."""
    restore_smoothing(transformer, state)
    names = sorted({key.rsplit(".", 1)[0] for key in state if key.endswith(".int8_weight")})
    plain = {key: value for key, value in state.items() if _owner(key) not in names}
    missing, unexpected = transformer.load_state_dict(plain, strict=False)
    int8_keys = {f"{name}.{part}" for name in names for part in ("weight", "bias")}
    quantize_encoder(transformer)
    quantized = dict(_quantized_linears(transformer))
    if set(missing) != int8_keys or unexpected or sorted(quantized) != names:
        raise ValueError(
            "The saved int8 encoder does not match its config: missing "
            f"{sorted(set(missing) - int8_keys)}, unexpected {unexpected}, int8 layers "
            f"saved {names}, expected {sorted(quantized)}."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for name, module in quantized.items():
            scales = state[f"{name}.weight_scales"]
            zero_points = state[f"{name}.weight_zero_points"]
            int8_weight = state[f"{name}.int8_weight"]
            values = (int8_weight.double() - zero_points[:, None]) * scales[:, None]
            weight = torch.quantize_per_channel(values.float(), scales, zero_points, 0, torch.qint8)
            module.set_weight_bias(weight, state[f"{name}.bias"])


def int8_linears(transformer: torch.nn.Module) -> Iterator[Tuple[str, torch.nn.Linear]]:
    """The full-precision Linears `quantize_encoder` quantizes, by name."""
    for name, module in transformer.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        if name.endswith(FULL_PRECISION_SUFFIX) and not name.endswith(ATTENTION_OUTPUT_SUFFIX):
            continue
        yield name, module


def _quantized_linears(transformer: torch.nn.Module) -> Iterator[Tuple[str, QuantizedLinear]]:
    for name, module in transformer.named_modules():
        if isinstance(module, QuantizedLinear):
            yield name, module


def _owner(key: str) -> str:
    """The module a state-dict key belongs to (`a.b.weight` -> `a.b`; a quantized
    Linear's `a.b._packed_params._packed_params` -> `a.b`)."""
    module = key.rsplit(".", 1)[0]
    return module.removesuffix("._packed_params")
