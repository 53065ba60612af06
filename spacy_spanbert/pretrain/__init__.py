"""SpanBERT's pre-training objective (span masking and the span boundary objective)
for continued pre-training of any BERT-family encoder on a user's own text."""

from .checkpoint import PretrainOutputError
from .settings import PretrainSettings, default_warmup
from .trainer import NoTrainingDataError, PretrainResult, pretrain

__all__ = [
    "NoTrainingDataError",
    "PretrainOutputError",
    "PretrainResult",
    "PretrainSettings",
    "default_warmup",
    "pretrain",
]
