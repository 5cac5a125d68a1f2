"""How sure is a measured score? A bootstrap confidence interval for any metric, McNemar's test for two
classifiers scored on the same test set, and the variation of a score over training seeds (chapter 10). NumPy
and the standard library only."""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from .classification import _class_indices

__all__ = ["BootstrapCI", "bootstrap_ci", "McNemarResult", "mcnemar", "SeedVariation", "seed_variation",
           "student_t_quantile"]


class BootstrapCI(NamedTuple):
    """A metric's value on the full test set (``estimate``), the percentile interval [``low``, ``high``] and
    the metric on every resample (``samples``, e.g. for a histogram)."""

    estimate: float
    low: float
    high: float
    samples: np.ndarray


def bootstrap_ci(metric: Callable[..., float], *arrays, n_resamples: int = 1000, confidence: float = 0.95,
                 rng: int | np.random.Generator = 0) -> BootstrapCI:
    """Percentile bootstrap confidence interval of ``metric(*arrays)``. Taught in chapter 10.

    Draw N samples with replacement from the N test samples (the same rows of every array, so that labels
    stay with their predictions), compute the metric on the resample, repeat ``n_resamples`` times; the
    interval runs from the (1 - confidence) / 2 to the (1 + confidence) / 2 quantile of those values (linear
    interpolation, ``np.quantile``'s default). It measures how much the score would move on another test set
    drawn from the same distribution, not the spread over training seeds.

    ``rng`` is a seed or a ``np.random.Generator``: with the same seed the interval is the same. The
    resampling draws ``rng.integers(0, N, (n_resamples, N))``, as ``scipy.stats.bootstrap(...,
    paired=True, method="percentile")`` does, so both give the same interval from the same generator.
    """
    if not arrays:
        raise ValueError("bootstrap_ci needs the arrays to resample, e.g. bootstrap_ci(accuracy, y_true, y_pred)")
    arrays = [np.asarray(a) for a in arrays]
    lengths = {a.shape[0] if a.ndim else None for a in arrays}
    if None in lengths or len(lengths) != 1:
        raise ValueError(f"the arrays must share their first axis (one row per test sample), got shapes "
                         f"{[a.shape for a in arrays]}")
    n = lengths.pop()
    if n < 2:
        raise ValueError(f"bootstrapping needs at least 2 samples, got {n}")
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)) or n_resamples < 1:
        raise ValueError(f"n_resamples must be a positive integer, got {n_resamples!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), e.g. 0.95, got {confidence!r}")
    rng = np.random.default_rng(rng)
    rows = rng.integers(0, n, (n_resamples, n))
    samples = np.array([metric(*(a[r] for a in arrays)) for r in rows], dtype=float)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(samples, [alpha, 1 - alpha])
    return BootstrapCI(float(metric(*arrays)), float(low), float(high), samples)


class McNemarResult(NamedTuple):
    """McNemar's test: the ``statistic`` (min(b, c) for the exact test, the chi-square otherwise), the two-sided
    ``pvalue``, ``b`` (samples only model A gets right) and ``c`` (samples only model B gets right)."""

    statistic: float
    pvalue: float
    b: int
    c: int


def _binomial_two_sided(k: int, n: int) -> float:
    """P(a Binomial(n, 1/2) count is as far from n/2 as k or further), two-sided: 2 P(X <= min(k, n - k)),
    at most 1. Exact: integer binomial coefficients, one rounding at the end."""
    k = min(k, n - k)
    tail = sum(math.comb(n, i) for i in range(k + 1))
    return min(1.0, 2 * tail / 2 ** n)


def mcnemar(y_true, pred_a, pred_b, *, exact: bool = True, correction: bool = True) -> McNemarResult:
    """McNemar's test: do classifiers A and B, scored on the same test samples, have the same error rate?
    Taught in chapter 10.

    Only the samples they disagree on carry information: b of them A gets right and B wrong, c the other way.
    If both are equally good, each such sample is a fair coin, so b ~ Binomial(b + c, 1/2).

    - ``exact=True`` (the default; right for any b + c): the two-sided binomial p-value
      2 P(X <= min(b, c)), capped at 1; equals ``scipy.stats.binomtest(b, b + c, 0.5).pvalue``.
    - ``exact=False``: the chi-square approximation (b + c large, say >= 25), statistic
      (|b - c| - 1)^2 / (b + c) with Edwards' continuity correction (``correction=True``) or (b - c)^2 / (b + c)
      without, p-value from the chi-square distribution with 1 degree of freedom, erfc(sqrt(statistic / 2)).
      The corrected |b - c| - 1 is floored at 0, so b = c gives p = 1 (statsmodels does not floor: it differs
      only there).

    If the two never disagree (b + c = 0) there is no evidence of a difference: statistic 0, p-value 1.
    ``pred_a`` and ``pred_b`` are labels (N,) or scores (N, C) (argmax taken).
    """
    y_true_a, pred_a = _class_indices(y_true, pred_a)
    y_true_b, pred_b = _class_indices(y_true, pred_b)
    if y_true_a.size == 0:
        raise ValueError("McNemar's test needs at least one test sample, got 0")
    right_a, right_b = pred_a == y_true_a, pred_b == y_true_b
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    if b + c == 0:
        return McNemarResult(0.0, 1.0, b, c)
    if exact:
        return McNemarResult(float(min(b, c)), _binomial_two_sided(b, b + c), b, c)
    gap = max(abs(b - c) - 1, 0) if correction else abs(b - c)
    statistic = gap ** 2 / (b + c)
    return McNemarResult(float(statistic), math.erfc(math.sqrt(statistic / 2)), b, c)


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularized incomplete beta function (modified Lentz's method)."""
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _incomplete_beta(a: float, b: float, x: float) -> float:
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def _student_t_cdf(t: float, df: int) -> float:
    if t * t < df:  # near 0, 1 - x = t^2 / (df + t^2) is tiny: use the form in which it is not lost
        tail = 0.5 * (1.0 - _incomplete_beta(0.5, df / 2.0, t * t / (df + t * t)))
    else:
        tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile of Student's t distribution with ``df`` degrees of freedom (bisection on its CDF)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must be in (0, 1), got {p!r}")
    if isinstance(df, bool) or not isinstance(df, int) or df < 1:
        raise ValueError(f"df must be a positive integer, got {df!r}")
    low, high = -1e3, 1e3
    for _step in range(200):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if _student_t_cdf(mid, df) < p else (low, mid)
    return 0.5 * (low + high)


class SeedVariation(NamedTuple):
    """The mean of a score over ``n`` training runs, its sample standard deviation (``std``, ddof=1) and the
    t confidence interval of the mean, [``low``, ``high``]."""

    mean: float
    std: float
    low: float
    high: float
    n: int


def seed_variation(scores, confidence: float = 0.95) -> SeedVariation:
    """How much a score varies over training runs that differ only in their random seed. Taught in chapter 10.

    ``scores`` holds one score per seed. The interval is mean +- t * std / sqrt(n), with t the (1 + confidence)
    / 2 quantile of Student's t with n - 1 degrees of freedom (as ``scipy.stats.t.interval`` gives): where the
    seed's effect lies, if the runs are independent draws. It says nothing about another test set; for that,
    see ``bootstrap_ci``.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 1 or len(scores) < 2:
        raise ValueError(f"seed_variation needs a 1-D array of at least 2 scores (one per seed), got shape "
                         f"{scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores must be finite")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    n = len(scores)
    mean, std = float(scores.mean()), float(scores.std(ddof=1))
    half = student_t_quantile((1.0 + confidence) / 2.0, n - 1) * std / math.sqrt(n)
    return SeedVariation(mean=mean, std=std, low=mean - half, high=mean + half, n=n)
