"""Layer normalization in NumPy (``torch.nn.LayerNorm``), a thin Module over a cs231n forward/backward pair.

Taught in chapter 8, section 8.7.
"""
from __future__ import annotations

import numpy as np

from .module import Module, Parameter

__all__ = ["layer_norm_forward", "layer_norm_backward", "LayerNorm"]


def layer_norm_forward(x, weight, bias, eps=1e-5, ndim=1):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last ``ndim`` axes (biased variance); ``(out,
    cache)``. ``weight`` and ``bias`` have the shape of those axes, or are None (no affine map).

    Taught in chapter 8, section 8.7.
    """
    axes = tuple(range(-ndim, 0))
    centred = x - x.mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)  # 1 / standard deviation
    xhat = centred * rstd  # mean 0, variance 1 for every token
    out = xhat if weight is None else xhat * weight + bias
    return out, (xhat, rstd, weight, axes)


def layer_norm_backward(dout, cache):
    """``(dx, dweight, dbias)``; ``dweight`` and ``dbias`` are None without an affine map.

    Taught in chapter 8, section 8.7.
    """
    xhat, rstd, weight, axes = cache
    dweight = dbias = None
    if weight is not None:
        rows = dout.reshape((-1,) + weight.shape)  # one row per token: the gain and bias serve every token
        dweight, dbias = (rows * xhat.reshape(rows.shape)).sum(axis=0), rows.sum(axis=0)
        dout = dout * weight
    # d xhat / dx removes the mean and the component along xhat, then scales by 1 / std.
    dx = rstd * (dout - dout.mean(axis=axes, keepdims=True) - xhat * (dout * xhat).mean(axis=axes, keepdims=True))
    return dx, dweight, dbias


class LayerNorm(Module):
    """``torch.nn.LayerNorm``: normalize every token over its last ``len(normalized_shape)`` axes, then scale by
    ``weight`` (ones at first) and shift by ``bias`` (zeros).

    Taught in chapter 8, section 8.7.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, dtype=np.float32):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must hold positive integers, got {normalized_shape!r}")
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), float(eps)
        self.elementwise_affine, self.dtype = bool(elementwise_affine), np.dtype(dtype)
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, x):
        x = self._check(x)
        weight, bias = (None, None) if self.weight is None else (self.weight.data, self.bias.data)
        out, self._cache = layer_norm_forward(x, weight, bias, self.eps, len(self.normalized_shape))
        return out

    def backward(self, grad_out):
        cache = self._cached("_cache")
        dx, dweight, dbias = layer_norm_backward(self._check_grad_shape(grad_out, cache[0].shape), cache)
        if self.weight is not None:
            self.weight.grad += dweight  # add: gradients accumulate until zero_grad, as in torch
            self.bias.grad += dbias
        return dx

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x)
        n = len(self.normalized_shape)
        if x.ndim < n or x.shape[x.ndim - n:] != self.normalized_shape:
            raise ValueError(f"LayerNorm expected input of shape (..., {', '.join(map(str, self.normalized_shape))}),"
                             f" got {x.shape}")
        return x.astype(self.weight.data.dtype if self.weight is not None else self.dtype, copy=False)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
