"""Earlier names, kept so that saved pipelines and configs that use them still load
(spaCy's habit: spacy-legacy).

- `spacy_spanbert.SpanBoundaryReducer.v1`: v2 with the width cap named `max_width`.
- `spanbert_ner`'s `threshold` (0.1): the label floor, now `min_label_probability`,
  so that it can't be taken for `spanbert_spancat`'s `threshold`, which decides.
"""

from typing import Any, Dict, Optional

from spacy.util import registry
from thinc.api import Model
from thinc.types import Floats2d, Ragged

from .architectures import build_span_boundary_reducer

# spanbert_ner's cfg keys in pipelines saved by 0.1 -> their names today.
NER_RENAMED_SETTINGS = {"threshold": "min_label_probability"}


@registry.architectures("spacy_spanbert.SpanBoundaryReducer.v1")
def build_span_boundary_reducer_v1(
    hidden_size: int = 128,
    width_embedding_size: int = 32,
    max_width: int = 10,
    with_head: bool = True,
) -> Model[Ragged, Floats2d]:
    """v2 with the width cap named `max_width` and the head on by default.

    v2 names the cap `max_span_width` and leaves the head off by default, as
    `spacy_spanbert.SpanBertNER.v1` does; the model is the same.
    """
    return build_span_boundary_reducer(hidden_size, width_embedding_size, max_width, with_head)


def ner_min_label_probability(min_label_probability: float, threshold: Optional[float]) -> float:
    """`spanbert_ner`'s label floor from its config: `threshold` is its 0.1 name."""
    if threshold is None:
        return min_label_probability
    if min_label_probability not in (0.0, threshold):
        raise ValueError(
            f"spanbert_ner has threshold = {threshold} and min_label_probability = "
            f"{min_label_probability}: threshold is the old name of min_label_probability. "
            "Keep min_label_probability and remove threshold."
        )
    return threshold


def upgrade_ner_cfg(cfg: Dict[str, Any]) -> None:
    """Rename the settings of a `spanbert_ner` cfg saved by 0.1, in place."""
    for old, new in NER_RENAMED_SETTINGS.items():
        if old in cfg:
            cfg[new] = cfg.pop(old)
