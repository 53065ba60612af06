"""What a threshold search reports: P/R/F overall and F per label at one threshold."""

from dataclasses import dataclass
from typing import Dict, List

import numpy
from numpy.typing import NDArray


@dataclass
class ThresholdScores:
    threshold: float
    p: float
    r: float
    f: float
    per_label: Dict[str, float]  # F per label


def threshold_grid(steps: int) -> List[float]:
    """`steps` thresholds evenly spaced strictly inside (0, 1): 19 gives 0.05 ... 0.95."""
    return [round(float(t), 4) for t in numpy.linspace(0, 1, steps + 2)[1:-1]]


def prf(
    threshold: float,
    true_positives: NDArray[numpy.float64],
    predicted: NDArray[numpy.float64],
    gold: NDArray[numpy.float64],
    labels: list,
) -> ThresholdScores:
    """Scores from per-label counts of true positives, predictions and gold spans."""
    p = _ratio(true_positives.sum(), predicted.sum())
    r = _ratio(true_positives.sum(), gold.sum())
    label_p = numpy.divide(
        true_positives, predicted, out=numpy.zeros_like(predicted), where=predicted > 0
    )
    label_r = numpy.divide(true_positives, gold, out=numpy.zeros_like(gold), where=gold > 0)
    total = label_p + label_r
    label_f = numpy.divide(
        2 * label_p * label_r, total, out=numpy.zeros_like(total), where=total > 0
    )
    return ThresholdScores(
        threshold=threshold,
        p=p,
        r=r,
        f=_ratio(2 * p * r, p + r),
        per_label=dict(zip(labels, label_f.tolist())),
    )


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0
