"""SpanBERT's masking: which wordpieces a sequence hides, and with what.

Span masking (Joshi et al. 2020): span lengths in whole words from a geometric law
(p = 0.2) truncated at 10 words and renormalised (mean about 3.8), starts drawn
uniformly among the words, spans taken in the order drawn until 15% of the wordpieces
are masked (the span that reaches the budget is cut at a word boundary), overlapping
spans merged. Each merged span gets one replacement draw:
80% every wordpiece becomes [MASK], 10% every wordpiece a random one, 10% unchanged.
Token masking (BERT) hides 15% of the wordpieces one by one, each with its own draw.

Everything is drawn on whole arrays per sequence: the candidate spans at once, the
span that first covers each word by a cumulative maximum, the budget by a cumulative
sum over words.
"""

from dataclasses import dataclass

import numpy
from numpy.typing import NDArray

MASK_SHARE = 0.15
GEOMETRIC_P = 0.2
MAX_SPAN_WORDS = 10
REPLACE_MASK, REPLACE_RANDOM = 0.8, 0.1  # the rest keep their wordpiece
MASKING_SCHEMES = ("span", "token")


@dataclass
class Masking:
    """A sequence's masking, over its content wordpieces (no [CLS] or [SEP]).

    masked: Whether each wordpiece is a target.
    spans: The merged masked spans, [start, end) rows over the wordpieces.
    replacement: Per wordpiece, 0 = [MASK], 1 = a random wordpiece, 2 = unchanged
        (meaningful where masked).
    """

    masked: NDArray[numpy.bool_]
    spans: NDArray[numpy.int64]
    replacement: NDArray[numpy.int64]


def span_length_law(
    p: float = GEOMETRIC_P, max_words: int = MAX_SPAN_WORDS
) -> NDArray[numpy.float64]:
    """P(length = 1..max_words): the geometric law truncated at max_words, renormalised."""
    lengths = numpy.arange(1, max_words + 1)
    law = p * (1 - p) ** (lengths - 1)
    return law / law.sum()


def draw_span_lengths(rng: numpy.random.Generator, n: int) -> NDArray[numpy.int64]:
    """n span lengths in words, from `span_length_law`."""
    return rng.choice(numpy.arange(1, MAX_SPAN_WORDS + 1), size=n, p=span_length_law())


def mask_budget(n_pieces: int) -> int:
    """How many of a sequence's wordpieces are masked: 15%, rounded."""
    return int(round(MASK_SHARE * n_pieces))


def span_masking(word_ids: NDArray[numpy.int64], rng: numpy.random.Generator) -> Masking:
    """SpanBERT's span masking of one sequence whose wordpieces belong to `word_ids`
    (non-decreasing word indices from 0, one per content wordpiece)."""
    n_pieces = len(word_ids)
    n_words = int(word_ids[-1]) + 1
    budget = mask_budget(n_pieces)
    pieces_per_word = numpy.bincount(word_ids, minlength=n_words)
    # Enough candidates to fill the budget even if every span were one word.
    n_candidates = budget + 1
    starts = rng.integers(0, n_words, size=n_candidates)
    ends = numpy.minimum(starts + draw_span_lengths(rng, n_candidates), n_words)
    # The first candidate (in drawing order) that covers each word; n_candidates if none.
    covers = (starts[:, None] <= numpy.arange(n_words)) & (numpy.arange(n_words) < ends[:, None])
    first = numpy.where(covers.any(axis=0), covers.argmax(axis=0), n_candidates)
    # Words in the order their spans were drawn (a span's words left to right), the
    # budget counted in wordpieces along that order. The word that crosses the budget
    # is kept if that lands nearer to it, so the share is 15% on average.
    order = numpy.lexsort((numpy.arange(n_words), first))
    order = order[first[order] < n_candidates]
    after = numpy.cumsum(pieces_per_word[order])
    before = after - pieces_per_word[order]
    keep = (after <= budget) | ((before < budget) & (after - budget <= budget - before))
    masked_words = numpy.zeros(n_words, dtype=bool)
    masked_words[order[keep]] = True
    masked = masked_words[word_ids]
    spans = runs_of(masked)
    return Masking(masked, spans, _draw_per_span(rng, spans, n_pieces))


def token_masking(n_pieces: int, rng: numpy.random.Generator) -> Masking:
    """BERT's masking: 15% of the wordpieces, each with its own replacement draw."""
    masked = numpy.zeros(n_pieces, dtype=bool)
    masked[rng.choice(n_pieces, size=mask_budget(n_pieces), replace=False)] = True
    replacement = _replacement_codes(rng.random(n_pieces))
    return Masking(masked, runs_of(masked), replacement)


def runs_of(masked: NDArray[numpy.bool_]) -> NDArray[numpy.int64]:
    """[start, end) rows of the runs of True: the merged spans."""
    edges = numpy.diff(numpy.concatenate([[0], masked.astype(numpy.int8), [0]]))
    return numpy.stack([numpy.flatnonzero(edges == 1), numpy.flatnonzero(edges == -1)], axis=1)


def _draw_per_span(
    rng: numpy.random.Generator, spans: NDArray[numpy.int64], n_pieces: int
) -> NDArray[numpy.int64]:
    """One replacement draw per span, given to each of its wordpieces."""
    span_codes = _replacement_codes(rng.random(len(spans)))
    lengths = spans[:, 1] - spans[:, 0]
    replacement = numpy.full(n_pieces, 2, dtype=numpy.int64)
    pieces = numpy.repeat(spans[:, 0], lengths) + ranks_within(lengths)
    replacement[pieces] = numpy.repeat(span_codes, lengths)
    return replacement


def _replacement_codes(draws: NDArray[numpy.float64]) -> NDArray[numpy.int64]:
    """0 ([MASK]) below 0.8, 1 (random wordpiece) below 0.9, 2 (unchanged) above."""
    return numpy.searchsorted([REPLACE_MASK, REPLACE_MASK + REPLACE_RANDOM], draws, side="right")


def ranks_within(lengths: NDArray[numpy.int64]) -> NDArray[numpy.int64]:
    """0, 1, ... within each of consecutive groups of the given lengths: 2, 3 give 0 1 0 1 2."""
    offsets = numpy.cumsum(lengths) - lengths
    return numpy.arange(int(lengths.sum())) - numpy.repeat(offsets, lengths)
