"""companion.torch.attention_cost and companion.book.timing: the naive formula equals the fused kernel, the byte
accounting is exact and repeatable, and the timing helper calls what it times as often as it says."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from companion.book.timing import median_time, time_calls  # noqa: E402
from companion.torch.attention_cost import (Allocation, allocated_bytes, attention_matrix_bytes,  # noqa: E402
                                            attention_weights, naive_attention, torch_threads)

F = torch.nn.functional


@pytest.mark.parametrize("is_causal", [False, True])
def test_naive_attention_equals_fused_attention(is_causal):
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 3, 7, 8) for _ in range(3))
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=is_causal)
    torch.testing.assert_close(naive_attention(q, k, v, is_causal), expected, rtol=1e-5, atol=1e-6)


def test_causal_attention_weights_are_lower_triangular_rows_of_one():
    torch.manual_seed(1)
    q, k = torch.randn(2, 5, 4), torch.randn(2, 5, 4)
    weights = attention_weights(q, k, is_causal=True)
    below = torch.ones(5, 5, dtype=torch.bool).tril()
    assert torch.all(weights[:, ~below] == 0) and torch.all(weights[:, below] > 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 5))
    torch.testing.assert_close(weights[:, 0, 0], torch.ones(2))  # the first position sees only itself


def test_attention_matrix_bytes():
    assert attention_matrix_bytes(1, 4, 1024) == 4 * 1024 * 1024 * 4
    assert attention_matrix_bytes(2, 1, 3, 5, bytes_per_element=2) == 2 * 3 * 5 * 2
    with pytest.raises(ValueError, match="length"):
        attention_matrix_bytes(1, 1, 0)


def test_allocated_bytes_counts_a_known_sequence_exactly():
    x = torch.ones(1000)  # float32: 4000 bytes

    def three_temporaries(x):
        a = x + x        # +4000 (tensor-tensor operations: a Python scalar would allocate a small tensor)
        b = a * x        # +4000, peak 8000
        del a            # -4000
        c = b - x        # +4000, peak stays 8000
        del b
        return c         # the result (4000) is still held at the end

    assert allocated_bytes(three_temporaries, x) == Allocation(total=12_000, peak=8_000)
    assert allocated_bytes(lambda x: x.view(10, 100), x) == Allocation(0, 0)  # a view allocates nothing


def test_naive_attention_allocates_two_score_matrices_and_fused_less_than_one():
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 4, 512, 64) for _ in range(3))
    matrix = attention_matrix_bytes(1, 4, 512)  # 4 MiB
    output = q.numel() * 4
    naive = allocated_bytes(naive_attention, q, k, v)
    assert 2 * matrix <= naive.peak <= 2 * matrix + output  # the scores and their softmax are alive together
    assert naive == allocated_bytes(naive_attention, q, k, v)  # the same on every call
    fused = allocated_bytes(F.scaled_dot_product_attention, q, k, v)
    assert output <= fused.peak < matrix / 2


def test_allocated_bytes_rejects_a_non_function():
    with pytest.raises(TypeError, match="function"):
        allocated_bytes(42)


def test_time_calls_calls_warmup_plus_repeats_and_syncs_around_each():
    calls, syncs = [], []
    seconds = time_calls(calls.append, 1, repeats=3, warmup=2, sync=lambda: syncs.append(len(calls)))
    assert len(seconds) == 3 and calls == [1] * 5
    assert syncs == [2, 3, 4, 5]  # once after the warm-up, then after every timed call
    median_time(calls.append, 2, repeats=1, warmup=0)
    assert calls[-1] == 2 and len(calls) == 6


@pytest.mark.parametrize("kwargs, match", [(dict(repeats=0), "repeats"), (dict(warmup=-1), "warmup"),
                                           (dict(repeats=2.0), "repeats"), (dict(sync=3), "sync")])
def test_timing_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        median_time(print, **kwargs)


def test_fused_count_does_not_depend_on_the_machine_s_threads():
    """The fused kernel gives each thread a scratch buffer: counted on one thread, the peak is the same on a
    2-core CI machine and on a 64-core server."""
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 4, 512, 64) for _i in range(3))
    saved = torch.get_num_threads()
    try:
        counts = set()
        for threads in (1, 2, 16):
            torch.set_num_threads(threads)
            counts.add(allocated_bytes(F.scaled_dot_product_attention, q, k, v))
            assert torch.get_num_threads() == threads  # restored after the count
        assert len(counts) == 1
        many = allocated_bytes(F.scaled_dot_product_attention, q, k, v, threads=16)
        assert many.peak > counts.pop().peak  # more threads, more scratch: why one thread is the default
    finally:
        torch.set_num_threads(saved)
    with pytest.raises(ValueError, match="threads"):
        allocated_bytes(F.scaled_dot_product_attention, q, k, v, threads=0)


def test_torch_threads_sets_the_count_inside_and_restores_it_after_an_error():
    saved = torch.get_num_threads()
    outside = 2 if saved != 2 else 3
    try:
        torch.set_num_threads(outside)
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == outside
        with pytest.raises(RuntimeError, match="inside"):
            with torch_threads(1):
                raise RuntimeError("inside")
        assert torch.get_num_threads() == outside
    finally:
        torch.set_num_threads(saved)
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="torch_threads"):
            with torch_threads(bad):
                pass
    assert torch.get_num_threads() == saved
