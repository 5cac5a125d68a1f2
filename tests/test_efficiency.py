"""Memory and communication arithmetic of chapter 11 against the papers' own numbers."""
import pytest

from companion.metrics.efficiency import (activation_bytes_per_layer, ring_allreduce_bytes,
                                          training_bytes_per_parameter, zero_memory_per_gpu)

GB = 1e9


def test_zero_paper_figure_1():
    # Rajbhandari et al. (2020), Figure 1: a 7.5B-parameter model on 64 GPUs, K = 12:
    # baseline 120 GB, P_os 31.4 GB, P_os+g 16.6 GB, P_os+g+p 1.9 GB
    expected = {0: 120, 1: 31.4, 2: 16.6, 3: 1.9}
    for stage, gb in expected.items():
        assert zero_memory_per_gpu(7.5e9, 64, stage) / GB == pytest.approx(gb, abs=0.05), stage


def test_sixteen_bytes_per_parameter_either_way():
    assert sum(training_bytes_per_parameter("fp32").values()) == 16
    assert sum(training_bytes_per_parameter("mixed").values()) == 16
    assert zero_memory_per_gpu(1e6, 1, 3) == zero_memory_per_gpu(1e6, 1, 0) == 16e6   # one GPU: nothing to shard


def test_activations_korthikanti_example():
    # GPT-3 175B: s = 2048, h = 12288, a = 96; per layer and per sequence (b = 1), without recomputation
    # s b h (34 + 5 a s / h) = 2048 * 12288 * (34 + 80) bytes = 2.87 GB; selective recomputation keeps 34 / 114
    none = activation_bytes_per_layer(2048, 1, 12288, 96)
    assert none == 2048 * 12288 * (34 + 5 * 96 * 2048 / 12288)
    assert none / GB == pytest.approx(2.87, abs=0.01)
    assert activation_bytes_per_layer(2048, 1, 12288, 96, recompute="selective") / none == pytest.approx(34 / 114)
    assert activation_bytes_per_layer(2048, 4, 12288, 96, recompute="full") == 2 * 2048 * 4 * 12288


def test_ring_allreduce():
    assert ring_allreduce_bytes(1000, 1) == 0
    assert ring_allreduce_bytes(1000, 2) == 1000
    assert ring_allreduce_bytes(1000, 8) == pytest.approx(1750)


def test_bad_input():
    with pytest.raises(ValueError, match="stage must be"):
        zero_memory_per_gpu(1e9, 8, 4)
    with pytest.raises(ValueError, match="n_gpus must be a positive number"):
        zero_memory_per_gpu(1e9, 0, 1)
    with pytest.raises(ValueError, match="precision must be"):
        training_bytes_per_parameter("fp8")
    with pytest.raises(ValueError, match="recompute must be"):
        activation_bytes_per_layer(8, 1, 16, 2, recompute="some")
    with pytest.raises(ValueError, match="seq_len must be a positive number"):
        activation_bytes_per_layer(0, 1, 16, 2)
