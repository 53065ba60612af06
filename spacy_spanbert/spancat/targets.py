"""What the training data says to the span categorizer: each candidate's gold labels
(matched on whole arrays), and the label statistics its output layer starts from."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence

import numpy
from numpy.typing import NDArray
from spacy.tokens import Doc
from spacy.training import Example
from thinc.types import Ragged

from ..pipeline.span_matching import (
    candidate_rows,
    doc_offsets,
    flat_candidates,
    gold_span_arrays,
)

# Examples kept to initialize the model's shapes.
SAMPLE_SIZE = 10


@dataclass
class SpanStatistics:
    """Gold spans and candidate spans of the training examples.

    label_counts: Gold spans per label, in first-seen order. n_candidates: Candidate
    spans the suggester gives. sample: The first examples, to initialize the model.
    """

    label_counts: Counter = field(default_factory=Counter)
    n_candidates: int = 0
    sample: List[Example] = field(default_factory=list)


def span_statistics(
    examples: Iterable[Example], spans_key: str, suggester: Callable[[List[Doc]], Ragged]
) -> SpanStatistics:
    """Count the gold spans per label and the candidate spans of the examples."""
    stats = SpanStatistics()
    for eg in examples:
        stats.label_counts.update(span.label_ for span in eg.reference.spans.get(spans_key, []))
        stats.n_candidates += int(suggester([eg.predicted]).lengths.sum())
        if len(stats.sample) < SAMPLE_SIZE:
            stats.sample.append(eg)
    return stats


def label_targets(
    examples: Sequence[Example],
    spans: NDArray[numpy.integer],
    lengths: NDArray[numpy.integer],
    labels: Sequence[str],
    spans_key: str,
) -> NDArray[numpy.float32]:
    """(candidates, labels): 1 where the candidate is a gold span with the label."""
    offsets = doc_offsets(examples)
    cand_starts, cand_widths = flat_candidates(spans, lengths, offsets)
    gold = [
        eg.get_aligned_spans_y2x(eg.reference.spans.get(spans_key, []), allow_overlap=True)
        for eg in examples
    ]
    gold_starts, gold_widths, gold_labels = gold_span_arrays(examples, offsets, gold)
    label_map: Dict[str, int] = {label: i for i, label in enumerate(labels)}
    unknown = sorted(set(gold_labels) - set(label_map))
    if unknown:
        raise ValueError(
            f"Gold span labels {unknown} are not among the component's labels "
            f"{sorted(label_map)}: add them at initialize (from the training data or a "
            "labels file)."
        )
    found, rows = candidate_rows(cand_starts, cand_widths, gold_starts, gold_widths)
    label_ids = numpy.asarray([label_map[label] for label in gold_labels], dtype="int64")
    targets = numpy.zeros((len(cand_starts), len(labels)), dtype="float32")
    targets[rows[found], label_ids[found]] = 1.0
    return targets
