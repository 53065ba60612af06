import numpy
import pytest
from spacy.ml.extract_spans import extract_spans as spacy_extract_spans
from spacy.util import registry
from thinc.api import NumpyOps, use_ops
from thinc.types import Ragged

from spacy_spanbert.architectures import build_span_boundary_reducer
from spacy_spanbert.layers import (
    doc_spans_to_rows,
    ragged_to_rows,
    span_boundary_features,
    span_scorer,
)
from spacy_spanbert.layers.span_boundary import (
    ONLINE_POOL_MIN_ROWS,
    _attention_pool,
    _online_attention_pool,
    project_span_boundaries,
)
from spacy_spanbert.layers.span_rows import extract_spans, span_token_indices

from .gradcheck import check_layer_gradients, to_float64


def _inputs(seed=0):
    rng = numpy.random.default_rng(seed)
    X = rng.normal(size=(7, 4)).astype("float64")
    spans = numpy.asarray([[0, 1], [0, 3], [2, 7], [4, 6], [6, 7]], dtype="int32")
    return X, spans


def _layer(with_head, seed=0):
    layer = span_boundary_features(width_embedding_size=3, max_span_width=4, with_head=with_head)
    layer.initialize(X=_inputs(seed))
    rng = numpy.random.default_rng(seed + 1)
    layer.set_param("A", rng.normal(size=layer.get_param("A").shape))
    layer.set_param("W", rng.normal(size=layer.get_param("W").shape))
    return layer


def test_span_token_indices():
    ops = NumpyOps()
    rows = span_token_indices(ops, numpy.asarray([5, 8], "int32"), numpy.asarray([4, 2], "int32"))
    assert rows.tolist() == [5, 6, 7, 8, 8, 9]


@pytest.mark.parametrize("with_head", [False, True])
def test_output_shape_and_values(with_head):
    layer = _layer(with_head)
    X, spans = _inputs()
    Y, _ = layer((X, spans), is_train=False)
    assert Y.shape == (5, (3 if with_head else 2) * 4 + 3)
    numpy.testing.assert_allclose(Y[2, :4], X[2])
    numpy.testing.assert_allclose(Y[2, 4:8], X[6])
    W = layer.get_param("W")
    numpy.testing.assert_allclose(Y[2, -3:], W[3])  # width 5 clipped to max_span_width 4
    numpy.testing.assert_allclose(Y[0, -3:], W[0])
    if with_head:
        numpy.testing.assert_allclose(Y[0, 8:12], X[0])  # one-token span: head is the token


@pytest.mark.parametrize("with_head", [False, True])
def test_gradients_match_finite_differences(with_head):
    layer = _layer(with_head)
    X, spans = _inputs()
    errors = check_layer_gradients(layer, X, lambda X_: (X_, spans), lambda d: d[0])
    assert set(errors) == ({"span_boundary_features.W", "span_boundary_features.A"})


def test_doc_spans_to_rows_offsets_by_doc():
    layer = doc_spans_to_rows()
    tokens = Ragged(numpy.zeros((5, 2), "f"), numpy.asarray([2, 3], "int32"))
    spans = Ragged(numpy.asarray([[0, 2], [0, 1], [1, 3]], "int32"), numpy.asarray([1, 2], "int32"))
    (X, rows), backprop = layer((tokens, spans), is_train=True)
    assert rows.tolist() == [[0, 2], [2, 3], [3, 5]]
    d_tokens, _ = backprop((numpy.ones((5, 2), "f"), rows))
    assert d_tokens.lengths.tolist() == [2, 3]


@pytest.mark.parametrize("with_head", [False, True])
def test_reducer_shape_and_gradients(with_head):
    with use_ops("numpy", use_blis=False):  # BLIS multiplies float32 only
        reducer = build_span_boundary_reducer(
            hidden_size=5, width_embedding_size=3, max_span_width=2, with_head=with_head
        )
    lengths = numpy.asarray([1, 3, 2, 4], "int32")
    X = numpy.random.default_rng(0).normal(size=(int(lengths.sum()), 4))
    reducer.initialize(X=Ragged(X.astype("f"), lengths))
    to_float64(reducer)
    Y, _ = reducer(Ragged(X, lengths), is_train=False)
    assert Y.shape == (4, 5)
    errors = check_layer_gradients(reducer, X, lambda X_: Ragged(X_, lengths), lambda d: d.dataXd)
    assert "span_boundary_features.W" in errors and any(k.startswith("maxout") for k in errors)


def test_extract_spans_matches_spacy():
    rng = numpy.random.default_rng(0)
    tokens = Ragged(rng.normal(size=(9, 3)).astype("f"), numpy.asarray([4, 0, 5], "int32"))
    spans = Ragged(
        numpy.asarray([[0, 2], [3, 4], [0, 5], [2, 4]], "int32"), numpy.asarray([2, 0, 2], "int32")
    )
    ours, backprop = extract_spans()((tokens, spans), is_train=True)
    theirs, backprop_spacy = spacy_extract_spans()((tokens, spans), is_train=True)
    numpy.testing.assert_array_equal(ours.dataXd, theirs.dataXd)
    numpy.testing.assert_array_equal(ours.lengths, theirs.lengths)
    dY = Ragged(rng.normal(size=ours.dataXd.shape).astype("f"), ours.lengths)
    numpy.testing.assert_allclose(backprop(dY)[0].dataXd, backprop_spacy(dY)[0].dataXd)
    assert backprop(dY)[0].lengths.tolist() == [4, 0, 5]


def test_extract_spans_without_spans():
    tokens = Ragged(numpy.ones((3, 2), "f"), numpy.asarray([3], "int32"))
    spans = Ragged(numpy.zeros((0, 2), "int32"), numpy.asarray([0], "int32"))
    Y, backprop = extract_spans()((tokens, spans), is_train=True)
    assert Y.dataXd.shape == (0, 2) and Y.lengths.tolist() == []
    assert backprop(Y)[0].dataXd.tolist() == [[0, 0]] * 3


def test_reducer_on_ragged_span_tokens():
    reducer = build_span_boundary_reducer(
        hidden_size=6, width_embedding_size=3, max_span_width=4, with_head=True
    )
    span_tokens = Ragged(
        numpy.random.default_rng(0).normal(size=(6, 4)).astype("f"),
        numpy.asarray([1, 3, 2], "int32"),
    )
    reducer.initialize(X=span_tokens)
    Y, backprop = reducer(span_tokens, is_train=True)
    assert Y.shape == (3, 6)
    dX = backprop(numpy.ones_like(Y))
    assert dX.dataXd.shape == (6, 4) and dX.lengths.tolist() == [1, 3, 2]
    (X, rows), _ = ragged_to_rows()(span_tokens, is_train=False)
    assert rows.tolist() == [[0, 1], [1, 4], [4, 6]]


def _grads(layer) -> dict:
    """Every parameter gradient of the layer's nodes, copied, then zeroed."""
    grads = {}
    for node in layer.walk():
        for name in node.param_names:
            if node.has_grad(name):
                grads[f"{node.id}.{name}"] = node.get_grad(name).copy()
                node.set_grad(name, numpy.zeros_like(node.get_grad(name)))
    return grads


@pytest.mark.parametrize("with_head", [False, True])
def test_projection_equals_features_times_weights(with_head):
    """Forward: features @ W.T. Backward: the gradients of the feature path."""
    with use_ops("numpy", use_blis=False):  # BLIS multiplies float32 only
        layer = _layer(with_head)
    X, spans = _inputs()
    features, backprop_features = layer((X, spans), is_train=True)
    rng = numpy.random.default_rng(3)
    W = rng.normal(size=(6, features.shape[1]))
    projected, backprop = project_span_boundaries(layer, X, spans, W)
    numpy.testing.assert_allclose(projected, features @ W.T, rtol=1e-10, atol=1e-12)
    dY = rng.normal(size=projected.shape)
    _grads(layer)
    dX_reference = backprop_features(dY @ W)[0]
    grads_reference = _grads(layer)
    dX, dW = backprop(dY)
    numpy.testing.assert_allclose(dX, dX_reference, rtol=1e-10, atol=1e-12)
    numpy.testing.assert_allclose(dW, dY.T @ features, rtol=1e-10, atol=1e-12)
    grads = _grads(layer)
    assert grads.keys() == grads_reference.keys()
    for name in grads:
        numpy.testing.assert_allclose(grads[name], grads_reference[name], rtol=1e-10, atol=1e-12)


def _scorer(with_head):
    """A span_scorer in float64 with random weights everywhere (not zeros and ones)."""
    with use_ops("numpy", use_blis=False):
        scorer = span_scorer(_layer(with_head), hidden_size=5, dropout=0.0)
    scorer.initialize(X=_inputs(), Y=numpy.zeros((5, 3)))
    to_float64(scorer)
    for i, node in enumerate(scorer.walk()):
        for name in node.param_names:
            node.set_param(
                name, numpy.random.default_rng(i).normal(size=node.get_param(name).shape)
            )
    return scorer


@pytest.mark.parametrize("with_head", [False, True])
def test_span_scorer_computes_what_its_layers_compute_on_the_features(with_head):
    """The projected path, in prediction and in training (output, input gradient and
    every parameter's gradient), equals the layer chain run on the feature rows."""
    scorer = _scorer(with_head)
    features_layer, chain_layers = scorer.layers
    X, spans = _inputs()
    features, backprop_features = features_layer((X, spans), is_train=True)
    expected, backprop_chain = chain_layers(features, is_train=True)
    trained, backprop = scorer((X, spans), is_train=True)
    assert trained.shape == (5, scorer.get_dim("nO"))
    numpy.testing.assert_allclose(trained, expected, rtol=1e-10, atol=1e-12)
    numpy.testing.assert_allclose(scorer.predict((X, spans)), expected, rtol=1e-10, atol=1e-12)
    dY = numpy.random.default_rng(5).normal(size=expected.shape)
    _grads(scorer)
    dX_expected = backprop_features(backprop_chain(dY))[0]
    grads_expected = _grads(scorer)
    dX = backprop(dY)[0]
    grads = _grads(scorer)
    numpy.testing.assert_allclose(dX, dX_expected, rtol=1e-9, atol=1e-12)
    assert grads.keys() == grads_expected.keys() and len(grads) >= 7
    for name in grads:
        numpy.testing.assert_allclose(grads[name], grads_expected[name], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("with_head", [False, True])
def test_span_scorer_gradients_match_finite_differences_of_prediction(with_head):
    scorer = _scorer(with_head)
    # thinc's softmax backprop takes the gradient of the logits (it is paired with
    # cross-entropy), so compare against finite differences of the logits.
    scorer.get_ref("output").attrs["softmax_normalize"] = False
    X, spans = _inputs()
    errors = check_layer_gradients(scorer, X, lambda X_: (X_, spans), lambda d: d[0])
    assert {"span_boundary_features.W", "relu.W", "layernorm.G", "softmax.W"} <= set(errors)


def test_reducer_v1_config_builds_the_v2_model():
    """Configs and saved pipelines that name SpanBoundaryReducer.v1 (`max_width`, the
    head on by default) still load, into the same layers as v2."""
    v1 = registry.resolve(
        {"r": {"@architectures": "spacy_spanbert.SpanBoundaryReducer.v1", "max_width": 5}}
    )["r"]
    v2 = build_span_boundary_reducer(max_span_width=5, with_head=True)
    assert [node.name for node in v1.walk()] == [node.name for node in v2.walk()]
    (features,) = [node for node in v1.walk() if node.name == "span_boundary_features"]
    assert features.get_dim("nV") == 5 and features.attrs["with_head"]


@pytest.mark.parametrize("logit_scale", [1.0, 300.0])
def test_prediction_pools_the_head_as_training_does(logit_scale):
    """Prediction's running softmax over widths gives each span the head the gathered
    softmax gives it: spans in any order, of every width, starting anywhere, and
    logits far apart (past the +-20 that thinc's softmax_sequences clips them to)."""
    ops = NumpyOps()
    rng = numpy.random.default_rng(7)
    X = rng.normal(size=(30, 8)).astype("float32")
    values = rng.normal(size=(30, 5)).astype("float32")
    A = (logit_scale * rng.normal(size=8)).astype("float32")
    starts = rng.integers(0, 25, size=200)
    spans = numpy.stack([starts, starts + rng.integers(1, 6, size=200)], axis=1).astype("int32")
    lengths = (spans[:, 1] - spans[:, 0]).astype("int32")
    gathered, _ = _attention_pool(ops, A, X, values, spans[:, 0], lengths)
    online = _online_attention_pool(ops, A, X, values, spans[:, 0], lengths)
    assert numpy.isfinite(online).all()
    numpy.testing.assert_allclose(online, gathered, rtol=1e-5, atol=1e-5)


def test_prediction_of_many_spans_projects_as_training_does():
    """Spans holding ONLINE_POOL_MIN_ROWS token rows or more take the running softmax
    in prediction; the projection is the one training computes."""
    rng = numpy.random.default_rng(11)
    X = rng.normal(size=(400, 4)).astype("float32")
    starts = numpy.repeat(numpy.arange(390), 10)
    spans = numpy.stack([starts, starts + numpy.tile(numpy.arange(1, 11), 390)], axis=1)
    spans = spans.astype("int32")
    assert int((spans[:, 1] - spans[:, 0]).sum()) >= ONLINE_POOL_MIN_ROWS
    layer = span_boundary_features(width_embedding_size=3, max_span_width=10, with_head=True)
    layer.initialize(X=(X, spans))
    layer.set_param("A", rng.normal(size=4).astype("float32"))
    W = rng.normal(size=(6, layer.get_dim("nO"))).astype("float32")
    trained, _ = project_span_boundaries(layer, X, spans, W, is_train=True)
    predicted, backprop = project_span_boundaries(layer, X, spans, W, is_train=False)
    numpy.testing.assert_allclose(predicted, trained, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="outside training"):
        backprop(predicted)
