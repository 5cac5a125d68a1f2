"""Element-wise activation functions with their derivatives: ReLU, Sigmoid, Tanh."""
from __future__ import annotations

import numpy as np

from .module import Module

__all__ = ["ReLU", "Sigmoid", "Tanh"]


class ReLU(Module):
    """``relu(x) = max(x, 0)``; its derivative at 0 is taken as 0, as in torch."""

    def __init__(self):
        super().__init__()
        self._mask = None

    def forward(self, x):
        x = np.asarray(x)
        self._mask = x > 0
        return np.where(self._mask, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        mask = self._cached("_mask")
        grad_out = self._check_grad_shape(grad_out, mask.shape)
        return grad_out * mask  # dl/dx = g * 1[x > 0]


class Sigmoid(Module):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        x = np.asarray(x)
        # exp(-|x|) lies in (0, 1], so it never overflows; pick the form that is exact on each side.
        e = np.exp(-np.abs(x))
        self._y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self._y

    def backward(self, grad_out):
        y = self._cached("_y")
        grad_out = self._check_grad_shape(grad_out, y.shape)
        return grad_out * y * (1.0 - y)  # dl/dx = g * s * (1 - s)


class Tanh(Module):
    """``tanh(x)``; its derivative is ``1 - tanh(x)^2``."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        self._y = np.tanh(np.asarray(x))
        return self._y

    def backward(self, grad_out):
        y = self._cached("_y")
        grad_out = self._check_grad_shape(grad_out, y.shape)
        return grad_out * (1.0 - y * y)  # dl/dx = g * (1 - y^2)
