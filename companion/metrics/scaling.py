"""Scaling laws (chapter 9): training compute, a power law fitted to measured losses, and the published
Chinchilla fit (Hoffmann et al., 2022) with its compute-optimal model size. NumPy only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["training_flops", "PowerLaw", "fit_power_law", "CHINCHILLA", "EPOCH_REPLICATION", "chinchilla_loss",
           "chinchilla_optimal"]

# L(N, D) = E + A / N**alpha + B / D**beta, N parameters, D training tokens, L in nats per token.
# Hoffmann et al. (2022), "Training Compute-Optimal Large Language Models", section 3.3 (approach 3).
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
# Besiroglu et al. (2024), "Chinchilla Scaling: A replication attempt": the same approach refitted to the data
# read off the paper's figure.
EPOCH_REPLICATION = {"E": 1.8172, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def training_flops(n_params, n_tokens):
    """The usual estimate of training compute, C = 6 N D floating-point operations (Kaplan et al., 2020): about
    2 per parameter per token for the forward pass and 4 for the backward pass."""
    n_params, n_tokens = np.asarray(n_params, dtype=float), np.asarray(n_tokens, dtype=float)
    if np.any(n_params <= 0) or np.any(n_tokens <= 0):
        raise ValueError("n_params and n_tokens must be positive")
    return 6.0 * n_params * n_tokens


class PowerLaw(NamedTuple):
    """``loss = scale * x ** (-exponent) + offset``, fitted by ``fit_power_law``."""
    scale: float
    exponent: float
    offset: float

    def __call__(self, x):
        return self.scale * np.asarray(x, dtype=float) ** (-self.exponent) + self.offset


def _check_xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of one length, got shapes {x.shape} and {y.shape}")
    if len(x) < 2 or not np.all(np.isfinite(x)) or not np.all(np.isfinite(y)) or np.any(x <= 0):
        raise ValueError("x and y need at least 2 finite points, with x > 0")
    return x, y


def fit_power_law(x, y, offset: float | None = 0.0) -> PowerLaw:
    """Fit ``y = scale * x**(-exponent) + offset`` to measured points.

    With a given ``offset`` (default 0: a pure power law) this is a straight line through
    ``(log x, log(y - offset))`` by least squares. ``offset=None`` also fits the offset (the *irreducible loss*):
    the offset on a fine grid below ``min(y)`` whose straight-line fit has the least squared error in ``y``;
    that needs at least 3 points.
    """
    x, y = _check_xy(x, y)
    if offset is None:
        if len(x) < 3:
            raise ValueError("fitting the offset too needs at least 3 points")
        candidates = min(y) - np.geomspace(1e-4, max(min(y), 1e-3), 400) * 0.999
        fits = [fit_power_law(x, y, float(c)) for c in candidates if np.all(y > c)]
        return min(fits, key=lambda fit: float(np.sum((fit(x) - y) ** 2)))
    if np.any(y <= offset):
        raise ValueError(f"every y must be above the offset {offset}")
    slope, intercept = np.polyfit(np.log(x), np.log(y - offset), 1)
    return PowerLaw(scale=float(np.exp(intercept)), exponent=float(-slope), offset=float(offset))


def chinchilla_loss(n_params, n_tokens, fit: dict = CHINCHILLA):
    """The loss (nats per token, on the paper's data) that the fitted law predicts for N parameters, D tokens."""
    n, d = np.asarray(n_params, dtype=float), np.asarray(n_tokens, dtype=float)
    return fit["E"] + fit["A"] / n ** fit["alpha"] + fit["B"] / d ** fit["beta"]


def chinchilla_optimal(flops, fit: dict = CHINCHILLA) -> tuple[np.ndarray, np.ndarray]:
    """The parameters N and tokens D that minimise ``chinchilla_loss`` at compute ``C = 6 N D``.

    Setting the derivative along ``D = C / (6 N)`` to zero gives ``N = G (C / 6) ** (beta / (alpha + beta))``
    with ``G = (alpha A / (beta B)) ** (1 / (alpha + beta))`` (Hoffmann et al., 2022, equation 4), and
    ``D = C / (6 N)``.
    """
    c = np.asarray(flops, dtype=float)
    if np.any(c <= 0):
        raise ValueError("flops must be positive")
    a, b = fit["alpha"], fit["beta"]
    g = (a * fit["A"] / (b * fit["B"])) ** (1.0 / (a + b))
    n = g * (c / 6.0) ** (b / (a + b))
    return n, c / (6.0 * n)
