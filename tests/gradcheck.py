"""Finite-difference gradient checks for thinc layers (float64 inputs and params)."""

from typing import Any, Callable, Dict

import numpy
from thinc.api import Model

EPS = 1e-6


def numeric_gradient(f: Callable[[numpy.ndarray], float], x: numpy.ndarray) -> numpy.ndarray:
    """Central differences of the scalar f at x, one coordinate at a time."""
    grad = numpy.zeros_like(x)
    for idx in numpy.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += EPS
        minus[idx] -= EPS
        grad[idx] = (f(plus) - f(minus)) / (2 * EPS)
    return grad


def check_layer_gradients(
    layer: Model,
    X: numpy.ndarray,
    make_input: Callable[[numpy.ndarray], Any],
    input_grad: Callable[[Any], numpy.ndarray],
    seed: int = 2,
) -> Dict[str, float]:
    """Compare backprop's input and parameter gradients with finite differences of
    sum(layer(make_input(X)) * dY), for a random dY. Returns the largest error seen."""
    Y, backprop = layer(make_input(X), is_train=True)
    dY = numpy.random.default_rng(seed).normal(size=Y.shape)
    for node in layer.walk():
        for name in node.param_names:
            if node.has_grad(name):
                node.set_grad(name, numpy.zeros_like(node.get_param(name)))
    dX = input_grad(backprop(dY))

    def loss() -> float:
        return float((layer(make_input(X), is_train=False)[0] * dY).sum())

    def loss_at_x(x: numpy.ndarray) -> float:
        return float((layer(make_input(x), is_train=False)[0] * dY).sum())

    numpy.testing.assert_allclose(dX, numeric_gradient(loss_at_x, X), rtol=1e-5, atol=1e-7)
    errors = {}
    for node in layer.walk():
        for name in node.param_names:
            param = node.get_param(name).copy()
            # A parameter the forward pass doesn't use gets no gradient: zero.
            analytic = (
                node.get_grad(name).copy() if node.has_grad(name) else numpy.zeros_like(param)
            )

            def loss_at_param(value: numpy.ndarray, node: Model = node, name: str = name) -> float:
                node.set_param(name, value)
                return loss()

            numeric = numeric_gradient(loss_at_param, param)
            node.set_param(name, param)
            numpy.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)
            errors[f"{node.name}.{name}"] = float(numpy.abs(analytic - numeric).max())
    return errors


def to_float64(layer: Model) -> None:
    """Cast every parameter of an initialized layer to float64 for a precise check."""
    for node in layer.walk():
        for name in node.param_names:
            if node.has_param(name):
                node.set_param(name, node.get_param(name).astype("float64"))
