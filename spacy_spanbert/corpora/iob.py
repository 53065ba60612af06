"""Read CoNLL-style IOB files (CoNLL-2003 IOB1, WNUT-17 IOB2, ...) into spaCy Docs.

spaCy's own `spacy convert -c ner` keeps `-DOCSTART-` lines as tokens and does not
treat WNUT-17's tab-only lines as sentence breaks; this reader does both, and stops
with the file and line number on anything it can't read, so no sentence is lost.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from .errors import CorpusFormatError

DOCSTART = "-DOCSTART-"
SCHEMES = ("iob1", "iob2")


@dataclass
class Sentence:
    words: List[str]
    tags: List[str]
    document: int
    line: int  # line number of the sentence's first token


def read_sentences(path: Path) -> Iterator[Sentence]:
    """Sentences of a column file: token first column, tag last; blank or
    whitespace-only lines end a sentence; `-DOCSTART-` lines start a document."""
    words: List[str] = []
    tags: List[str] = []
    document = 0
    n_columns: Optional[int] = None
    first_line = 0
    with Path(path).open(encoding="utf8") as file_:
        for line_no, line in enumerate(file_, start=1):
            columns = line.split()
            if not columns or columns[0] == DOCSTART:
                if words:
                    yield Sentence(words, tags, document, first_line)
                    words, tags = [], []
                if columns:
                    document += 1
                continue
            if n_columns is None:
                n_columns = len(columns)
            if len(columns) != n_columns or n_columns < 2:
                raise CorpusFormatError(
                    f"{path}:{line_no}: expected {max(n_columns, 2)} columns "
                    f"(token ... tag), found {len(columns)}: {line.rstrip()!r}"
                )
            if not words:
                first_line = line_no
            words.append(columns[0])
            tags.append(columns[-1])
    if words:
        yield Sentence(words, tags, document, first_line)


def tags_to_spans(
    tags: List[str], scheme: str, source: str = "<tags>", first_line: int = 1
) -> List[Tuple[int, int, str]]:
    """(start, end, label) token spans from IOB1 or IOB2 tags.

    IOB1: an entity starts at I-X after anything but X, or at B-X.
    IOB2: an entity starts at B-X; I-X after anything but X is an error.
    Errors name `source` and the line of the offending tag (one token per line).
    """
    if scheme not in SCHEMES:
        raise ValueError(f"Unknown tag scheme '{scheme}'; use one of {SCHEMES}.")
    spans: List[Tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate(tags + ["O"]):
        prefix, _, tag_label = tag.partition("-")
        if tag != "O" and (prefix not in ("B", "I") or not tag_label):
            raise CorpusFormatError(f"{source}:{first_line + i}: unknown tag '{tag}'")
        continues = prefix == "I" and label == tag_label
        if scheme == "iob2" and prefix == "I" and not continues:
            raise CorpusFormatError(
                f"{source}:{first_line + i}: '{tag}' follows "
                f"'{tags[i - 1] if i else 'the sentence start'}' (IOB2 needs B- first)"
            )
        if label and not continues:
            spans.append((start, i, label))
            label = ""
        if prefix in ("B", "I") and not continues:
            start, label = i, tag_label
    return spans


def read_iob_docs(
    path: Path, vocab: Vocab, scheme: str, spans_key: Optional[str] = None
) -> List[Doc]:
    """One Doc per sentence, with `doc.user_data["document"]` the document's index.

    spans_key: Also put the entities in `doc.spans[spans_key]`, where spancat
        reads its gold spans.
    """
    docs = []
    for sentence in read_sentences(path):
        doc = Doc(vocab, words=sentence.words)
        spans = tags_to_spans(sentence.tags, scheme, str(path), sentence.line)
        doc.ents = [Span(doc, start, end, label=label) for start, end, label in spans]
        if spans_key is not None:
            doc.spans[spans_key] = list(doc.ents)
        doc.user_data["document"] = sentence.document
        docs.append(doc)
    return docs
