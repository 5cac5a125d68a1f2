"""Plot helpers on the Agg backend: returned objects, artist counts, and Chinese text without missing glyphs."""
import io
import re
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from companion import set_language  # noqa: E402
from companion.data.vision import FASHION_MNIST_CLASSES, FASHION_MNIST_CLASSES_ZH  # noqa: E402
from companion.book.plotting import (  # noqa: E402
    plot_confusion_matrix,
    plot_histories,
    plot_history,
    setup_plots,
    show_images,
)

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")


@pytest.fixture(autouse=True)
def clean_state():
    """Each test starts from matplotlib's built-in defaults (not the repo's matplotlibrc, which already
    names a CJK font), and leaves rcParams, the language and the open figures as they were."""
    with plt.rc_context():
        matplotlib.rcdefaults()
        yield
    plt.close("all")
    set_language("en")


def history(n=4, offset=0.0):
    return {
        "epoch": list(range(1, n + 1)),
        "train_loss": [1.0 / (e + offset) for e in range(1, n + 1)],
        "test_acc": [0.5 + 0.1 * e for e in range(n)],
    }


def red_texts(fig):
    return [t for ax in fig.axes for t in ax.texts if matplotlib.colors.same_color(t.get_color(), "red")]


# --- setup_plots and CJK rendering ---------------------------------------------------------------


def cjk_font_files():
    pattern = re.compile(r"(cjk|sourcehan|wqy|simhei|msyh|pingfang)", re.IGNORECASE)
    return [p for p in font_manager.findSystemFonts() if pattern.search(p)]


def test_setup_plots_sets_font_and_minus_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        font = setup_plots()
    assert plt.rcParams["axes.unicode_minus"] is False
    if font is not None:
        assert plt.rcParams["font.sans-serif"][0] == font
        assert plt.rcParams["font.family"] == ["sans-serif"]
        assert font in {f.name for f in font_manager.fontManager.ttflist}
    assert setup_plots() == font  # idempotent
    assert plt.rcParams["font.sans-serif"].count(font) <= 1


def test_setup_plots_prefers_noto_sans_cjk_sc_when_installed():
    if "Noto Sans CJK SC" not in {f.name for f in font_manager.fontManager.ttflist}:
        pytest.skip("Noto Sans CJK SC is not installed")
    assert setup_plots() == "Noto Sans CJK SC"


def test_setup_plots_registers_fonts_installed_after_the_font_cache(monkeypatch):
    """Colab installs fonts-noto-cjk after matplotlib cached its font list: setup_plots adds the files."""
    if not cjk_font_files():
        pytest.skip("no CJK font files installed")
    manager = font_manager.fontManager
    without_cjk = [f for f in manager.ttflist if not re.search(r"CJK|Han|Hei|WenQuanYi", f.name)]
    monkeypatch.setattr(manager, "ttflist", without_cjk)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        font = setup_plots()
    assert font is not None and font in {f.name for f in manager.ttflist}


def test_chinese_renders_without_missing_glyphs():
    font = setup_plots()
    if font is None:
        if NOTO_DIR.exists() or cjk_font_files():
            pytest.fail(f"CJK fonts are installed ({NOTO_DIR} or {cjk_font_files()[:3]}) but setup_plots found none")
        pytest.skip("no CJK font installed")
    set_language("zh")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" becomes an error
        ax = plot_history(history(), title="训练损失")
        ax.plot([1, 4], [-0.5, -1.5])  # negative tick labels: the minus sign must render too
        ax.set_ylabel("损失")
        ax.figure.savefig(io.BytesIO(), format="png")
        cm = np.arange(100).reshape(10, 10)
        ax = plot_confusion_matrix(cm, class_names=FASHION_MNIST_CLASSES_ZH, title="混淆矩阵")
        ax.figure.savefig(io.BytesIO(), format="png")
        images = np.zeros((4, 28, 28), dtype=np.uint8)
        fig = show_images(images, labels=[0, 1, 8, 9], class_names=FASHION_MNIST_CLASSES_ZH, predictions=[0, 2, 8, 5])
        fig.savefig(io.BytesIO(), format="png")


def test_missing_glyphs_do_warn_without_a_cjk_font():
    """The check above can fail: the same text in a Latin-only font raises the glyph warning."""
    fig, ax = plt.subplots()
    ax.set_title("训练损失", fontfamily="DejaVu Sans")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="missing from font"):
            fig.savefig(io.BytesIO(), format="png")


# --- plot_history / plot_histories ---------------------------------------------------------------


def test_plot_history_draws_all_but_epoch():
    ax = plot_history(history(), title="t")
    assert isinstance(ax, Axes)
    assert [line.get_label() for line in ax.lines] == ["train_loss", "test_acc"]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0.5, 0.6, 0.7, 0.8])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train_loss", "test_acc"]
    assert ax.get_title() == "t" and ax.get_xlabel() == "Epoch"


def test_plot_history_keys_ax_and_language():
    fig, (left, right) = plt.subplots(1, 2)
    set_language("zh")
    ax = plot_history(history(), keys=["test_acc"], ax=right)
    assert ax is right and len(right.lines) == 1 and len(left.lines) == 0
    assert ax.get_xlabel() == "轮次" and ax.get_ylabel() == "test_acc"


def test_plot_history_without_epoch_counts_from_one():
    ax = plot_history({"loss": [3.0, 2.0, 1.0]})
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])


def test_plot_history_bad_input():
    with pytest.raises(ValueError, match="same length"):
        plot_history({"epoch": [1, 2], "loss": [1.0]})
    with pytest.raises(KeyError, match="acc"):
        plot_history(history(), keys=["acc"])


def test_plot_histories_one_line_per_framework():
    runs = {"NumPy": history(), "PyTorch": history(offset=0.5), "Keras": history(n=3)}
    ax = plot_histories(runs, "train_loss", title="loss")
    assert isinstance(ax, Axes)
    assert [line.get_label() for line in ax.lines] == ["NumPy", "PyTorch", "Keras"]
    assert len(ax.lines[2].get_xdata()) == 3
    assert ax.get_ylabel() == "train_loss" and ax.get_title() == "loss"
    with pytest.raises(KeyError, match="Keras"):
        plot_histories({"Keras": {"epoch": [1], "loss": [1.0]}}, "train_loss")


# --- show_images ---------------------------------------------------------------------------------


def test_show_images_grid_titles_and_red_mistakes():
    images = np.random.default_rng(0).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    labels = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    predictions = [0, 1, 2, 3, 4, 5, 6, 7, 9, 8]
    fig = show_images(images, labels, FASHION_MNIST_CLASSES, predictions, ncols=4)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 12  # 3 rows of 4
    drawn = [ax for ax in fig.axes if any(isinstance(a, AxesImage) for a in ax.get_images())]
    assert len(drawn) == 10
    assert [ax.get_title() for ax in drawn] == FASHION_MNIST_CLASSES
    assert sorted(t.get_text() for t in red_texts(fig)) == ["Ankle boot", "Bag"]


def test_show_images_without_predictions_or_names():
    fig = show_images(np.zeros((3, 5, 5)), labels=np.array([2, 0, 1]))
    assert [ax.get_title() for ax in fig.axes] == ["2", "0", "1"]
    assert red_texts(fig) == []
    fig = show_images(np.zeros((2, 5, 5)))
    assert [ax.get_title() for ax in fig.axes] == ["", ""]


@pytest.mark.parametrize(
    "shape, drawn_shape",
    [((2, 1, 6, 5), (6, 5)), ((2, 6, 5, 1), (6, 5)), ((2, 3, 6, 5), (6, 5, 3)), ((2, 6, 5, 3), (6, 5, 3))],
)
def test_show_images_layouts(shape, drawn_shape):
    fig = show_images(np.zeros(shape, dtype=np.float32))
    assert fig.axes[0].get_images()[0].get_array().shape == drawn_shape


def test_show_images_bad_input():
    with pytest.raises(ValueError, match=r"\(2, 6, 5, 7\)"):
        show_images(np.zeros((2, 6, 5, 7)))
    with pytest.raises(ValueError, match="labels has length 3, expected 2"):
        show_images(np.zeros((2, 6, 5)), labels=[0, 1, 2])


# --- plot_confusion_matrix -----------------------------------------------------------------------


def test_confusion_matrix_annotated_heatmap():
    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 4]])
    ax = plot_confusion_matrix(cm, class_names=["a", "b", "c"], title="cm")
    assert isinstance(ax, Axes)
    assert [t.get_text() for t in ax.texts] == ["5", "1", "0", "2", "7", "1", "0", "0", "4"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert ax.get_xlabel() == "Predicted" and ax.get_ylabel() == "True" and ax.get_title() == "cm"
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), cm)


def test_confusion_matrix_normalized_rows_and_chinese_labels():
    set_language("zh")
    cm = np.array([[3, 1], [0, 0]])  # an empty row stays 0 instead of dividing by zero
    ax = plot_confusion_matrix(cm, normalize=True)
    assert [t.get_text() for t in ax.texts] == ["0.75", "0.25", "0.00", "0.00"]
    assert ax.get_xlabel() == "预测" and ax.get_ylabel() == "真实"


def test_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="class_names has 2 names, expected 3"):
        plot_confusion_matrix(np.zeros((3, 3)), class_names=["a", "b"])


def test_no_function_calls_show(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", forbidden)
    setup_plots()
    plot_history(history())
    plot_histories({"a": history()}, "test_acc")
    show_images(np.zeros((2, 4, 4)), labels=[0, 1], predictions=[1, 1])
    plot_confusion_matrix(np.eye(2, dtype=int))
