"""Precision, recall and F of a span component at every threshold, from one pass.

The best threshold differs by corpus and budget: choose it on dev. The candidates are
scored once; at each threshold the component decides what it would write, through
the same method its `set_annotations` calls, and its spans are matched with the gold
spans on arrays.
"""

from dataclasses import dataclass
from typing import Dict, Iterator, List, Sequence, Tuple, Union

import numpy
from numpy.typing import NDArray
from spacy.language import Language
from spacy.pipeline.spancat import SpanCategorizer
from spacy.tokens import Doc
from spacy.training import Example

from .base import Predictions, SpanPipe
from .decisions import KeptSpans


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


def threshold_scores(
    nlp: Language,
    component: str,
    examples: Sequence[Example],
    thresholds: Sequence[float],
    batch_size: int = 64,
) -> List[ThresholdScores]:
    """P/R/F (and F per label) of `component`'s spans on the examples at each
    threshold: `spanbert_ner`'s entity_threshold, a span categorizer's threshold.

    The pipeline before the component runs once and the component scores the
    candidates once; at each threshold the component decides what it would write
    (`kept_spans`; a spaCy span categorizer's own `set_annotations`), and its spans
    are matched with the gold spans of its labels on arrays.
    """
    pipe = nlp.get_pipe(component)
    if not isinstance(pipe, (SpanPipe, SpanCategorizer)):
        raise ValueError(
            f"'{component}' is a {type(pipe).__name__}; thresholds are chosen for "
            "spanbert_ner and span categorizers (spancat, spanbert_spancat)."
        )
    labels = list(pipe.labels)
    # Per batch: its first doc's index in the examples, its docs and predictions.
    scored: List[Tuple[int, List[Doc], Predictions]] = []
    gold_keys = []
    for first, batch in enumerate_batches(examples, batch_size):
        docs = list(nlp.pipe((eg.predicted.copy() for eg in batch), disable=[component]))
        scored.append((first, docs, pipe.predict(docs)))
        gold_keys.append(_gold_keys(pipe, docs, batch, labels, first))
    # Spans are counted once, as spaCy's scorer counts them: as sets.
    gold = numpy.unique(numpy.concatenate(gold_keys or [numpy.zeros((0, 4), "int64")]), axis=0)
    gold_counts = numpy.bincount(gold[:, 3], minlength=len(labels)).astype("float64")
    results = []
    for threshold in thresholds:
        kept = [
            _keys(kept_at(pipe, docs, predictions, threshold), first)
            for first, docs, predictions in scored
        ]
        found = numpy.unique(numpy.concatenate(kept or [numpy.zeros((0, 4), "int64")]), axis=0)
        true = found[_rows_in(found, gold)]
        results.append(
            prf(
                threshold,
                numpy.bincount(true[:, 3], minlength=len(labels)).astype("float64"),
                numpy.bincount(found[:, 3], minlength=len(labels)).astype("float64"),
                gold_counts,
                labels,
            )
        )
    return results


def kept_at(
    pipe: Union[SpanPipe, SpanCategorizer],
    docs: Sequence[Doc],
    predictions: Predictions,
    threshold: float,
) -> KeptSpans:
    """The spans the component writes for the docs at `threshold`."""
    if isinstance(pipe, SpanPipe):
        return pipe.kept_spans(docs, predictions, threshold)
    # spaCy's own span categorizer decides in set_annotations: run it on copies.
    copies = [doc.copy() for doc in docs]
    saved = pipe.cfg["threshold"]
    pipe.cfg["threshold"] = threshold
    try:
        pipe.set_annotations(copies, predictions)
    finally:
        pipe.cfg["threshold"] = saved
    label_ids = {label: i for i, label in enumerate(pipe.labels)}
    groups = [doc.spans[pipe.key] for doc in copies]
    return KeptSpans(
        doc=numpy.asarray([i for i, group in enumerate(groups) for _ in group], dtype="int64"),
        bounds=numpy.asarray(
            [(span.start, span.end) for group in groups for span in group], dtype="int64"
        ).reshape(-1, 2),
        label=numpy.asarray(
            [label_ids[span.label_] for group in groups for span in group], dtype="int64"
        ),
        score=numpy.concatenate(
            [numpy.asarray(group.attrs["scores"], dtype="float32") for group in groups]
            or [numpy.zeros(0, dtype="float32")]
        ),
    )


def _gold_keys(
    pipe: Union[SpanPipe, SpanCategorizer],
    docs: Sequence[Doc],
    examples: Sequence[Example],
    labels: List[str],
    first: int,
) -> NDArray[numpy.int64]:
    """(doc, start, end, label) of the gold spans of the component's labels, aligned
    to the predicted docs, which are the examples' from index `first` on."""
    label_ids = {label: i for i, label in enumerate(labels)}
    rows: List[Tuple[int, int, int, int]] = []
    for i, (doc, eg) in enumerate(zip(docs, examples)):
        if isinstance(pipe, SpanPipe):
            gold = list(pipe.gold_spans(eg.reference))
        else:
            gold = list(eg.reference.spans.get(pipe.key, []))
        spans = Example(doc, eg.reference).get_aligned_spans_y2x(gold, allow_overlap=True)
        rows.extend(
            (first + i, span.start, span.end, label_ids[span.label_])
            for span in spans
            if span.label_ in label_ids
        )
    return numpy.asarray(rows, dtype="int64").reshape(-1, 4)


def enumerate_batches(
    examples: Sequence[Example], batch_size: int
) -> Iterator[Tuple[int, List[Example]]]:
    """Batches of the examples, each with the index of its first example."""
    for first in range(0, len(examples), batch_size):
        yield first, list(examples[first : first + batch_size])


def _keys(kept: KeptSpans, first: int) -> NDArray[numpy.int64]:
    """(doc, start, end, label) rows of the spans kept in a batch whose first doc is
    the examples' `first`."""
    return numpy.column_stack([kept.doc + first, kept.bounds, kept.label]).astype("int64")


def _rows_in(rows: NDArray[numpy.int64], table: NDArray[numpy.int64]) -> NDArray[numpy.bool_]:
    """Whether each (doc, start, end, label) row is in `table`."""
    _, ids = numpy.unique(numpy.concatenate([rows, table]), axis=0, return_inverse=True)
    ids = ids.reshape(-1)
    return numpy.isin(ids[: len(rows)], ids[len(rows) :])
