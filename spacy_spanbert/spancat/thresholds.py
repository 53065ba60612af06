"""Precision, recall and F of a span categorizer at every threshold, from one pass.

Sigmoid scores at 0.5 trade recall away, and the best threshold differs by corpus and
budget: choose it on dev. The candidates are scored once; each threshold then only
compares scores with it (keeping the best `max_positive` labels of a span, or the
best label for one label per span) and counts matches with the gold spans on arrays.
"""

from typing import List, Optional, Sequence, cast

import numpy
from numpy.typing import NDArray
from spacy.language import Language
from spacy.pipeline.spancat import SpanCategorizer
from spacy.training import Example
from spacy.util import minibatch
from thinc.api import to_numpy

from ..ner.decoding import best_labels
from ..pipeline.threshold_scores import ThresholdScores, prf
from .decoding import multilabel_keep
from .targets import label_targets


def threshold_scores(
    nlp: Language,
    component: str,
    examples: Sequence[Example],
    thresholds: Sequence[float],
    batch_size: int = 64,
) -> List[ThresholdScores]:
    """P/R/F (and F per label) of `component` on the examples at each threshold."""
    pipe = nlp.get_pipe(component)
    if not isinstance(pipe, SpanCategorizer):
        raise ValueError(
            f"'{component}' is a {type(pipe).__name__}; thresholds are chosen for span "
            "categorizers (spancat, spanbert_spancat)."
        )
    scores: List[NDArray[numpy.float32]] = []
    targets: List[NDArray[numpy.float32]] = []
    for batch in minibatch(examples, batch_size):
        docs = list(nlp.pipe((eg.predicted.copy() for eg in batch), disable=[component]))
        candidates, batch_scores = pipe.predict(docs)
        if not len(candidates.dataXd):
            continue
        scores.append(to_numpy(batch_scores))
        batch_examples = [Example(doc, eg.reference) for doc, eg in zip(docs, batch)]
        spans, lengths = to_numpy(candidates.dataXd), to_numpy(candidates.lengths)
        targets.append(label_targets(batch_examples, spans, lengths, pipe.labels, pipe.key))
    n_columns = len(pipe.labels) + int(bool(pipe.add_negative_label))
    all_scores = numpy.concatenate(scores) if scores else numpy.zeros((0, n_columns), "f")
    all_targets = numpy.concatenate(targets) if targets else numpy.zeros((0, len(pipe.labels)), "f")
    gold = numpy.asarray(
        [
            sum(
                span.label_ == label
                for eg in examples
                for span in eg.reference.spans.get(pipe.key, [])
            )
            for label in pipe.labels
        ],
        dtype="float64",
    )
    return [_scores_at(pipe, all_scores, all_targets, gold, threshold) for threshold in thresholds]


def _scores_at(
    pipe: SpanCategorizer,
    scores: NDArray[numpy.float32],
    targets: NDArray[numpy.float32],
    gold: NDArray[numpy.float64],
    threshold: float,
) -> ThresholdScores:
    kept = _kept(pipe, scores, threshold)
    true_positives = (kept & (targets > 0)).sum(axis=0).astype("float64")
    predicted = kept.sum(axis=0).astype("float64")
    return prf(threshold, true_positives, predicted, gold, list(pipe.labels))


def _kept(
    pipe: SpanCategorizer, scores: NDArray[numpy.float32], threshold: float
) -> NDArray[numpy.bool_]:
    """(candidates, labels): what the component keeps at this threshold; scores have a
    last "none" column for one label per span."""
    n_labels = len(pipe.labels)
    if not pipe.add_negative_label:
        return multilabel_keep(scores, threshold, cast(Optional[int], pipe.cfg["max_positive"]))
    best, _, keep = best_labels(scores, threshold)
    kept = numpy.zeros((len(scores), n_labels), dtype=bool)
    rows = numpy.flatnonzero(keep)
    kept[rows, best[rows]] = True
    return kept
