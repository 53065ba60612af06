"""Learning-rate schedules whose shape holds when the number of steps changes."""

from typing import Iterable

from thinc.api import registry, warmup_linear


@registry.schedules("spacy_spanbert.warmup_linear.v1")
def build_warmup_linear(
    initial_rate: float, total_steps: int, warmup_share: float = 0.1
) -> Iterable[float]:
    """thinc's `warmup_linear.v1` with the warmup given as a share of `total_steps`:
    a run made longer or shorter (`--training.max_steps` and `total_steps` together)
    keeps warming up over the same share of its steps, as SpanBERT's fine-tuning
    recipe states it (10%)."""
    if not 0.0 <= warmup_share < 1.0:
        raise ValueError(f"warmup_share must be in [0, 1), got {warmup_share}")
    return warmup_linear(initial_rate, max(1, int(warmup_share * total_steps)), total_steps)
