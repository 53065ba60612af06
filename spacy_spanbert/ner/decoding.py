"""Turn candidate-span probabilities into non-overlapping entities."""

from typing import Tuple

import numpy
from numpy.typing import NDArray


def best_labels(
    probs: NDArray[numpy.float32], threshold: float
) -> Tuple[NDArray[numpy.int64], NDArray[numpy.float32], NDArray[numpy.bool_]]:
    """Each candidate's best column, its probability, and whether it is an entity.

    The last column of `probs` is "no entity"; a candidate is kept when its best
    column is a label and that label's probability reaches `threshold`.
    """
    best = probs.argmax(axis=1)
    best_p = numpy.take_along_axis(probs, best[:, None], axis=1)[:, 0]
    keep = (best != probs.shape[1] - 1) & (best_p >= threshold)
    return best, best_p, keep


def entity_decisions(
    probs: NDArray[numpy.float32], entity_threshold: float, threshold: float
) -> Tuple[
    NDArray[numpy.int64], NDArray[numpy.float32], NDArray[numpy.float32], NDArray[numpy.bool_]
]:
    """Each candidate's best label, that label's probability, its entity probability
    (1 - p("no entity")), and whether it is an entity.

    A candidate is an entity when its entity probability reaches `entity_threshold`
    and its best label's probability reaches `threshold`. Comparing "no entity" with
    the labels' total, not with the best label alone, keeps an entity whose
    probability is split between labels (on WNUT-17's six types the best-label rule
    found a quarter of the test entities).
    """
    labels = probs[:, :-1]
    best = labels.argmax(axis=1)
    best_p = numpy.take_along_axis(labels, best[:, None], axis=1)[:, 0]
    entity_p = 1.0 - probs[:, -1]
    keep = (entity_p >= entity_threshold) & (best_p >= threshold)
    return best, best_p, entity_p, keep


def greedy_non_overlapping(
    spans: NDArray[numpy.int32], scores: NDArray[numpy.float32], occupied: NDArray[numpy.bool_]
) -> NDArray[numpy.int64]:
    """Indices of the spans kept when taking the highest-scoring span first and
    skipping any that overlaps one already taken or an `occupied` token.

    Runs over the candidates that were predicted as entities, which are few; the
    scoring of all candidates happens before, on whole arrays.
    """
    occupied = occupied.copy()
    kept = []
    for i in numpy.argsort(-scores, kind="stable"):
        start, end = spans[i]
        if not occupied[start:end].any():
            occupied[start:end] = True
            kept.append(i)
    return numpy.asarray(sorted(kept, key=lambda i: spans[i][0]), dtype="int64")
