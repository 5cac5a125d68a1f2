"""Splitting a data set for model selection: k-fold cross-validation indices.

Taught in chapter 5, section 5.9.
"""
from __future__ import annotations

import numpy as np

from ..nn.checks import positive_int

__all__ = ["kfold_indices"]


def kfold_indices(n, k, rng=None):
    """``k`` pairs ``(train_index, val_index)`` that split ``range(n)`` into ``k`` folds of nearly equal size.

    Every index is in exactly one validation fold; the first ``n % k`` folds have one index more (as
    scikit-learn's ``KFold``). With a ``numpy.random.Generator`` the indices are shuffled first; without one
    the folds are contiguous blocks. Each training index array is sorted.

    Taught in chapter 5, section 5.9.
    """
    n = positive_int(n, "n", "kfold_indices")
    k = positive_int(k, "k", "kfold_indices")
    if not 2 <= k <= n:
        raise ValueError(f"kfold_indices: need 2 <= k <= n, got k={k} for n={n}")
    order = np.arange(n) if rng is None else rng.permutation(n)
    sizes = np.full(k, n // k)
    sizes[: n % k] += 1
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    folds = []
    for i in range(k):
        val = order[bounds[i]:bounds[i + 1]]
        train = np.sort(np.concatenate([order[:bounds[i]], order[bounds[i + 1]:]]))
        folds.append((train, val))
    return folds
