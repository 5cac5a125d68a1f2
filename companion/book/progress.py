"""Progress bars for long loops.

Bars are written to stdout as text (never stderr: the book build treats stderr in a notebook as an
error, and widgets would need JavaScript from the web). Jupyter, Colab and a terminal all redraw the
line in place; ``tools/build_notebooks.py`` keeps only the bar's final state in committed notebooks.
"""
from __future__ import annotations

import sys

from tqdm.std import tqdm


def progress(iterable=None, **kwargs):
    """``tqdm`` over ``iterable`` that writes to stdout with a fixed width: ``for x in progress(xs, desc="epoch")``."""
    kwargs.setdefault("file", sys.stdout)
    kwargs.setdefault("ncols", 100)  # room for a postfix such as "loss=0.2345, val_acc=0.9127]"
    kwargs.setdefault("mininterval", 0.5)
    kwargs.setdefault("ascii", True)
    return tqdm(iterable, **kwargs)
