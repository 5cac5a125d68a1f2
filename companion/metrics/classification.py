"""Classification metrics on NumPy arrays (also accepts anything ``np.asarray`` takes, e.g. CPU tensors)."""
from __future__ import annotations

import numpy as np

__all__ = ["accuracy", "confusion_matrix"]


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
