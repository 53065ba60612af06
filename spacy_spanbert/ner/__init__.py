"""`spanbert_ner`: span-based NER writing `doc.ents`, with a score per entity."""

from .component import SpanBertNER, make_spanbert_ner

__all__ = ["SpanBertNER", "make_spanbert_ner"]
