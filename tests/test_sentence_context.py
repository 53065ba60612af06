"""Each sentence encoded inside its document, each token's vectors from its own window."""

from typing import Dict, List

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc
from transformers import BertTokenizer

from spacy_spanbert.doc_centre import CENTRE_GROUP
from spacy_spanbert.encoder.sentence_context import SentenceContextSpans, most_central
from spacy_spanbert.encoder.wordpiece_budget import WordpieceBudget, wordpiece_budgets

from .util import TEXTS, inline_encoder, ner_config


def _nlp(
    trained_nlp: Language,
    tiny_bert,
    context: int,
    window: int = 60,
    stride: int = 45,
    centre: int = 0,
) -> Language:
    """The trained spanbert_ner with sentence-context windows, after a sentencizer."""
    config = ner_config(tiny_bert)
    config["model"]["tok2vec"]["get_spans"] = {
        "@span_getters": "spacy_spanbert.sentence_context.v1",
        "context": context,
        "window": window,
        "stride": stride,
        "centre": centre,
    }
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("spanbert_ner", config=config).from_bytes(
        trained_nlp.get_pipe("spanbert_ner").to_bytes()
    )
    return nlp


def _vectors(nlp: Language, doc: Doc) -> numpy.ndarray:
    return nlp.get_pipe("spanbert_ner").model.get_ref("tok2vec").predict([doc])[0]


def _doc(nlp: Language, sentences: List[str]) -> Doc:
    return nlp.get_pipe("sentencizer")(nlp.make_doc(" ".join(sentences)))


def test_windows_hold_each_sentence_and_its_context():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp(" ".join(TEXTS))
    windows = SentenceContextSpans(context=4, window=30, stride=20).windows(doc)
    sentences = list(doc.sents)
    assert len(windows.spans) == len(sentences)
    for i, (window, sentence) in enumerate(zip(windows.spans, sentences)):
        assert window.start == max(0, sentence.start - 4) and window.end == min(
            len(doc), sentence.end + 4
        )
        assert (windows.centres[sentence.start : sentence.end] == i).all()


def test_consecutive_sentences_share_a_window_up_to_centre_tokens():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp(" ".join(TEXTS * 2))
    sentences = list(doc.sents)
    getter = SentenceContextSpans(context=4, window=40, stride=30, centre=25)
    groups = getter.sentence_groups(doc[:])
    assert groups[0][0] == 0 and groups[-1][1] == len(doc)
    assert all(end == next_start for (_, end), (next_start, _) in zip(groups, groups[1:]))
    starts = {s.start for s in sentences}
    lengths = {s.start: len(s) for s in sentences}
    for start, end in groups:
        assert start in starts and (end in starts or end == len(doc))  # whole sentences
        assert end - start <= 25 or end - start == lengths[start]  # a long one alone
        if end < len(doc):  # the next sentence would not have fitted
            assert end + lengths[end] - start > 25
    assert len(groups) < len(sentences)
    windows = getter.windows(doc)
    assert len(windows.spans) == len(groups) and all(len(s) <= 40 for s in windows.spans)
    for i, (start, end) in enumerate(groups):
        assert (windows.centres[start:end] == i).all()
        assert windows.spans[i].start == max(0, start - min(4, (40 - (end - start)) // 2))
    with pytest.raises(ValueError, match="centre"):
        SentenceContextSpans(context=4, window=40, stride=30, centre=41)


def test_long_sentences_fall_back_to_strided_windows():
    bounds = [(0, 10), (7, 17), (14, 24)]
    # Token 8 is 1 from an edge of both windows 0 and 1: a tie goes to the earlier.
    assert most_central(bounds, 0, 24).tolist() == [0] * 9 + [1] * 7 + [2] * 8
    nlp = spacy.blank("en")
    doc = nlp.make_doc(" ".join(["word"] * 40))
    doc[0].is_sent_start = True
    for token in doc[1:]:
        token.is_sent_start = False
    windows = SentenceContextSpans(context=8, window=10, stride=7).windows(doc)
    assert all(len(span) <= 10 for span in windows.spans) and len(windows.spans) > 3
    starts = numpy.asarray([s.start for s in windows.spans])[windows.centres]
    ends = numpy.asarray([s.end for s in windows.spans])[windows.centres]
    assert ((starts <= numpy.arange(40)) & (numpy.arange(40) < ends)).all()


def test_docs_without_sentences_get_strided_windows():
    doc = spacy.blank("en").make_doc(" ".join(TEXTS))
    windows = SentenceContextSpans(context=4, window=20, stride=15).windows(doc)
    assert windows.centres is None
    assert [s.start for s in windows.spans][:3] == [0, 15, 30]


def test_context_changes_the_vectors_and_no_context_equals_the_sentence_alone(
    trained_nlp, tiny_bert
):
    sentences = TEXTS[:3]
    alone = trained_nlp.make_doc(sentences[1])
    with_context = _nlp(trained_nlp, tiny_bert, context=6)
    without = _nlp(trained_nlp, tiny_bert, context=0)
    expected = _vectors(without, alone)
    doc = _doc(without, sentences)
    middle = list(doc.sents)[1]
    numpy.testing.assert_allclose(
        _vectors(without, doc)[middle.start : middle.end], expected, rtol=1e-4, atol=1e-5
    )
    in_context = _vectors(with_context, _doc(with_context, sentences))[middle.start : middle.end]
    assert not numpy.allclose(in_context, expected, atol=1e-3)


def test_a_sentence_does_not_see_beyond_its_context(trained_nlp, tiny_bert):
    nlp = _nlp(trained_nlp, tiny_bert, context=3)
    near = TEXTS[:4]
    far_changed = TEXTS[:3] + ["Apple and Microsoft compete in New York City."]
    first = list(_doc(nlp, near).sents)[0]
    a = _vectors(nlp, _doc(nlp, near))[first.start : first.end]
    b = _vectors(nlp, _doc(nlp, far_changed))[first.start : first.end]
    numpy.testing.assert_array_equal(a, b)
    # The next sentence is within 3 tokens: changing it changes the first one's vectors.
    near_changed = [TEXTS[0], "Lionel Messi scored twice for Inter Miami.", *TEXTS[2:4]]
    c = _vectors(nlp, _doc(nlp, near_changed))[first.start : first.end]
    assert not numpy.allclose(a, c, atol=1e-4)


@pytest.mark.issue(15)
def test_a_marked_centre_is_read_as_in_its_document(trained_nlp, tiny_bert):
    """A training chunk: the sentence marked in CENTRE_GROUP, 4 tokens of context on
    either side. It gets one window, every token aligned to it, and the sentence the
    vectors it has inside the whole document with the same context."""
    nlp = _nlp(trained_nlp, tiny_bert, context=4)
    document = _doc(nlp, TEXTS[:3])
    sentence = list(document.sents)[1]
    chunk = document[sentence.start - 4 : sentence.end + 4].as_doc()
    chunk.spans[CENTRE_GROUP] = [chunk[4 : 4 + len(sentence)]]
    windows = inline_encoder(nlp).attrs["get_spans"].windows(chunk)
    assert [(w.start, w.end) for w in windows.spans] == [(0, len(chunk))]
    assert windows.centres is not None and not windows.centres.any()
    numpy.testing.assert_allclose(
        _vectors(nlp, chunk)[4 : 4 + len(sentence)],
        _vectors(nlp, document)[sentence.start : sentence.end],
        rtol=1e-4,
        atol=1e-5,
    )
    # Unmarked, the context sentences would be centres of windows of their own.
    del chunk.spans[CENTRE_GROUP]
    assert len(inline_encoder(nlp).attrs["get_spans"]([chunk])[0]) == 3


def test_a_centre_group_must_hold_one_span():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp("One two. Three four.")
    doc.spans[CENTRE_GROUP] = [doc[0:1], doc[2:3]]
    with pytest.raises(ValueError, match="one non-empty span"):
        SentenceContextSpans(context=2, window=10, stride=5).windows(doc)


@pytest.mark.parametrize("context,window,centre", [(6, 60, 0), (40, 60, 0), (6, 5, 0), (6, 60, 30)])
def test_every_token_is_aligned_to_one_window(trained_nlp, tiny_bert, context, window, centre):
    """Each token's wordpieces are those of one window: as many as the token has alone.
    (window 5: sentences longer than the window, strided; centre 30: sentence groups.)"""
    stride = max(1, window - 2)
    nlp = _nlp(trained_nlp, tiny_bert, context=context, window=window, stride=stride, centre=centre)
    doc = _doc(nlp, TEXTS * 2)
    batch = inline_encoder(nlp).predict([doc])
    tokenizer = inline_encoder(nlp).tokenizer
    pieces_alone = [len(tokenizer.tokenize(token.text)) for token in doc]
    assert numpy.asarray(batch.align.lengths).tolist() == pieces_alone
    assert numpy.abs(_vectors(nlp, doc)).sum(axis=1).min() > 0


def test_documents_longer_than_the_encoder_and_odd_sentences(trained_nlp, tiny_bert):
    nlp = _nlp(trained_nlp, tiny_bert, context=20)
    long_doc = _doc(nlp, TEXTS * 12)
    assert len(inline_encoder(nlp).tokenizer(long_doc.text)["input_ids"]) > 512
    vectors = _vectors(nlp, long_doc)
    assert vectors.shape[0] == len(long_doc) and numpy.abs(vectors).sum(axis=1).min() > 0
    for text in ["", " ", "Hello .  \n\n  . World .", "One.\n\nTwo."]:
        doc = nlp(text)
        assert doc.text == text
        if len(doc):  # an empty doc never reaches the encoder
            assert _vectors(nlp, doc).shape[0] == len(doc)


def test_one_group_without_context_reads_the_doc_in_one_window(trained_nlp, tiny_bert):
    """centre as large as the doc: one window, the same vectors as the doc read whole."""
    nlp = _nlp(trained_nlp, tiny_bert, context=0, window=200, stride=200, centre=200)
    doc = _doc(nlp, TEXTS[:4])
    assert len(list(doc.sents)) == 4 and len(doc) < 200
    whole = nlp.make_doc(doc.text)  # no sentence boundaries: one strided window of 200
    assert len(inline_encoder(nlp).attrs["get_spans"]([whole])[0]) == 1
    numpy.testing.assert_allclose(_vectors(nlp, doc), _vectors(nlp, whole), rtol=1e-4, atol=1e-5)


def test_without_context_the_entities_are_those_of_each_sentence_alone(trained_nlp, tiny_bert):
    nlp = _nlp(trained_nlp, tiny_bert, context=0)
    expected = []
    offset = 0
    for text in TEXTS:
        expected += [
            (offset + e.start_char, offset + e.end_char, e.label_) for e in trained_nlp(text).ents
        ]
        offset += len(text) + 1
    assert len(expected) >= 10
    assert [(e.start_char, e.end_char, e.label_) for e in nlp(" ".join(TEXTS)).ents] == expected


def test_round_trip_keeps_the_windows(trained_nlp, tiny_bert, tmp_path):
    nlp = _nlp(trained_nlp, tiny_bert, context=10, centre=20)
    text = " ".join(TEXTS)
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    getter = inline_encoder(loaded).attrs["get_spans"]
    assert isinstance(getter, SentenceContextSpans)
    assert (getter.context, getter.centre) == (10, 20)
    numpy.testing.assert_array_equal(_vectors(loaded, loaded(text)), _vectors(nlp, nlp(text)))


@pytest.mark.issue(15)
def test_context_config_trains_on_documents(tiny_bert, tmp_path):
    """configs/spanbert_ner_context.cfg: documents cut into sentence chunks with their
    boundaries, sentence windows with context, a sentencizer for raw text."""
    from spacy.tokens import DocBin

    from spacy_spanbert.annotate import annotate_records
    from spacy_spanbert.corpora import as_documents
    from spacy_spanbert.input_records import InputRecord

    from .util import make_examples, spacy_train

    nlp = spacy.blank("en")
    sentences = [eg.reference for eg in make_examples(nlp)]
    documents = as_documents(sentences, group_size=4)
    DocBin(docs=documents).to_disk(tmp_path / "train.spacy")
    spacy_train(
        "configs/spanbert_ner_context.cfg", tmp_path / "out", tmp_path / "train.spacy", tiny_bert,
        "--training.max_steps", "200", "--training.optimizer.learn_rate.total_steps", "200",
        "--training.optimizer.learn_rate.initial_rate", "0.01", "--training.batcher.size", "100",
        "--training.dropout", "0.0", "--components.spanbert_ner.model.dropout", "0.0",
        "--components.spanbert_ner.encoder_lr_scale", "0.1", "--training.eval_frequency", "50",
    )  # fmt: skip
    trained = spacy.load(tmp_path / "out" / "model-best")
    assert trained.pipe_names == ["sentencizer", "spanbert_ner"]
    assert isinstance(inline_encoder(trained).attrs["get_spans"], SentenceContextSpans)
    for document in documents:  # the raw text of each training document
        doc = trained(document.text)
        assert len(list(doc.sents)) == len(list(document.sents))
        assert [(e.text, e.label_) for e in doc.ents] == [(e.text, e.label_) for e in document.ents]
    # `annotate` on multi-sentence records: the same pipeline, the same entities.
    records = [
        InputRecord("texts.jsonl", i, {"text": document.text})
        for i, document in enumerate(documents)
    ]
    annotated = annotate_records(trained, records, key="annotations")
    for output, document in zip(annotated, documents):
        found = [(e["start"], e["end"], e["label"]) for e in output["annotations"]["entities"]]
        assert found == [(e.start_char, e.end_char, e.label_) for e in document.ents]


def _budget(doc: Doc, pieces_of: Dict[str, int], limit: int) -> WordpieceBudget:
    return WordpieceBudget.of(numpy.asarray([pieces_of.get(t.text, 1) for t in doc]), limit)


@pytest.mark.issue(15)
def test_windows_fit_the_wordpiece_budget():
    """Context is narrowed, groups split and long sentences strided until every window
    holds at most the budget's wordpieces; without the budget they would not fit."""
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    doc = nlp(" ".join(TEXTS * 3))
    budget = _budget(doc, {"Apple": 9, "London": 12, "Google": 7}, limit=40)
    getter = SentenceContextSpans(context=16, window=60, stride=45, centre=30)
    unfitted = getter.windows(doc)
    assert max(budget.count(s.start, s.end) for s in unfitted.spans) > 40
    fitted = getter.windows(doc, budget)
    assert max(budget.count(s.start, s.end) for s in fitted.spans) <= 40
    assert len(fitted.spans) > len(unfitted.spans)  # groups split
    assert fitted.centres is not None
    for i, span in enumerate(fitted.spans):
        own = numpy.flatnonzero(fitted.centres == i)
        assert span.start <= own.min() and own.max() < span.end
        # As much context as fits: one more token on either side would not.
        side = max(own.min() - span.start, span.end - 1 - own.max())  # one may be clipped
        first, last = own.min(), own.max() + 1
        wider = budget.count(max(0, first - side - 1), min(len(doc), last + side + 1))
        assert side == min(16, (60 - (last - first)) // 2) or wider > 40


@pytest.mark.issue(15)
def test_a_sentence_over_the_budget_is_strided_to_fit():
    nlp = spacy.blank("en")
    doc = nlp.make_doc(" ".join(["word"] * 30))
    doc[0].is_sent_start = True
    for token in doc[1:]:
        token.is_sent_start = False
    budget = _budget(doc, {"word": 4}, limit=50)  # 120 wordpieces, 12 tokens fit
    windows = SentenceContextSpans(context=8, window=60, stride=45).windows(doc, budget)
    assert len(windows.spans) > 2
    assert all(budget.count(s.start, s.end) <= 50 for s in windows.spans)
    assert windows.centres is not None and sorted(set(windows.centres)) == list(
        range(len(windows.spans))
    )


@pytest.mark.parametrize("fast", [True, False])
def test_wordpiece_counts_are_those_of_each_token_alone(trained_nlp, tiny_bert, fast):
    tokenizer = inline_encoder(trained_nlp).tokenizer
    if not fast:
        vocab = str(tiny_bert / "vocab.txt")
        tokenizer = BertTokenizer(vocab, do_lower_case=False, model_max_length=512)
    assert tokenizer.is_fast == fast
    texts = [*TEXTS[:2], "Zqxjkv Zqxjkv !", "", "a\n\nb  c"]
    docs = [trained_nlp.make_doc(text) for text in texts]
    budgets = wordpiece_budgets(tokenizer, docs)
    assert [len(budget.totals) for budget in budgets] == [len(doc) + 1 for doc in docs]
    for doc, budget in zip(docs, budgets):
        expected = [len(tokenizer.tokenize(token.text)) for token in doc]
        assert numpy.diff(budget.totals).tolist() == expected
        assert budget.limit == tokenizer.model_max_length - 2
    assert wordpiece_budgets(tokenizer, []) == []


@pytest.mark.issue(15)
def test_windows_of_long_words_fit_the_encoder(trained_nlp, tiny_bert):
    """Sentences of unknown words (a wordpiece per character): 180-token windows would
    hold over 512 wordpieces, and spacy-transformers would cut their ends. Fitted, none
    is cut and every token is aligned to all of its own wordpieces."""
    nlp = _nlp(trained_nlp, tiny_bert, context=80, window=180, stride=135)
    words = ["Zqxjkvw", "Bqxyzt", "Kwxvqj", "Jzqxv"] * 5
    doc = _doc(nlp, [" ".join(words) + " ."] * 6)
    tokenizer = inline_encoder(nlp).tokenizer
    pieces_alone = [len(tokenizer.tokenize(token.text)) for token in doc]
    getter = inline_encoder(nlp).attrs["get_spans"]
    assert max(sum(pieces_alone[s.start : s.end]) for s in getter([doc])[0]) > 512
    batch = inline_encoder(nlp).predict([doc])
    read = numpy.asarray(batch.wordpieces.attention_mask).sum(axis=1).tolist()
    assert read == [sum(pieces_alone[s.start : s.end]) + 2 for s in batch.spans[0]]
    assert max(read) <= tokenizer.model_max_length
    assert numpy.asarray(batch.align.lengths).tolist() == pieces_alone
    assert numpy.abs(_vectors(nlp, doc)).sum(axis=1).min() > 0
