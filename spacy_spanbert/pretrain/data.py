"""Raw text to pre-training sequences: wordpieces of consecutive sentences of one text,
packed up to the maximum length, with each wordpiece's word.

Texts come from plain text (one text per line), JSON lines with a "text" field (the
reader of `annotate`), or the docs of `.spacy` files; a file or a directory of them.
Each text is one document: it is split into sentences (the doc's own boundaries, or
spaCy's sentencizer), and consecutive sentences fill a sequence of at most
`max_length - 2` wordpieces ([CLS] and [SEP] take the rest). A sentence longer than
that is cut between words. Nothing is dropped silently: texts that can't be read, have
no wordpieces or are too short to mask are counted.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Tuple, Union

import numpy
import spacy
from numpy.typing import NDArray
from spacy.tokens import Doc, DocBin
from transformers.tokenization_utils_fast import PreTrainedTokenizerFast

from ..input_records import read_records
from .masking import mask_budget

SPACY_SUFFIX = ".spacy"
# Sentences tokenized by the wordpiece tokenizer at once.
TOKENIZER_BATCH = 256


@dataclass
class Sequence:
    """Content wordpieces of one pre-training sequence and the word of each (from 0)."""

    input_ids: NDArray[numpy.int64]
    word_ids: NDArray[numpy.int64]


@dataclass
class TextCounts:
    """What reading the text gave: texts, those skipped and why, and the sequences."""

    texts: int = 0
    unreadable: int = 0
    without_wordpieces: int = 0
    sequences: int = 0
    too_short_to_mask: int = 0
    wordpieces: int = 0
    errors: List[str] = field(default_factory=list)


def read_texts(path: Path, counts: TextCounts) -> Iterator[Union[str, Doc]]:
    """The texts under `path`: the docs of `.spacy` files (a file, or a directory of
    them), else the records of text or JSON lines files. Unreadable records are
    counted, with their first errors kept."""
    path = Path(path)
    if path.suffix == SPACY_SUFFIX:
        spacy_files = [path]
    else:
        spacy_files = sorted(path.rglob(f"*{SPACY_SUFFIX}")) if path.is_dir() else []
    if not spacy_files:
        for record in read_records(path):
            counts.texts += 1
            if record.error is None:
                yield record.text
                continue
            counts.unreadable += 1
            if len(counts.errors) < 5:
                counts.errors.append(record.error)
        return
    vocab = spacy.blank("xx").vocab
    for spacy_file in spacy_files:
        for doc in DocBin().from_disk(spacy_file).get_docs(vocab):
            counts.texts += 1
            yield doc


def sentences_of(texts: Iterator[Union[str, Doc]]) -> Iterator[Tuple[int, str]]:
    """(text index, sentence text) for every sentence of every text: a doc's own
    sentence boundaries, or spaCy's sentencizer."""
    splitter = spacy.blank("en")
    splitter.add_pipe("sentencizer")
    for index, text in enumerate(texts):
        doc = text if isinstance(text, Doc) and text.has_annotation("SENT_START") else None
        if doc is None:
            doc = splitter(text if isinstance(text, str) else text.text)
        for sentence in doc.sents:
            yield index, sentence.text


def build_sequences(
    path: Path, tokenizer: PreTrainedTokenizerFast, max_length: int
) -> Tuple[List[Sequence], TextCounts]:
    """Every pre-training sequence of the texts under `path`, and the counts."""
    if max_length < 8:
        raise ValueError(f"max_length must be at least 8 wordpieces, got {max_length}.")
    max_content = max_length - 2
    counts = TextCounts()
    sequences: List[Sequence] = []
    packer = _Packer(max_content, sequences, counts)
    batch: List[Tuple[int, str]] = []
    for item in sentences_of(read_texts(path, counts)):
        batch.append(item)
        if len(batch) == TOKENIZER_BATCH:
            packer.add(batch, tokenizer)
            batch = []
    packer.add(batch, tokenizer)
    packer.flush()
    counts.without_wordpieces = counts.texts - counts.unreadable - packer.texts_with_pieces
    return sequences, counts


class _Packer:
    """Fills sequences with consecutive sentences of one text."""

    def __init__(self, max_content: int, sequences: List[Sequence], counts: TextCounts) -> None:
        self.max_content = max_content
        self.sequences = sequences
        self.counts = counts
        self.text = -1
        self.texts_with_pieces = 0
        self.ids: List[NDArray[numpy.int64]] = []
        self.words: List[NDArray[numpy.int64]] = []
        self.length = 0

    def add(self, batch: List[Tuple[int, str]], tokenizer: PreTrainedTokenizerFast) -> None:
        if not batch:
            return
        # Sentences longer than the model takes are cut below, so no length warning.
        encoding = tokenizer([text for _, text in batch], add_special_tokens=False, verbose=False)
        for i, (text, _) in enumerate(batch):
            ids = numpy.asarray(encoding["input_ids"][i], dtype=numpy.int64)
            if not len(ids):
                continue
            words = numpy.asarray(encoding.word_ids(i), dtype=numpy.int64)
            if text != self.text:
                self.flush()
                self.text = text
                self.texts_with_pieces += 1
            for start, end in _pieces(words, self.max_content):
                self._append(ids[start:end], words[start:end])

    def _append(self, ids: NDArray[numpy.int64], words: NDArray[numpy.int64]) -> None:
        if self.length + len(ids) > self.max_content:
            self.flush()
        offset = self.words[-1][-1] + 1 if self.words else 0
        self.ids.append(ids)
        self.words.append(words - words[0] + offset)
        self.length += len(ids)

    def flush(self) -> None:
        if not self.ids:
            return
        ids, words = numpy.concatenate(self.ids), numpy.concatenate(self.words)
        self.ids, self.words, self.length = [], [], 0
        if mask_budget(len(ids)) == 0:
            self.counts.too_short_to_mask += 1
            return
        self.sequences.append(Sequence(ids, words))
        self.counts.sequences += 1
        self.counts.wordpieces += len(ids)


def _pieces(words: NDArray[numpy.int64], max_content: int) -> Iterator[Tuple[int, int]]:
    """[start, end) of the pieces of a sentence, cut between words, that each fit."""
    start = 0
    while start < len(words):
        end = next_cut(words, start, min(start + max_content, len(words)))
        yield start, end
        start = end


def next_cut(words: NDArray[numpy.int64], start: int, end: int) -> int:
    """The last word boundary in (start, end], or `end` if one word fills the span."""
    if end >= len(words) or words[end] != words[end - 1]:
        return end
    inside = numpy.flatnonzero(words[start + 1 : end] != words[start : end - 1])
    return int(inside[-1]) + start + 1 if len(inside) else end


def describe(counts: TextCounts) -> Dict[str, int]:
    """The counts, for the log and the run's record."""
    return {
        "texts": counts.texts,
        "unreadable": counts.unreadable,
        "without_wordpieces": counts.without_wordpieces,
        "too_short_to_mask": counts.too_short_to_mask,
        "sequences": counts.sequences,
        "wordpieces": counts.wordpieces,
    }
