"""Every private or undocumented name of spacy-transformers and thinc that this package
uses, in one place.

The encoder is spacy-transformers' `TransformerModel` with its own wrapper, shim and
forward, built from the functions spacy-transformers composes its own from; the span
layers reuse two pieces of thinc. None of these names is documented, so an upgrade
may move or change them. Each is reached here only: a name that has gone fails at
import with `UpstreamChanged`, saying which name and which versions this was tested
with, and `tests/test_compat.py` checks each one's behaviour against the installed
versions, its failure naming the upstream change.
"""

import importlib
from typing import TYPE_CHECKING, Any, Callable, Dict, Tuple

from thinc.api import Model, PyTorchGradScaler, PyTorchShim

TESTED_WITH = "spacy-transformers 1.4, thinc 8.3, spaCy 3.8"


class UpstreamChanged(ImportError):
    """An upstream name this package relies on is gone or has changed."""


def _upstream(module: str, name: str) -> Any:
    """`module.name`, or an error that names it and the versions tested."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise UpstreamChanged(
            f"spacy-spanbert uses {module}.{name}, which the installed version no longer "
            f"has ({err}). It was tested with {TESTED_WITH}: install those, or update "
            "spacy_spanbert/compat.py for the new version."
        ) from err


# spacy-transformers: the classes behind its TransformerModel, and the steps of its
# forward pass as functions.
if TYPE_CHECKING:
    from spacy_transformers.data_classes import HFObjects
    from spacy_transformers.layers.hf_shim import HFShim
else:
    HFObjects = _upstream("spacy_transformers.data_classes", "HFObjects")
    HFShim = _upstream("spacy_transformers.layers.hf_shim", "HFShim")
huggingface_tokenize: Callable = _upstream(
    "spacy_transformers.layers.transformer_model", "huggingface_tokenize"
)
set_pytorch_transformer: Callable = _upstream(
    "spacy_transformers.layers.transformer_model", "set_pytorch_transformer"
)
get_alignment: Callable = _upstream("spacy_transformers.align", "get_alignment")
get_alignment_via_offset_mapping: Callable = _upstream(
    "spacy_transformers.align", "get_alignment_via_offset_mapping"
)
truncate_oversize_splits: Callable = _upstream(
    "spacy_transformers.truncate", "truncate_oversize_splits"
)
get_strided_spans: Callable = _upstream("spacy_transformers.span_getters", "get_strided_spans")
DOC_EXT_ATTR: str = _upstream("spacy_transformers.pipeline_component", "DOC_EXT_ATTR")

# thinc: the PyTorch wrapper's forward pass, and chain's initialization.
pytorch_wrapper_forward: Callable = _upstream("thinc.layers.pytorchwrapper", "forward")
chain_init: Callable = _upstream("thinc.layers.chain", "init")


def build_transformer_model(
    model: Model,
    forward: Callable,
    init: Callable,
    wrapper: Model,
    attrs: Dict[str, Any],
) -> None:
    """Set `model` up with the layout of spacy-transformers' `TransformerModel`
    without running its `__init__`, which builds its own wrapper and shim.

    `TransformerModel`'s properties read the wrapper as `layers[0]`; its `init`,
    listeners and `nlp.replace_listeners` read the attrs below.
    """
    Model.__init__(
        model,
        "transformer",
        forward,
        init=init,
        layers=[wrapper],
        dims={"nO": None},
        attrs={
            "set_transformer": set_pytorch_transformer,
            "has_transformer": False,
            "flush_cache_chance": 0.0,
            **attrs,
        },
    )


def shim_hf_objects(shim: "HFShim") -> "HFObjects":
    """The `HFObjects` (tokenizer, transformer, configs) an `HFShim` holds."""
    return shim._hfmodel


def set_shim_hf_objects(shim: "HFShim", hf_objects: "HFObjects") -> None:
    """Give an `HFShim` (being deserialized) its tokenizer and transformer, as
    `HFShim.from_bytes` does."""
    shim._hfmodel = hf_objects
    shim._model = hf_objects.transformer


def shim_torch_model(shim: PyTorchShim) -> Any:
    """The torch module a `PyTorchShim` runs."""
    return shim._model


def shim_grad_scaler(shim: PyTorchShim) -> PyTorchGradScaler:
    """The gradient scaler a `PyTorchShim` steps with (mixed precision)."""
    return shim._grad_scaler


def hf_init_configs(hf_objects: "HFObjects") -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The tokenizer and transformer settings `HFObjects` keeps until weights load."""
    return hf_objects._init_tokenizer_config, hf_objects._init_transformer_config


def is_normalized_softmax(layer: Model) -> bool:
    """Whether `layer` is thinc's `Softmax` (v1 or v2) normalizing its output, whose
    backprop takes the gradient of the logits (thinc has no public marker for this)."""
    return layer.name == "softmax" and bool(layer.attrs.get("softmax_normalize"))


# thinc's `Ops.softmax_sequences` clips its inputs to +-20 before exponentiating (its
# docstring says nothing of it): a softmax computed another way over the same logits
# must clip them alike to give what training computed.
SOFTMAX_SEQUENCES_CLIP = 20.0
