"""Each candidate's gold labels for the span categorizer's loss, matched on whole
arrays rather than span by span."""

from typing import Dict, Sequence

import numpy
from numpy.typing import NDArray
from spacy.training import Example

from ..span_pipe.span_matching import (
    candidate_rows,
    doc_offsets,
    flat_candidates,
    gold_span_arrays,
)
from ..span_pipe.statistics import check_known_labels


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
    check_known_labels(gold_labels, label_map)
    found, rows = candidate_rows(cand_starts, cand_widths, gold_starts, gold_widths)
    label_ids = numpy.asarray([label_map[label] for label in gold_labels], dtype="int64")
    targets = numpy.zeros((len(cand_starts), len(labels)), dtype="float32")
    targets[rows[found], label_ids[found]] = 1.0
    return targets
