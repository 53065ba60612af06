"""What the training data says to a span component before training: its gold spans
per label, its candidates, and which gold spans it can't represent."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, Collection, List

from spacy.tokens import Doc, Span
from spacy.training import Example
from thinc.types import Ragged

# Examples kept to initialize the model's shapes.
SAMPLE_SIZE = 10

GoldSpans = Callable[[Doc], Iterable[Span]]
Suggester = Callable[[List[Doc]], Ragged]


@dataclass
class SpanStatistics:
    """Gold spans and candidate spans of the training examples.

    label_counts: Gold spans per label that fit max_span_width, in first-seen order.
    n_gold: All gold spans. n_too_wide: those longer than max_span_width.
    n_candidates: Candidate spans the suggester gives for the training docs.
    has_span_groups: Whether any example has spans in doc.spans.
    sample: The first examples, to initialize the model with.
    """

    label_counts: Counter = field(default_factory=Counter)
    n_gold: int = 0
    n_too_wide: int = 0
    n_candidates: int = 0
    has_span_groups: bool = False
    sample: List[Example] = field(default_factory=list)


def span_statistics(
    examples: Iterable[Example],
    gold_spans: GoldSpans,
    suggester: Suggester,
    max_span_width: int,
) -> SpanStatistics:
    """Count the gold spans (`gold_spans` of each reference doc) and the candidate
    spans of the training examples."""
    stats = SpanStatistics()
    for eg in examples:
        stats.has_span_groups |= any(len(group) for group in eg.reference.spans.values())
        for span in gold_spans(eg.reference):
            stats.n_gold += 1
            stats.n_too_wide += len(span) > max_span_width
            stats.label_counts[span.label_] += len(span) <= max_span_width
        stats.n_candidates += int(suggester([eg.predicted]).lengths.sum())
        if len(stats.sample) < SAMPLE_SIZE:
            stats.sample.append(eg)
    return stats


def check_known_labels(gold_labels: Iterable[str], labels: Collection[str]) -> None:
    """Refuse gold spans whose labels the component has no output for."""
    unknown = sorted(set(gold_labels) - set(labels))
    if unknown:
        raise ValueError(
            f"Gold span labels {unknown} are not among the component's labels "
            f"{sorted(labels)}: add them at initialize (from the training data or a "
            "labels file)."
        )
