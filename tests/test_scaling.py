"""companion.metrics.scaling: 6ND, the power-law fit, the Chinchilla law and its compute-optimal allocation."""
from __future__ import annotations

import numpy as np
import pytest

from companion.metrics.scaling import (CHINCHILLA, EPOCH_REPLICATION, PowerLaw, chinchilla_loss, chinchilla_optimal,
                                       fit_power_law, training_flops)


def test_training_flops_is_six_n_d():
    assert training_flops(175e9, 300e9) == pytest.approx(3.15e23)  # GPT-3: 3.14e23 FLOPs in Brown et al.
    np.testing.assert_allclose(training_flops([1, 2], [3, 4]), [18, 48])
    with pytest.raises(ValueError, match="positive"):
        training_flops(0, 10)


def test_power_law_fit_recovers_a_known_law():
    x = np.geomspace(1e4, 1e7, 6)
    law = PowerLaw(scale=50.0, exponent=0.3, offset=0.0)
    fit = fit_power_law(x, law(x))
    assert fit.scale == pytest.approx(50.0, rel=1e-9) and fit.exponent == pytest.approx(0.3, rel=1e-9)
    with_offset = PowerLaw(scale=50.0, exponent=0.3, offset=1.2)
    fit = fit_power_law(x, with_offset(x), offset=None)
    assert fit.offset == pytest.approx(1.2, abs=0.01) and fit.exponent == pytest.approx(0.3, abs=0.01)
    np.testing.assert_allclose(fit(x), with_offset(x), rtol=1e-3)


def test_power_law_fit_rejects_bad_points():
    with pytest.raises(ValueError, match="shapes"):
        fit_power_law([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="x > 0"):
        fit_power_law([0, 1], [1, 2])
    with pytest.raises(ValueError, match="above the offset"):
        fit_power_law([1, 2], [1, 2], offset=1.5)
    with pytest.raises(ValueError, match="3 points"):
        fit_power_law([1, 2], [2, 1], offset=None)


@pytest.mark.parametrize("fit", [CHINCHILLA, EPOCH_REPLICATION])
def test_chinchilla_optimum_minimises_the_loss_along_the_compute_budget(fit):
    compute = 5.76e23  # Chinchilla's (and Gopher's) training budget
    n_opt, d_opt = chinchilla_optimal(compute, fit)
    assert training_flops(n_opt, d_opt) == pytest.approx(compute)
    n = np.geomspace(n_opt / 3, n_opt * 3, 2001)
    losses = chinchilla_loss(n, compute / (6 * n), fit)
    assert n[np.argmin(losses)] == pytest.approx(n_opt, rel=0.01)


def test_the_two_fits_disagree_on_tokens_per_parameter():
    # at Chinchilla's budget the published (rounded) fit asks for a smaller model fed far more tokens per
    # parameter than the 20 that Chinchilla itself was trained with (70e9 parameters, 1.4e12 tokens); the
    # replication's refit is close to 20
    n_pub, d_pub = chinchilla_optimal(5.76e23, CHINCHILLA)
    n_rep, d_rep = chinchilla_optimal(5.76e23, EPOCH_REPLICATION)
    assert d_pub / n_pub > 50 and n_pub < 40e9 and 15 < d_rep / n_rep < 30 and 60e9 < n_rep < 80e9
    assert chinchilla_loss(70e9, 1.4e12) == pytest.approx(1.69 + 406.4 / 70e9 ** 0.34 + 410.7 / 1.4e12 ** 0.28)
