"""Documents for training: chunks of whole sentences, with their boundaries and spans."""

import pytest
import spacy
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Corpus
from spacy.util import registry

from spacy_spanbert.corpora import as_documents
from spacy_spanbert.corpora.document_chunks import sentence_chunks
from spacy_spanbert.doc_centre import CENTRE_GROUP

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


def _gold_word_documents(nlp, group_size):
    """Documents joined from sentences of gold words (spaces unknown), as converted."""
    sentences = [
        Doc(nlp.vocab, words=[t.text for t in eg.reference], ents=_iob(eg.reference))
        for eg in make_examples(nlp)
    ]
    for doc in sentences:
        doc[0].is_sent_start = True
    return as_documents(sentences, group_size=group_size)


def _iob(doc):
    return [f"{t.ent_iob_}-{t.ent_type_}" if t.ent_type_ else "O" for t in doc]


@pytest.mark.issue(15)
def test_documents_of_gold_words_keep_their_tokens_through_the_corpus(tmp_path):
    """Joined sentences of gold words stay gold words in training: spaCy's Corpus and
    the augmenter never re-tokenize them (the tokenizer would split "1996-08-22")."""
    nlp = spacy.blank("en")
    words = ["Talks", "in", "New-York", "on", "1996-08-22", "."]
    sentences = [Doc(nlp.vocab, words=words, ents=["O", "O", "B-LOC", "O", "O", "O"])] * 3
    sentences = [Doc(nlp.vocab, words=words, ents=_iob(doc)) for doc in sentences]
    (document,) = as_documents(sentences, group_size=3)
    assert document.has_unknown_spaces
    DocBin(docs=[document]).to_disk(tmp_path / "docs.spacy")
    (whole,) = Corpus(tmp_path / "docs.spacy")(nlp)
    assert [t.text for t in whole.predicted] == words * 3
    for context in (0, 4):
        augmenter = registry.augmenters.get("spacy_spanbert.document_chunks.v1")(
            max_tokens=6, context=context
        )
        examples = list(Corpus(tmp_path / "docs.spacy", augmenter=augmenter)(nlp))
        assert len(examples) == 3
        for eg in examples:
            assert [t.text for t in eg.predicted] == [t.text for t in eg.reference]


@pytest.mark.issue(15)
def test_context_is_unannotated_and_the_centre_keeps_its_entities(tmp_path):
    nlp = spacy.blank("en")
    documents = _gold_word_documents(nlp, group_size=4)
    DocBin(docs=documents).to_disk(tmp_path / "docs.spacy")
    augmenter = registry.augmenters.get("spacy_spanbert.document_chunks.v1")(
        max_tokens=1, context=5
    )
    examples = list(Corpus(tmp_path / "docs.spacy", augmenter=augmenter)(nlp))
    sentences = [s for document in documents for s in document.sents]
    assert len(examples) == len(sentences)
    centre_length = registry.misc.get("spacy_spanbert.centre_length.v1")()
    annotated = []
    for eg, sentence in zip(examples, sentences):
        (centre,) = eg.predicted.spans[CENTRE_GROUP]
        assert centre.text == sentence.text and centre_length(eg) == len(sentence)
        document = sentence.doc
        before, after = centre.start, len(eg.predicted) - centre.end
        assert before == min(5, sentence.start) and after == min(5, len(document) - sentence.end)
        iob = [t.ent_iob_ for t in eg.reference]
        assert all(tag == "" for tag in iob[: centre.start] + iob[centre.end :])
        assert all(tag in ("B", "I", "O") for tag in iob[centre.start : centre.end])
        assert eg.predicted[centre.start].is_sent_start
        assert centre.end == len(eg.predicted) or eg.predicted[centre.end].is_sent_start
        annotated += [(e.text, e.label_) for e in eg.reference.ents]
    assert annotated == [(e.text, e.label_) for d in documents for e in d.ents]


@pytest.mark.issue(15)
def test_context_is_refused_where_spancat_learns_span_groups(tmp_path):
    nlp = spacy.blank("en")
    nlp.add_pipe("spancat", config={"spans_key": "sc"})
    DocBin(docs=[_document(nlp)]).to_disk(tmp_path / "docs.spacy")
    with_context = registry.augmenters.get("spacy_spanbert.document_chunks.v1")(
        max_tokens=20, context=8
    )
    with pytest.raises(ValueError, match="spancat"):
        list(Corpus(tmp_path / "docs.spacy", augmenter=with_context)(nlp))
    without = registry.augmenters.get("spacy_spanbert.document_chunks.v1")(max_tokens=20)
    assert list(Corpus(tmp_path / "docs.spacy", augmenter=without)(nlp))
