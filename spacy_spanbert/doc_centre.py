"""The part of a doc that the encoder reads as centre, the rest being context only.

A training chunk cut with context (`document_chunks.v1`) marks its centre in a span
group; the encoder's `sentence_context` windows read it. Both sides take the name and
its reading from here, so that data preparation needs no encoder.
"""

from typing import Tuple

from spacy.tokens import Doc

# The span group of a predicted doc that holds its centre, when the rest is context.
CENTRE_GROUP = "sentence_context_centre"


def centre_bounds(doc: Doc) -> Tuple[int, int]:
    """[start, end) of the doc's tokens read as centre: the `CENTRE_GROUP` span, or all."""
    group = doc.spans[CENTRE_GROUP] if CENTRE_GROUP in doc.spans else []
    if not group:
        return 0, len(doc)
    if len(group) != 1 or not len(group[0]):
        raise ValueError(
            f"doc.spans[{CENTRE_GROUP!r}] must hold one non-empty span, the tokens read as "
            f"centre; it holds {[(s.start, s.end) for s in group]}."
        )
    return group[0].start, group[0].end
