"""Encode each sentence inside its document: a window per sentence, with context.

BERT-family NER reads best with the document around a sentence (BERT's CoNLL-2003
result used "maximal document context"). spacy-transformers' strided windows give
context too, but a token then gets the average of its vectors from every window it
falls in, near the centre of one and at the edge of another. Here every sentence gets
its own window, the sentence plus up to `context` tokens of the document on either
side, and each token takes its vectors from its own sentence's window only
(`keep_centre_windows`): context is read, never averaged in.

A sentence longer than `window` tokens falls back to strided windows over it, each
token taking the window where it sits most centrally. A doc without sentence
boundaries gets spacy-transformers' strided windows, averaged, as before.
"""

from dataclasses import dataclass, replace
from typing import List, Optional, Sequence, Tuple, cast

import numpy
from numpy.typing import NDArray
from spacy.tokens import Doc, Span
from spacy_transformers.data_classes import FullTransformerBatch
from spacy_transformers.span_getters import get_strided_spans
from thinc.types import Ints1d, Ragged


@dataclass
class Windows:
    """A doc's windows, and for each of its tokens the index of its own window (None:
    the tokens' vectors are averaged over the windows they fall in)."""

    spans: List[Span]
    centres: Optional[NDArray[numpy.int64]]


class SentenceContextSpans:
    """A span getter: per doc, one window per sentence with its context."""

    def __init__(self, context: int, window: int, stride: int) -> None:
        if context < 0:
            raise ValueError(f"context must be 0 or more tokens, got {context}.")
        if not 0 < stride <= window:
            raise ValueError(f"Need 0 < stride <= window, got stride={stride}, window={window}.")
        self.context = context
        self.window = window
        self.stride = stride

    def __call__(self, docs: Sequence[Doc]) -> List[List[Span]]:
        return [self.windows(doc).spans for doc in docs]

    def centre_windows(self, docs: Sequence[Doc]) -> List[Optional[NDArray[numpy.int64]]]:
        """Per doc, each token's own window (an index into the doc's windows)."""
        return [self.windows(doc).centres for doc in docs]

    def windows(self, doc: Doc) -> Windows:
        if not len(doc) or not doc.has_annotation("SENT_START"):
            return Windows(get_strided_spans([doc], self.window, self.stride)[0], None)
        spans: List[Span] = []
        centres = numpy.zeros(len(doc), dtype="int64")
        for sentence in doc.sents:
            if len(sentence) > self.window:
                strided = get_strided_spans([sentence.as_doc()], self.window, self.stride)[0]
                bounds = [(sentence.start + s.start, sentence.start + s.end) for s in strided]
                centres[sentence.start : sentence.end] = len(spans) + most_central(
                    bounds, sentence.start, sentence.end
                )
                spans.extend(doc[start:end] for start, end in bounds)
                continue
            side = min(self.context, (self.window - len(sentence)) // 2)
            start, end = max(0, sentence.start - side), min(len(doc), sentence.end + side)
            centres[sentence.start : sentence.end] = len(spans)
            spans.append(doc[start:end])
        return Windows(spans, centres)


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
