"""Stateless math shared by the layers: softmax and log-softmax."""
from __future__ import annotations

import numpy as np

__all__ = ["softmax", "log_softmax"]


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """``log softmax(x) = x - max(x) - log(sum(exp(x - max(x))))``: shifting by the max avoids overflow."""
    x = np.asarray(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis: int = -1) -> np.ndarray:
    """``softmax(x)_i = exp(x_i - max(x)) / sum_j exp(x_j - max(x))`` along ``axis``."""
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
