"""spacy-transformers' HFShim with the weights serialized as safetensors, not pickle,
updated in place, and optionally quantized to int8 for CPU inference.

HFShim saves the state dict with `torch.save` and reads it back with `torch.load`,
which unpickles. Here the weights are written and read with safetensors, which holds
only tensors; config and tokenizer files travel as before (JSON and text). The model
is rebuilt as a BertModel, the one architecture this package loads, so no code named
in a saved file is ever run.

thinc's `PyTorchShim.finish_update` sets each `parameter.data` to a tensor made from
the optimizer's array, which is a view of the previous tensor: each update adds one
link per parameter to a chain of tensors that is never freed (on MiniLM about 100
Python tensors and 100 KiB per update, for as long as training runs). The optimizer
has already written the new values into the parameter's memory, through the view;
here the parameter keeps its tensor. (Copying into it instead would bump its autograd
version and break a shared encoder: spaCy steps the encoder before its listeners
backpropagate through it.)

With `quantization = "int8"` the shim quantizes the transformer when it gets its
weights (`quantization.py`), saves the int8 weights as they are, and refuses to train.
"""

from pathlib import Path
from typing import Any, Dict, Optional, cast

import srsly
import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from spacy.util import SimpleFrozenDict, make_tempdir
from thinc.api import ArgsKwargs, Optimizer, get_torch_default_device, torch2xp, xp2torch
from thinc.types import FloatsXd
from transformers import BertConfig, BertModel, BertTokenizer, BertTokenizerFast

from ..compat import (
    HFObjects,
    HFShim,
    hf_init_configs,
    set_shim_hf_objects,
    shim_grad_scaler,
    shim_hf_objects,
    shim_torch_model,
)
from ..pipe_files import SavedConfigMismatch
from .quantization import (
    QuantizedEncoderError,
    is_quantized,
    load_quantized_state,
    quantize_encoder,
    quantized_state,
    validate_quantization,
)
from .smoothing import restore_smoothing

WEIGHTS_FORMAT = "safetensors"


class EncoderShim(HFShim):
    def __init__(
        self,
        model: HFObjects,
        *,
        mixed_precision: bool = False,
        grad_scaler_config: Optional[Dict[str, Any]] = None,
        quantization: Optional[str] = None,
    ) -> None:
        validate_quantization(quantization)
        if quantization is not None and mixed_precision:
            raise ValueError(
                "The encoder is set to both mixed_precision (GPU fp16) and "
                f"quantization = {quantization!r} (CPU int8): choose one."
            )
        super().__init__(
            model, mixed_precision=mixed_precision, grad_scaler_config=grad_scaler_config or {}
        )
        self.mixed_precision = mixed_precision
        self.quantization = quantization

    def predict(self, inputs: ArgsKwargs) -> Any:
        """thinc's `predict` without its two walks over every module on each call
        (`eval()`, then `train()` again), a tenth of the time of annotating one short
        text: the encoder goes to eval mode once, when prediction follows training, and
        back to train mode in `begin_update`, where thinc sets it."""
        model = shim_torch_model(self)
        if model.training:
            model.eval()
        with torch.no_grad(), torch.autocast("cuda", enabled=self.mixed_precision):
            return model(*inputs.args, **inputs.kwargs)

    def apply_quantization(self, transformer: torch.nn.Module) -> None:
        """Quantize full-precision weights just loaded, in place, if the encoder is
        set to run quantized."""
        if self.quantization is not None:
            quantize_encoder(transformer)

    def begin_update(self, inputs: ArgsKwargs) -> Any:
        if self.quantization is not None:
            raise QuantizedEncoderError(
                f"This encoder is quantized to {self.quantization} for inference and "
                "cannot be trained. Train the full-precision pipeline and quantize "
                "the trained one (`python -m spacy_spanbert quantize`), or set the "
                "encoder's quantization = null."
            )
        return super().begin_update(inputs)

    def finish_update(self, optimizer: Optimizer) -> None:
        """thinc's update step (skipped where mixed precision found an overflow). The
        optimizer steps the parameter's own memory in place (numpy or cupy, through a
        view), so the parameter is only given a new tensor when it returns new memory."""
        grad_scaler = shim_grad_scaler(self)
        for name, parameter in shim_torch_model(self).named_parameters():
            if parameter.grad is None:
                continue
            if not grad_scaler.found_inf:
                weights, _ = optimizer(
                    (self.id, name),
                    cast(FloatsXd, torch2xp(parameter.data)),
                    cast(FloatsXd, torch2xp(parameter.grad)),
                )
                updated = xp2torch(weights, device=parameter.device)
                if updated.data_ptr() != parameter.data.data_ptr():
                    parameter.data = updated
            parameter.grad.zero_()
        grad_scaler.update()

    def to_bytes(self) -> bytes:
        hf_model = shim_hf_objects(self)
        if hf_model.transformer is None:
            tokenizer_config, transformer_config = hf_init_configs(hf_model)
            return srsly.msgpack_dumps(
                {
                    "config": {},
                    "_init_tokenizer_config": tokenizer_config,
                    "_init_transformer_config": transformer_config,
                }
            )
        tokenizer = hf_model.tokenizer
        files: Dict[str, bytes] = {}
        with make_tempdir() as temp_dir:
            tokenizer.save_pretrained(str(temp_dir))
            for path in temp_dir.glob("**/*"):
                if path.is_file():
                    files[path.name] = path.read_bytes()
        if hf_model.vocab_file_contents is not None:
            files["vocab.txt"] = hf_model.vocab_file_contents
        transformer = hf_model.transformer
        quantized = is_quantized(transformer)
        if quantized:
            state = quantized_state(transformer)
        else:
            state = {name: t.contiguous() for name, t in transformer.state_dict().items()}
        return srsly.msgpack_dumps(
            {
                "config": transformer.config.to_dict(),
                "tokenizer": files,
                "use_fast": tokenizer.is_fast,
                "weights_format": WEIGHTS_FORMAT,
                "quantization": self.quantization if quantized else None,
                "state": save_safetensors(state),
            }
        )

    def from_bytes(self, bytes_data: bytes) -> "EncoderShim":
        msg = srsly.msgpack_loads(bytes_data)
        if not msg["config"]:
            set_shim_hf_objects(
                self,
                HFObjects(
                    None,
                    None,
                    None,
                    msg["_init_tokenizer_config"],
                    msg["_init_transformer_config"],
                ),
            )
            return self
        if msg.get("weights_format") != WEIGHTS_FORMAT:
            raise ValueError(
                f"The encoder's weights are not in {WEIGHTS_FORMAT} format: the "
                "pipeline was saved by spacy-transformers' own serialization (a torch "
                "pickle), which spacy-spanbert does not unpickle. Train or save it "
                "again with this version of spacy-spanbert."
            )
        config = BertConfig.from_dict(msg["config"])
        tokenizer = _tokenizer_from_files(msg["tokenizer"], msg["use_fast"])
        with torch.device(get_torch_default_device()):
            transformer = BertModel(config)
        state = load_safetensors(msg["state"])
        saved_quantization = msg.get("quantization")
        if saved_quantization is None:
            restore_smoothing(transformer, state)
            transformer.load_state_dict(state)
            self.apply_quantization(transformer)
        elif saved_quantization == self.quantization:
            load_quantized_state(transformer, state)
        else:
            raise SavedConfigMismatch(
                f"The encoder was saved quantized to {saved_quantization}, and its "
                f"config says quantization = {self.quantization!r}: the full-precision "
                "weights are not in this pipeline. Load the pipeline it was quantized "
                "from, or keep its quantization setting."
            )
        set_shim_hf_objects(
            self,
            HFObjects(
                tokenizer,
                transformer,
                msg["tokenizer"].get("vocab.txt"),
                SimpleFrozenDict(),
                SimpleFrozenDict(),
            ),
        )
        return self


def _tokenizer_from_files(files: Dict[str, bytes], use_fast: bool) -> Any:
    tokenizer_cls = BertTokenizerFast if use_fast else BertTokenizer
    with make_tempdir() as temp_dir:
        for name, data in files.items():
            Path(temp_dir / name).write_bytes(data)
        return tokenizer_cls.from_pretrained(str(temp_dir))
