"""companion.torch.attention_cost: the naive formula equals the fused kernel, and the measurements mean what they say."""
from __future__ import annotations

import sys

import pytest

torch = pytest.importorskip("torch")

from companion.torch.attention_cost import (attention_matrix_bytes, median_time, naive_attention,  # noqa: E402
                                      peak_memory_mib)


def test_naive_attention_equals_fused_attention():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8) for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    torch.testing.assert_close(naive_attention(q, k, v), expected, rtol=1e-5, atol=1e-6)


def test_attention_matrix_bytes():
    assert attention_matrix_bytes(1, 4, 1024) == 4 * 1024 * 1024 * 4
    assert attention_matrix_bytes(2, 1, 3, 5, bytes_per_element=2) == 2 * 3 * 5 * 2
    with pytest.raises(ValueError, match="length"):
        attention_matrix_bytes(1, 1, 0)


def test_median_time_counts_calls():
    calls = []
    seconds = median_time(calls.append, 1, repeats=3, warmup=2)
    assert len(calls) == 5 and seconds >= 0
    with pytest.raises(ValueError, match="repeats"):
        median_time(calls.append, 1, repeats=0)


@pytest.mark.skipif(sys.platform not in ("linux", "darwin"), reason="ru_maxrss is read on Linux and macOS")
def test_naive_attention_peak_memory_holds_the_score_matrix_and_fused_does_not():
    matrix_mib = attention_matrix_bytes(1, 4, 1024) / 2**20  # 16 MiB
    naive = peak_memory_mib("naive", 1024)
    fused = peak_memory_mib("fused", 1024)
    assert naive >= matrix_mib  # at least the scores themselves
    assert fused < matrix_mib / 2


def test_bad_method_fails_early():
    with pytest.raises(ValueError, match="method"):
        peak_memory_mib("sparse", 128)
    with pytest.raises(ValueError, match="length"):
        peak_memory_mib("naive", 0)
