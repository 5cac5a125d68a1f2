"""Tests of companion.gradcheck: the checks are right on known functions and catch wrong gradients."""
import numpy as np
import pytest

from companion.gradcheck import check_loss, check_module, numerical_gradient, relative_error
from companion.nn import Linear, Module, Parameter, Tanh
from companion.nn import MSELoss


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0, 2.0], [3.0, 0.1, -0.7]])
    grad = numerical_gradient(lambda: np.sum(x**3), x)
    # rounding in f (about 1e-16 * |f| / eps) limits the absolute accuracy to about 1e-9 here
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-8, atol=1e-8)


def test_numerical_gradient_restores_x_even_on_error():
    x = np.array([1.0, 2.0, 3.0])
    numerical_gradient(lambda: np.sum(np.sin(x)), x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])

    def failing():
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError):
        numerical_gradient(failing, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_numerical_gradient_needs_a_float_array():
    with pytest.raises(TypeError, match="float ndarray"):
        numerical_gradient(lambda: 0.0, [1.0, 2.0])
    with pytest.raises(TypeError, match="int64"):
        numerical_gradient(lambda: 0.0, np.arange(3))


def test_relative_error_definition():
    # |a-b| / max(|a|+|b|, 1e-12), then the max over elements
    a = np.array([1.0, 0.0, -2.0, 0.0])
    b = np.array([1.0, 0.0, -2.2, 1e-13])
    assert relative_error(a, b) == pytest.approx(1e-13 / 1e-12)
    assert relative_error(a[:3], b[:3]) == pytest.approx(0.2 / 4.2)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.array([3.0]), np.array([-3.0])) == 1.0  # the largest possible
    with pytest.raises(ValueError, match=r"\(3,\) and \(2,\)"):
        relative_error(np.zeros(3), np.zeros(2))


class BrokenTanh(Tanh):
    """Tanh whose backward forgets the square: 1 - y instead of 1 - y^2."""

    def backward(self, grad_out):
        return grad_out * (1.0 - self._cached("_y"))


class BrokenLinear(Linear):
    """Linear whose weight gradient is half what it should be."""

    def backward(self, grad_out):
        dx = super().backward(grad_out)
        self.weight.grad *= 0.5
        return dx


def test_check_module_passes_a_correct_module_and_catches_wrong_ones():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3))
    good = check_module(Linear(3, 2, rng=np.random.default_rng(1), dtype=np.float64), x)
    assert set(good) == {"input", "weight", "bias"} and max(good.values()) < 1e-7

    assert check_module(BrokenTanh(), x)["input"] > 1e-2
    broken = check_module(BrokenLinear(3, 2, rng=np.random.default_rng(1), dtype=np.float64), x)
    assert broken["weight"] > 1e-2 and broken["input"] < 1e-7 and broken["bias"] < 1e-7


def test_check_module_leaves_inputs_and_gradients_alone():
    rng = np.random.default_rng(0)
    layer = Linear(3, 2, rng=rng, dtype=np.float64)
    layer.weight.grad[...] = 5.0
    x = rng.standard_normal((4, 3))
    x_before, w_before = x.copy(), layer.weight.data.copy()
    check_module(layer, x)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(layer.weight.data, w_before)
    np.testing.assert_array_equal(layer.weight.grad, 5.0)
    assert not layer.bias.grad.any()


def test_check_module_requires_float64():
    with pytest.raises(TypeError, match=r"module.astype\(np.float64\)"):
        check_module(Linear(3, 2), np.zeros((4, 3)))  # float32 parameters by default
    with pytest.raises(TypeError, match="float32"):
        check_module(Tanh(), np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="list"):
        check_module(Tanh(), [[0.0, 1.0]])


def test_check_module_with_a_parameter_only_module():
    class Scale(Module):
        """y = x * s, elementwise over the last axis."""

        def __init__(self):
            super().__init__()
            self.s = Parameter(np.array([0.5, -2.0, 1.5]))

        def forward(self, x):
            self._x = x
            return x * self.s.data

        def backward(self, grad_out):
            self.s.grad += (grad_out * self._x).sum(axis=0)
            return grad_out * self.s.data

    errors = check_module(Scale(), np.random.default_rng(0).standard_normal((4, 3)))
    assert set(errors) == {"input", "s"} and max(errors.values()) < 1e-7


class BrokenMSE(MSELoss):
    """MSE whose gradient forgets the 2 in d/dp (p - t)^2 = 2 (p - t)."""

    def backward(self):
        return super().backward() / 2


def test_check_loss_catches_a_wrong_gradient():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    assert check_loss(MSELoss(), pred, target) < 1e-7
    assert check_loss(BrokenMSE(), pred, target) > 1e-2
    with pytest.raises(TypeError, match="float32"):
        check_loss(MSELoss(), pred.astype(np.float32), target)
