"""Group fairness metrics from scratch (companion.metrics.fairness) against fairlearn.metrics."""
import numpy as np
import pytest

from companion.metrics.fairness import (demographic_parity_difference, demographic_parity_ratio,
                                        equalized_odds_difference, equalized_odds_ratio, group_rates, selection_rate)

fm = pytest.importorskip("fairlearn.metrics")
skm = pytest.importorskip("sklearn.metrics")


def data(seed, n=500, groups=("a", "b", "c")):
    rng = np.random.default_rng(seed)
    a = rng.choice(groups, n)
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.7, y, 1 - y)                # a classifier right 70 % of the time
    p = np.where((a == groups[0]) & (rng.random(n) < 0.3), 1, p)   # which favours the first group
    return y, p, a


@pytest.mark.parametrize("seed", range(5))
def test_equal_fairlearn(seed):
    y, p, a = data(seed)
    ours = group_rates(y, p, a)
    frame = fm.MetricFrame(metrics={"selection_rate": fm.selection_rate, "accuracy": skm.accuracy_score,
                                    "tpr": fm.true_positive_rate, "fpr": fm.false_positive_rate,
                                    "fnr": fm.false_negative_rate, "count": fm.count},
                           y_true=y, y_pred=p, sensitive_features=a)
    by_group = frame.by_group
    assert list(by_group.index) == list(ours.groups)
    for name in ("selection_rate", "accuracy", "tpr", "fpr", "fnr", "count"):
        np.testing.assert_allclose(getattr(ours, name), by_group[name].to_numpy(dtype=float), rtol=0, atol=1e-12)
    for ours_fn, theirs_fn in ((demographic_parity_difference, fm.demographic_parity_difference),
                               (demographic_parity_ratio, fm.demographic_parity_ratio),
                               (equalized_odds_difference, fm.equalized_odds_difference),
                               (equalized_odds_ratio, fm.equalized_odds_ratio)):
        assert ours_fn(y, p, sensitive_features=a) == pytest.approx(theirs_fn(y, p, sensitive_features=a), abs=1e-12)
    assert selection_rate(p) == pytest.approx(fm.selection_rate(y, p))


def test_a_fair_classifier_and_a_perfect_one():
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    a = np.array(["m", "m", "m", "m", "f", "f", "f", "f"])
    assert equalized_odds_difference(y, y, sensitive_features=a) == 0.0
    assert demographic_parity_difference(y, y, sensitive_features=a) == 0.0   # equal base rates here
    p = np.array([1, 1, 1, 1, 0, 0, 0, 0])                                  # selects every m, no f
    assert demographic_parity_difference(y, p, sensitive_features=a) == 1.0
    assert equalized_odds_difference(y, p, sensitive_features=a) == 1.0
    rates = group_rates(y, p, a)
    assert rates.groups.tolist() == ["f", "m"] and rates.count.tolist() == [4, 4]
    assert rates.base_rate.tolist() == [0.5, 0.5]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="must hold 0s and 1s"):
        group_rates([0, 2], [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match="same length, got 2, 2 and 3"):
        group_rates([0, 1], [0, 1], ["a", "b", "c"])
    with pytest.raises(ValueError, match="one-dimensional"):
        group_rates([[0, 1]], [[0, 1]], ["a"])
    with pytest.raises(ValueError, match="no samples"):
        selection_rate([])
    assert np.isnan(group_rates([0, 0], [1, 0], ["a", "a"]).tpr[0])        # no positive in the group: undefined
