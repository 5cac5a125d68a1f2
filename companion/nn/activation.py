"""Element-wise activation functions: thin Modules over ``functional.relu_*``, ``sigmoid_*`` and ``tanh_*``."""
from __future__ import annotations

from .functional import relu_backward, relu_forward, sigmoid_backward, sigmoid_forward, tanh_backward, tanh_forward
from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh"]


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
