"""Candidate scores to the spans kept, on whole arrays: labels at or above the
threshold (the best `max_positive` of them), or one label per span."""

from typing import Optional

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
