"""Memorization measured (chapter 12): the *exposure* of a secret that was hidden in the training data (Carlini,
Liu, Erlingsson, Kos and Song, "The Secret Sharer", USENIX Security 2019).

A *canary* is a sentence of a fixed format with a random secret, say "the code is 4 8 1 5"; the *candidates* are
every sentence of that format, one per possible secret. A model that has memorized the inserted canary finds it
more likely than the other candidates. With the candidates ranked by the model's loss (log-perplexity, lowest
first; rank 1 is the most likely), the exposure of a canary is

    exposure = log2(number of candidates) - log2(rank),

from 0 (the canary is the least likely candidate) to log2(number of candidates) bits (the most likely). A canary
the model never saw has an expected exposure of about 1 / ln 2 = 1.44 bits, whatever the number of candidates.

NumPy only.
"""
from __future__ import annotations

import numpy as np

__all__ = ["exposure", "rank_of"]


def rank_of(losses, index) -> np.ndarray:
    """The rank (1 = lowest loss) of ``losses[index]`` among all ``losses`` (one loss per candidate); ties count
    in the canary's favour (rank = 1 + the number of candidates with a strictly lower loss). ``index`` may be an
    int or an array of ints; the result has its shape."""
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1 or len(losses) == 0:
        raise ValueError(f"losses must be a non-empty 1-D array (one loss per candidate), got shape {losses.shape}")
    if not np.isfinite(losses).all():
        raise ValueError("losses must be finite (a candidate got an infinite or NaN loss)")
    index = np.asarray(index)
    if not np.issubdtype(index.dtype, np.integer):
        raise TypeError(f"index must be an integer or an array of integers, got dtype {index.dtype}")
    if ((index < 0) | (index >= len(losses))).any():
        raise IndexError(f"index must lie in 0 ... {len(losses) - 1} (one per candidate), got {index.tolist()}")
    ordered = np.sort(losses)
    return 1 + np.searchsorted(ordered, losses[index], side="left")


def exposure(losses, index) -> np.ndarray:
    """``log2(len(losses)) - log2(rank)`` of the candidate(s) ``index``, ranked by loss (lowest first)."""
    ranks = rank_of(losses, index)
    return np.log2(len(np.asarray(losses))) - np.log2(ranks)
