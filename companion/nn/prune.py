"""Magnitude pruning from scratch: the masks ``torch.nn.utils.prune`` computes, unstructured (single weights)
and structured (whole rows or filters), as NumPy arrays of 0s and 1s (taught in chapter 11).

Pruning sets weights to zero and keeps them there: the pruned model computes with ``weight * mask``. *Unstructured*
pruning removes the weights of smallest ``|w|`` anywhere in the tensor, which makes it sparse but not smaller for
dense hardware; *structured* pruning removes whole slices (a linear layer's output rows, a convolution's filters)
of smallest norm, which makes the layer narrower. NumPy only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["channel_mask", "magnitude_mask", "sparsity"]


def _count(amount, total: int) -> int:
    """How many of ``total`` to prune: ``amount`` a fraction in [0, 1] (rounded as torch rounds) or a count."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float, np.integer, np.floating)):
        raise TypeError(f"amount must be a fraction in [0, 1] or a number of entries, got {amount!r}")
    if isinstance(amount, (float, np.floating)):
        if not 0.0 <= amount <= 1.0:
            raise ValueError(f"a fractional amount must lie in [0, 1], got {amount!r}")
        return round(float(amount) * total)
    if not 0 <= amount <= total:
        raise ValueError(f"cannot prune {amount} of {total} entries")
    return int(amount)


def magnitude_mask(weight, amount) -> np.ndarray:
    """Mask (weight's shape) that zeroes the ``amount`` entries of smallest absolute value, as
    ``prune.l1_unstructured``."""
    w = np.asarray(weight)
    k = _count(amount, w.size)
    mask = np.ones(w.size, dtype=np.float32)
    mask[np.argsort(np.abs(w).ravel(), kind="stable")[:k]] = 0.0
    return mask.reshape(w.shape)


def channel_mask(weight, amount, *, dim: int = 0, norm: float = 2) -> np.ndarray:
    """Mask (weight's shape) that zeroes the ``amount`` slices along ``dim`` of smallest L``norm`` norm (each slice's
    norm taken over all its other axes), as ``prune.ln_structured``."""
    w = np.asarray(weight, dtype=np.float64)
    if not -w.ndim <= dim < w.ndim or w.ndim < 2:
        raise ValueError(f"dim {dim} does not name an axis of a weight with at least 2 axes; got shape {w.shape}")
    dim = dim % w.ndim
    slices = np.moveaxis(w, dim, 0).reshape(w.shape[dim], -1)
    norms = np.linalg.norm(slices, ord=norm, axis=1)
    k = _count(amount, w.shape[dim])
    keep = np.zeros(w.shape[dim], dtype=np.float32)
    keep[np.argsort(-norms, kind="stable")[:w.shape[dim] - k]] = 1.0        # the largest norms stay
    shape = [1] * w.ndim
    shape[dim] = -1
    return np.broadcast_to(keep.reshape(shape), w.shape).copy()


def sparsity(mask) -> float:
    """The fraction of zeros in a mask (or in pruned weights)."""
    mask = np.asarray(mask)
    if mask.size == 0:
        raise ValueError("sparsity of an empty array is undefined")
    return float(np.mean(mask == 0))
