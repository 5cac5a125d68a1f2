"""Classification metrics on NumPy arrays (also accepts anything ``np.asarray`` takes, e.g. CPU tensors)."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..nn.functional import softmax

__all__ = ["accuracy", "confusion_matrix", "precision_recall_f1", "precision", "recall", "f1", "auc", "roc_curve",
           "roc_auc", "precision_recall_curve", "average_precision", "log_loss", "ReliabilityBins",
           "reliability_bins", "expected_calibration_error", "fit_temperature"]


def _class_indices(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Labels (N,) and predicted classes (N,); ``y_pred`` may be logits or probabilities (N, C)."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    given = y_pred.shape
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be class labels of shape (N,), got shape {y_true.shape}")
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=1)
    elif y_pred.ndim != 1:
        raise ValueError(f"y_pred must have shape (N,) or (N, C), got shape {y_pred.shape}")
    if y_pred.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"y_true and y_pred disagree on N: y_true has shape {y_true.shape}, y_pred has shape {given}"
        )
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise ValueError(f"{name} must hold integer class labels, got dtype {y.dtype} with fractions")
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions; ``y_pred`` is labels (N,) or scores (N, C) (argmax taken)."""
    y_true, y_pred = _class_indices(y_true, y_pred)
    if y_true.size == 0:
        raise ValueError("accuracy of an empty set is undefined (got 0 samples)")
    return float(np.mean(y_true == y_pred))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Counts as an int64 (C, C) array: row = true class, column = predicted class.

    ``num_classes`` defaults to ``C`` of score inputs (N, C), else to the largest label + 1.
    """
    scores_c = np.shape(y_pred)[1] if np.ndim(y_pred) == 2 else None
    y_true, y_pred = _class_indices(y_true, y_pred)
    if num_classes is None:
        largest = max(int(y_true.max(initial=-1)), int(y_pred.max(initial=-1)))
        num_classes = scores_c if scores_c is not None else largest + 1
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise ValueError(
                f"{name} holds labels in [{y.min()}, {y.max()}], "
                f"outside [0, {num_classes - 1}] for {num_classes} classes"
            )
    counts = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).astype(np.int64)


# ---------------------------------------------------------------------------------------------------------------
# Precision, recall and F1: counts per class from the confusion matrix, then an average over classes.
# ---------------------------------------------------------------------------------------------------------------

_AVERAGES = ("binary", "macro", "micro", "weighted", None)


def _check_zero_division(zero_division) -> float:
    if isinstance(zero_division, (int, float, np.floating)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1) or np.isnan(zero_division):
            return float(zero_division)
    raise ValueError(f"zero_division must be 0, 1 or np.nan, got {zero_division!r}")


def _per_class_counts(y_true, y_pred, average, pos_label, labels):
    """The classes scored and, for each, true positives, predicted count (tp + fp) and true count (tp + fn).

    ``labels=None`` scores every class that occurs in ``y_true`` or ``y_pred`` (sklearn's default); a class that
    occurs in neither is not scored, so it does not pull a macro average down. ``average="binary"`` scores
    ``pos_label`` alone.
    """
    if average not in _AVERAGES:
        raise ValueError(f"average must be one of {_AVERAGES}, got {average!r}")
    y_true, y_pred = _class_indices(y_true, y_pred)
    if y_true.size == 0:
        raise ValueError("precision, recall and F1 of an empty set are undefined (got 0 samples)")
    present = np.union1d(y_true, y_pred)
    if labels is not None:
        labels = np.asarray(labels)
        if labels.ndim != 1 or labels.size == 0 or len(np.unique(labels)) != labels.size:
            raise ValueError(f"labels must be a non-empty 1-D list of distinct classes, got {labels.tolist()}")
        outside = np.setdiff1d(present, labels)
        if outside.size:
            raise ValueError(f"y_true or y_pred hold labels {outside.tolist()} outside the classes "
                             f"labels={labels.tolist()}; add them to labels or fix the predictions")
    if average == "binary":
        if len(present) > 2:
            raise ValueError(f"average='binary' needs at most two classes, got labels {present.tolist()}; "
                             f"use average='macro', 'micro', 'weighted' or None")
        if len(present) == 2 and pos_label not in present:
            raise ValueError(f"pos_label={pos_label!r} is not one of the classes {present.tolist()}")
        labels = np.array([pos_label])
    elif labels is None:
        labels = present
    # Number the classes 0 .. K-1 in the order of `labels` (K stands for "any other class", which only
    # average="binary" lets through), then read the counts off the confusion matrix.
    K = len(labels)
    order = np.argsort(labels)

    def index(y):
        k = order[np.searchsorted(labels, y, sorter=order).clip(0, K - 1)]
        return np.where(labels[k] == y, k, K)

    cm = confusion_matrix(index(y_true), index(y_pred), num_classes=K + 1)
    tp = np.diag(cm)[:K]
    predicted = cm.sum(axis=0)[:K]  # column sums: tp + fp
    true = cm.sum(axis=1)[:K]  # row sums: tp + fn (the support)
    return labels, tp, predicted, true


def _divide(numerator, denominator, zero_division: float) -> np.ndarray:
    """numerator / denominator, with ``zero_division`` where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, float), np.asarray(denominator, float)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, zero_division, numerator / safe)


def _average(per_class: np.ndarray, true: np.ndarray, average):
    """Average per-class scores: ``macro`` plain mean, ``weighted`` by true count (support); NaNs (classes that
    ``zero_division=np.nan`` left undefined) are left out, as sklearn does."""
    if average is None:
        return per_class
    keep = ~np.isnan(per_class)
    if not keep.any():
        return float("nan")
    if average == "weighted" and true[keep].sum() > 0:
        return float(np.average(per_class[keep], weights=true[keep]))
    return float(np.mean(per_class[keep]))


def precision_recall_f1(y_true, y_pred, *, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """Precision, recall and F1 together: ``(precision, recall, f1)``, each a float, or an array per class
    (in the order of ``labels``) when ``average=None``. Taught in chapter 10.

    For a class c with tp true positives, fp false positives and fn false negatives:

        precision = tp / (tp + fp)      recall = tp / (tp + fn)      F1 = 2 tp / (2 tp + fp + fn)

    (F1 is the harmonic mean of precision and recall.) ``average``:

    - ``"binary"``: the scores of class ``pos_label`` alone (at most two classes may occur);
    - ``"macro"``: the plain mean over classes, every class counting the same however rare;
    - ``"weighted"``: the mean weighted by each class's true count (support);
    - ``"micro"``: tp, fp and fn summed over classes first; with every class scored, micro precision = micro
      recall = micro F1 = accuracy;
    - ``None``: one score per class.

    ``labels`` lists the classes to score (default: every class that occurs in ``y_true`` or ``y_pred``, as
    sklearn does); unlike sklearn, a label outside ``labels`` raises ``ValueError`` instead of being ignored.
    ``zero_division`` is the value of a score whose denominator is 0 (precision of a class never predicted,
    recall of a class absent from ``y_true``, F1 of a class absent from both): 0 (the default, which is
    sklearn's ``"warn"`` without the warning), 1, or ``np.nan`` (left out of the averages). ``y_pred`` may be
    labels (N,) or scores (N, C) (argmax taken). The results equal ``sklearn.metrics.precision_recall_fscore_support``.
    """
    zero_division = _check_zero_division(zero_division)
    labels, tp, predicted, true = _per_class_counts(y_true, y_pred, average, pos_label, labels)
    if average == "micro":
        tp, predicted, true = tp.sum(keepdims=True), predicted.sum(keepdims=True), true.sum(keepdims=True)
    p = _divide(tp, predicted, zero_division)
    r = _divide(tp, true, zero_division)
    f = _divide(2 * tp, true + predicted, zero_division)
    if average in ("binary", "micro"):
        return float(p[0]), float(r[0]), float(f[0])
    return _average(p, true, average), _average(r, true, average), _average(f, true, average)


def precision(y_true, y_pred, *, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """tp / (tp + fp): of the samples predicted as a class, the fraction that belong to it.
    Arguments as :func:`precision_recall_f1`; equals ``sklearn.metrics.precision_score``."""
    return precision_recall_f1(y_true, y_pred, average=average, pos_label=pos_label, labels=labels,
                               zero_division=zero_division)[0]


def recall(y_true, y_pred, *, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """tp / (tp + fn): of the samples of a class, the fraction predicted as it.
    Arguments as :func:`precision_recall_f1`; equals ``sklearn.metrics.recall_score``."""
    return precision_recall_f1(y_true, y_pred, average=average, pos_label=pos_label, labels=labels,
                               zero_division=zero_division)[1]


def f1(y_true, y_pred, *, average="binary", pos_label=1, labels=None, zero_division=0.0):
    """2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall (not of accuracy and recall).
    Arguments as :func:`precision_recall_f1`; equals ``sklearn.metrics.f1_score``."""
    return precision_recall_f1(y_true, y_pred, average=average, pos_label=pos_label, labels=labels,
                               zero_division=zero_division)[2]


# ---------------------------------------------------------------------------------------------------------------
# Ranking metrics of a binary classifier's scores: every threshold at once.
# ---------------------------------------------------------------------------------------------------------------


def _binary_scores(y_true, y_score, pos_label) -> tuple[np.ndarray, np.ndarray]:
    """``y_true == pos_label`` as 0/1 (N,) and the scores (N,) as floats, checked."""
    y_true, y_score = np.asarray(y_true), np.asarray(y_score)
    if y_true.ndim != 1:
        raise ValueError(f"y_true must be class labels of shape (N,), got shape {y_true.shape}")
    if y_score.ndim != 1:
        hint = "; pass the positive class's column, e.g. y_score[:, 1]" if y_score.ndim == 2 else ""
        raise ValueError(f"y_score must be one score per sample, shape (N,), got shape {y_score.shape}{hint}")
    if y_score.shape != y_true.shape:
        raise ValueError(f"y_true and y_score disagree on N: shapes {y_true.shape} and {y_score.shape}")
    if y_true.size == 0:
        raise ValueError("a ranking metric of an empty set is undefined (got 0 samples)")
    if not np.issubdtype(y_score.dtype, np.number) or not np.all(np.isfinite(y_score)):
        raise ValueError("y_score must hold finite numbers (got NaN, inf or non-numbers)")
    classes = np.unique(y_true)
    if len(classes) > 2:
        raise ValueError(f"y_true must be binary, got classes {classes.tolist()}; "
                         "for several classes, score one class against the rest (y_true == k)")
    if len(classes) == 2 and pos_label not in classes:
        raise ValueError(f"pos_label={pos_label!r} is not one of the classes {classes.tolist()}")
    return (y_true == pos_label).astype(np.int64), y_score.astype(np.float64)


def _counts_at_thresholds(y, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False and true positives when everything scoring >= t is called positive, for every distinct score t
    (from the highest down): sort by score, count cumulatively, keep the last position of each tied run."""
    order = np.argsort(-score, kind="stable")
    score, y = score[order], y[order]
    last_of_run = np.r_[np.nonzero(np.diff(score))[0], len(score) - 1]
    tps = np.cumsum(y)[last_of_run]
    fps = 1 + last_of_run - tps  # positions so far minus the positives among them
    return fps, tps, score[last_of_run]


def roc_curve(y_true, y_score, *, pos_label=1, drop_intermediate: bool = True):
    """ROC curve: false positive rate, true positive rate and thresholds, ``(fpr, tpr, thresholds)``, from
    the threshold ``inf`` (nothing positive: (0, 0)) down to the lowest score (everything positive: (1, 1)).
    Taught in chapter 10.

    ``drop_intermediate`` leaves out points that lie on a straight segment between their neighbours (the curve
    and its area are the same). Equals ``sklearn.metrics.roc_curve``, except that a ``y_true`` with one class
    only raises ``ValueError`` (sklearn warns and returns NaN rates).
    """
    y, score = _binary_scores(y_true, y_score, pos_label)
    if y.all() or not y.any():
        raise ValueError(f"the ROC curve needs both classes in y_true, got only {np.unique(y_true).tolist()}")
    fps, tps, thresholds = _counts_at_thresholds(y, score)
    if drop_intermediate and len(fps) > 2:
        corner = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        fps, tps, thresholds = fps[corner], tps[corner], thresholds[corner]
    fps, tps = np.r_[0, fps], np.r_[0, tps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thresholds]


def auc(x, y) -> float:
    """Area under a curve through the points (x, y) by the trapezoidal rule; ``x`` increasing or decreasing.
    Equals ``sklearn.metrics.auc``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of the same length, got shapes {x.shape} and {y.shape}")
    if len(x) < 2:
        raise ValueError(f"the area under a curve needs at least 2 points, got x of shape {x.shape}")
    dx = np.diff(x)
    direction = 1.0
    if np.any(dx < 0):
        if not np.all(dx <= 0):
            raise ValueError(f"x must be increasing or decreasing, got {x}")
        direction = -1.0
    return float(direction * np.sum(dx * (y[1:] + y[:-1]) / 2.0))


def roc_auc(y_true, y_score, *, pos_label=1) -> float:
    """Area under the ROC curve: the probability that a random positive scores above a random negative (ties
    count one half). Taught in chapter 10.

    ``y_score`` (N,) scores the positive class ``pos_label`` of a binary ``y_true``. ``y_score`` (N, C) holds
    class probabilities (rows summing to 1) for labels 0 .. C-1, all present in ``y_true``: the result is the
    macro average of the C one-vs-rest AUCs. Equals ``sklearn.metrics.roc_auc_score`` (``multi_class="ovr"``
    for (N, C)).
    """
    scores = np.asarray(y_score)
    if scores.ndim == 2:
        y_true = _class_indices(y_true, y_true)[0]
        if scores.shape[0] != y_true.shape[0]:
            raise ValueError(f"y_true and y_score disagree on N: shapes {y_true.shape} and {scores.shape}")
        _check_probabilities(scores, "y_score")
        C = scores.shape[1]
        missing = np.setdiff1d(np.arange(C), y_true)
        if missing.size or y_true.min() < 0 or y_true.max() >= C:
            raise ValueError(f"y_true must hold every class 0 .. {C - 1} of y_score (shape {scores.shape}) "
                             f"and nothing else, got classes {np.unique(y_true).tolist()}")
        return float(np.mean([roc_auc(y_true == k, scores[:, k], pos_label=True) for k in range(C)]))
    fpr, tpr, _ = roc_curve(y_true, y_score, pos_label=pos_label)
    return auc(fpr, tpr)


def precision_recall_curve(y_true, y_score, *, pos_label=1):
    """Precision and recall at every threshold, ``(precision, recall, thresholds)``, thresholds increasing, with
    a last point (precision 1, recall 0) that has no threshold. Taught in chapter 10.

    Equals ``sklearn.metrics.precision_recall_curve``, except that a ``y_true`` without positives raises
    ``ValueError`` (sklearn warns and sets recall to 1).
    """
    y, score = _binary_scores(y_true, y_score, pos_label)
    if not y.any():
        raise ValueError(f"recall needs at least one positive (pos_label={pos_label!r}) in y_true")
    fps, tps, thresholds = _counts_at_thresholds(y, score)
    precision_ = tps / (tps + fps)
    recall_ = tps / tps[-1]
    return np.r_[precision_[::-1], 1.0], np.r_[recall_[::-1], 0.0], thresholds[::-1]


def average_precision(y_true, y_score, *, pos_label=1) -> float:
    """Average precision: the precision at each threshold weighted by the recall it adds,
    AP = sum_k (R_k - R_{k-1}) P_k (no interpolation). Taught in chapter 10.

    Equals ``sklearn.metrics.average_precision_score`` (binary); ``ValueError`` without positives."""
    p, r, _ = precision_recall_curve(y_true, y_score, pos_label=pos_label)
    return float(max(0.0, -np.sum(np.diff(r) * p[:-1])))


# ---------------------------------------------------------------------------------------------------------------
# Probabilities: log loss and calibration.
# ---------------------------------------------------------------------------------------------------------------


def _check_probabilities(prob: np.ndarray, name: str) -> None:
    """Values in [0, 1] and, for (N, C), rows that sum to 1 (to sqrt(eps) of the dtype, sklearn's tolerance)."""
    if not np.issubdtype(prob.dtype, np.number) or not np.all(np.isfinite(prob)):
        raise ValueError(f"{name} must hold finite probabilities")
    if prob.size and (prob.min() < 0 or prob.max() > 1):
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values in [{prob.min()}, {prob.max()}]")
    if prob.ndim == 2:
        rtol = np.sqrt(np.finfo(prob.dtype if np.issubdtype(prob.dtype, np.floating) else np.float64).eps)
        sums = prob.sum(axis=1)
        bad = np.flatnonzero(~np.isclose(sums, 1.0, rtol=rtol, atol=0))
        if bad.size:
            raise ValueError(f"{name} rows must sum to 1 (probabilities, e.g. a softmax; not logits): row {bad[0]} "
                             f"sums to {sums[bad[0]]} ({bad.size} of {len(sums)} rows are off)")


def _labels_and_probabilities(y_true, y_prob) -> tuple[np.ndarray, np.ndarray]:
    """Labels (N,) in 0 .. C-1 and probabilities (N, C); a binary ``y_prob`` (N,) is P(class 1)."""
    y_prob = np.asarray(y_prob)
    if not np.issubdtype(y_prob.dtype, np.floating):
        y_prob = y_prob.astype(np.float64)
    if y_prob.ndim not in (1, 2):
        raise ValueError(f"y_prob must have shape (N,) (P(class 1)) or (N, C), got shape {y_prob.shape}")
    _check_probabilities(y_prob, "y_prob")
    if y_prob.ndim == 1:
        y_prob = np.stack([1 - y_prob, y_prob], axis=1)
    y_true = _class_indices(y_true, y_true)[0]
    if y_prob.shape[0] != y_true.shape[0]:
        raise ValueError(f"y_true and y_prob disagree on N: shapes {y_true.shape} and {y_prob.shape}")
    if y_true.size == 0:
        raise ValueError("a metric of an empty set is undefined (got 0 samples)")
    C = y_prob.shape[1]
    if y_true.min() < 0 or y_true.max() >= C:
        raise ValueError(f"y_true holds labels in [{y_true.min()}, {y_true.max()}], outside [0, {C - 1}] "
                         f"for y_prob of shape {y_prob.shape}")
    return y_true, y_prob


def log_loss(y_true, y_prob) -> float:
    """Mean negative log-probability of the true class, -mean_i ln p_i[y_i] (nats): the cross-entropy.
    Taught in chapter 10.

    ``y_prob`` is (N, C) with column k the probability of class k (rows sum to 1), or (N,) the probability of
    class 1 of a binary problem. Probabilities are clipped to [eps, 1 - eps] of their dtype, so a confident
    mistake costs about 36 nats, not infinity. Equals ``sklearn.metrics.log_loss(y_true, y_prob,
    labels=range(C))``; sklearn only warns when rows do not sum to 1, this raises ``ValueError``.
    """
    y_true, y_prob = _labels_and_probabilities(y_true, y_prob)
    eps = np.finfo(y_prob.dtype).eps
    p_true = np.clip(y_prob, eps, 1 - eps)[np.arange(len(y_true)), y_true]
    return float(-np.mean(np.log(p_true)))


class ReliabilityBins(NamedTuple):
    """Per-bin data of a reliability diagram: ``edges`` (M + 1,), and per bin the mean ``confidence``, the
    ``accuracy`` (fraction correct, or fraction positive for binary input) and the ``count`` of samples;
    empty bins have NaN confidence and accuracy."""

    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray


def reliability_bins(y_true, y_prob, n_bins: int = 15) -> ReliabilityBins:
    """Sort predictions into ``n_bins`` equal-width bins of confidence, (0, 1/M], (1/M, 2/M], ..., ((M-1)/M, 1]
    (the first also takes 0), and measure each bin. Taught in chapter 10.

    ``y_prob`` (N, C): the confidence is the top probability and "correct" means the top class is ``y_true``
    (top-label calibration, Guo et al. 2017). ``y_prob`` (N,): the probability of class 1 of a binary problem,
    binned as it is, against the fraction of positives (the non-empty bins equal
    ``sklearn.calibration.calibration_curve(..., strategy="uniform")``).
    """
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
    binary = np.ndim(y_prob) == 1
    y_true, y_prob = _labels_and_probabilities(y_true, y_prob)
    if binary:
        confidence, hit = y_prob[:, 1], (y_true == 1).astype(float)
    else:
        confidence, hit = y_prob.max(axis=1), (y_prob.argmax(axis=1) == y_true).astype(float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], confidence, side="left")  # bin b holds (edges[b], edges[b + 1]]
    count = np.bincount(which, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=n_bins) / count
        accuracy_ = np.bincount(which, weights=hit, minlength=n_bins) / count
    return ReliabilityBins(edges, mean_confidence, accuracy_, count.astype(np.int64))


def expected_calibration_error(y_true, y_prob, n_bins: int = 15, return_bins: bool = False):
    """Expected calibration error: ECE = sum_b (n_b / N) |accuracy_b - confidence_b| over equal-width bins of
    confidence (see :func:`reliability_bins`); 0 for a calibrated model. Taught in chapter 10.

    ``y_prob`` (N, C) measures top-label calibration; ``y_prob`` (N,) (the probability of class 1) measures the
    calibration of that probability against the fraction of positives. With ``return_bins=True`` returns
    ``(ece, bins)``, the :class:`ReliabilityBins` to draw the reliability
    diagram from. ECE depends on ``n_bins`` (15, as in Guo et al. 2017, "On calibration of modern neural
    networks"); compare models only at the same ``n_bins``.
    """
    bins = reliability_bins(y_true, y_prob, n_bins)
    filled = bins.count > 0
    gaps = np.abs(bins.accuracy[filled] - bins.confidence[filled])
    ece = float(np.sum(bins.count[filled] / bins.count.sum() * gaps))
    return (ece, bins) if return_bins else ece


def _logits_and_labels(logits, y_true) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, C) as float64 and labels (N,) in 0 .. C-1, checked."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise ValueError(f"logits must have shape (N, C) with C >= 2 (scores before the softmax), got shape "
                         f"{logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits must be finite (got NaN or inf)")
    y_true = _class_indices(y_true, y_true)[0]
    if y_true.shape[0] != logits.shape[0] or y_true.size == 0:
        raise ValueError(f"y_true and logits disagree on N (or N is 0): shapes {y_true.shape} and {logits.shape}")
    if y_true.min() < 0 or y_true.max() >= logits.shape[1]:
        raise ValueError(f"y_true holds labels in [{y_true.min()}, {y_true.max()}], outside [0, "
                         f"{logits.shape[1] - 1}] for logits of shape {logits.shape}")
    return logits, y_true


def fit_temperature(logits, y_true, *, low: float = 0.05, high: float = 20.0, steps: int = 60) -> float:
    """Temperature scaling (Guo et al. 2017): the T > 0 that minimises the log loss of softmax(logits / T) on
    held-out (logits, y_true). Taught in chapter 10.

    With beta = 1 / T, the mean log loss L(beta) = mean(logsumexp(beta z) - beta z_y) is convex, and its slope
    L'(beta) = mean(sum_k p_k z_k - z_y), with p = softmax(beta z), rises with beta: bisection on the slope
    finds the minimum. T is searched in [low, high]; if the minimum lies outside, the nearer end is returned.
    T > 1 softens over-confident predictions, T < 1 sharpens them; the argmax, hence the accuracy, never changes.
    """
    logits, y_true = _logits_and_labels(logits, y_true)
    if not 0 < low < high:
        raise ValueError(f"the search needs 0 < low < high, got low={low!r}, high={high!r}")
    true_logit = logits[np.arange(len(y_true)), y_true]

    def slope(beta):
        p = softmax(beta * logits, axis=1)
        return float(np.mean((p * logits).sum(axis=1) - true_logit))

    beta_low, beta_high = 1.0 / high, 1.0 / low
    if slope(beta_low) >= 0:
        return high
    if slope(beta_high) <= 0:
        return low
    for _step in range(steps):
        beta = math.sqrt(beta_low * beta_high)  # halve the interval on a log scale
        if slope(beta) < 0:
            beta_low = beta
        else:
            beta_high = beta
    return 1.0 / math.sqrt(beta_low * beta_high)
