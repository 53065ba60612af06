"""Any text a user can pass: no exception, valid non-overlapping entities, text unchanged."""

import numpy
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.language import Language
from spacy.tokens import Doc

from spacy_spanbert.encoder.window_chunks import CHUNK_WINDOWS

from .util import inline_encoder

ODD_TEXTS = {
    "empty": "",
    "whitespace only": " \n\t  \r\n ",
    "single character": "x",
    "very long token": "a" * 5000 + " Barack Obama visited Berlin",
    "emoji and astral": "Obama 😀🎉👩‍👩‍👧 visited 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 Berlin 𠜎𠜱",
    "combining marks": "e\u0301\u0301\u0301 Ba\u0308rack O\u0336bama visited Berlin",
    "zero-width": "\u200b\u200b Obama \u200d\u200c visited\ufeff Berlin \u2060",
    "control characters": "\x00\x01\x07 Obama\x1b visited\x7f Berlin\x0b\x0c",
    "mixed scripts": "Obama посетил Берлин و باريس और दिल्ली",
    "CJK without spaces": "東京大学の研究者がベルリンで発表した。北京大学的研究人员发表了结果。",
    "no wordpieces": "\u200b \ufeff \u2028 \u2029 \x0b \u00ad",
    "only punctuation": "!!! ??? ... ,,, ;;; ---",
}


def assert_valid(doc: Doc, text: str, scores_key: str = "spanbert_ner") -> None:
    assert doc.text == text
    covered = numpy.zeros(len(doc), dtype=int)
    for ent in doc.ents:
        assert 0 <= ent.start < ent.end <= len(doc)
        covered[ent.start : ent.end] += 1
    assert covered.max(initial=0) <= 1, "doc.ents overlap"
    group = doc.spans[scores_key]
    scores = group.attrs["scores"]
    assert len(scores) == len(group)
    assert numpy.all((scores > 0) & (scores <= 1))


def test_odd_texts_one_at_a_time_and_batched(trained_nlp: Language):
    texts = list(ODD_TEXTS.values())
    for text in texts:
        assert_valid(trained_nlp(text), text)
    for text, doc in zip(texts, trained_nlp.pipe(texts, batch_size=4)):
        assert_valid(doc, text)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_any_unicode_text(trained_nlp: Language, text: str):
    assert_valid(trained_nlp(text), text)


WORDS = st.sampled_from(
    [
        "Barack",
        "Obama",
        "visited",
        "Berlin",
        "Google",
        "London",
        ".",
        ",",
        "\n",
        "😀",
        "東京",
        "\u200b",
        "x" * 120,
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(st.lists(WORDS, max_size=60).map(" ".join), min_size=1, max_size=12))
def test_batches_of_mixed_texts(trained_nlp: Language, batch):
    for text, doc in zip(batch, trained_nlp.pipe(batch, batch_size=5)):
        assert_valid(doc, text)


@pytest.mark.issue(6)
def test_encoder_predicts_long_docs_in_chunks_of_windows(trained_nlp: Language):
    """A doc of ~20 windows, predicted 64 (one pass), 8 and 3 windows at a time:
    the same vectors. The default is 16."""
    tok2vec = trained_nlp.get_pipe("spanbert_ner").model.get_ref("tok2vec")
    wrapper = inline_encoder(trained_nlp).wrapper
    assert wrapper.attrs["chunk_windows"] == CHUNK_WINDOWS == 16
    doc = trained_nlp.make_doc(" ".join(["Barack Obama visited Berlin on Monday."] * 300))
    vectors = {}
    try:
        for size in (64, 8, 3):
            wrapper.attrs["chunk_windows"] = size
            vectors[size] = tok2vec.predict([doc])[0]
    finally:
        wrapper.attrs["chunk_windows"] = CHUNK_WINDOWS
    assert vectors[64].shape == (len(doc), 64)
    for size in (8, 3):
        numpy.testing.assert_allclose(vectors[size], vectors[64], rtol=1e-4, atol=1e-5)


@pytest.mark.issue(5)
def test_encoder_chunks_of_sorted_trimmed_windows_give_one_pass_vectors(trained_nlp: Language):
    """Docs of 1 to ~100 tokens in mixed order: chunks of 2 windows, each cut to its
    own longest, give the vectors of one padded pass, in the docs' order."""
    tok2vec = trained_nlp.get_pipe("spanbert_ner").model.get_ref("tok2vec")
    wrapper = inline_encoder(trained_nlp).wrapper
    words = "Barack Obama visited Berlin on Monday and met Angela Merkel there".split()
    docs = [trained_nlp.make_doc(" ".join((words * 10)[:n])) for n in (37, 1, 100, 5, 64, 12, 2)]
    try:
        wrapper.attrs["chunk_windows"] = 1000
        whole = tok2vec.predict(docs)
        wrapper.attrs["chunk_windows"] = 2
        chunked = tok2vec.predict(docs)
    finally:
        wrapper.attrs["chunk_windows"] = CHUNK_WINDOWS
    for doc, a, b in zip(docs, whole, chunked):
        assert a.shape == b.shape == (len(doc), 64)
        numpy.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


@pytest.mark.issue(6)
def test_candidate_spans_are_scored_the_same_in_chunks(trained_nlp: Language):
    """Prediction scores candidates 16,384 at a time; chunks of 7 give the same scores."""
    ner = trained_nlp.get_pipe("spanbert_ner")
    (chunks,) = [node for node in ner.model.walk() if node.name.startswith("in_span_chunks")]
    docs = [trained_nlp.make_doc(text) for text in ODD_TEXTS.values()]
    candidates, whole = ner.predict(docs)
    assert candidates.dataXd.shape[0] > 10 * 7
    default = chunks.attrs["chunk_size"]
    try:
        chunks.attrs["chunk_size"] = 7
        _, chunked = ner.predict(docs)
    finally:
        chunks.attrs["chunk_size"] = default
    numpy.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
