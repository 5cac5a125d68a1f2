"""companion.data.duplicates: exact duplicates against a brute-force comparison, nearest neighbours against a
float64 distance matrix, and bad input."""
from __future__ import annotations

import numpy as np
import pytest

from companion.data.duplicates import exact_duplicates, nearest_neighbours


def _images(seed, n, dup_from=None):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 3, (n, 4, 4), dtype=np.uint8)   # few values: some rows repeat by chance
    if dup_from is not None:
        images[:3] = dup_from[[5, 7, 7]]
    return images


def _brute(a, b=None):
    other = a if b is None else b
    return [(i, j) for i in range(len(a)) for j in range(len(other))
            if np.array_equal(a[i], other[j]) and (b is not None or i < j)]


def test_exact_duplicates_equal_brute_force():
    train = _images(0, 40)
    train[10] = train[3]
    train[30] = train[3]
    test = _images(1, 20, dup_from=train)
    assert exact_duplicates(train) == _brute(train)
    assert exact_duplicates(test, train) == _brute(test, train)
    assert {(3, 10), (3, 30), (10, 30)} <= set(exact_duplicates(train))
    assert {(0, 5), (1, 7), (2, 7)} <= set(exact_duplicates(test, train))


@pytest.mark.parametrize("batch_size", [1, 7, 500])
def test_nearest_neighbours_equal_a_full_distance_matrix(batch_size):
    rng = np.random.default_rng(2)
    q, r = rng.random((23, 6)), rng.random((31, 6))
    d = np.sqrt(((q[:, None, :] - r[None]) ** 2).sum(-1))
    index, distance = nearest_neighbours(q, r, batch_size=batch_size)
    assert np.array_equal(index, d.argmin(1))
    assert np.allclose(distance, d.min(1), atol=1e-5)
    d_self = np.sqrt(((r[:, None, :] - r[None]) ** 2).sum(-1)) + np.diag(np.full(len(r), np.inf))
    index, distance = nearest_neighbours(r, r, batch_size=batch_size, exclude_self=True)
    assert np.array_equal(index, d_self.argmin(1))
    assert np.allclose(distance, d_self.min(1), atol=1e-5)


def test_bad_input():
    with pytest.raises(ValueError, match="one example per row"):
        exact_duplicates(np.zeros(5))
    with pytest.raises(ValueError, match="one shape and dtype"):
        exact_duplicates(np.zeros((3, 2), np.uint8), np.zeros((3, 2), np.float32))
    with pytest.raises(ValueError, match="number of features"):
        nearest_neighbours(np.zeros((3, 2)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="one set"):
        nearest_neighbours(np.zeros((3, 2)), np.zeros((4, 2)), exclude_self=True)
