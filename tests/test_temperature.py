"""companion.metrics.fit_temperature: temperature scaling against scipy's scalar minimiser, on logits whose
right temperature is known, and bad input."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import reference

from companion.metrics import accuracy, fit_temperature, log_loss
from companion.nn.functional import log_softmax, softmax


def _sampled(seed, n=20_000, c=5, scale=2.0):
    """Logits z and labels drawn from softmax(z): the calibrated temperature of z is 1."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, c)) * scale
    p = softmax(z, axis=1)
    y = (p.cumsum(axis=1) < rng.random((n, 1))).sum(axis=1)
    return z, y


@pytest.mark.parametrize("factor", [0.5, 1.0, 3.0])
def test_recovers_the_temperature_that_made_the_logits(factor):
    z, y = _sampled(0)
    assert fit_temperature(factor * z, y) == pytest.approx(factor, rel=0.05)


@pytest.mark.parametrize("seed", [1, 2])
def test_equals_scipy_minimize_scalar(seed):
    optimize = reference("scipy.optimize", "scipy")
    z, y = _sampled(seed, n=3000, c=4)
    z = 2.5 * z + np.random.default_rng(seed).normal(size=z.shape)

    def nll(log_t):
        return -log_softmax(z / np.exp(log_t), axis=1)[np.arange(len(y)), y].mean()

    best = optimize.minimize_scalar(nll, bounds=(np.log(0.05), np.log(20)), method="bounded",
                                    options={"xatol": 1e-10})
    t = fit_temperature(z, y)
    assert t == pytest.approx(np.exp(best.x), rel=1e-5)
    # the fitted temperature lowers the log loss and keeps the accuracy
    assert log_loss(y, softmax(z / t, axis=1)) <= log_loss(y, softmax(z, axis=1))
    assert accuracy(y, z / t) == accuracy(y, z)


def test_minimum_outside_the_range_returns_the_nearer_end():
    z = np.array([[5.0, 0.0], [0.0, 5.0], [4.0, 1.0]])
    assert fit_temperature(z, [0, 1, 0]) == 0.05       # all right: sharper is always better
    assert fit_temperature(z, [1, 0, 1]) == 20.0       # all wrong: as flat as allowed


def test_bad_input():
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"shape \(N, C\)"):
        fit_temperature(np.zeros(4), [0, 1, 2, 0])
    with pytest.raises(ValueError, match="disagree on N"):
        fit_temperature(z, [0, 1, 2])
    with pytest.raises(ValueError, match="outside"):
        fit_temperature(z, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        fit_temperature(np.full((2, 2), np.nan), [0, 1])
    with pytest.raises(ValueError, match="low < high"):
        fit_temperature(z, [0, 1, 2, 0], low=2, high=1)
