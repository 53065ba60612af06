"""Candidate spans that stay inside one sentence and don't start or end on whitespace.

spaCy's n-gram suggesters cross sentence boundaries; an entity never does. When a doc
has sentence boundaries (a parser, senter or sentencizer set them), candidates that
cross them are left out. Spans that start or end with a whitespace token are left
out too, as spaCy's `ner` never lets an entity start or end on one.
"""

from collections.abc import Iterable
from functools import partial
from typing import Optional, cast

import numpy
from spacy.attrs import IS_SPACE, SENT_START
from spacy.pipeline.spancat import Suggester
from spacy.tokens import Doc
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Ops, get_current_ops
from thinc.types import Ints1d, Ints2d, Ragged


def sentence_ngram_suggester(
    docs: Iterable[Doc], min_size: int, max_size: int, *, ops: Optional[Ops] = None
) -> Ragged:
    """All spans of `min_size` to `max_size` tokens within one sentence, not
    starting or ending on whitespace, per doc.

    Rows are sorted by start, then end: shape (n_spans, 2), [start, end) token offsets.
    """
    if ops is None:
        ops = get_current_ops()
    widths = numpy.arange(min_size, max_size + 1, dtype="int32")
    per_doc = []
    for doc in docs:
        n_tokens = len(doc)
        starts = numpy.arange(n_tokens, dtype="int32")[:, None]
        ends = starts + widths[None, :]
        last = numpy.minimum(ends, n_tokens) - 1
        is_space = doc.to_array(IS_SPACE).astype(bool)
        valid = (ends <= n_tokens) & ~is_space[starts] & ~is_space[last]
        if doc.has_annotation("SENT_START"):
            sent_ids = numpy.cumsum(doc.to_array(SENT_START) == 1)
            valid &= sent_ids[last] == sent_ids[starts]
        per_doc.append(numpy.stack([numpy.broadcast_to(starts, ends.shape)[valid], ends[valid]], 1))
    lengths = numpy.asarray([len(spans) for spans in per_doc], dtype="int32")
    data = numpy.concatenate(per_doc) if per_doc else numpy.zeros((0, 2), "int32")
    return Ragged(ops.asarray2i(cast(Ints2d, data)), ops.asarray1i(cast(Ints1d, lengths)))


@registry.misc("spacy_spanbert.sentence_ngram_suggester.v1")
def build_sentence_ngram_suggester(min_size: int, max_size: int) -> Suggester:
    """Suggest spans of min_size..max_size tokens that do not cross a sentence boundary."""
    if min_size < 1 or max_size < min_size:
        raise ValueError(
            f"Need 1 <= min_size <= max_size, got min_size={min_size}, max_size={max_size}."
        )
    return partial(sentence_ngram_suggester, min_size=min_size, max_size=max_size)


def widest_suggestion(suggester: Suggester, max_span_width: int) -> int:
    """The widest span `suggester` proposes on a doc four times `max_span_width` long
    (at least 64 tokens), without sentence boundaries."""
    probe = Doc(Vocab(), words=["a"] * max(64, 4 * max_span_width))
    spans = suggester([probe])
    bounds = numpy.asarray(spans.dataXd).reshape(-1, 2)
    return int((bounds[:, 1] - bounds[:, 0]).max(initial=0))


def check_suggester_width(suggester: Suggester, max_span_width: int, component: str) -> None:
    """Refuse a suggester that proposes spans wider than the model represents: they
    would all share the widest width embedding."""
    widest = widest_suggestion(suggester, max_span_width)
    if widest > max_span_width:
        raise ValueError(
            f"'{component}': its suggester proposes spans of up to {widest} tokens, but "
            f"its model represents spans of up to max_span_width={max_span_width}. Set "
            f"[components.{component}.model] max_span_width = {widest}, or lower the "
            "suggester's largest size; or set the suggester to null, which takes every "
            "span of up to max_span_width tokens within a sentence."
        )
