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
