"""What defines a pre-training run: a run resumes only with the same settings."""

from dataclasses import dataclass
from typing import Optional

from .masking import MASKING_SCHEMES


@dataclass
class PretrainSettings:
    """encoder: hub id or directory. text: file or directory of texts. steps: updates.
    batch_size: sequences per update. max_length: wordpieces per sequence, [CLS] and
    [SEP] included. lr: peak learning rate. warmup: steps of linear warmup (then
    linear decay to 0). masking: "span" (SpanBERT) or "token" (BERT). sbo_weight: weight
    of the span boundary objective (0: masked LM only). seed: data order, masks and
    dropout. mixed_precision: fp16 autocast with a gradient scaler (GPU)."""

    encoder: str
    text: str
    steps: int = 1000
    batch_size: int = 32
    max_length: int = 128
    lr: float = 1e-4
    warmup: int = 100
    masking: str = "span"
    sbo_weight: float = 1.0
    seed: int = 0
    mixed_precision: bool = False

    def validate(self) -> None:
        """Refuse settings that can't train, with what to change."""
        checks: list[tuple[bool, str]] = [
            (self.steps >= 1, f"steps must be at least 1, got {self.steps}"),
            (self.batch_size >= 1, f"batch_size must be at least 1, got {self.batch_size}"),
            (self.max_length >= 8, f"max_length must be at least 8, got {self.max_length}"),
            (self.lr > 0, f"lr must be positive, got {self.lr}"),
            (0 <= self.warmup <= self.steps, f"warmup must be 0..steps, got {self.warmup}"),
            (
                self.masking in MASKING_SCHEMES,
                f"masking must be one of {', '.join(MASKING_SCHEMES)}, got {self.masking!r}",
            ),
            (self.sbo_weight >= 0, f"sbo_weight must be 0 or more, got {self.sbo_weight}"),
        ]
        problems = [message for ok, message in checks if not ok]
        if problems:
            raise ValueError("Pre-training settings: " + "; ".join(problems) + ".")


def default_warmup(steps: int, warmup: Optional[int]) -> int:
    """10% of the steps unless given."""
    return max(0, int(0.1 * steps)) if warmup is None else warmup
