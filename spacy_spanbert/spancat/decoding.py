"""Candidate scores to the labels kept, on whole arrays: labels at or above the
threshold (the best `max_positive` of them), or the best label of each span."""

from typing import Optional, Tuple

import numpy
from numpy.typing import NDArray


def multilabel_keep(
    scores: NDArray[numpy.float32], threshold: float, max_positive: Optional[int]
) -> NDArray[numpy.bool_]:
    """(candidates, labels): whether each label is kept for each candidate."""
    keep = scores >= threshold
    if max_positive is not None:
        ranks = numpy.empty_like(scores, dtype="int64")
        order = numpy.argsort(-scores, axis=1, kind="stable")
        numpy.put_along_axis(ranks, order, numpy.arange(scores.shape[1])[None, :], axis=1)
        keep &= ranks < max_positive
    return keep


def best_labels(
    probs: NDArray[numpy.float32], threshold: float
) -> Tuple[NDArray[numpy.int64], NDArray[numpy.float32], NDArray[numpy.bool_]]:
    """Each candidate's best column, its probability, and whether it is kept.

    The last column of `probs` is "none"; a candidate is kept when its best column
    is a label and that label's probability reaches `threshold`.
    """
    best = probs.argmax(axis=1)
    best_p = numpy.take_along_axis(probs, best[:, None], axis=1)[:, 0]
    keep = (best != probs.shape[1] - 1) & (best_p >= threshold)
    return best, best_p, keep
