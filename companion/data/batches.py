"""Minibatches of a data set held in memory."""
from __future__ import annotations

import numpy as np

from ..nn.checks import positive_int

__all__ = ["minibatches"]


def minibatches(n: int, batch_size: int, rng: np.random.Generator):
    """Index arrays that cover ``range(n)`` once, in a random order; the last one may be smaller.

    A generator: the arguments are checked when the first minibatch is asked for.
    Taught in chapter 4, section 4.3.
    """
    n, batch_size = positive_int(n, "n", "minibatches"), positive_int(batch_size, "batch_size", "minibatches")
    order = rng.permutation(n)
    for start in range(0, n, batch_size):
        yield order[start:start + batch_size]
