"""``Flatten`` (``torch.nn.Flatten``): merge axes into one, e.g. feature maps (N, C, H, W) into rows (N, C*H*W).

Used between the convolutions and the linear layers of a CNN (chapter 6, section 6.8). Its backward pass is the
reverse reshape: flattening moves no number, so the gradient of each input is the gradient of its output.
"""
from __future__ import annotations

import numpy as np

from .module import Module

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge the axes ``start_dim`` to ``end_dim`` into one, as ``torch.nn.Flatten`` (default: all but N)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._shape = None

    def _axes(self, ndim: int, shape: tuple) -> tuple[int, int]:
        """``(start, end)`` as non-negative axes of an array with ``ndim`` axes, or a ValueError."""
        needed = max(d + 1 if d >= 0 else -d for d in (self.start_dim, self.end_dim))
        if ndim < needed:
            raise ValueError(f"{self!r} expected an input with at least {needed} axes, got shape {shape}")
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if start > end:
            raise ValueError(f"{self!r}: start_dim comes after end_dim for an input of shape {shape}")
        return start, end

    def forward(self, x):
        x = np.asarray(x)
        start, end = self._axes(x.ndim, x.shape)
        self._shape = x.shape
        y = x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])
        # A new array, unlike torch's view: changing the input later must not change this output.
        return y.copy() if np.may_share_memory(y, x) else y

    def backward(self, grad_out):
        shape = self._cached("_shape")
        start, end = self._axes(len(shape), shape)
        expected = shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
        return self._check_grad_shape(grad_out, expected).reshape(shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
