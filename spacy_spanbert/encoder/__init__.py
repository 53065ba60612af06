"""The SpanBERT encoder: the `spanbert` component, its thinc model, and how its
weights are loaded, saved, run and trained."""

from .component import SpanBertTransformer, make_spanbert
from .default_config import ENCODER_ARCHITECTURE, TOK2VEC_ARCHITECTURE, default_encoder_config
from .fork_safety import register_fork_handler
from .learning_rate import (
    DEFAULT_ENCODER_LR_SCALE,
    ScaledOptimizer,
    finish_update_scaled,
    scaled,
    validate_encoder_lr_scale,
)
from .loading import EncoderLoadError, UnsupportedEncoderError, load_encoder
from .model import SpanBertTransformerModel

__all__ = [
    "DEFAULT_ENCODER_LR_SCALE",
    "ENCODER_ARCHITECTURE",
    "TOK2VEC_ARCHITECTURE",
    "EncoderLoadError",
    "ScaledOptimizer",
    "SpanBertTransformer",
    "SpanBertTransformerModel",
    "UnsupportedEncoderError",
    "default_encoder_config",
    "load_encoder",
    "make_spanbert",
    "finish_update_scaled",
    "register_fork_handler",
    "scaled",
    "validate_encoder_lr_scale",
]
