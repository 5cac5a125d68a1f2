"""What attention costs: the attention matrix spelled out, its size, and the bytes one call allocates (taught in
chapter 8, section 8.8). ``attention_weights`` is also what ``companion.torch.gpt.GPT.attention_weights`` draws.

``naive_attention`` spells out ``softmax(q k^T / sqrt(d)) v`` in torch, so it materialises the (L, S) score matrix
of every head; ``torch.nn.functional.scaled_dot_product_attention`` (the fused kernel) computes the same output in
tiles without it. :func:`allocated_bytes` counts what one call allocates on the CPU with the torch profiler's
memory records (every allocation and free, in order): an exact and repeatable accounting, unlike the resident
memory of a process, which depends on the allocator, the other threads and what ran before.
"""
from __future__ import annotations

import contextlib
import math
import os
import sys
from typing import NamedTuple

import torch

__all__ = ["attention_weights", "naive_attention", "attention_matrix_bytes", "torch_threads", "Allocation",
           "allocated_bytes"]


def attention_weights(q, k, is_causal: bool = False):
    """``softmax(q k^T / sqrt(d))`` (..., L, S) for torch tensors q (..., L, d), k (..., S, d): the matrix that
    the fused kernel never holds. ``is_causal``: query i may attend to keys j <= i only (as ``causal_mask``)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if is_causal:
        may_attend = torch.ones(scores.shape[-2:], dtype=torch.bool, device=scores.device).tril()
        scores = scores.masked_fill(~may_attend, float("-inf"))
    return torch.softmax(scores, dim=-1)


def naive_attention(q, k, v, is_causal: bool = False):
    """``softmax(q k^T / sqrt(d)) v`` for torch tensors (..., L, d): the textbook formula, one matrix per head."""
    return attention_weights(q, k, is_causal) @ v


def attention_matrix_bytes(batch: int, heads: int, length: int, source_length: int | None = None,
                           bytes_per_element: int = 4) -> int:
    """Bytes of one (batch, heads, L, S) attention matrix (float32 by default)."""
    source_length = length if source_length is None else source_length
    for name, value in (("batch", batch), ("heads", heads), ("length", length), ("source_length", source_length),
                        ("bytes_per_element", bytes_per_element)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return batch * heads * length * source_length * bytes_per_element


@contextlib.contextmanager
def torch_threads(count: int):
    """Run the ``with`` block on ``count`` torch threads, then restore the previous number (also after an error).

    Chapter 8 times attention on one thread: a single thread waits for no other, so the number of cores and the
    other work on the machine disturb the times less than with all threads.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"torch_threads needs a positive integer number of threads, got {count!r}")
    saved = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


class Allocation(NamedTuple):
    """What one call allocated on the CPU, in bytes."""
    total: int  # the sum of all allocations during the call (freed or not)
    peak: int   # the most bytes that the call's own allocations held at one moment (its result included)


@contextlib.contextmanager
def _silence_stderr():
    """The profiler's C++ library logs its start and stop on file descriptor 2; a notebook would show it."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def allocated_bytes(fn, *args, threads: int = 1) -> Allocation:
    """Run ``fn(*args)`` once under the torch profiler and account for the CPU memory it allocates.

    The profiler records each allocation and free with its size; summing them in time order gives the total and
    the peak. Only allocations made during the call count (the inputs are not), and the result is kept until the
    end, so the peak includes it. The numbers depend on the shapes, the dtypes and, for kernels that give each
    thread a scratch buffer (the fused attention kernel does), on the number of threads: the call runs on
    ``threads`` threads (one by default), so that the count is the same on every machine, whatever its cores
    and its load.
    """
    if not callable(fn):
        raise TypeError(f"allocated_bytes needs a function, got {fn!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, got {threads!r}")
    with torch_threads(threads), _silence_stderr(), torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn(*args)
    changes = sorted((event.start_ns(), event.nbytes()) for event in prof.profiler.kineto_results.events()
                     if event.name() == "[memory]" and event.device_type() == torch.autograd.DeviceType.CPU)
    del result
    total = live = peak = 0
    for _, nbytes in changes:
        total += max(nbytes, 0)
        live += nbytes
        peak = max(peak, live)
    return Allocation(total, peak)
