"""Plot helpers shared by the chapters: training histories, image grids, confusion matrices.

Call :func:`setup_plots` once per notebook so that Chinese labels render. Every function returns the
matplotlib object it drew on and never calls ``plt.show()`` (Jupyter shows figures by itself).
Labels go through :func:`companion.book.i18n.gettext` (``_``), so the same cell draws in both languages.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import font_manager
from matplotlib.ticker import MaxNLocator

from .i18n import _

__all__ = ["setup_plots", "plot_history", "plot_histories", "show_images", "plot_confusion_matrix"]

# Simplified Chinese first; then other CJK families that hold the common Hanzi.
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "Heiti SC",
    "SimHei",
    "Noto Sans CJK TC",
    "Noto Sans CJK JP",
    "Source Han Sans",
    "Arial Unicode MS",
    "Noto Serif CJK SC",
)
# Font files worth registering when matplotlib's font cache predates the font's installation
# (e.g. Colab installs fonts-noto-cjk after matplotlib built its cache).
_CJK_FILE = re.compile(r"(notosanscjk|notoserifcjk|sourcehansans|wqy|msyh|simhei|pingfang)", re.IGNORECASE)

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def _find_cjk_font() -> str | None:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def setup_plots() -> str | None:
    """Set a readable style and a CJK-capable font; return the font's name, or None if none is installed."""
    plt.rcParams.update(STYLE)
    plt.rcParams["axes.unicode_minus"] = False  # CJK fonts often lack U+2212; use ASCII '-'
    font = _find_cjk_font()
    if font is None:
        for path in font_manager.findSystemFonts():
            if _CJK_FILE.search(path):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue  # an unreadable font file is no reason to fail
        font = _find_cjk_font()
    if font is not None:
        rest = [name for name in plt.rcParams["font.sans-serif"] if name != font]
        plt.rcParams["font.sans-serif"] = [font, *rest]
        plt.rcParams["font.family"] = ["sans-serif"]
    return font


def _new_axes(ax):
    if ax is None:
        _figure, ax = plt.subplots()
    return ax


X_KEYS = ("epoch", "step")  # what a history is measured against: training loops of the book record one of them


def _epochs(history: Mapping, name: str = "history") -> tuple[np.ndarray, str]:
    """The x values of a history, its ``"epoch"`` or ``"step"`` list (1, 2, ... if it has neither), and which."""
    lengths = {key: len(values) for key, values in history.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{name}: all lists must have the same length, got lengths {lengths}")
    n = next(iter(lengths.values()), 0)
    for key in X_KEYS:
        if key in history:
            return np.asarray(history[key]), key
    return np.arange(1, n + 1), "epoch"


def _label_epoch_axis(ax, key: str = "epoch") -> None:
    ax.set_xlabel(_("Step") if key == "step" else _("Epoch"))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 1.25


def plot_history(history: Mapping[str, Sequence[float]], keys=None, ax=None, title=None):
    """Draw each key of ``history`` (default: all but ``"epoch"`` or ``"step"``) against the epoch or step; return
    the Axes."""
    epochs, x_key = _epochs(history)
    keys = [k for k in history if k not in X_KEYS] if keys is None else list(keys)
    missing = [k for k in keys if k not in history]
    if missing:
        raise KeyError(f"history has no {missing}; it has {list(history)}")
    ax = _new_axes(ax)
    for key in keys:
        ax.plot(epochs, history[key], marker="o", markersize=3, label=key)
    _label_epoch_axis(ax, x_key)
    if len(keys) == 1:
        ax.set_ylabel(keys[0])
    ax.legend()
    if title is not None:
        ax.set_title(title)
    return ax


def plot_histories(histories: Mapping[str, Mapping[str, Sequence[float]]], key: str, ax=None, title=None):
    """Draw ``key`` of several named histories (e.g. ``{"NumPy": h1, "PyTorch": h2}``) on one Axes."""
    ax = _new_axes(ax)
    x_key = "epoch"
    for name, history in histories.items():
        if key not in history:
            raise KeyError(f"history {name!r} has no {key!r}; it has {list(history)}")
        x, x_key = _epochs(history, f"history {name!r}")
        ax.plot(x, history[key], marker="o", markersize=3, label=name)
    _label_epoch_axis(ax, x_key)
    ax.set_ylabel(key)
    ax.legend()
    if title is not None:
        ax.set_title(title)
    return ax


def _to_hwc_or_hw(images) -> np.ndarray:
    """(N, H, W), (N, C, H, W) or (N, H, W, C) with C in 1, 3, 4 -> (N, H, W) or (N, H, W, C)."""
    images = np.asarray(images)
    if images.ndim == 3:
        return images
    if images.ndim == 4:
        # Channels-first wins when both readings fit: the package follows torch's NCHW.
        if images.shape[1] in (1, 3, 4):
            images = np.moveaxis(images, 1, -1)
        elif images.shape[-1] not in (1, 3, 4):
            raise ValueError(
                f"images must be (N, H, W), (N, C, H, W) or (N, H, W, C) with C in 1, 3, 4; got {images.shape}"
            )
        return images[..., 0] if images.shape[-1] == 1 else images
    raise ValueError(f"images must be (N, H, W), (N, C, H, W) or (N, H, W, C); got shape {images.shape}")


def show_images(images, labels=None, class_names=None, predictions=None, ncols=8, figsize=None):
    """Grid of images titled by true label; a differing predicted label is written below in red."""
    images = _to_hwc_or_hw(images)
    n = len(images)
    if n == 0:
        raise ValueError("show_images needs at least one image, got 0")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has length {len(values)}, expected {n} (one per image)")

    def name_of(label) -> str:
        return str(class_names[int(label)]) if class_names is not None else str(int(label))

    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    if figsize is None:
        figsize = (1.3 * ncols, (1.7 if predictions is not None else 1.5) * nrows)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    gray_range = {"vmin": 0, "vmax": 255} if images.dtype == np.uint8 else {}
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        if images[i].ndim == 2:
            ax.imshow(images[i], cmap="gray", **gray_range)
        else:
            ax.imshow(images[i])
        if labels is not None:
            ax.set_title(name_of(labels[i]), fontsize=9)
            if predictions is not None and int(predictions[i]) != int(labels[i]):
                ax.text(0.5, -0.04, name_of(predictions[i]), transform=ax.transAxes,
                        ha="center", va="top", color="red", fontsize=9)
        elif predictions is not None:
            ax.set_title(name_of(predictions[i]), fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion_matrix(cm, class_names=None, ax=None, normalize=False, title=None):
    """Heatmap of a (C, C) confusion matrix (rows true, columns predicted), annotated when C <= 20."""
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square (C, C) matrix, got shape {cm.shape}")
    c = cm.shape[0]
    if class_names is not None and len(class_names) != c:
        raise ValueError(f"class_names has {len(class_names)} names, expected {c} for a {cm.shape} matrix")
    if normalize:
        row_sums = cm.sum(axis=1, keepdims=True)
        values = np.divide(cm, row_sums, out=np.zeros(cm.shape, dtype=float), where=row_sums != 0)
    else:
        values = cm
    if ax is None:
        _figure, ax = plt.subplots(figsize=(1.0 + 0.55 * c, 0.6 + 0.5 * c) if c > 6 else None)
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.grid(False)
    names = list(class_names) if class_names is not None else [str(i) for i in range(c)]
    if class_names is not None:  # names are long: slant them
        ax.set_xticks(range(c), names, rotation=45, ha="right")
    else:
        ax.set_xticks(range(c), names)
    ax.set_yticks(range(c), names)
    ax.set_xlabel(_("Predicted"))
    ax.set_ylabel(_("True"))
    if c <= 20:  # more cells than this are too small to read
        threshold = values.max() / 2 if values.size else 0
        for i in range(c):
            for j in range(c):
                text = f"{values[i, j]:.2f}" if normalize else f"{int(values[i, j])}"
                ax.text(j, i, text, ha="center", va="center", fontsize=8,
                        color="white" if values[i, j] > threshold else "black")
    if title is not None:
        ax.set_title(title)
    return ax
