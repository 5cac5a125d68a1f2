"""Input checks shared by the layers, so that each ``forward`` reads as its formula.

One rule for sizes (:func:`positive_int`: Python or NumPy integers, not bools), one for dtypes
(:func:`as_float`: floating input keeps its dtype, anything else becomes the given float dtype) and one message
for shapes (:func:`check_last_dim`: the expected and the actual shape).
"""
from __future__ import annotations

import numpy as np

__all__ = ["positive_int", "as_float", "check_last_dim"]


def positive_int(value, name: str, owner: str) -> int:
    """``int(value)`` if it is a positive integer (``3`` or ``np.int64(3)``); else a ValueError naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
    return int(value)


def as_float(x, dtype=np.float32) -> np.ndarray:
    """``x`` as an array: floating input keeps its dtype; integers and bools become ``dtype``."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(dtype)


def check_last_dim(x: np.ndarray, size: int, owner: str, layout: str = "(..., {size})") -> None:
    """Raise ``ValueError`` unless ``x.shape[-1] == size``, naming the expected layout and the actual shape."""
    if x.ndim == 0 or x.shape[-1] != size:
        raise ValueError(f"{owner} expected input of shape {layout.format(size=size)}, got {x.shape}")
