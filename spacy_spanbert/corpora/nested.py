"""Read nested-span JSON lines (the GENIA layout) into spaCy Docs.

One sentence per line: `{"tokens": [...], "entity_mentions": [{"start", "end",
"entity_type"}], "doc_id": ...}`, token offsets with `end` exclusive. Spans may nest
and one span may carry two labels; all of them go to `doc.spans[spans_key]`, which
spancat (multi-label) trains on. `doc.ents` gets the outermost spans, the flat layer
a NER component can learn. Any line that can't be read stops the conversion with
its file and line number: nothing is dropped silently.
"""

import json
from pathlib import Path
from typing import Any, Dict, List, Tuple

from spacy.tokens import Doc, Span
from spacy.vocab import Vocab

from .errors import CorpusFormatError

MENTION_KEYS = ("start", "end", "entity_type")


def read_nested_docs(path: Path, vocab: Vocab, spans_key: str) -> List[Doc]:
    """One Doc per line. `doc.user_data["document"]` is the line's `doc_id` (or the
    line number when there is none), so a split by document keeps documents whole."""
    docs = []
    with Path(path).open(encoding="utf8") as file_:
        for line_no, line in enumerate(file_, start=1):
            if line.strip():
                docs.append(_line_to_doc(vocab, line, f"{path}:{line_no}", spans_key))
    return docs


def _line_to_doc(vocab: Vocab, line: str, where: str, spans_key: str) -> Doc:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise CorpusFormatError(f"{where}: not valid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise CorpusFormatError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for key in ("tokens", "entity_mentions"):
        if key not in record:
            raise CorpusFormatError(f"{where}: missing key '{key}'")
    tokens = record["tokens"]
    if not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens):
        raise CorpusFormatError(f"{where}: 'tokens' must be a list of non-empty strings")
    doc = Doc(vocab, words=tokens)
    mentions = record["entity_mentions"]
    if not isinstance(mentions, list):
        raise CorpusFormatError(f"{where}: 'entity_mentions' must be a list")
    spans = [
        Span(doc, *_mention(mention, len(tokens), f"{where}: mention {i}"))
        for i, mention in enumerate(mentions)
    ]
    doc.spans[spans_key] = spans
    doc.ents = outermost_spans(spans)
    doc.user_data["document"] = record.get("doc_id", where)
    if "sent_id" in record:
        doc.user_data["sent_id"] = record["sent_id"]
    return doc


def _mention(mention: Dict[str, Any], n_tokens: int, where: str) -> Tuple[int, int, str]:
    if not isinstance(mention, dict):
        raise CorpusFormatError(f"{where}: expected an object with keys {MENTION_KEYS}")
    missing = [key for key in MENTION_KEYS if key not in mention]
    if missing:
        raise CorpusFormatError(f"{where}: missing key(s) {', '.join(missing)}")
    start, end, label = mention["start"], mention["end"], mention["entity_type"]
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in (start, end)):
        raise CorpusFormatError(f"{where}: start and end must be integers, got {start!r}, {end!r}")
    if not isinstance(label, str) or not label:
        raise CorpusFormatError(f"{where}: entity_type must be a non-empty string")
    if end <= start:
        raise CorpusFormatError(f"{where}: end ({end}) must be greater than start ({start})")
    if start < 0 or end > n_tokens:
        raise CorpusFormatError(
            f"{where}: span [{start}, {end}) is out of range for {n_tokens} tokens"
        )
    return start, end, label


def outermost_spans(spans: List[Span]) -> List[Span]:
    """The spans no other span contains, left to right: the flat layer of a nested set.

    Where two outermost spans would overlap (crossing spans; GENIA has none) the one
    starting first is kept; of one span with two labels, the first listed.
    """
    kept: List[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if not kept or span.start >= kept[-1].end:
            kept.append(span)
    return kept
