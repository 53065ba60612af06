"""What the training data says about candidate spans: their gold targets (matched on
whole arrays rather than span by span), the label statistics and the class prior."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Tuple

import numpy
from numpy.typing import NDArray
from spacy.tokens import Doc
from spacy.training import Example
from thinc.types import Ragged

MISSING_TAGS = (None, "-")
# Examples kept to initialize the model's shapes.
SAMPLE_SIZE = 10


@dataclass
class LabelStatistics:
    """Entities and candidate spans of the training examples.

    label_counts: Gold entities per label that fit max_span_width, in first-seen order.
    n_entities: All gold entities. n_too_wide: those longer than max_span_width.
    n_candidates: Candidate spans the suggester gives for the training docs.
    has_span_groups: Whether any example has spans in doc.spans.
    sample: The first examples, to initialize the model with.
    """

    label_counts: Counter = field(default_factory=Counter)
    n_entities: int = 0
    n_too_wide: int = 0
    n_candidates: int = 0
    has_span_groups: bool = False
    sample: List[Example] = field(default_factory=list)


def label_statistics(
    examples: Iterable[Example], suggester: Callable[[List[Doc]], Ragged], max_span_width: int
) -> LabelStatistics:
    """Count the gold entities and candidate spans of the training examples."""
    stats = LabelStatistics()
    for eg in examples:
        stats.has_span_groups |= any(len(group) for group in eg.reference.spans.values())
        for ent in eg.reference.ents:
            stats.n_entities += 1
            stats.n_too_wide += len(ent) > max_span_width
            stats.label_counts[ent.label_] += len(ent) <= max_span_width
        stats.n_candidates += int(suggester([eg.predicted]).lengths.sum())
        if len(stats.sample) < SAMPLE_SIZE:
            stats.sample.append(eg)
    return stats


def candidate_targets(
    examples: Iterable[Example],
    spans: NDArray[numpy.int32],
    lengths: NDArray[numpy.int32],
    label_map: Dict[str, int],
    max_width: int,
) -> Tuple[NDArray[numpy.int32], NDArray[numpy.float32]]:
    """The gold column of every candidate and its weight in the loss.

    Candidates that are no gold entity get the "no entity" column (len(label_map)).
    Candidates touching a token whose entity annotation is missing get weight 0:
    nothing is known about them (the same policy as spaCy's `ner`).
    """
    examples = list(examples)
    doc_lengths = numpy.asarray([len(eg.predicted) for eg in examples], dtype="int64")
    doc_offsets = numpy.cumsum(doc_lengths) - doc_lengths
    cand_offsets = numpy.repeat(doc_offsets, lengths)
    cand_starts = spans[:, 0] + cand_offsets
    cand_widths = spans[:, 1] - spans[:, 0]
    cand_keys = cand_starts * (max_width + 1) + cand_widths

    gold_starts, gold_widths, gold_labels = _gold_spans(examples, doc_offsets, label_map)
    targets = numpy.full(len(spans), len(label_map), dtype="int32")
    fits = gold_widths <= max_width
    gold_keys = gold_starts[fits] * (max_width + 1) + gold_widths[fits]
    order = numpy.argsort(cand_keys, kind="stable")
    sorted_keys = cand_keys[order]
    pos = numpy.searchsorted(sorted_keys, gold_keys)
    pos_in = numpy.minimum(pos, max(len(sorted_keys) - 1, 0))
    found = (pos < len(sorted_keys)) & (sorted_keys[pos_in] == gold_keys)
    targets[order[pos_in[found]]] = gold_labels[fits][found]

    missing = _missing_tokens(examples, int(doc_lengths.sum()))
    missing_before = numpy.concatenate([[0], numpy.cumsum(missing)])
    touches_missing = missing_before[cand_starts + cand_widths] > missing_before[cand_starts]
    weights = numpy.where(touches_missing, 0.0, 1.0).astype("float32")
    return targets, weights


def _gold_spans(
    examples: List[Example], doc_offsets: NDArray[numpy.int64], label_map: Dict[str, int]
) -> Tuple[NDArray[numpy.int64], NDArray[numpy.int64], NDArray[numpy.int32]]:
    starts: List[int] = []
    widths: List[int] = []
    labels: List[int] = []
    for offset, eg in zip(doc_offsets, examples):
        for ent in eg.get_aligned_spans_y2x(eg.reference.ents):
            starts.append(int(offset) + ent.start)
            widths.append(ent.end - ent.start)
            if ent.label_ not in label_map:
                raise ValueError(
                    f"Gold entity label '{ent.label_}' is not among the component's "
                    f"labels {sorted(label_map)}: add it at initialize "
                    "(from the training data or a labels file)."
                )
            labels.append(label_map[ent.label_])
    return (
        numpy.asarray(starts, dtype="int64"),
        numpy.asarray(widths, dtype="int64"),
        numpy.asarray(labels, dtype="int32"),
    )


def _missing_tokens(examples: List[Example], n_tokens: int) -> NDArray[numpy.bool_]:
    """Per predicted token: is its entity annotation unknown in the reference?"""
    flags = []
    for eg in examples:
        if eg.reference.has_annotation("ENT_IOB", require_complete=True):
            flags.append(numpy.zeros(len(eg.predicted), dtype=bool))
        else:
            tags = eg.get_aligned_ner()
            flags.append(numpy.asarray([tag in MISSING_TAGS for tag in tags], dtype=bool))
    return numpy.concatenate(flags) if flags else numpy.zeros(n_tokens, dtype=bool)


def column_log_priors(
    label_counts: NDArray[numpy.int64], n_candidates: int, negative_weight: float
) -> NDArray[numpy.float32]:
    """Log share of each column (the labels, then "no entity") among the training
    candidates, weighted as the loss weighs them, with add-one smoothing.

    The output layer's bias starts here, so the first predictions are the class
    prior. From a zero bias the first updates only learn that almost every candidate
    is no entity (99% on CoNLL-2003); their large gradients fill Adam's second-moment
    estimates, which then shrink every step for hundreds of updates.
    """
    negatives = max(n_candidates - int(label_counts.sum()), 0) * negative_weight
    counts = numpy.append(label_counts.astype("float64"), negatives) + 1.0
    return numpy.log(counts / counts.sum()).astype("float32")
