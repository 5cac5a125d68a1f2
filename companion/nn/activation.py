"""Element-wise activation functions: thin Modules over ``functional.relu_*``, ``sigmoid_*`` and ``tanh_*``;
GELU (chapter 8) with its forward/backward pair at the end of this file."""
from __future__ import annotations

import math

import numpy as np

from .functional import relu_backward, relu_forward, sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh", "gelu_forward", "gelu_backward", "GELU"]


class ReLU(Module):
    """``relu(x) = max(x, 0)``; its derivative at 0 is taken as 0, as in torch.

    Taught in chapter 2, section 2.4 (the function and its derivative in section 2.2).
    """

    def forward(self, x):
        out, self._cache = relu_forward(x)
        return out

    def backward(self, grad_out):
        x = self._cached("_cache")
        return relu_backward(self._check_grad_shape(grad_out, x.shape), x)


class Sigmoid(Module):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, computed without overflow for large ``|x|``.

    Taught in chapter 2, section 2.4 (the function and its derivative in section 2.2).
    """

    def forward(self, x):
        out, self._cache = sigmoid_forward(x)
        return out

    def backward(self, grad_out):
        s = self._cached("_cache")
        return sigmoid_backward(self._check_grad_shape(grad_out, s.shape), s)


class Tanh(Module):
    """``tanh(x)``; its derivative is ``1 - tanh(x)^2``.

    Taught in chapter 2, section 2.4 (the function and its derivative in section 2.2).
    """

    def forward(self, x):
        out, self._cache = tanh_forward(x)
        return out

    def backward(self, grad_out):
        y = self._cached("_cache")
        return tanh_backward(self._check_grad_shape(grad_out, y.shape), y)


# --- GELU (chapter 8) ---------------------------------------------------------------------------------

erf = np.frompyfunc(math.erf, 1, 1)  # element by element: NumPy has no erf, and SciPy is not a dependency


def gelu_forward(x, approximate="none"):
    """``gelu(x) = x Phi(x)``, Phi the standard normal CDF (``approximate="none"``, via erf), or torch's tanh
    approximation (``approximate="tanh"``); ``(out, cache)``.

    Taught in chapter 8, section 8.7.
    """
    x = np.asarray(x)
    x = x if x.dtype.kind == "f" else x.astype(np.float32)
    if approximate == "tanh":
        t = np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))
        cdf = 0.5 * (1.0 + t)
    else:
        t, cdf = None, 0.5 * (1.0 + erf(x / math.sqrt(2.0)).astype(x.dtype))
    return x * cdf, (x, cdf, t)


def gelu_backward(dout, cache):
    """``dx = dout * (Phi(x) + x phi(x))``, phi the normal density (or the derivative of the tanh form).

    Taught in chapter 8, section 8.7.
    """
    x, cdf, t = cache
    if t is None:
        deriv = cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    else:
        deriv = cdf + 0.5 * x * (1.0 - t * t) * math.sqrt(2.0 / math.pi) * (1.0 + 3 * 0.044715 * x * x)
    return (dout * deriv).astype(x.dtype, copy=False)


class GELU(Module):
    """``torch.nn.GELU``: ``x Phi(x)``, a smooth ReLU that lets a little negative signal through.

    Taught in chapter 8, section 8.7.
    """

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, x):
        out, self._cache = gelu_forward(x, self.approximate)
        return out

    def backward(self, grad_out):
        cache = self._cached("_cache")
        return gelu_backward(self._check_grad_shape(grad_out, cache[0].shape), cache)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"
