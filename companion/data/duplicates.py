"""Duplicate and near-duplicate examples, within a data set and across its splits (chapter 10). NumPy only."""
from __future__ import annotations

import numpy as np

__all__ = ["exact_duplicates", "nearest_neighbours"]


def _as_rows(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"{name} must hold one example per row, shape (N, ...) with N >= 1, got shape {x.shape}")
    return x.reshape(len(x), -1)


def exact_duplicates(a, b=None) -> list[tuple[int, int]]:
    """Pairs (i, j) of byte-identical examples: a[i] == b[j] across two sets, or, with ``b=None``, a[i] == a[j]
    with i < j within one set. Examples are compared as raw bytes (row by row), so keep their dtype (uint8
    images), not a float conversion. Taught in chapter 10."""
    rows_a = _as_rows(a, "a")
    rows_b = rows_a if b is None else _as_rows(b, "b")
    if rows_b.shape[1:] != rows_a.shape[1:] or rows_b.dtype != rows_a.dtype:
        raise ValueError(f"a and b must hold examples of one shape and dtype, got {np.shape(a)[1:]} {rows_a.dtype} "
                         f"and {np.shape(b)[1:]} {rows_b.dtype}")
    seen: dict[bytes, list[int]] = {}
    for j, row in enumerate(rows_b):
        seen.setdefault(row.tobytes(), []).append(j)
    pairs = []
    for i, row in enumerate(rows_a):
        for j in seen.get(row.tobytes(), ()):
            if b is not None or i < j:
                pairs.append((i, j))
    return pairs


def nearest_neighbours(queries, references, batch_size: int = 500, exclude_self: bool = False):
    """For each query row, the index of its nearest reference row and the Euclidean distance to it,
    ``(index (N,), distance (N,))``. Taught in chapter 10.

    Squared distances come from ||q||^2 - 2 q.r + ||r||^2, one (batch, M) block of the matrix at a time;
    ``exclude_self=True`` (queries and references the same set) skips each row's distance to itself.
    """
    q = _as_rows(queries, "queries").astype(np.float32)
    r = _as_rows(references, "references").astype(np.float32)
    if q.shape[1] != r.shape[1]:
        raise ValueError(f"queries and references must have the same number of features, got {q.shape[1]} "
                         f"and {r.shape[1]}")
    if exclude_self and q.shape != r.shape:
        raise ValueError(f"exclude_self=True needs queries and references to be one set, got shapes {q.shape} "
                         f"and {r.shape}")
    r_sq = np.einsum("ij,ij->i", r, r)
    index, distance = np.empty(len(q), np.int64), np.empty(len(q), np.float32)
    for start in range(0, len(q), batch_size):
        block = q[start:start + batch_size]                                       # (B, D)
        d2 = np.einsum("ij,ij->i", block, block)[:, None] - 2 * block @ r.T + r_sq   # (B, M)
        if exclude_self:
            d2[np.arange(len(block)), start + np.arange(len(block))] = np.inf
        nearest = d2.argmin(axis=1)
        index[start:start + len(block)] = nearest
        distance[start:start + len(block)] = np.sqrt(np.maximum(d2[np.arange(len(block)), nearest], 0))
    return index, distance
