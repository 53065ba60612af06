"""Split a corpus by document, so no document's sentences land on both sides."""

from collections.abc import Sequence
from typing import List, Tuple

import numpy
from spacy.tokens import Doc


def split_by_document(
    docs: Sequence[Doc], heldout_share: float, seed: int
) -> Tuple[List[Doc], List[Doc]]:
    """(kept, held out): a seeded random `heldout_share` of the documents (by
    `doc.user_data["document"]`) is held out; sentence order is kept on both sides."""
    if not 0.0 < heldout_share < 1.0:
        raise ValueError(f"heldout_share must be between 0 and 1, got {heldout_share}")
    documents = list(dict.fromkeys(doc.user_data.get("document") for doc in docs))
    if len(documents) < 2:
        raise ValueError(
            "Need at least two documents to split by document; docs carry their "
            "document in doc.user_data['document'] (the converters set it)."
        )
    n_heldout = min(len(documents) - 1, max(1, round(len(documents) * heldout_share)))
    order = numpy.random.default_rng(seed).permutation(len(documents))
    heldout = {documents[i] for i in order[:n_heldout]}
    kept = [doc for doc in docs if doc.user_data.get("document") not in heldout]
    held = [doc for doc in docs if doc.user_data.get("document") in heldout]
    return kept, held
