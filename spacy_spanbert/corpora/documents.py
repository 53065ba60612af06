"""Sentences back into their documents, so the encoder can read a sentence in context.

The readers give one Doc per sentence, each with its document in
`doc.user_data["document"]`. `as_documents` joins the consecutive sentences of a
document into one Doc with sentence starts set; entities and span groups come along
unchanged. A corpus without document markers (WNUT-17) is one document: it is cut
into groups of `group_size` sentences instead.
"""

from itertools import groupby
from typing import List

from spacy.tokens import Doc

LAYOUTS = ("sentence", "document")
DOCUMENT_KEY = "document"


def as_documents(sentences: List[Doc], group_size: int) -> List[Doc]:
    """One Doc per document (or per `group_size` sentences where the corpus has one
    document), sentences in order, with `doc.user_data["document"]` kept. The sentence
    docs are used up: their sentence starts are set and their user data cleared (a
    sentence's own keys, such as GENIA's sent_id, have no place in a document). A
    document built from sentences of unknown spacing (gold words) keeps it unknown."""
    if group_size < 1:
        raise ValueError(f"group_size must be at least 1 sentence, got {group_size}.")
    keys = [doc.user_data.get(DOCUMENT_KEY) for doc in sentences]
    for doc in sentences:
        doc.user_data.clear()
        for token in doc:
            token.is_sent_start = token.i == 0
    if len(set(keys)) <= 1:
        keys = [i // group_size for i in range(len(sentences))]
    documents = []
    position = 0
    for key, run in groupby(keys):
        n = len(list(run))
        run_docs = sentences[position : position + n]
        document = Doc.from_docs(run_docs, ensure_whitespace=True)
        # from_docs leaves the spaces known; spaCy's Corpus would then re-tokenize the
        # text instead of keeping the gold words, as it does for the sentences.
        document.has_unknown_spaces = any(doc.has_unknown_spaces for doc in run_docs)
        document.user_data[DOCUMENT_KEY] = key
        documents.append(document)
        position += n
    return documents


def layout_docs(sentences: List[Doc], layout: str, group_size: int) -> List[Doc]:
    """The sentence docs as they are, or joined into documents."""
    if layout not in LAYOUTS:
        raise ValueError(f"Unknown layout '{layout}'; use one of {', '.join(LAYOUTS)}.")
    return sentences if layout == "sentence" else as_documents(sentences, group_size)
