"""Run budget (full or quick mode) and reproducible seeds.

The book runs every chapter in one of two modes, read from the environment variable
``COMPANION_MODE``: ``full`` (the default; what the committed notebooks show) or ``quick``
(what CI uses: fewer epochs and smaller subsets, same code path).
"""
from __future__ import annotations

import os
import random
import sys

import numpy as np

MODE_VARIABLE = "COMPANION_MODE"
MODES = ("full", "quick")


def run_mode() -> str:
    """Return the current run mode, ``"full"`` or ``"quick"``."""
    mode = os.environ.get(MODE_VARIABLE, "full").strip().lower() or "full"
    if mode not in MODES:
        raise ValueError(
            f"{MODE_VARIABLE}={mode!r} is not a run mode; set it to one of {MODES} (or leave it unset for 'full')."
        )
    return mode


def budget(*, full, quick):
    """Pick a value by run mode: ``epochs = budget(full=10, quick=1)``."""
    return full if run_mode() == "full" else quick


_generator = np.random.default_rng(0)


def default_generator() -> np.random.Generator:
    """The generator that layers draw their initial weights from when given no ``rng`` (seeded by set_seed).

    Like ``torch.manual_seed``: after ``set_seed(0)``, ``Linear(3, 2)`` gives the same weights on every run,
    and two layers made one after the other get different ones.
    """
    return _generator


def set_seed(seed: int = 0) -> np.random.Generator:
    """Seed Python, NumPy, the layers' default generator and, if already imported, PyTorch and TensorFlow/Keras.

    Returns a fresh ``np.random.Generator`` seeded with ``seed`` for code that wants its own stream.
    Importing ``companion`` never imports torch or TensorFlow; call this after importing them.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    global _generator
    seed = int(seed)
    _generator = np.random.default_rng(seed)
    random.seed(seed)
    np.random.seed(seed)
    # Frameworks are seeded only if the caller imported them: this module never imports one itself.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(seed)  # seeds CUDA and MPS generators too
    keras = sys.modules.get("keras")
    tensorflow = sys.modules.get("tensorflow")
    if keras is not None:
        keras.utils.set_random_seed(seed)  # seeds Python, NumPy and the backend
    elif tensorflow is not None:
        tensorflow.random.set_seed(seed)
    return np.random.default_rng(seed)
