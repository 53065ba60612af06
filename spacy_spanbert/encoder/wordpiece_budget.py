"""How many wordpieces each token takes, so windows can be cut to the encoder's size.

A span getter works in spaCy tokens, the encoder in wordpieces: CoNLL-2003 averages
1.3 wordpieces per token, yet some of its 384-token windows take over 512, and
spacy-transformers cuts a window's end there, its tokens losing their vectors. With
each token's count, `sentence_context` narrows a window's context, or splits a group
of sentences, until it fits.
"""

from dataclasses import dataclass
from typing import Any, List, Sequence, Union

import numpy
from numpy.typing import NDArray
from spacy.attrs import ORTH
from spacy.tokens import Doc


@dataclass(frozen=True)
class WordpieceBudget:
    """A doc's wordpieces per token (as running totals), and the most a window may
    hold besides the encoder's special tokens."""

    totals: NDArray[numpy.int64]  # totals[i]: wordpieces of the doc's tokens before i
    limit: int

    @classmethod
    def of(cls, pieces: NDArray[numpy.int64], limit: int) -> "WordpieceBudget":
        return cls(numpy.concatenate([[0], numpy.cumsum(pieces)]).astype("int64"), limit)

    def count(
        self, start: Union[int, NDArray[numpy.int64]], end: Union[int, NDArray[numpy.int64]]
    ) -> Any:
        """Wordpieces of the tokens [start, end) (elementwise for arrays)."""
        return self.totals[end] - self.totals[start]

    def fits(self, start: int, end: int) -> bool:
        return bool(self.count(start, end) <= self.limit)


def wordpiece_budgets(tokenizer: Any, docs: Sequence[Doc]) -> List[WordpieceBudget]:
    """Each doc's budget for `tokenizer`: its tokens' wordpiece counts and the
    tokenizer's maximum length less its special tokens.

    A token is counted alone, which matches its count in running text for BERT's
    tokenizer (it splits at spaces and punctuation before WordPiece). Each distinct
    word of the batch is tokenized once.
    """
    if not docs:
        return []
    limit = tokenizer.model_max_length - tokenizer.num_special_tokens_to_add(pair=False)
    orths = numpy.concatenate([doc.to_array(ORTH).astype("uint64") for doc in docs])
    words, inverse = numpy.unique(orths, return_inverse=True)
    counts = numpy.zeros(len(words), dtype="int64")
    if len(words):
        strings = docs[0].vocab.strings
        counts = pieces_per_word(tokenizer, [strings[int(orth)] for orth in words])
    pieces = counts[inverse.reshape(-1)]
    ends = numpy.cumsum([len(doc) for doc in docs])
    return [WordpieceBudget.of(doc_pieces, limit) for doc_pieces in numpy.split(pieces, ends[:-1])]


def pieces_per_word(tokenizer: Any, words: List[str]) -> NDArray[numpy.int64]:
    """Each word's wordpiece count: a fast tokenizer reads the words as one
    pre-split sequence (no truncation, no length warning), a slow one each word."""
    if not tokenizer.is_fast:
        return numpy.asarray([len(tokenizer.tokenize(word)) for word in words], dtype="int64")
    encoding = tokenizer(
        words,
        is_split_into_words=True,
        add_special_tokens=False,
        truncation=False,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
    )
    word_ids = numpy.asarray(encoding.word_ids(), dtype="int64")
    return numpy.bincount(word_ids, minlength=len(words)).astype("int64")
