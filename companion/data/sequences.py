"""Synthetic sequence tasks that need a long memory (chapter 7, section 7.7). NumPy only."""
from __future__ import annotations

import numpy as np

__all__ = ["remember_first"]


def remember_first(n: int, length: int, classes: int, rng: np.random.Generator):
    """``n`` sequences of ``length`` one-hot steps of width ``classes + 1``: step 0 holds a random symbol
    ``1..classes``, every later step the blank symbol 0. The target is the first symbol (``0..classes-1``), to be
    given after the last step: the network must carry it over ``length - 1`` steps of nothing.

    Returns ``x`` float32 ``(n, length, classes + 1)`` and ``y`` int64 ``(n,)``.
    """
    for name, value, low in (("n", n, 1), ("length", length, 1), ("classes", classes, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"remember_first: {name} must be an integer >= {low}, got {value!r}")
    y = rng.integers(0, classes, size=n)
    x = np.zeros((n, length, classes + 1), dtype=np.float32)
    x[:, :, 0] = 1.0                           # the blank symbol everywhere ...
    x[np.arange(n), 0, 0] = 0.0
    x[np.arange(n), 0, y + 1] = 1.0            # ... but the first step, which holds the symbol to remember
    return x, y.astype(np.int64)
