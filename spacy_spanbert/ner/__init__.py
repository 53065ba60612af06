from .pipeline_component import SpanBertNER, make_spanbert_ner

__all__ = ["SpanBertNER", "make_spanbert_ner"]
