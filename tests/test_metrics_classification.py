"""companion.metrics.classification: precision, recall, F1, ROC and PR curves, log loss and calibration, each
checked against sklearn.metrics on random and edge-case inputs, and bad input checked for clear errors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import reference

from companion.metrics import (auc, average_precision, expected_calibration_error, f1, log_loss, precision,
                               precision_recall_curve, precision_recall_f1, recall, reliability_bins, roc_auc,
                               roc_curve)

AVERAGES = ["macro", "micro", "weighted", None]


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _assert_prf_equal(y, p, average, zero_division=0.0, **kw):
    skm = reference("sklearn.metrics", "scikit-learn")
    mine = precision_recall_f1(y, p, average=average, zero_division=zero_division, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's UndefinedMetricWarning on purpose-made edge cases
        theirs = skm.precision_recall_fscore_support(y, p, average=average, zero_division=zero_division, **kw)[:3]
    for m, t in zip(mine, theirs):
        np.testing.assert_allclose(m, t, rtol=1e-15, atol=0, equal_nan=True)
    np.testing.assert_allclose(precision(y, p, average=average, zero_division=zero_division, **kw), mine[0],
                               equal_nan=True)
    np.testing.assert_allclose(recall(y, p, average=average, zero_division=zero_division, **kw), mine[1],
                               equal_nan=True)
    np.testing.assert_allclose(f1(y, p, average=average, zero_division=zero_division, **kw), mine[2],
                               equal_nan=True)


# ---- precision, recall, F1 ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("average", AVERAGES)
def test_prf_equals_sklearn_on_random_multiclass(seed, average):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 6, 300)
    p = np.where(rng.random(300) < 0.6, y, rng.integers(0, 6, 300))
    _assert_prf_equal(y, p, average)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("pos_label", [0, 1])
def test_prf_binary_equals_sklearn(seed, pos_label, skm):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    p = np.where(rng.random(200) < 0.7, y, 1 - y)
    _assert_prf_equal(y, p, "binary", pos_label=pos_label)
    assert precision(y, p, pos_label=pos_label) == pytest.approx(
        skm.precision_score(y, p, pos_label=pos_label))


def test_micro_equals_accuracy_when_every_class_is_scored():
    rng = np.random.default_rng(3)
    y, p = rng.integers(0, 4, 100), rng.integers(0, 4, 100)
    acc = np.mean(y == p)
    assert precision_recall_f1(y, p, average="micro") == pytest.approx((acc, acc, acc))


@pytest.mark.parametrize("zero_division", [0, 1, np.nan])
@pytest.mark.parametrize("average", AVERAGES)
def test_class_absent_from_predictions_or_labels(average, zero_division):
    # class 3 is never predicted (precision 0/0), class 2 never occurs in y_true (recall 0/0)
    y = np.array([0, 0, 1, 1, 3, 3, 0, 1])
    p = np.array([0, 1, 1, 2, 0, 1, 0, 2])
    _assert_prf_equal(y, p, average, zero_division=zero_division)
    # explicit labels with a class (5) that occurs nowhere: F1 0/0 too
    _assert_prf_equal(y, p, average, zero_division=zero_division, labels=[0, 1, 2, 3, 5])


@pytest.mark.parametrize("zero_division", [0, 1, np.nan])
def test_binary_edge_cases(zero_division):
    for y, p in [([0, 0, 0], [0, 0, 0]),  # no positive at all: every score 0/0
                 ([1, 1, 0], [0, 0, 0]),  # positive never predicted
                 ([0, 0, 0], [1, 0, 0]),  # positive predicted, never true
                 ([1, 0, 1], [1, 0, 1])]:  # all correct
        _assert_prf_equal(y, p, "binary", zero_division=zero_division)


@pytest.mark.parametrize("average", ["binary"] + AVERAGES)
def test_all_correct_scores_one(average):
    y = np.array([0, 1, 1, 0, 1]) if average == "binary" else np.array([0, 1, 2, 2, 1])
    _assert_prf_equal(y, y, average)
    np.testing.assert_array_equal(f1(y, y, average=average), 1.0)


def test_scores_are_argmaxed_and_f1_is_harmonic_mean():
    rng = np.random.default_rng(4)
    y, scores = rng.integers(0, 3, 50), rng.normal(size=(50, 3))
    p, r, f = precision_recall_f1(y, scores, average=None)
    _assert_prf_equal(y, scores.argmax(1), None)
    np.testing.assert_allclose(f, 2 * p * r / (p + r))


def test_prf_bad_input():
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        f1([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match=r"average='binary'.*\[0, 1, 2\]"):
        f1([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match=r"labels \[7\] outside the classes labels=\[0, 1, 2\]"):
        f1([0, 1, 2], [0, 7, 1], average="macro", labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"pos_label=1 is not one of the classes \[0, 2\]"):
        precision([0, 2, 2], [0, 2, 0])
    with pytest.raises(ValueError, match="average must be one of"):
        recall([0, 1], [0, 1], average="samples")
    with pytest.raises(ValueError, match="zero_division"):
        recall([0, 1], [0, 1], zero_division="warn")
    with pytest.raises(ValueError, match="empty"):
        f1([], [], average="macro")
    with pytest.raises(ValueError, match=r"\(4, 1, 1\)"):
        f1(np.zeros(4, int), np.zeros((4, 1, 1)))


# ---- ROC, PR, AUC, AP ----------------------------------------------------------------------------------------

def _random_binary(seed, n=400, ties=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    score = y + rng.normal(scale=1.0, size=n)
    if ties:
        score = np.round(score, 1)  # many tied scores
    return y, score


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_equals_sklearn(seed, ties, drop, skm):
    y, s = _random_binary(seed, ties=ties)
    for a, b in zip(roc_curve(y, s, drop_intermediate=drop), skm.roc_curve(y, s, drop_intermediate=drop)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("ties", [False, True])
def test_auc_ap_pr_curve_equal_sklearn(seed, ties, skm):
    y, s = _random_binary(seed, ties=ties)
    assert roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), rel=1e-14)
    fpr, tpr, _ = roc_curve(y, s)
    assert auc(fpr, tpr) == pytest.approx(skm.auc(fpr, tpr), rel=1e-14)
    assert auc(fpr[::-1], tpr[::-1]) == pytest.approx(skm.auc(fpr, tpr), rel=1e-14)
    assert average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), rel=1e-14)
    for a, b in zip(precision_recall_curve(y, s), skm.precision_recall_curve(y, s)):
        np.testing.assert_array_equal(a, b)
    # pos_label=0: the scores then rank class 0
    assert roc_auc(y, -s, pos_label=0) == pytest.approx(skm.roc_auc_score(y == 0, -s), rel=1e-14)
    assert average_precision(y, -s, pos_label=0) == pytest.approx(
        skm.average_precision_score(y, -s, pos_label=0), rel=1e-14)


def test_auc_is_rank_probability_and_perfect_and_all_tied(skm):
    y, s = _random_binary(7, n=60, ties=True)
    pos, neg = s[y == 1], s[y == 0]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert roc_auc(y, s) == pytest.approx(pairs)
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0  # all correct
    assert average_precision([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5  # every score tied
    assert average_precision([0, 1, 0, 1], [0.5] * 4) == pytest.approx(
        skm.average_precision_score([0, 1, 0, 1], [0.5] * 4))


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_roc_auc_equals_sklearn_ovr(seed, skm):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, 300)
    prob = _softmax(rng.normal(size=(300, 4)) + 1.5 * np.eye(4)[y])
    assert roc_auc(y, prob) == pytest.approx(skm.roc_auc_score(y, prob, multi_class="ovr"), rel=1e-14)


def test_ranking_bad_input():
    with pytest.raises(ValueError, match=r"\(3,\) and \(2,\)"):
        roc_auc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"both classes.*\[1\]"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="at least one positive"):
        average_precision([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"binary.*\[0, 1, 2\]"):
        roc_curve([0, 1, 2], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"\(3, 2\).*y_score\[:, 1\]"):
        roc_curve([0, 1, 1], np.ones((3, 2)) / 2)
    with pytest.raises(ValueError, match="finite"):
        roc_curve([0, 1, 1], [0.1, np.nan, 0.3])
    with pytest.raises(ValueError, match="sum to 1"):
        roc_auc([0, 1, 2], np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"every class 0 \.\. 2"):
        roc_auc([0, 1, 1], np.full((3, 3), 1 / 3))
    with pytest.raises(ValueError, match="increasing or decreasing"):
        auc([0, 1, 0.5], [0, 1, 1])
    with pytest.raises(ValueError, match="at least 2 points"):
        auc([0], [1])


# ---- log loss ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_log_loss_equals_sklearn(seed, skm):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 200)
    prob = _softmax(3 * rng.normal(size=(200, 5)))
    assert log_loss(y, prob) == pytest.approx(skm.log_loss(y, prob, labels=range(5)), rel=1e-14)
    p1 = rng.random(200)
    yb = rng.integers(0, 2, 200)
    assert log_loss(yb, p1) == pytest.approx(skm.log_loss(yb, p1), rel=1e-14)


def test_log_loss_edge_cases(skm):
    # a class absent from y_true, probabilities of exactly 0 and 1 (clipped), all correct and certain
    y = np.array([0, 2, 2])
    prob = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.0]])
    assert log_loss(y, prob) == pytest.approx(skm.log_loss(y, prob, labels=[0, 1, 2]), rel=1e-14)
    assert log_loss([0, 1], np.eye(2)) == pytest.approx(skm.log_loss([0, 1], np.eye(2)), rel=1e-14)
    assert log_loss([0, 1], np.eye(2)) < 1e-15
    prob32 = _softmax(np.random.default_rng(0).normal(size=(20, 3))).astype(np.float32)
    y32 = np.arange(20) % 3
    assert log_loss(y32, prob32) == pytest.approx(skm.log_loss(y32, prob32), rel=1e-6)


def test_log_loss_bad_input():
    with pytest.raises(ValueError, match=r"row 1 sums to 2\.0"):
        log_loss([0, 1], [[0.5, 0.5], [1.0, 1.0]])
    with pytest.raises(ValueError, match=r"outside \[0, 1\].*\(2, 2\)"):
        log_loss([0, 2], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"\(3,\) and \(2, 2\)"):
        log_loss([0, 1, 1], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(ValueError, match=r"\[0, 1\].*\[-0\.5, 1\.5\]"):
        log_loss([0, 1], [-0.5, 1.5])
    with pytest.raises(ValueError, match=r"\(2, 2, 1\)"):
        log_loss([0, 1], np.ones((2, 2, 1)) / 2)


# ---- calibration ---------------------------------------------------------------------------------------------

def test_ece_hand_computed_example():
    # 4 bins of width 0.25. Top probabilities 0.9, 0.8 (bin 4), 0.6 (bin 3), 0.3 -> 0.4 for C = 3 (bin 2).
    prob = np.array([[0.9, 0.1, 0.0],   # top class 0, y = 0: correct
                     [0.1, 0.8, 0.1],   # top class 1, y = 2: wrong
                     [0.6, 0.2, 0.2],   # top class 0, y = 0: correct
                     [0.3, 0.4, 0.3]])  # top class 1, y = 1: correct
    y = np.array([0, 2, 0, 1])
    ece, bins = expected_calibration_error(y, prob, n_bins=4, return_bins=True)
    # bin 4: confidence 0.85, accuracy 0.5 (weight 2/4); bin 3: 0.6 vs 1 (1/4); bin 2: 0.4 vs 1 (1/4)
    assert ece == pytest.approx(0.5 * 0.35 + 0.25 * 0.4 + 0.25 * 0.6)
    np.testing.assert_array_equal(bins.count, [0, 1, 1, 2])
    np.testing.assert_allclose(bins.confidence, [np.nan, 0.4, 0.6, 0.85])
    np.testing.assert_allclose(bins.accuracy, [np.nan, 1.0, 1.0, 0.5])
    np.testing.assert_allclose(bins.edges, [0, 0.25, 0.5, 0.75, 1.0])


def test_ece_bin_edges_are_right_closed():
    # 0.5 lies on an edge: it belongs to the bin (0.25, 0.5], as in Guo et al.; 0 joins the first bin
    bins = reliability_bins([1, 0, 1], [0.5, 0.0, 1.0], n_bins=4)
    np.testing.assert_array_equal(bins.count, [1, 1, 0, 1])


def test_ece_properties():
    rng = np.random.default_rng(0)
    n, C = 20000, 4
    prob = _softmax(rng.normal(size=(n, C)) * 2)
    # labels drawn from the predicted probabilities: calibrated by construction, ECE ~ sampling noise only
    y = (rng.random(n)[:, None] > prob.cumsum(axis=1)).sum(axis=1)
    assert expected_calibration_error(y, prob) < 0.02
    # all correct and certain: ECE 0; always wrong with confidence 1: ECE 1
    assert expected_calibration_error([0, 1, 2], np.eye(3)) == 0.0
    assert expected_calibration_error([1, 2, 0], np.eye(3)) == 1.0
    # overconfidence (sharpening the probabilities) raises ECE
    sharp = _softmax(np.log(prob) * 3)
    assert expected_calibration_error(y, sharp) > expected_calibration_error(y, prob) + 0.05
    # bin counts add up; ECE lies in [0, 1]; the bins' weighted gaps are ECE
    ece, bins = expected_calibration_error(y, sharp, n_bins=10, return_bins=True)
    assert bins.count.sum() == n and 0 <= ece <= 1
    full = bins.count > 0
    assert ece == pytest.approx(np.sum(bins.count[full] / n * np.abs(bins.accuracy - bins.confidence)[full]))


def test_binary_reliability_bins_equal_sklearn_calibration_curve():
    calibration = pytest.importorskip("sklearn.calibration")
    rng = np.random.default_rng(1)
    p = rng.random(500)
    y = (rng.random(500) < p ** 1.5).astype(int)
    bins = reliability_bins(y, p, n_bins=8)
    prob_true, prob_pred = calibration.calibration_curve(y, p, n_bins=8, strategy="uniform")
    full = bins.count > 0
    np.testing.assert_allclose(bins.accuracy[full], prob_true, rtol=1e-12)
    np.testing.assert_allclose(bins.confidence[full], prob_pred, rtol=1e-12)


def test_ece_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        expected_calibration_error([0, 1], [[0.6, 0.6], [0.5, 0.5]])
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error([0, 1], [[0.5, 0.5], [0.5, 0.5]], n_bins=0)
    with pytest.raises(ValueError, match=r"\(3,\) and \(2, 2\)"):
        expected_calibration_error([0, 1, 0], [[0.5, 0.5], [0.5, 0.5]])
