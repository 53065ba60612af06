"""Find gold spans among candidate spans on whole arrays, not span by span.

Both components learn from candidate spans (a suggester's n-grams) and gold spans
(`doc.ents`, `doc.spans[key]`). A span is keyed by its flat start (docs laid end to
end) and its width; sorting the candidates' keys once lets every gold span find its
candidate row by binary search.
"""

from typing import List, Sequence, Tuple

import numpy
from numpy.typing import NDArray
from spacy.tokens import Span
from spacy.training import Example


def doc_offsets(examples: Sequence[Example]) -> NDArray[numpy.int64]:
    """Each predicted doc's first token in the flat token order of the batch."""
    lengths = numpy.asarray([len(eg.predicted) for eg in examples], dtype="int64")
    return numpy.cumsum(lengths) - lengths


def flat_candidates(
    spans: NDArray[numpy.integer], lengths: NDArray[numpy.integer], offsets: NDArray[numpy.int64]
) -> Tuple[NDArray[numpy.int64], NDArray[numpy.int64]]:
    """(flat starts, widths) of candidates given per doc as [start, end) rows."""
    starts = spans[:, 0].astype("int64") + numpy.repeat(offsets, lengths)
    return starts, (spans[:, 1] - spans[:, 0]).astype("int64")


def candidate_rows(
    cand_starts: NDArray[numpy.int64],
    cand_widths: NDArray[numpy.int64],
    gold_starts: NDArray[numpy.int64],
    gold_widths: NDArray[numpy.int64],
) -> Tuple[NDArray[numpy.bool_], NDArray[numpy.int64]]:
    """For each gold span: whether a candidate has its start and width, and that
    candidate's row (meaningful where found)."""
    width_base = int(max(cand_widths.max(initial=0), gold_widths.max(initial=0))) + 1
    cand_keys = cand_starts * width_base + cand_widths
    gold_keys = gold_starts * width_base + gold_widths
    if not len(cand_keys):
        return numpy.zeros(len(gold_keys), dtype=bool), numpy.zeros(len(gold_keys), dtype="int64")
    order = numpy.argsort(cand_keys, kind="stable")
    sorted_keys = cand_keys[order]
    position = numpy.minimum(numpy.searchsorted(sorted_keys, gold_keys), len(order) - 1)
    return sorted_keys[position] == gold_keys, order[position]


def gold_span_arrays(
    examples: Sequence[Example], offsets: NDArray[numpy.int64], spans_per_example: List[List[Span]]
) -> Tuple[NDArray[numpy.int64], NDArray[numpy.int64], List[str]]:
    """(flat starts, widths, labels) of the gold spans, given per example (aligned to
    the predicted docs)."""
    starts: List[int] = []
    widths: List[int] = []
    labels: List[str] = []
    for offset, spans in zip(offsets, spans_per_example):
        for span in spans:
            starts.append(int(offset) + span.start)
            widths.append(span.end - span.start)
            labels.append(span.label_)
    return numpy.asarray(starts, dtype="int64"), numpy.asarray(widths, dtype="int64"), labels
