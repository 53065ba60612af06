"""spancat on SpanBERT boundary representations, alone and sharing one encoder
pass with spanbert_ner."""

from typing import List

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import DocBin
from spacy.training import Example
from spacy.util import fix_random_seed
from thinc.api import SGD

from .util import LISTENER, NESTED_DATA, nested_examples, spacy_train

SPANCAT = {
    "spans_key": "sc",
    "threshold": 0.5,
    "suggester": {"@misc": "spacy.ngram_range_suggester.v1", "min_size": 1, "max_size": 4},
    "model": {
        "@architectures": "spacy_spanbert.SpanCategorizer.v1",
        "tok2vec": LISTENER,
        "reducer": {
            "@architectures": "spacy_spanbert.SpanBoundaryReducer.v2",
            "hidden_size": 64,
            "max_span_width": 4,
            "with_head": True,
        },
        "scorer": {"@layers": "spacy.LinearLogistic.v1"},
    },
}


def _pipeline(tiny_bert, components=("spanbert_ner", "spancat")) -> Language:
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert", config={"model": {"name": str(tiny_bert)}})
    if "spanbert_ner" in components:
        nlp.add_pipe("spanbert_ner", config={"model": {"tok2vec": LISTENER, "dropout": 0.0}})
    if "spancat" in components:
        nlp.add_pipe("spancat", config=SPANCAT)
    return nlp


def _fit(nlp: Language, examples: List[Example], keys: List[str], max_epochs: int = 300) -> dict:
    optimizer = nlp.initialize(lambda: examples)
    for epoch in range(max_epochs):
        nlp.update(examples, sgd=optimizer, drop=0.0)
        if epoch % 10 == 9:
            scores = nlp.evaluate(examples)
            if all(scores[key] == 1.0 for key in keys):
                break
    return scores


def _annotations(docs):
    return [
        (
            [(e.start, e.end, e.label_) for e in doc.ents],
            [(s.start, s.end, s.label_) for s in doc.spans["sc"]],
            doc.spans["sc"].attrs["scores"].round(5).tolist(),
        )
        for doc in docs
    ]


@pytest.fixture(scope="module")
def ner_and_spancat_nlp(tiny_bert) -> Language:
    nlp = _pipeline(tiny_bert)
    scores = _fit(nlp, nested_examples(nlp), ["ents_f", "spans_sc_f"])
    assert scores["ents_f"] == 1.0 and scores["spans_sc_f"] == 1.0, scores
    return nlp


def test_spancat_learns_nested_spans(tiny_bert):
    nlp = _pipeline(tiny_bert, components=("spancat",))
    scores = _fit(nlp, nested_examples(nlp), ["spans_sc_f"])
    assert scores["spans_sc_f"] == 1.0, scores
    doc = nlp("The University of Paris is in Paris.")
    assert {(s.text, s.label_) for s in doc.spans["sc"]} == {
        ("University of Paris", "ORG"),
        ("Paris", "LOC"),
    } and len(doc.spans["sc"]) == 3


def test_joint_pipeline_runs_the_encoder_once(ner_and_spancat_nlp):
    hf_model = ner_and_spancat_nlp.get_pipe("spanbert").model.transformer
    calls = []
    handle = hf_model.register_forward_hook(lambda *args: calls.append(1))
    try:
        docs = list(
            ner_and_spancat_nlp.pipe([text for text, _ in NESTED_DATA], batch_size=len(NESTED_DATA))
        )
    finally:
        handle.remove()
    assert len(calls) == 1
    assert [len(doc.ents) for doc in docs] == [2, 2, 0, 2, 2, 2]
    assert [len(doc.spans["sc"]) for doc in docs] == [len(spans) for _, spans in NESTED_DATA]


def test_both_heads_update_the_shared_encoder(tiny_bert):
    def encoder_after_updates(components):
        nlp = _pipeline(tiny_bert, components)
        examples = nested_examples(nlp)
        nlp.initialize(lambda: examples)
        weights = nlp.get_pipe("spanbert").model.transformer.encoder.layer[0].output.dense.weight
        before = weights.detach().numpy().copy()
        # Plain SGD: the step is the gradient itself. (Adam's first step is
        # lr * sign(gradient), blind to a second head whose gradient is smaller.)
        # spaCy steps the shared encoder right after its own `update`, before the
        # heads backpropagate into it, so a batch's gradient lands one update later.
        nlp.update(examples, sgd=SGD(1.0), drop=0.0)
        assert numpy.array_equal(before, weights.detach().numpy())
        # spanbert_ner's softmax starts at zero, so its first gradient into the
        # encoder is zero: three updates let both heads' gradients land.
        nlp.update(examples, sgd=SGD(1.0), drop=0.0)
        nlp.update(examples, sgd=SGD(1.0), drop=0.0)
        after = weights.detach().numpy().copy()
        assert not numpy.allclose(before, after)
        return after

    joint = encoder_after_updates(("spanbert_ner", "spancat"))
    ner_only = encoder_after_updates(("spanbert_ner",))
    spancat_only = encoder_after_updates(("spancat",))
    # Take either head away and the encoder's update changes: both gradients reach it.
    assert not numpy.allclose(joint, ner_only, atol=1e-7)
    assert not numpy.allclose(joint, spancat_only, atol=1e-7)


def test_joint_pipeline_round_trips(ner_and_spancat_nlp, tmp_path):
    texts = [text for text, _ in NESTED_DATA]
    expected = _annotations(ner_and_spancat_nlp.pipe(texts))
    ner_and_spancat_nlp.to_disk(tmp_path / "joint")
    loaded = spacy.load(tmp_path / "joint")
    assert loaded.pipe_names == ["spanbert", "spanbert_ner", "spancat"]
    assert _annotations(loaded.pipe(texts)) == expected


def test_shared_encoder_learns_at_its_scaled_rate(tiny_bert):
    def encoder_step(scale):
        nlp = _pipeline(tiny_bert, components=("spancat",))
        nlp.get_pipe("spanbert").encoder_lr_scale = scale
        examples = nested_examples(nlp)
        nlp.initialize(lambda: examples)
        weights = nlp.get_pipe("spanbert").model.transformer.encoder.layer[0].output.dense.weight
        before = weights.detach().numpy().copy()
        for _ in range(2):  # the first batch's gradient lands in the second update
            nlp.update(examples, sgd=SGD(1.0), drop=0.0)
        return weights.detach().numpy() - before

    step_1, step_3 = encoder_step(0.1), encoder_step(0.3)
    assert numpy.abs(step_1).max() > 0
    numpy.testing.assert_allclose(step_3, 3 * step_1, rtol=1e-4, atol=1e-8)


def test_joint_config_trains_with_spacy_train(tiny_bert, tmp_path):
    nlp = spacy.blank("en")
    DocBin(docs=[eg.reference for eg in nested_examples(nlp)]).to_disk(tmp_path / "train.spacy")
    spacy_train(
        "configs/spanbert_joint.cfg",
        tmp_path / "out",
        tmp_path / "train.spacy",
        tiny_bert,
        "--training.max_steps",
        "150",
        "--training.optimizer.learn_rate.total_steps",
        "150",
        "--training.eval_frequency",
        "50",
        # A random tiny encoder needs a fast rate: heads 1e-2, encoder 1e-3.
        "--training.optimizer.learn_rate.initial_rate",
        "0.01",
        "--components.spanbert.encoder_lr_scale",
        "0.1",
        "--training.dropout",
        "0.0",
        "--training.batcher.size",
        "100",
    )
    trained = spacy.load(tmp_path / "out" / "model-best")
    scores = trained.evaluate(nested_examples(trained))
    assert scores["ents_f"] > 0.8 and scores["spans_sc_f"] > 0.8, scores


@pytest.mark.issue(27)
def test_threshold_scores_of_spaCys_spancat_agree_with_its_scorer(tiny_bert):
    """spaCy's own spancat is scored through its own set_annotations: at every
    threshold, the search's P/R/F equal nlp.evaluate's."""
    from spacy_spanbert.span_pipe.thresholds import threshold_scores

    nlp = _pipeline(tiny_bert, components=("spancat",))
    examples = nested_examples(nlp)
    _fit(nlp, examples, ["spans_sc_f"], max_epochs=30)  # part-trained
    spancat = nlp.get_pipe("spancat")
    results = threshold_scores(nlp, "spancat", examples, [0.2, 0.4, 0.6], batch_size=3)
    assert len({round(r.f, 6) for r in results}) > 1  # the threshold matters here
    for result in results:
        spancat.cfg["threshold"] = result.threshold
        scores = nlp.evaluate(examples)
        assert (result.p, result.r, result.f) == pytest.approx(
            (scores["spans_sc_p"], scores["spans_sc_r"], scores["spans_sc_f"])
        )
