"""Inverted dropout in NumPy (``torch.nn.Dropout``), a thin Module over a cs231n forward/backward pair.

Taught in chapter 5, section 5.5.
"""
from __future__ import annotations

import numpy as np

from ..book.runtime import default_generator
from .checks import number_in_range
from .module import Module

__all__ = ["dropout_forward", "dropout_backward", "Dropout"]


def dropout_forward(x, keep, p):
    """Inverted dropout with a given mask: ``out = x * keep / (1 - p)``; ``(out, cache)``.

    ``keep`` is a bool array of the shape of ``x`` (True where a unit survives, with probability ``1 - p``).
    Dividing by ``1 - p`` keeps the expected value of every unit, so evaluation needs no rescaling. With
    ``p = 1`` every unit is dropped and the output is zero, as in torch.

    Taught in chapter 5, section 5.5.
    """
    scale = 0.0 if p == 1.0 else 1.0 / (1.0 - p)
    factor = keep * np.asarray(scale, dtype=x.dtype)  # 0 or 1 / (1 - p), in the input's dtype
    return x * factor, factor


def dropout_backward(dout, cache):
    """``dx = dout * keep / (1 - p)``: the gradient flows only through the units that were kept.

    Taught in chapter 5, section 5.5.
    """
    return dout * cache


class Dropout(Module):
    """``torch.nn.Dropout(p)``: in training mode each element is zeroed with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)``; in evaluation mode (``model.eval()``) the layer is the identity.

    The mask comes from :func:`companion.book.runtime.default_generator` (seeded by ``set_seed``) unless the
    layer is given its own ``rng``; ``mask`` holds the last one drawn (None in evaluation mode).

    Taught in chapter 5, section 5.5.
    """

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        self.p = number_in_range(p, "p", "Dropout", low=0.0, high=1.0) if p != 1 else 1.0
        self.rng = rng
        self.mask = None

    def forward(self, x):
        x = np.asarray(x)
        x = x if x.dtype.kind == "f" else x.astype(np.float32)
        if not self.training or self.p == 0.0:
            self.mask, self._cache = None, np.ones((), dtype=x.dtype)  # identity: the gradient passes unchanged
            self._shape = x.shape
            return x
        rng = default_generator() if self.rng is None else self.rng
        self.mask = rng.random(x.shape) >= self.p  # keep with probability 1 - p
        out, self._cache = dropout_forward(x, self.mask, self.p)
        self._shape = x.shape
        return out

    def backward(self, grad_out):
        cache = self._cached("_cache")
        return dropout_backward(self._check_grad_shape(grad_out, self._shape), cache)

    def extra_repr(self):
        return f"p={self.p}, inplace=False"
