"""Tests of companion.gradcheck: the checks are right on known functions and catch wrong gradients."""
import numpy as np
import pytest

from companion.gradcheck import check_functional, check_loss, check_module, numerical_gradient, relative_error
from companion.nn import CrossEntropyLoss, Linear, Module, Parameter, Tanh
from companion.nn import MSELoss
from companion.nn import functional as F


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
    # |a-b| / max(|a|+|b|, 1e-12) (a sum, not cs231n's max(|a|, |b|)), then the max over elements
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
        return grad_out * (1.0 - self._cached("_cache"))


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

    def backward(self, grad_out=1.0):
        dpred, dtarget = super().backward(grad_out)
        return dpred / 2, dtarget


class MSEWithWrongTargetGradient(MSELoss):
    """MSE whose target gradient has the wrong sign."""

    def backward(self, grad_out=1.0):
        dpred, dtarget = super().backward(grad_out)
        return dpred, -dtarget


class CrossEntropyIgnoringGradOut(CrossEntropyLoss):
    """Cross-entropy whose backward always uses grad_out = 1 (right only when the loss is not scaled)."""

    def backward(self, grad_out=1.0):
        return super().backward(1.0)


def test_check_loss_catches_a_wrong_gradient():
    rng = np.random.default_rng(0)
    pred, target = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    assert check_loss(MSELoss(), pred, target) < 1e-7
    assert check_loss(BrokenMSE(), pred, target) > 1e-2
    assert check_loss(MSEWithWrongTargetGradient(), pred, target) > 1e-2
    logits, labels = rng.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    assert check_loss(CrossEntropyLoss(), logits, labels) < 1e-7
    assert check_loss(CrossEntropyIgnoringGradOut(), logits, labels) > 1e-2
    with pytest.raises(TypeError, match="float32"):
        check_loss(MSELoss(), pred.astype(np.float32), target)


# --- several inputs and outputs -------------------------------------------------------------------------

class Bilinear(Module):
    """out = (x * y) @ w, for two float inputs and one integer input that selects rows of x."""

    def __init__(self, wrong=False):
        super().__init__()
        self.w = Parameter(np.array([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.7]]))
        self.wrong = wrong

    def forward(self, x, rows, y, *, scale=1.0):
        self._cache = (x, rows, y, scale)
        return scale * (x[rows] * y) @ self.w.data

    def backward(self, grad_out):
        x, rows, y, scale = self._cached("_cache")
        d_xy = scale * grad_out @ self.w.data.T
        self.w.grad += scale * (x[rows] * y).T @ grad_out
        dx = np.zeros_like(x)
        np.add.at(dx, rows, d_xy * y)
        dy = d_xy * x[rows] * (2.0 if self.wrong else 1.0)
        return dx, None, dy


def test_check_module_with_several_inputs_an_integer_input_and_keyword_arguments():
    rng = np.random.default_rng(0)
    x, rows, y = rng.standard_normal((4, 3)), np.array([0, 2, 2, 1, 3]), rng.standard_normal((5, 3))
    errors = check_module(Bilinear(), x, rows, y, scale=-1.5)
    assert set(errors) == {"input0", "input2", "w"} and max(errors.values()) < 1e-7, errors
    wrong = check_module(Bilinear(wrong=True), x, rows, y, scale=-1.5)
    assert wrong["input2"] > 1e-2 and wrong["input0"] < 1e-7 and wrong["w"] < 1e-7


class TwoOutputs(Module):
    """(tanh(x), x^2): backward receives one gradient per output, as an LSTM's backward(grad_h, grad_c)."""

    def __init__(self, wrong=False):
        super().__init__()
        self.wrong = wrong

    def forward(self, x):
        self._x = x
        return np.tanh(x), x**2

    def backward(self, grad_tanh, grad_square):
        x = self._cached("_x")
        return grad_tanh * (1 - np.tanh(x) ** 2) + grad_square * 2 * x * (0.0 if self.wrong else 1.0)


def test_check_module_with_a_tuple_of_outputs():
    x = np.random.default_rng(1).standard_normal((3, 2))
    assert check_module(TwoOutputs(), x)["input"] < 1e-7
    assert check_module(TwoOutputs(wrong=True), x)["input"] > 1e-2


def test_check_module_names_a_backward_that_breaks_the_contract():
    class OneGradientForTwoInputs(Module):
        def forward(self, a, b):
            return a * b

        def backward(self, grad_out):
            return grad_out

    with pytest.raises(ValueError, match="one array for 2 inputs"):
        check_module(OneGradientForTwoInputs(), np.ones(2), np.ones(2))

    class NoneForAFloatInput(OneGradientForTwoInputs):
        def backward(self, grad_out):
            return grad_out, None

    with pytest.raises(ValueError, match="None for 'input1'"):
        check_module(NoneForAFloatInput(), np.ones(2), np.ones(2))


def test_check_functional_on_cs231n_pairs():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    errors = check_functional(F.linear_forward, F.linear_backward, x, w, b)
    assert len(errors) == 3 and max(errors) < 1e-7

    def wrong_linear_backward(dout, cache):
        dx, dw, db = F.linear_backward(dout, cache)
        return dx, 0.5 * dw, db  # half the weight gradient

    errors = check_functional(F.linear_forward, wrong_linear_backward, x, w, b)
    assert errors[0] < 1e-7 and errors[1] > 1e-2 and errors[2] < 1e-7
    [error] = check_functional(F.cross_entropy_forward, F.cross_entropy_backward, x, np.array([0, 2, 1, 1]))
    assert error < 1e-7


def test_check_functional_with_two_outputs():
    def forward(x, y):
        return (x * y, np.sin(x)), (x, y)

    def backward(d_product, d_sin, cache):
        x, y = cache
        return d_product * y + d_sin * np.cos(x), d_product * x

    def wrong_backward(d_product, d_sin, cache):
        x, y = cache
        return d_product * y, d_product * x  # forgets the second output

    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    assert max(check_functional(forward, backward, x, y)) < 1e-7
    errors = check_functional(forward, wrong_backward, x, y)
    assert errors[0] > 1e-2 and errors[1] < 1e-7
