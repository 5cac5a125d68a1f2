"""Tests draw figures without a screen; the reference libraries of companion.metrics are fixtures that skip."""
import matplotlib
import pytest

matplotlib.use("Agg")


def reference(module: str, distribution: str):
    """``module`` of a reference library, or a skip (of this test only) when ``distribution`` is not installed."""
    return pytest.importorskip(module, reason=f"{distribution} is not installed: pip install 'companion[eval]'")


@pytest.fixture
def skm():
    return reference("sklearn.metrics", "scikit-learn")


@pytest.fixture
def sacrebleu():
    return reference("sacrebleu", "sacrebleu")


@pytest.fixture
def stats():
    return reference("scipy.stats", "scipy")
