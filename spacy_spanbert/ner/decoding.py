"""Which candidates are entities, from their probabilities over the labels and
"no entity"."""

from typing import Tuple

import numpy
from numpy.typing import NDArray


def entity_decisions(
    probs: NDArray[numpy.float32], entity_threshold: float, min_label_probability: float
) -> Tuple[
    NDArray[numpy.int64], NDArray[numpy.float32], NDArray[numpy.float32], NDArray[numpy.bool_]
]:
    """Each candidate's best label, that label's probability, its entity probability
    (1 - p("no entity")), and whether it is an entity.

    A candidate is an entity when its entity probability reaches `entity_threshold`
    and its best label's probability reaches `min_label_probability`. Comparing "no entity" with
    the labels' total, not with the best label alone, keeps an entity whose
    probability is split between labels (on WNUT-17's six types the best-label rule
    found a quarter of the test entities).
    """
    labels = probs[:, :-1]
    best = labels.argmax(axis=1)
    best_p = numpy.take_along_axis(labels, best[:, None], axis=1)[:, 0]
    entity_p = 1.0 - probs[:, -1]
    keep = (entity_p >= entity_threshold) & (best_p >= min_label_probability)
    return best, best_p, entity_p, keep
