"""Losses from scratch in NumPy, with the gradient of the loss with respect to the prediction.

``loss = CrossEntropyLoss(); value = loss(logits, target); dlogits = loss.backward()``: the value is a
Python float (the mean over the batch, as in torch) and ``backward()`` returns the gradient with respect to
the first argument of the last ``forward`` call.
"""
from __future__ import annotations

import numpy as np

from .functional import log_softmax

__all__ = ["CrossEntropyLoss", "MSELoss"]


def _as_float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


class _Loss:
    """Shared plumbing: ``__call__`` is ``forward``; ``backward`` needs a cached forward."""

    def __call__(self, *args):
        return self.forward(*args)

    def _cached(self, name: str):
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: run forward(...) first")
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossEntropyLoss(_Loss):
    """``l = -(1/N) sum_n log softmax(z_n)[y_n]`` for logits ``z`` (N, C) and integer labels ``y`` (N,)."""

    def __init__(self):
        self._probs = None
        self._target = None

    def forward(self, logits, target) -> float:
        logits, target = _as_float(logits), np.asarray(target)
        if logits.ndim != 2:
            raise ValueError(f"CrossEntropyLoss expected logits of shape (N, C), got {logits.shape}")
        n, c = logits.shape
        if n == 0:
            raise ValueError(f"CrossEntropyLoss got an empty batch: logits of shape {logits.shape}")
        if target.ndim != 1 or target.shape[0] != n:
            raise ValueError(
                f"CrossEntropyLoss expected target of shape ({n},) for logits of shape {logits.shape}, "
                f"got {target.shape}"
            )
        if target.dtype.kind not in "iu":
            raise ValueError(f"CrossEntropyLoss expected integer class labels as target, got dtype {target.dtype}")
        bad = (target < 0) | (target >= c)
        if bad.any():
            raise ValueError(
                f"CrossEntropyLoss: labels must lie in [0, {c}) for logits of shape {logits.shape}; "
                f"got bad labels {np.unique(target[bad]).tolist()}"
            )
        logp = log_softmax(logits, axis=1)
        self._probs, self._target = np.exp(logp), target
        return float(-logp[np.arange(n), target].mean())

    def backward(self) -> np.ndarray:
        probs, target = self._cached("_probs"), self._cached("_target")
        # dl/dz = (softmax(z) - onehot(y)) / N
        grad = probs.copy()
        grad[np.arange(len(target)), target] -= 1.0
        return grad / len(target)


class MSELoss(_Loss):
    """``l = mean((p - t)^2)`` over all elements; ``p`` and ``t`` must have the same shape."""

    def __init__(self):
        self._diff = None

    def forward(self, pred, target) -> float:
        pred, target = _as_float(pred), np.asarray(target)
        if pred.shape != target.shape:
            # No broadcasting: (N, 1) against (N,) would silently give an (N, N) loss.
            raise ValueError(
                f"MSELoss expected pred and target of the same shape, got {pred.shape} and {target.shape}"
            )
        if pred.size == 0:
            raise ValueError(f"MSELoss got empty arrays of shape {pred.shape}")
        self._diff = pred - target.astype(pred.dtype, copy=False)
        return float(np.mean(self._diff**2))

    def backward(self) -> np.ndarray:
        diff = self._cached("_diff")
        return 2.0 * diff / diff.size  # dl/dp = 2 (p - t) / n
