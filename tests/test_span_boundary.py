import numpy
import pytest
from thinc.api import NumpyOps
from thinc.types import Ragged

from spacy_spanbert.architectures import build_span_boundary_reducer
from spacy_spanbert.layers import doc_spans_to_rows, ragged_to_rows, span_boundary_features
from spacy_spanbert.layers.span_boundary import span_token_indices


def _inputs(seed=0):
    rng = numpy.random.default_rng(seed)
    X = rng.normal(size=(7, 4)).astype("float64")
    spans = numpy.asarray([[0, 1], [0, 3], [2, 7], [4, 6], [6, 7]], dtype="int32")
    return X, spans


def _layer(with_head, seed=0):
    layer = span_boundary_features(width_embedding_size=3, max_width=4, with_head=with_head)
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
    numpy.testing.assert_allclose(Y[2, -3:], W[3])  # width 5 clipped to max_width 4
    numpy.testing.assert_allclose(Y[0, -3:], W[0])
    if with_head:
        numpy.testing.assert_allclose(Y[0, 8:12], X[0])  # one-token span: head is the token


@pytest.mark.parametrize("with_head", [False, True])
def test_gradients_match_finite_differences(with_head):
    layer = _layer(with_head)
    X, spans = _inputs()
    rng = numpy.random.default_rng(2)
    Y, backprop = layer((X, spans), is_train=True)
    dY = rng.normal(size=Y.shape)

    def loss(X_, params=None):
        if params:
            for name, value in params.items():
                layer.set_param(name, value)
        return float((layer((X_, spans), is_train=False)[0] * dY).sum())

    dX, _ = backprop(dY)
    eps = 1e-6
    numeric = numpy.zeros_like(X)
    for idx in numpy.ndindex(X.shape):
        Xp, Xm = X.copy(), X.copy()
        Xp[idx] += eps
        Xm[idx] -= eps
        numeric[idx] = (loss(Xp) - loss(Xm)) / (2 * eps)
    numpy.testing.assert_allclose(dX, numeric, rtol=1e-5, atol=1e-7)

    names = ["W", "A"] if with_head else ["W"]
    for name in names:
        param = layer.get_param(name).copy()
        analytic = layer.get_grad(name).copy()
        numeric = numpy.zeros_like(param)
        for idx in numpy.ndindex(param.shape):
            plus, minus = param.copy(), param.copy()
            plus[idx] += eps
            minus[idx] -= eps
            numeric[idx] = (loss(X, {name: plus}) - loss(X, {name: minus})) / (2 * eps)
        layer.set_param(name, param)
        numpy.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


def test_doc_spans_to_rows_offsets_by_doc():
    layer = doc_spans_to_rows()
    tokens = Ragged(numpy.zeros((5, 2), "f"), numpy.asarray([2, 3], "int32"))
    spans = Ragged(numpy.asarray([[0, 2], [0, 1], [1, 3]], "int32"), numpy.asarray([1, 2], "int32"))
    (X, rows), backprop = layer((tokens, spans), is_train=True)
    assert rows.tolist() == [[0, 2], [2, 3], [3, 5]]
    d_tokens, _ = backprop((numpy.ones((5, 2), "f"), rows))
    assert d_tokens.lengths.tolist() == [2, 3]


def test_reducer_on_ragged_span_tokens():
    reducer = build_span_boundary_reducer(hidden_size=6, width_embedding_size=3, max_width=4)
    span_tokens = Ragged(numpy.random.default_rng(0).normal(size=(6, 4)).astype("f"), numpy.asarray([1, 3, 2], "int32"))
    reducer.initialize(X=span_tokens)
    Y, backprop = reducer(span_tokens, is_train=True)
    assert Y.shape == (3, 6)
    dX = backprop(numpy.ones_like(Y))
    assert dX.dataXd.shape == (6, 4) and dX.lengths.tolist() == [1, 3, 2]
    (X, rows), _ = ragged_to_rows()(span_tokens, is_train=False)
    assert rows.tolist() == [[0, 1], [1, 4], [4, 6]]
