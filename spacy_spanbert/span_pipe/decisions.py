"""Which scored candidates a span component writes: the rows kept, as arrays.

Each component decides in one method, `kept_spans`, which both its
`set_annotations` and the `thresholds` command call, so the command scores exactly
what the pipeline writes. The decisions run on whole arrays; only resolving
overlaps walks the spans already kept, which are few, doc by doc.
"""

from dataclasses import dataclass
from typing import List, Sequence

import numpy
from numpy.typing import NDArray
from spacy.tokens import Doc, Span, SpanGroup


@dataclass
class KeptSpans:
    """The spans a component writes for a batch of docs, in the order it writes
    them: each span's doc (its index in the batch), [start, end) tokens, label index
    and score."""

    doc: NDArray[numpy.int64]
    bounds: NDArray[numpy.int64]
    label: NDArray[numpy.int64]
    score: NDArray[numpy.float32]

    @classmethod
    def of_rows(
        cls,
        rows: NDArray[numpy.int64],
        doc_of_row: NDArray[numpy.int64],
        bounds: NDArray[numpy.integer],
        label: NDArray[numpy.integer],
        score: NDArray[numpy.floating],
    ) -> "KeptSpans":
        """The candidates at `rows`, given per-candidate doc, bounds, label and score
        (label and score already cut to the rows)."""
        return cls(
            doc=doc_of_row[rows].astype("int64"),
            bounds=bounds[rows].astype("int64").reshape(-1, 2),
            label=numpy.asarray(label, dtype="int64"),
            score=numpy.asarray(score, dtype="float32"),
        )

    def span_groups(self, docs: Sequence[Doc], labels: Sequence[str], name: str) -> List[SpanGroup]:
        """One span group per doc holding its spans, their scores in `attrs["scores"]`."""
        starts = numpy.searchsorted(self.doc, numpy.arange(len(docs) + 1))
        groups = []
        for i, doc in enumerate(docs):
            rows = slice(starts[i], starts[i + 1])
            group = SpanGroup(
                doc,
                name=name,
                spans=[
                    Span(doc, int(start), int(end), label=labels[label])
                    for (start, end), label in zip(self.bounds[rows], self.label[rows])
                ],
            )
            group.attrs["scores"] = self.score[rows].astype("float32")
            groups.append(group)
        return groups


def doc_of_rows(lengths: NDArray[numpy.integer]) -> NDArray[numpy.int64]:
    """The doc of each candidate row, from the candidates per doc."""
    return numpy.repeat(numpy.arange(len(lengths), dtype="int64"), lengths)


def non_overlapping_rows(
    rows: NDArray[numpy.int64],
    doc_of_row: NDArray[numpy.int64],
    bounds: NDArray[numpy.integer],
    scores: NDArray[numpy.floating],
    occupied: Sequence[NDArray[numpy.bool_]],
) -> NDArray[numpy.int64]:
    """Of `rows` (in doc order), those kept when each doc takes its highest-scoring
    span first and skips any that overlaps one already taken or a token `occupied`
    in that doc; per doc in order of start."""
    kept = []
    doc_of_kept = doc_of_row[rows]
    starts = numpy.searchsorted(doc_of_kept, numpy.arange(len(occupied) + 1))
    for i, doc_occupied in enumerate(occupied):
        doc_rows = rows[starts[i] : starts[i + 1]]
        if len(doc_rows):
            taken = greedy_non_overlapping(bounds[doc_rows], scores[doc_rows], doc_occupied)
            kept.append(doc_rows[taken])
    return numpy.concatenate(kept) if kept else numpy.zeros(0, dtype="int64")


def greedy_non_overlapping(
    spans: NDArray[numpy.integer], scores: NDArray[numpy.floating], occupied: NDArray[numpy.bool_]
) -> NDArray[numpy.int64]:
    """Indices of the spans kept when taking the highest-scoring span first and
    skipping any that overlaps one already taken or an `occupied` token; in order of
    start."""
    occupied = occupied.copy()
    kept = []
    for i in numpy.argsort(-scores, kind="stable"):
        start, end = spans[i]
        if not occupied[start:end].any():
            occupied[start:end] = True
            kept.append(i)
    return numpy.asarray(sorted(kept, key=lambda i: spans[i][0]), dtype="int64")
