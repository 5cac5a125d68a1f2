"""Early stopping: watch a validation metric and stop when it has not improved for ``patience`` epochs.

NumPy-free, framework-free: it sees only numbers, so the NumPy, PyTorch and Keras loops of the book share it.
Taught in chapter 5, section 5.7.
"""
from __future__ import annotations

import math

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Call ``step(value)`` once per epoch with the validation metric; it returns True when training should stop.

    ``mode="max"`` for accuracy, ``"min"`` for a loss. A value counts as an improvement when it beats the best
    so far by more than ``min_delta``; then ``improved`` is True (save the model's state now: it is the one to
    keep) and the count of bad epochs restarts. After ``patience`` epochs in a row without improvement, ``step``
    returns True. ``best`` and ``best_epoch`` (counted from 0) say what to restore.

    Taught in chapter 5, section 5.7.
    """

    def __init__(self, patience=5, mode="max", min_delta=0.0):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"EarlyStopping: patience must be a positive integer, got {patience!r}")
        if mode not in ("max", "min"):
            raise ValueError(f"EarlyStopping: mode must be 'max' or 'min', got {mode!r}")
        if not min_delta >= 0:
            raise ValueError(f"EarlyStopping: min_delta must be >= 0, got {min_delta!r}")
        self.patience, self.mode, self.min_delta = patience, mode, float(min_delta)
        self.best = -math.inf if mode == "max" else math.inf
        self.best_epoch, self.epoch, self.bad_epochs = None, -1, 0
        self.improved = False

    def step(self, value) -> bool:
        value = float(value)
        if math.isnan(value):
            raise ValueError("EarlyStopping.step got NaN: the training diverged (lower the learning rate)")
        self.epoch += 1
        gain = value - self.best if self.mode == "max" else self.best - value
        self.improved = gain > self.min_delta
        if self.improved:
            self.best, self.best_epoch, self.bad_epochs = value, self.epoch, 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def __repr__(self):
        return f"EarlyStopping(patience={self.patience}, mode={self.mode!r}, min_delta={self.min_delta})"
