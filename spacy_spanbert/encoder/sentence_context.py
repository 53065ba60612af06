"""Encode each sentence inside its document: a window per sentence, with context.

BERT-family NER reads best with the document around a sentence (BERT's CoNLL-2003
result used "maximal document context"). spacy-transformers' strided windows give
context too, but a token then gets the average of its vectors from every window it
falls in, near the centre of one and at the edge of another. Here every sentence gets
its own window, the sentence plus up to `context` tokens of the document on either
side, and each token takes its vectors from its own sentence's window only
(`keep_centre_windows`): context is read, never averaged in.

A window per sentence encodes each sentence's context again: with short sentences
(CoNLL-2003: 14.5 tokens on average) and 64 tokens on either side, up to 10 times the
tokens. `centre` reads consecutive whole sentences, up to that many tokens, as one
window's centre, so the context is paid once per group: (centre + 2 context) / centre
times the tokens.

Given each token's wordpiece count (`WordpieceBudget`, as the encoder gives it), no
window holds more wordpieces than the encoder has positions: a window's context is
narrowed, and a group of sentences split, until it fits. A sentence longer than
`window` tokens, or than the encoder's positions, falls back to strided windows over
it, each token taking the window where it sits most centrally. A doc without sentence
boundaries gets spacy-transformers' strided windows, averaged, as before.

A training chunk cut with context (`document_chunks.v1`, `context` > 0) marks the part
to read as centre in the span group `CENTRE_GROUP`; its other tokens are only context:
they get no windows of their own and take the vectors of the nearest centre window.
"""

from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple, cast

import numpy
from numpy.typing import NDArray
from spacy.tokens import Doc, Span
from spacy_transformers.data_classes import FullTransformerBatch
from thinc.types import Ints1d, Ragged

from ..compat import get_strided_spans
from ..doc_centre import centre_bounds
from .wordpiece_budget import WordpieceBudget


@dataclass
class Windows:
    """A doc's windows, and for each of its tokens the index of its own window (None:
    the tokens' vectors are averaged over the windows they fall in)."""

    spans: List[Span]
    centres: Optional[NDArray[numpy.int64]]


class SentenceContextSpans:
    """A span getter: per doc, one window per group of sentences, with its context."""

    def __init__(self, context: int, window: int, stride: int, centre: int = 0) -> None:
        if context < 0:
            raise ValueError(f"context must be 0 or more tokens, got {context}.")
        if not 0 < stride <= window:
            raise ValueError(f"Need 0 < stride <= window, got stride={stride}, window={window}.")
        if not 0 <= centre <= window:
            raise ValueError(f"Need 0 <= centre <= window, got centre={centre}, window={window}.")
        self.context = context
        self.window = window
        self.stride = stride
        self.centre = centre

    def __call__(self, docs: Sequence[Doc]) -> List[List[Span]]:
        return [self.windows(doc).spans for doc in docs]

    def windows(self, doc: Doc, budget: Optional[WordpieceBudget] = None) -> Windows:
        """The doc's windows; with `budget`, none holds more wordpieces than it allows,
        except where a sentence's words are longer than average for it."""
        if not len(doc) or not doc.has_annotation("SENT_START"):
            return Windows(get_strided_spans([doc], self.window, self.stride)[0], None)
        spans: List[Span] = []
        centres = numpy.zeros(len(doc), dtype="int64")
        centre_start, centre_end = centre_bounds(doc)
        for first, last in self.sentence_groups(doc[centre_start:centre_end], budget):
            width, stride = self.window, self.stride
            if budget is not None and not budget.fits(first, last):
                # Strided windows of as many tokens as fit at the sentence's average.
                fitting = (last - first) * budget.limit // budget.count(first, last)
                width = max(1, min(width, fitting))
                stride = max(1, stride * width // self.window)
            if last - first > width:
                strided = get_strided_spans([doc[first:last].as_doc()], width, stride)
                bounds = [(first + s.start, first + s.end) for s in strided[0]]
                centres[first:last] = len(spans) + most_central(bounds, first, last)
                spans.extend(doc[start:end] for start, end in bounds)
                continue
            side = min(self.context, (self.window - (last - first)) // 2)
            if budget is not None:
                side = widest_side(budget, first, last, side, len(doc))
            start, end = max(0, first - side), min(len(doc), last + side)
            centres[first:last] = len(spans)
            spans.append(doc[start:end])
        centres[:centre_start] = centres[centre_start]
        centres[centre_end:] = centres[centre_end - 1]
        return Windows(spans, centres)

    def sentence_groups(
        self, region: Span, budget: Optional[WordpieceBudget] = None
    ) -> List[Tuple[int, int]]:
        """Consecutive sentences of `region` (cut to it) read as one window's centre, as
        (start, end) doc tokens: up to `centre` tokens (and within `budget`), a
        sentence alone when longer."""
        groups: List[Tuple[int, int]] = []
        for sentence in region.doc.sents:
            start, end = max(sentence.start, region.start), min(sentence.end, region.end)
            if start >= end:
                continue
            if (
                groups
                and end - groups[-1][0] <= self.centre
                and (budget is None or budget.fits(groups[-1][0], end))
            ):
                groups[-1] = (groups[-1][0], end)
            else:
                groups.append((start, end))
        return groups


def widest_side(budget: WordpieceBudget, first: int, last: int, side: int, n_tokens: int) -> int:
    """The most context tokens, up to `side` on either side of [first, last), with which
    the window stays within `budget` (the centre alone fits)."""
    sides = numpy.arange(side + 1)
    starts = numpy.maximum(0, first - sides)
    ends = numpy.minimum(n_tokens, last + sides)
    return int(sides[budget.count(starts, ends) <= budget.limit].max())


def most_central(bounds: List[Tuple[int, int]], start: int, end: int) -> NDArray[numpy.int64]:
    """For each token in [start, end), the window (of `bounds`) it sits most centrally
    in: the one where its distance to the nearer edge is largest."""
    tokens = numpy.arange(start, end)[:, None]
    window_starts = numpy.asarray([s for s, _ in bounds])[None, :]
    window_ends = numpy.asarray([e for _, e in bounds])[None, :]
    inside = (tokens >= window_starts) & (tokens < window_ends)
    margin = numpy.minimum(tokens - window_starts, window_ends - 1 - tokens)
    return cast(NDArray[numpy.int64], numpy.where(inside, margin, -1).argmax(axis=1))


def keep_centre_windows(
    batch: FullTransformerBatch,
    docs: Sequence[Doc],
    centres: List[Optional[NDArray[numpy.int64]]],
) -> FullTransformerBatch:
    """The batch with each token aligned only to wordpieces of its own window.

    `batch.align` lists, per token (docs after docs), the flat wordpiece indices of
    every window it falls in; a flat index's window is index // padded width. Tokens
    of docs without centres, and any token left with no wordpiece, keep them all.
    """
    lengths = numpy.asarray(batch.align.lengths, dtype="int64")
    windows_before = numpy.cumsum([0] + [len(spans) for spans in batch.spans[:-1]])
    own_window = numpy.concatenate(
        [
            offset + doc_centres if doc_centres is not None else numpy.full(len(doc), -1)
            for offset, doc_centres, doc in zip(windows_before, centres, docs)
        ]
        or [numpy.zeros(0, dtype="int64")]
    ).astype("int64")
    if len(own_window) != len(lengths):
        raise ValueError(
            f"The encoder's alignment has {len(lengths)} tokens, the docs {len(own_window)}: "
            "the span getter's windows must cover every token, in order."
        )
    if not lengths.sum():
        return batch
    width = batch.wordpieces.input_ids.shape[1]
    indices = numpy.asarray(batch.align.dataXd, dtype="int64")
    token_of_entry = numpy.repeat(numpy.arange(len(lengths)), lengths)
    window = own_window[token_of_entry]
    keep = (window < 0) | (indices // width == window)
    kept_per_token = numpy.bincount(token_of_entry[keep], minlength=len(lengths))
    keep |= (kept_per_token == 0)[token_of_entry]
    align = Ragged(
        cast(Ints1d, indices[keep].astype("i")),
        cast(Ints1d, numpy.bincount(token_of_entry[keep], minlength=len(lengths)).astype("i")),
    )
    return replace(batch, align=align, cached_doc_data=None)
