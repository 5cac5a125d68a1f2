"""The affine layer ``y = x W^T + b`` (``torch.nn.Linear``), a thin Module over ``functional.linear_*``."""
from __future__ import annotations

import math

import numpy as np

from ..book.runtime import default_generator
from .checks import check_last_dim, positive_int
from .functional import linear_backward, linear_forward
from .module import Module, Parameter

__all__ = ["Linear"]


class Linear(Module):
    """Affine map ``y = x W^T + b`` on the last axis; ``weight`` is ``(out, in)`` as in ``torch.nn.Linear``.

    Taught in chapter 2, section 2.4.
    """

    def __init__(self, in_features, out_features, bias=True, *, rng=None, dtype=np.float32):
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Linear")
        self.out_features = positive_int(out_features, "out_features", "Linear")
        rng = default_generator() if rng is None else rng
        bound = 1.0 / math.sqrt(self.in_features)  # torch's default: U(-1/sqrt(in), 1/sqrt(in))
        self.weight = Parameter(rng.uniform(-bound, bound, (self.out_features, self.in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, self.out_features).astype(dtype)) if bias else None

    def forward(self, x):
        x = np.asarray(x, dtype=self.weight.data.dtype)  # cast to the parameters' dtype (torch would raise instead)
        check_last_dim(x, self.in_features, f"Linear({self.in_features}, {self.out_features})")
        bias = None if self.bias is None else self.bias.data
        out, self._cache = linear_forward(x, self.weight.data, bias)
        return out

    def backward(self, grad_out):
        cache = self._cached("_cache")
        x = cache[0]
        grad_out = self._check_grad_shape(grad_out, x.shape[:-1] + (self.out_features,))
        dx, dweight, dbias = linear_backward(grad_out, cache)
        self.weight.grad += dweight  # add: gradients accumulate until zero_grad, as in torch
        if self.bias is not None:
            self.bias.grad += dbias
        return dx

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
