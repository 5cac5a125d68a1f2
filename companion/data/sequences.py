"""Synthetic sequence tasks that need a long memory (chapter 7, section 7.7). NumPy only."""
from __future__ import annotations

import numpy as np

__all__ = ["remember_first"]


def remember_first(n: int, length: int, classes: int, rng: np.random.Generator):
    """``n`` sequences of ``length`` steps of width ``classes + 1``. Every step holds one random symbol, one-hot in
    columns ``1..classes``; column 0 marks step 0, the symbol to remember. The target is that first symbol
    (``0..classes-1``), to be given after the last step: the network must carry it past ``length - 1`` random
    distractor symbols of the same alphabet, which it has to learn to ignore.

    Returns ``x`` float32 ``(n, length, classes + 1)`` and ``y`` int64 ``(n,)``.
    """
    for name, value, low in (("n", n, 1), ("length", length, 1), ("classes", classes, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"remember_first: {name} must be an integer >= {low}, got {value!r}")
    symbols = rng.integers(0, classes, size=(n, length))     # a random symbol at every step ...
    y = symbols[:, 0]                                         # ... and the first one is the target
    x = np.zeros((n, length, classes + 1), dtype=np.float32)
    x[np.arange(n)[:, None], np.arange(length), symbols + 1] = 1.0
    x[:, 0, 0] = 1.0                                          # the marker: "remember this one"
    return x, y.astype(np.int64)
