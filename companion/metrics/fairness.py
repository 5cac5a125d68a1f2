"""Group fairness metrics from scratch (chapter 12): per-group rates of a binary classifier and the differences
between groups that ``fairlearn.metrics`` reports, on NumPy arrays.

For labels ``y`` (0/1), predictions ``p`` (0/1) and a sensitive feature ``a`` (one group label per sample):

- the *selection rate* of a group is the share of its samples predicted positive, ``P(p = 1 | a)``;
- *demographic parity* asks for equal selection rates; its difference is the largest minus the smallest;
- *equalized odds* (Hardt, Price and Srebro, 2016) asks for equal true positive rates ``P(p = 1 | y = 1, a)`` and
  equal false positive rates ``P(p = 1 | y = 0, a)``; its difference is the larger of the two gaps.

NumPy only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["GroupRates", "demographic_parity_difference", "demographic_parity_ratio", "equalized_odds_difference",
           "equalized_odds_ratio", "group_rates", "selection_rate"]


class GroupRates(NamedTuple):
    """Per-group rates, one entry per group in ``groups`` (sorted): counts and rates of a binary classifier."""
    groups: np.ndarray
    count: np.ndarray
    selection_rate: np.ndarray
    accuracy: np.ndarray
    tpr: np.ndarray          # true positive rate, recall: P(pred 1 | y 1)
    fpr: np.ndarray          # false positive rate: P(pred 1 | y 0)
    fnr: np.ndarray          # false negative rate: 1 - tpr
    base_rate: np.ndarray    # P(y 1): the share of positives in the group


def _binary(values, name: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional (one entry per sample), got shape {values.shape}")
    if values.dtype == bool:
        return values.astype(np.int64)
    if not np.isin(values, (0, 1)).all():
        bad = np.unique(values[~np.isin(values, (0, 1))])[:5]
        raise ValueError(f"{name} must hold 0s and 1s (a binary task), got values such as {bad.tolist()}")
    return values.astype(np.int64)


def _check(y_true, y_pred, sensitive) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, p = _binary(y_true, "y_true"), _binary(y_pred, "y_pred")
    a = np.asarray(sensitive)
    if a.ndim != 1:
        raise ValueError(f"sensitive_features must be one-dimensional (one group label per sample), got shape {a.shape}")
    if not len(y) == len(p) == len(a):
        raise ValueError(f"y_true, y_pred and sensitive_features must have the same length, got {len(y)}, {len(p)} "
                         f"and {len(a)}")
    if len(y) == 0:
        raise ValueError("no samples")
    return y, p, a


def selection_rate(y_pred) -> float:
    """The share of predictions that are positive."""
    p = _binary(y_pred, "y_pred")
    if len(p) == 0:
        raise ValueError("no samples")
    return float(p.mean())


def _rate(numerator: np.ndarray, denominator: np.ndarray) -> float:
    """A share, nan where the group has no sample of the kind asked for (say, no positive)."""
    return float(numerator.sum() / denominator.sum()) if denominator.sum() else float("nan")


def group_rates(y_true, y_pred, sensitive_features) -> GroupRates:
    """Counts and rates of each group (sorted by group label): what ``fairlearn.metrics.MetricFrame`` computes
    ``by_group`` with ``selection_rate``, ``accuracy_score``, ``true_positive_rate``, ``false_positive_rate`` and
    ``false_negative_rate``."""
    y, p, a = _check(y_true, y_pred, sensitive_features)
    groups = np.unique(a)
    columns = {name: [] for name in GroupRates._fields[1:]}
    for g in groups:
        yg, pg = y[a == g], p[a == g]
        positive, negative = yg == 1, yg == 0
        columns["count"].append(len(yg))
        columns["selection_rate"].append(pg.mean())
        columns["accuracy"].append(np.mean(pg == yg))
        columns["tpr"].append(_rate(pg[positive] == 1, positive[positive]))
        columns["fpr"].append(_rate(pg[negative] == 1, negative[negative]))
        columns["fnr"].append(_rate(pg[positive] == 0, positive[positive]))
        columns["base_rate"].append(yg.mean())
    return GroupRates(groups, *(np.asarray(columns[name], dtype=np.int64 if name == "count" else np.float64)
                                for name in GroupRates._fields[1:]))


def demographic_parity_difference(y_true, y_pred, *, sensitive_features) -> float:
    """Largest minus smallest selection rate over the groups (0: every group is selected equally often)."""
    rates = group_rates(y_true, y_pred, sensitive_features).selection_rate
    return float(rates.max() - rates.min())


def demographic_parity_ratio(y_true, y_pred, *, sensitive_features) -> float:
    """Smallest over largest selection rate (1: parity; the "four-fifths rule" of US hiring asks for >= 0.8)."""
    rates = group_rates(y_true, y_pred, sensitive_features).selection_rate
    return float(rates.min() / rates.max()) if rates.max() > 0 else float("nan")


def equalized_odds_difference(y_true, y_pred, *, sensitive_features) -> float:
    """The larger of the gaps (largest minus smallest over the groups) in true positive rate and in false positive
    rate (0: equal error rates in every group)."""
    r = group_rates(y_true, y_pred, sensitive_features)
    return float(max(np.nanmax(r.tpr) - np.nanmin(r.tpr), np.nanmax(r.fpr) - np.nanmin(r.fpr)))


def equalized_odds_ratio(y_true, y_pred, *, sensitive_features) -> float:
    """The smaller of the ratios (smallest over largest) of the true and of the false positive rates."""
    r = group_rates(y_true, y_pred, sensitive_features)
    ratios = [np.nanmin(v) / np.nanmax(v) if np.nanmax(v) > 0 else float("nan") for v in (r.tpr, r.fpr)]
    return float(min(ratios))
