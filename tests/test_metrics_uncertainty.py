"""companion.metrics.uncertainty: the percentile bootstrap against scipy.stats.bootstrap, McNemar's test against
scipy.stats.binomtest and the chi-square distribution, plus hand-checked cases and bad input."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from conftest import reference

from companion.metrics import accuracy, bootstrap_ci, f1, mcnemar
from companion.metrics.uncertainty import seed_variation, student_t_quantile

def _predictions(seed, n=300, acc_a=0.85, acc_b=0.8):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    wrong = (y + rng.integers(1, 10, n)) % 10
    a = np.where(rng.random(n) < acc_a, y, wrong)
    b = np.where(rng.random(n) < acc_b, y, (wrong + 1) % 10)
    return y, a, b


# ---- bootstrap --------------------------------------------------------------------------------------------------

def _scipy_bootstrap(data, statistic, n_resamples, confidence, seed):
    stats = reference("scipy.stats", "scipy")
    kwargs = dict(paired=True, vectorized=False, method="percentile", n_resamples=n_resamples,
                  confidence_level=confidence)
    if "rng" in inspect.signature(stats.bootstrap).parameters:  # scipy >= 1.15
        kwargs["rng"] = np.random.default_rng(seed)
    else:
        kwargs["random_state"] = np.random.default_rng(seed)
    return stats.bootstrap(data, statistic, **kwargs)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("confidence", [0.9, 0.95])
def test_bootstrap_equals_scipy_percentile(seed, confidence):
    y, a, _ = _predictions(seed)
    ours = bootstrap_ci(accuracy, y, a, n_resamples=400, confidence=confidence, rng=seed)
    theirs = _scipy_bootstrap((y, a), accuracy, 400, confidence, seed)
    np.testing.assert_allclose(ours.samples, theirs.bootstrap_distribution, rtol=0, atol=0)
    assert ours.low == pytest.approx(theirs.confidence_interval.low, rel=1e-12)
    assert ours.high == pytest.approx(theirs.confidence_interval.high, rel=1e-12)
    assert ours.estimate == accuracy(y, a)
    assert ours.low <= ours.estimate <= ours.high


def test_bootstrap_is_seeded_and_any_metric_works():
    y, a, _ = _predictions(2)
    first = bootstrap_ci(accuracy, y, a, n_resamples=200, rng=7)
    again = bootstrap_ci(accuracy, y, a, n_resamples=200, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first.samples, again.samples)
    assert not np.array_equal(bootstrap_ci(accuracy, y, a, n_resamples=200, rng=8).samples, first.samples)
    macro = bootstrap_ci(lambda t, p: f1(t, p, average="macro"), y, a, n_resamples=100)
    assert 0 < macro.low < macro.estimate < macro.high < 1
    mean = bootstrap_ci(np.mean, np.arange(100.0), n_resamples=50)  # one array works too
    assert mean.estimate == 49.5 and mean.samples.shape == (50,)


def test_bootstrap_interval_shrinks_like_one_over_sqrt_n():
    widths = []
    for n in (400, 6400):
        y, a, _ = _predictions(3, n=n)
        ci = bootstrap_ci(accuracy, y, a, n_resamples=500)
        widths.append(ci.high - ci.low)
    assert widths[0] / widths[1] == pytest.approx(4.0, rel=0.25)  # 16 times the data, a quarter the width


def test_bootstrap_bad_input():
    with pytest.raises(ValueError, match=r"first axis.*\(5,\), \(4,\)"):
        bootstrap_ci(accuracy, np.zeros(5, int), np.zeros(4, int))
    with pytest.raises(ValueError, match="needs the arrays"):
        bootstrap_ci(accuracy)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci(accuracy, [0, 1], [0, 1], confidence=95)
    with pytest.raises(ValueError, match="n_resamples"):
        bootstrap_ci(accuracy, [0, 1], [0, 1], n_resamples=0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        bootstrap_ci(accuracy, [0], [0])


# ---- McNemar ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_exact_equals_scipy_binomtest(seed, stats):
    y, a, b = _predictions(seed, n=200 + 100 * seed)
    result = mcnemar(y, a, b)
    right_a, right_b = a == y, b == y
    assert result.b == np.sum(right_a & ~right_b) and result.c == np.sum(~right_a & right_b)
    expected = stats.binomtest(result.b, result.b + result.c, 0.5).pvalue
    assert result.pvalue == pytest.approx(expected, rel=1e-12)
    assert result.statistic == min(result.b, result.c)


@pytest.mark.parametrize("b, c", [(0, 1), (1, 0), (3, 9), (9, 3), (10, 10), (0, 25), (40, 61), (500, 560)])
def test_mcnemar_from_counts(b, c, stats):
    # a test set built to have exactly b and c disagreements (and some samples both get right or wrong)
    y = np.zeros(b + c + 7, int)
    a = np.r_[np.zeros(b), np.ones(c), np.zeros(4), np.ones(3)].astype(int)
    bb = np.r_[np.ones(b), np.zeros(c), np.zeros(4), np.ones(3)].astype(int)
    exact = mcnemar(y, a, bb)
    assert (exact.b, exact.c) == (b, c)
    assert exact.pvalue == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-12)
    chi = mcnemar(y, a, bb, exact=False)
    expected_stat = max(abs(b - c) - 1, 0) ** 2 / (b + c)
    assert chi.statistic == pytest.approx(expected_stat)
    assert chi.pvalue == pytest.approx(stats.chi2.sf(expected_stat, df=1), rel=1e-10)
    plain = mcnemar(y, a, bb, exact=False, correction=False)
    assert plain.pvalue == pytest.approx(stats.chi2.sf((b - c) ** 2 / (b + c), df=1), rel=1e-10)
    assert plain.pvalue <= chi.pvalue  # the continuity correction is conservative


def test_mcnemar_statsmodels_when_available():
    contingency = pytest.importorskip("statsmodels.stats.contingency_tables")
    for b, c in [(3, 9), (40, 61), (500, 560)]:
        table = [[5, b], [c, 5]]
        y = np.zeros(b + c, int)
        a, bb = np.r_[np.zeros(b), np.ones(c)].astype(int), np.r_[np.ones(b), np.zeros(c)].astype(int)
        assert mcnemar(y, a, bb).pvalue == pytest.approx(contingency.mcnemar(table, exact=True).pvalue)
        assert mcnemar(y, a, bb, exact=False).pvalue == pytest.approx(
            contingency.mcnemar(table, exact=False, correction=True).pvalue)


def test_mcnemar_hand_computed_and_degenerate():
    # b = 1, c = 5: p = 2 * (C(6,0) + C(6,1)) / 2^6 = 14 / 64
    y = np.zeros(6, int)
    a = np.array([0, 1, 1, 1, 1, 1])
    bb = np.array([1, 0, 0, 0, 0, 0])
    assert mcnemar(y, a, bb).pvalue == pytest.approx(14 / 64)
    assert mcnemar(y, a, bb, exact=False).statistic == pytest.approx((4 - 1) ** 2 / 6)
    # identical classifiers never disagree: no evidence of a difference
    same = mcnemar(y, a, a)
    assert (same.b, same.c, same.pvalue, same.statistic) == (0, 0, 1.0, 0.0)
    # scores (N, C) are argmaxed
    assert mcnemar(y, np.eye(2)[a], np.eye(2)[bb]) == mcnemar(y, a, bb)
    assert math.isclose(mcnemar(y, a, bb).pvalue, mcnemar(y, bb, a).pvalue)  # symmetric in A and B


def test_mcnemar_bad_input():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        mcnemar([0, 1, 1], [0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="at least one"):
        mcnemar([], [], [])


@pytest.mark.parametrize("df", [1, 2, 4, 9, 30, 200])
def test_student_t_quantile_equals_scipy(stats, df):
    for p in (0.5, 0.9, 0.975, 0.995, 0.025):
        assert student_t_quantile(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-9, abs=1e-9)


def test_seed_variation_equals_scipy_t_interval(stats):
    scores = np.array([0.8841, 0.8790, 0.8866, 0.8812, 0.8835])
    result = seed_variation(scores, confidence=0.95)
    low, high = stats.t.interval(0.95, len(scores) - 1, loc=scores.mean(), scale=stats.sem(scores))
    assert (result.low, result.high) == (pytest.approx(low), pytest.approx(high))
    assert result.mean == pytest.approx(scores.mean()) and result.std == pytest.approx(scores.std(ddof=1))
    assert result.n == 5


def test_seed_variation_by_hand_and_bad_input():
    # two scores 1 and 3: mean 2, std sqrt(2), t(0.975, 1) = 12.706..., half-width 12.706 * sqrt(2) / sqrt(2)
    result = seed_variation([1.0, 3.0])
    assert result.mean == 2.0 and result.std == pytest.approx(math.sqrt(2))
    assert result.high - 2.0 == pytest.approx(12.7062047, rel=1e-6)
    with pytest.raises(ValueError, match="at least 2 scores"):
        seed_variation([0.9])
    with pytest.raises(ValueError, match="finite"):
        seed_variation([0.9, float("nan")])
    with pytest.raises(ValueError, match="confidence"):
        seed_variation([0.9, 0.8], confidence=1.0)
    with pytest.raises(ValueError, match="p must"):
        student_t_quantile(1.0, 3)
    with pytest.raises(ValueError, match="df"):
        student_t_quantile(0.5, 0)
