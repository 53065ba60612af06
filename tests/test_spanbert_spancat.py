"""`spanbert_spancat`: spaCy's spancat settings, started at the label priors, trained
with cross-entropy through the projected boundary representation."""

from typing import Dict

import numpy
import pytest
import spacy
from spacy.language import Language
from spacy.pipeline.spancat import SpanCategorizer
from spacy.util import fix_random_seed
from thinc.api import chain, use_ops

from spacy_spanbert.layers.sigmoid_output import linear_sigmoid
from spacy_spanbert.layers.span_boundary import span_boundary_features
from spacy_spanbert.layers.span_reducer import span_boundary_reducer
from spacy_spanbert.spancat.decoding import multilabel_keep
from spacy_spanbert.spancat.targets import label_targets

from .gradcheck import to_float64
from .util import NESTED_DATA, nested_examples


def _config(tiny_bert, **overrides) -> Dict:
    model = {
        "tok2vec": {"name": str(tiny_bert)},
        "hidden_size": 32,
        "max_span_width": 4,
        **overrides.pop("model", {}),
    }
    suggester = {"@misc": "spacy.ngram_range_suggester.v1", "min_size": 1, "max_size": 4}
    return {"model": model, "suggester": suggester, **overrides}


def _pipeline(tiny_bert, **overrides) -> Language:
    fix_random_seed(0)
    nlp = spacy.blank("en")
    nlp.add_pipe("spanbert_spancat", config=_config(tiny_bert, **overrides))
    return nlp


def _fit(nlp: Language, max_epochs: int = 200) -> Dict:
    examples = nested_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    scores: Dict = {}
    for epoch in range(max_epochs):
        nlp.update(examples, sgd=optimizer, drop=0.0)
        if epoch % 10 == 9:
            scores = nlp.evaluate(examples)
            if scores["spans_sc_f"] == 1.0:
                break
    return scores


def _reducer_and_chain(with_head: bool):
    """The projected reducer and the same layers as a chain on feature rows, float64,
    random weights."""
    with use_ops("numpy", use_blis=False):
        features = span_boundary_features(3, 4, with_head)
        reducer = span_boundary_reducer(features, hidden_size=5)
    rng = numpy.random.default_rng(0)
    X = rng.normal(size=(7, 4))
    spans = numpy.asarray([[0, 1], [0, 3], [2, 7], [4, 6], [6, 7]], dtype="int32")
    reducer.initialize(X=(X, spans))
    to_float64(reducer)
    for i, node in enumerate(reducer.walk()):
        for name in node.param_names:
            node.set_param(
                name, numpy.random.default_rng(i).normal(size=node.get_param(name).shape)
            )
    _, maxout, norm = reducer.layers
    return reducer, chain(maxout, norm), X, spans


def _grads(layer) -> Dict[str, numpy.ndarray]:
    grads = {}
    for node in layer.walk():
        for name in node.param_names:
            if node.has_grad(name):
                grads[f"{node.id}.{name}"] = node.get_grad(name).copy()
                node.set_grad(name, numpy.zeros_like(node.get_grad(name)))
    return grads


@pytest.mark.parametrize("with_head", [False, True])
def test_projected_reducer_equals_maxout_and_layernorm_on_the_features(with_head):
    reducer, maxout_chain, X, spans = _reducer_and_chain(with_head)
    features = reducer.layers[0]
    rows, backprop_features = features((X, spans), is_train=True)
    expected, backprop_chain = maxout_chain(rows, is_train=True)
    Y, backprop = reducer((X, spans), is_train=True)
    numpy.testing.assert_allclose(Y, expected, rtol=1e-10, atol=1e-12)
    numpy.testing.assert_allclose(reducer.predict((X, spans)), expected, rtol=1e-10, atol=1e-12)
    dY = numpy.random.default_rng(9).normal(size=Y.shape)
    _grads(reducer)
    dX_expected = backprop_features(backprop_chain(dY))[0]
    grads_expected = _grads(reducer)
    dX = backprop(dY)[0]
    grads = _grads(reducer)
    numpy.testing.assert_allclose(dX, dX_expected, rtol=1e-9, atol=1e-12)
    assert grads.keys() == grads_expected.keys() and len(grads) >= 5
    for name in grads:
        numpy.testing.assert_allclose(grads[name], grads_expected[name], rtol=1e-9, atol=1e-12)


def test_linear_sigmoid_passes_the_logits_gradient_through():
    layer = linear_sigmoid(nO=3, nI=4)
    X = numpy.random.default_rng(0).normal(size=(5, 4)).astype("f")
    layer.initialize(X=X)
    linear = layer.get_ref("logits")
    assert not linear.get_param("W").any()  # zero weights: the bias alone at first
    linear.set_param("W", numpy.random.default_rng(1).normal(size=(3, 4)).astype("f"))
    Y, backprop = layer(X, is_train=True)
    logits = linear.predict(X)
    numpy.testing.assert_allclose(Y, 1 / (1 + numpy.exp(-logits)), rtol=1e-5)
    dY = numpy.ones_like(Y)
    _, backprop_linear = linear(X, is_train=True)
    numpy.testing.assert_allclose(backprop(dY), backprop_linear(dY), rtol=1e-6)


def test_spaCys_logistic_scorer_is_refused_with_a_reason(tiny_bert):
    with pytest.raises(ValueError, match="LinearSigmoid.v1.*Softmax.v2"):
        _pipeline(tiny_bert, model={"scorer": {"@layers": "spacy.LinearLogistic.v1"}})


def test_label_targets_match_spaCys_loop(tiny_bert):
    """The targets spaCy's SpanCategorizer.get_loss builds span by span, on arrays."""
    nlp = _pipeline(tiny_bert)
    component = nlp.get_pipe("spanbert_spancat")
    examples = nested_examples(nlp)
    nlp.initialize(lambda: examples)
    candidates = component.suggester([eg.predicted for eg in examples])
    targets = label_targets(examples, candidates.dataXd, candidates.lengths, component.labels, "sc")
    expected = numpy.zeros_like(targets)
    offset = 0
    for i, eg in enumerate(examples):
        rows = {tuple(span): offset + j for j, span in enumerate(candidates[i].dataXd.tolist())}
        for span in eg.reference.spans["sc"]:
            if (span.start, span.end) in rows:
                expected[rows[span.start, span.end], component.labels.index(span.label_)] = 1
        offset += len(rows)
    assert expected.sum() == sum(len(spans) for _, spans in NESTED_DATA)
    numpy.testing.assert_array_equal(targets, expected)


def test_initialized_model_predicts_the_label_priors(tiny_bert):
    nlp = _pipeline(tiny_bert)
    component = nlp.get_pipe("spanbert_spancat")
    examples = nested_examples(nlp)
    nlp.initialize(lambda: examples)
    # The output weights start at zero: every candidate gets the bias alone.
    candidates, probs = component.predict([eg.predicted for eg in examples])
    n = candidates.dataXd.shape[0]
    counts = numpy.asarray(
        [
            sum(s.label_ == label for eg in examples for s in eg.reference.spans["sc"])
            for label in component.labels
        ]
    )
    expected = (counts + 1) / (counts + 1 + (n - counts) + 1)
    numpy.testing.assert_allclose(probs, numpy.tile(expected, (n, 1)), rtol=1e-5)


def test_learns_nested_spans_and_rare_labels(tiny_bert):
    nlp = _pipeline(tiny_bert)
    scores = _fit(nlp)
    assert scores["spans_sc_f"] == 1.0, scores
    doc = nlp("The University of Paris is in Paris.")
    assert {(s.text, s.label_) for s in doc.spans["sc"]} == {
        ("University of Paris", "ORG"),
        ("Paris", "LOC"),
    } and len(doc.spans["sc"]) == 3
    assert numpy.all(
        (doc.spans["sc"].attrs["scores"] >= 0.5) & (doc.spans["sc"].attrs["scores"] <= 1)
    )


def test_one_label_per_span_with_a_softmax_scorer(tiny_bert):
    nlp = _pipeline(tiny_bert, model={"scorer": {"@layers": "Softmax.v2"}}, allow_overlap=False)
    component = nlp.get_pipe("spanbert_spancat")
    assert component.has_none_column and component.cfg["max_positive"] == 1
    _fit(nlp, max_epochs=100)
    for doc in nlp.pipe([text for text, _ in NESTED_DATA]):
        spans = sorted((s.start, s.end) for s in doc.spans["sc"])
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # no overlap
        assert len(doc.spans["sc"].attrs["scores"]) == len(spans)


def test_annotations_equal_spaCys_for_the_same_scores(tiny_bert):
    """Multi-label decoding on arrays keeps what spaCy's loop over spans keeps."""
    nlp = _pipeline(tiny_bert, max_positive=2, threshold=0.3)
    component = nlp.get_pipe("spanbert_spancat")
    examples = nested_examples(nlp)
    nlp.initialize(lambda: examples)
    docs = [eg.predicted for eg in examples]
    candidates = component.suggester(docs)
    scores = numpy.random.default_rng(0).random((candidates.dataXd.shape[0], len(component.labels)))
    ours = [doc.copy() for doc in docs]
    component.set_annotations(ours, (candidates, scores.astype("f")))
    offset = 0
    for i, doc in enumerate(ours):
        n = int(candidates.lengths[i])
        expected = SpanCategorizer._make_span_group_multilabel(
            component, doc, candidates[i].dataXd, scores[offset : offset + n]
        )
        offset += n
        assert [(s.start, s.end, s.label_) for s in doc.spans["sc"]] == [
            (s.start, s.end, s.label_) for s in expected
        ]
        numpy.testing.assert_allclose(
            doc.spans["sc"].attrs["scores"], expected.attrs["scores"], rtol=1e-6
        )


def test_multilabel_keep_takes_the_best_max_positive():
    scores = numpy.asarray([[0.9, 0.6, 0.7], [0.2, 0.1, 0.3], [0.5, 0.5, 0.9]], dtype="f")
    assert multilabel_keep(scores, 0.5, None).tolist() == [
        [True, True, True],
        [False, False, False],
        [True, True, True],
    ]
    assert multilabel_keep(scores, 0.5, 1).tolist() == [
        [True, False, False],
        [False, False, False],
        [False, False, True],
    ]


def test_round_trip_and_no_spans(tiny_bert, tmp_path):
    nlp = _pipeline(tiny_bert)
    _fit(nlp, max_epochs=30)
    texts = [text for text, _ in NESTED_DATA] + ["", " "]
    expected = [[(s.start, s.end, s.label_) for s in doc.spans["sc"]] for doc in nlp.pipe(texts)]
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert [
        [(s.start, s.end, s.label_) for s in doc.spans["sc"]] for doc in loaded.pipe(texts)
    ] == expected
    assert expected[-2:] == [[], []]


def test_encoder_learns_at_its_scaled_rate(tiny_bert):
    from thinc.api import SGD

    def encoder_step(scale: float) -> numpy.ndarray:
        nlp = _pipeline(tiny_bert, encoder_lr_scale=scale)
        examples = nested_examples(nlp)
        nlp.initialize(lambda: examples)
        model = nlp.get_pipe("spanbert_spancat").model
        # The output starts at zero weights, which would pass no gradient back.
        output = model.get_ref("output")
        output.set_param(
            "W", numpy.random.default_rng(0).normal(size=output.get_param("W").shape).astype("f")
        )
        encoder = model.get_ref("tok2vec").get_ref("encoder")
        weights = encoder.transformer.encoder.layer[0].output.dense.weight
        before = weights.detach().numpy().copy()
        nlp.update(examples, sgd=SGD(1.0), drop=0.0)
        return weights.detach().numpy() - before

    step_1, step_3 = encoder_step(0.1), encoder_step(0.3)
    assert numpy.abs(step_1).max() > 0
    numpy.testing.assert_allclose(step_3, 3 * step_1, rtol=1e-4, atol=1e-8)


@pytest.mark.parametrize(
    "scorer,allow_overlap",
    [
        ("spacy_spanbert.LinearSigmoid.v1", True),
        ("Softmax.v2", True),
        pytest.param("Softmax.v2", False, marks=pytest.mark.issue(27)),
    ],
)
def test_threshold_scores_agree_with_spaCys_scorer(tiny_bert, scorer, allow_overlap):
    """At every threshold, P/R/F from one scoring pass equal nlp.evaluate's with the
    component set to that threshold: the command scores what the pipeline writes."""
    from spacy_spanbert.span_pipe.thresholds import threshold_scores

    nlp = _pipeline(tiny_bert, model={"scorer": {"@layers": scorer}}, allow_overlap=allow_overlap)
    # Part-trained: some right, some wrong, some missed; one label per span is trained
    # until nested spans compete, which the pipeline resolves without overlap.
    _fit(nlp, max_epochs=20 if allow_overlap else 60)
    examples = nested_examples(nlp)
    component = nlp.get_pipe("spanbert_spancat")
    for result in threshold_scores(
        nlp, "spanbert_spancat", examples, [0.05, 0.2, 0.5, 0.8], batch_size=3
    ):
        component.cfg["threshold"] = result.threshold
        scores = nlp.evaluate(examples)
        assert result.p == pytest.approx(scores["spans_sc_p"])
        assert result.r == pytest.approx(scores["spans_sc_r"])
        assert result.f == pytest.approx(scores["spans_sc_f"])
        for label, f in result.per_label.items():
            assert f == pytest.approx(scores["spans_sc_per_type"].get(label, {"f": 0.0})["f"])


def test_thresholds_command(tiny_bert, tmp_path):
    from spacy.tokens import DocBin
    from typer.testing import CliRunner

    from spacy_spanbert.cli import app

    nlp = _pipeline(tiny_bert)
    _fit(nlp, max_epochs=20)
    nlp.to_disk(tmp_path / "pipeline")
    DocBin(docs=[eg.reference for eg in nested_examples(nlp)]).to_disk(tmp_path / "dev.spacy")
    args = ["thresholds", str(tmp_path / "pipeline"), str(tmp_path / "dev.spacy"), "--steps", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "0.20" in result.output and "0.80" in result.output and "Best on" in result.output
