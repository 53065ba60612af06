"""Each candidate's gold column and its weight in `spanbert_ner`'s loss, matched on
whole arrays rather than span by span."""

from collections.abc import Iterable
from typing import Dict, List, Tuple

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

MISSING_TAGS = (None, "-")


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
    check_known_labels(gold_labels, label_map)
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
