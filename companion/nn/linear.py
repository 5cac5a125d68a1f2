"""The affine layer ``y = x W^T + b`` (``torch.nn.Linear``)."""
from __future__ import annotations

import math

import numpy as np

from ..book.runtime import default_generator
from .module import Module, Parameter

__all__ = ["Linear"]


class Linear(Module):
    """Affine map ``y = x W^T + b`` on the last axis; ``weight`` is ``(out, in)`` as in ``torch.nn.Linear``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = default_generator() if rng is None else rng
        bound = 1.0 / math.sqrt(self.in_features)  # torch.nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in))
        self.weight = Parameter(rng.uniform(-bound, bound, size=(self.out_features, self.in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, size=self.out_features).astype(dtype)) if bias else None
        self._x = None

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expected input of shape "
                f"(..., {self.in_features}), got {x.shape}"
            )
        x = x.astype(self.weight.data.dtype, copy=False)  # compute in the parameters' dtype, like torch
        self._x = x
        y = x @ self.weight.data.T
        if self.bias is not None:
            y = y + self.bias.data
        return y

    def backward(self, grad_out):
        x = self._cached("_x")
        grad_out = self._check_grad_shape(grad_out, x.shape[:-1] + (self.out_features,))
        # Flatten the leading axes: each row is one example; parameter gradients sum over examples.
        g2 = grad_out.reshape(-1, self.out_features)
        x2 = x.reshape(-1, self.in_features)
        self.weight.grad += g2.T @ x2  # dl/dW = g^T x
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=0)  # dl/db = sum of g over examples
        return grad_out @ self.weight.data  # dl/dx = g W

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
