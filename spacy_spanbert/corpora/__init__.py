from .iob import CorpusCounts, CorpusFormatError, read_iob_docs, tags_to_spans

__all__ = ["CorpusCounts", "CorpusFormatError", "read_iob_docs", "tags_to_spans"]
