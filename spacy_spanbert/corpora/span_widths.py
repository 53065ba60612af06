"""Choose a span-width cap from the training data, and check a suggester against gold.

Every candidate span costs compute, and a gold span the suggester never offers can't
be found. `width_counts` shows how long the gold spans are; `suggester_recall` is
the share of gold spans that a suggester actually offers.
"""

from collections import Counter
from collections.abc import Iterable
from typing import Callable, Dict, List, Optional

from spacy.tokens import Doc, Span
from thinc.api import to_numpy
from thinc.types import Ragged

Suggester = Callable[[Iterable[Doc]], Ragged]


def gold_spans(doc: Doc, spans_key: Optional[str]) -> List[Span]:
    """`doc.spans[spans_key]`, or `doc.ents` when spans_key is None."""
    if spans_key is None:
        return list(doc.ents)
    return list(doc.spans[spans_key]) if spans_key in doc.spans else []


def width_counts(docs: Iterable[Doc], spans_key: Optional[str]) -> Dict[int, int]:
    """Number of gold spans per width in tokens."""
    return dict(Counter(len(span) for doc in docs for span in gold_spans(doc, spans_key)))


def width_for_coverage(counts: Dict[int, int], coverage: float) -> int:
    """The smallest width cap that covers at least `coverage` of the spans."""
    total = sum(counts.values())
    covered = 0
    for width in sorted(counts):
        covered += counts[width]
        if covered >= coverage * total:
            return width
    return max(counts, default=1)


def suggester_recall(
    docs: List[Doc], suggester: Suggester, spans_key: Optional[str]
) -> Dict[str, float]:
    """Share of gold spans (overall and per label) among the suggester's candidates."""
    candidates = suggester(docs)
    data = to_numpy(candidates.dataXd)
    offsets = [0, *to_numpy(candidates.lengths).cumsum()]
    found: Counter = Counter()
    total: Counter = Counter()
    for i, doc in enumerate(docs):
        offered = set(map(tuple, data[offsets[i] : offsets[i + 1]].tolist()))
        for span in gold_spans(doc, spans_key):
            hit = (span.start, span.end) in offered
            for key in ("overall", span.label_):
                total[key] += 1
                found[key] += hit
    return {key: found[key] / total[key] for key in total}
