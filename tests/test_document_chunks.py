"""Documents for training: chunks of whole sentences, with their boundaries and spans."""

import spacy
from spacy.tokens import DocBin, Span
from spacy.training import Corpus
from spacy.util import registry

from spacy_spanbert.corpora import as_documents
from spacy_spanbert.corpora.document_chunks import sentence_chunks

from .util import make_examples


def _document(nlp):
    sentences = [eg.reference for eg in make_examples(nlp)]
    for doc in sentences:
        doc.spans["sc"] = [Span(doc, e.start, e.end, label=e.label_) for e in doc.ents]
    (document,) = as_documents(sentences, group_size=len(sentences))
    return document


def test_sentence_chunks_fit_and_keep_sentences_whole():
    nlp = spacy.blank("en")
    document = _document(nlp)
    chunks = sentence_chunks(document, max_tokens=20)
    starts = {s.start for s in document.sents}
    assert chunks[0][0] == 0 and chunks[-1][1] == len(document)
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
    assert all(start in starts and end - start <= 20 for start, end in chunks)
    assert sentence_chunks(document, max_tokens=1) == [(s.start, s.end) for s in document.sents]


def test_augmenter_gives_chunks_their_sentence_starts_entities_and_spans(tmp_path):
    nlp = spacy.blank("en")
    document = _document(nlp)
    DocBin(docs=[document]).to_disk(tmp_path / "docs.spacy")
    augmenter = registry.augmenters.get("spacy_spanbert.document_chunks.v1")(max_tokens=20)
    examples = list(Corpus(tmp_path / "docs.spacy", augmenter=augmenter)(nlp))
    assert len(examples) == len(sentence_chunks(document, 20)) > 1
    for eg in examples:
        assert len(eg.reference) <= 20
        predicted_starts = [t.is_sent_start for t in eg.predicted]
        assert predicted_starts == [t.is_sent_start for t in eg.reference]
    assert [(e.text, e.label_) for eg in examples for e in eg.reference.ents] == [
        (e.text, e.label_) for e in document.ents
    ]
    assert [(s.text, s.label_) for eg in examples for s in eg.reference.spans["sc"]] == [
        (s.text, s.label_) for s in document.spans["sc"]
    ]


def test_docs_without_sentences_pass_through(tmp_path):
    nlp = spacy.blank("en")
    docs = [eg.reference for eg in make_examples(nlp)]
    DocBin(docs=docs).to_disk(tmp_path / "docs.spacy")
    augmenter = registry.augmenters.get("spacy_spanbert.document_chunks.v1")(max_tokens=5)
    examples = list(Corpus(tmp_path / "docs.spacy", augmenter=augmenter)(nlp))
    assert [eg.reference.text for eg in examples] == [doc.text for doc in docs]
