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

from ..pipeline.span_matching import candidate_rows, doc_offsets, flat_candidates, gold_span_arrays

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
) -> Tuple[NDArray[numpy.int32], NDArray[numpy.float32]]:
    """The gold column of every candidate and its weight in the loss.

    Candidates that are no gold entity get the "no entity" column (len(label_map)).
    Candidates touching a token whose entity annotation is missing get weight 0:
    nothing is known about them (the same policy as spaCy's `ner`).
    """
    examples = list(examples)
    offsets = doc_offsets(examples)
    cand_starts, cand_widths = flat_candidates(spans, lengths, offsets)
    gold = [eg.get_aligned_spans_y2x(eg.reference.ents) for eg in examples]
    gold_starts, gold_widths, gold_labels = gold_span_arrays(examples, offsets, gold)
    unknown = sorted(set(gold_labels) - set(label_map))
    if unknown:
        raise ValueError(
            f"Gold entity labels {unknown} are not among the component's labels "
            f"{sorted(label_map)}: add them at initialize (from the training data or a "
            "labels file)."
        )
    targets = numpy.full(len(spans), len(label_map), dtype="int32")
    found, rows = candidate_rows(cand_starts, cand_widths, gold_starts, gold_widths)
    label_ids = numpy.asarray([label_map[label] for label in gold_labels], dtype="int32")
    targets[rows[found]] = label_ids[found]
    n_tokens = int(sum(len(eg.predicted) for eg in examples))
    missing = _missing_tokens(examples, n_tokens)
    missing_before = numpy.concatenate([[0], numpy.cumsum(missing)])
    touches_missing = missing_before[cand_starts + cand_widths] > missing_before[cand_starts]
    weights = numpy.where(touches_missing, 0.0, 1.0).astype("float32")
    return targets, weights


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
