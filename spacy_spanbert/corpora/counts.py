"""What a converted corpus holds, so every conversion can show it lost nothing."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Dict, Optional

from spacy.tokens import Doc


@dataclass
class CorpusCounts:
    documents: int = 0
    sentences: int = 0
    tokens: int = 0
    entities: Dict[str, int] = field(default_factory=dict)
    spans: Dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, docs: Iterable[Doc], spans_key: Optional[str] = None) -> "CorpusCounts":
        """Count sentences (a doc's sentences, or the doc where it has no sentence
        boundaries), tokens, `doc.ents` and `doc.spans[spans_key]` per label; documents
        are the distinct `doc.user_data["document"]` values."""
        documents = set()
        counts = cls()
        entities: Counter = Counter()
        spans: Counter = Counter()
        for doc in docs:
            documents.add(doc.user_data.get("document"))
            counts.sentences += len(list(doc.sents)) if doc.has_annotation("SENT_START") else 1
            counts.tokens += len(doc)
            entities.update(ent.label_ for ent in doc.ents)
            if spans_key is not None and spans_key in doc.spans:
                spans.update(span.label_ for span in doc.spans[spans_key])
        counts.documents = len(documents)
        counts.entities = dict(entities)
        counts.spans = dict(spans)
        return counts
