"""Input checks shared by the layers and losses, so that each ``forward`` reads as its formula.

One rule for sizes (:func:`positive_int`: Python or NumPy integers, not bools), one for hyperparameters
(:func:`number_in_range`, used by the optimizers), one for dtypes
(:func:`as_float`: floating input keeps its dtype, anything else becomes the given float dtype) and messages that
name the expected and the actual shape (:func:`check_last_dim`, :func:`check_same_shape`,
:func:`check_class_labels`).
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["positive_int", "number_in_range", "as_float", "check_last_dim", "check_same_shape", "check_class_labels"]


def positive_int(value, name: str, owner: str) -> int:
    """``int(value)`` if it is a positive integer (``3`` or ``np.int64(3)``); else a ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def number_in_range(value, name: str, owner: str, *, low: float, high: float = math.inf,
                    low_inclusive: bool = True) -> float:
    """``float(value)`` if ``low <= value < high`` (``low < value`` without ``low_inclusive``); else a ValueError.

    NaN fails every comparison, so it is rejected too.
    """
    value = float(value)
    if not ((value >= low if low_inclusive else value > low) and value < high):
        expected = (f"{low} <= " if low_inclusive else f"{low} < ") + name + (f" < {high}" if high != math.inf else "")
        raise ValueError(f"{owner}: invalid {name}: {value} (expected {expected})")
    return value


def as_float(x, dtype=np.float32) -> np.ndarray:
    """``x`` as an array: floating input keeps its dtype; integers and bools become ``dtype``."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(dtype)


def check_last_dim(x: np.ndarray, size: int, owner: str, layout: str = "(..., {size})") -> None:
    """Raise ``ValueError`` unless ``x.shape[-1] == size``, naming the expected layout and the actual shape."""
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(f"{owner} expected input of shape {layout.format(size=size)}, got {x.shape}")


def check_same_shape(pred: np.ndarray, target: np.ndarray, owner: str) -> None:
    """Raise ``ValueError`` unless ``pred`` and ``target`` have the same, non-empty shape.

    No broadcasting: a prediction (N, 1) against a target (N,) would silently give an (N, N) difference.
    """
    if pred.shape != target.shape:
        raise ValueError(f"{owner} expected pred and target of the same shape, got {pred.shape} and {target.shape}")
    if pred.size == 0:
        raise ValueError(f"{owner} got empty arrays of shape {pred.shape}")


def check_class_labels(logits: np.ndarray, target, owner: str) -> np.ndarray:
    """``target`` as an integer array if it holds one label in ``[0, C)`` per row of ``logits`` (N, C).

    Raises ``ValueError`` naming what is wrong: the shapes, a non-integer dtype or the labels out of range
    (NumPy would silently read a label of -1 as the last class).
    """
    target = np.asarray(target)
    if logits.ndim != 2:
        raise ValueError(f"{owner} expected logits of shape (N, C), got {logits.shape}")
    n, c = logits.shape
    if n == 0:
        raise ValueError(f"{owner} got an empty batch: logits of shape {logits.shape}")
    if target.shape != (n,):
        raise ValueError(f"{owner} expected target of shape ({n},) for logits of shape {logits.shape}, "
                         f"got {target.shape}")
    if target.dtype.kind not in "iu":
        raise ValueError(f"{owner} expected integer class labels as target, got dtype {target.dtype}")
    bad = (target < 0) | (target >= c)
    if bad.any():
        raise ValueError(f"{owner}: labels must lie in [0, {c}) for logits of shape {logits.shape}; "
                         f"got bad labels {np.unique(target[bad]).tolist()}")
    return target
