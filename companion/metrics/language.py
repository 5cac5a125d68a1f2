"""Language-model baselines in NumPy: the cross-entropy that counting characters already reaches (used in
chapter 8, section 8.9). A model that reads its context must do better than these."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["unigram_bigram_baselines"]


def _check_ids(name: str, ids, vocab_size: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
    if ids.ndim != 1 or len(ids) < 2:
        raise ValueError(f"{name} must be 1-D with at least 2 ids, got shape {ids.shape}")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"{name} has ids outside 0 .. {vocab_size - 1} (vocab_size={vocab_size})")
    return ids.astype(np.int64)


def unigram_bigram_baselines(train_ids, val_ids, vocab_size: int, smoothing: float = 1.0) -> dict[str, float]:
    """Validation cross-entropy (nats per token) of three models that know no context or one token of it:
    ``"uniform"`` (every token equally likely: ln V), ``"unigram"`` (token frequencies of the training ids) and
    ``"bigram"`` (the next token given the previous one, counted in the training ids), both with add-``smoothing``.

    All are scored on the same targets ``val_ids[1:]`` (every token that has a predecessor).
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if not smoothing > 0:
        raise ValueError(f"smoothing must be > 0 (else unseen tokens get probability 0), got {smoothing!r}")
    V = int(vocab_size)
    train_ids, val_ids = _check_ids("train_ids", train_ids, V), _check_ids("val_ids", val_ids, V)
    prev, target = val_ids[:-1], val_ids[1:]

    counts = np.bincount(train_ids, minlength=V)
    p_unigram = (counts[target] + smoothing) / (counts.sum() + smoothing * V)

    # Count only the pairs that occur, not a V x V table (V is in the thousands with Chinese).
    pair_codes, pair_counts = np.unique(train_ids[:-1] * V + train_ids[1:], return_counts=True)
    wanted = prev * V + target
    where = np.clip(np.searchsorted(pair_codes, wanted), 0, len(pair_codes) - 1)
    n_pair = np.where(pair_codes[where] == wanted, pair_counts[where], 0)
    n_prev = np.bincount(train_ids[:-1], minlength=V)[prev]
    p_bigram = (n_pair + smoothing) / (n_prev + smoothing * V)

    return {"uniform": math.log(V), "unigram": float(-np.log(p_unigram).mean()),
            "bigram": float(-np.log(p_bigram).mean())}
