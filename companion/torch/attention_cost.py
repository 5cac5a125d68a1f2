"""What attention costs: the size of the attention matrix, the time of a call, and the peak memory of one call.

``naive_attention`` spells out ``softmax(q k^T / sqrt(d)) v`` in torch, so it materialises the (L, L) score matrix
of every head; ``torch.nn.functional.scaled_dot_product_attention`` (``"fused"``) computes the same output in
tiles without it. :func:`peak_memory_mib` runs one call in a fresh Python process and reports how much that call
raised the process's peak resident memory: a clean measurement, unaffected by what the calling notebook holds.

    python -m companion.torch.attention_cost naive 1024     # prints the extra peak memory in MiB
"""
from __future__ import annotations

import math
import statistics
import subprocess
import sys
import time

__all__ = ["naive_attention", "attention_matrix_bytes", "median_time", "peak_memory_mib", "METHODS"]

METHODS = ("naive", "fused")


def naive_attention(q, k, v):
    """``softmax(q k^T / sqrt(d)) v`` for torch tensors (..., L, d): the textbook formula, one matrix per head."""
    import torch

    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    return torch.softmax(scores, dim=-1) @ v


def attention_matrix_bytes(batch: int, heads: int, length: int, source_length: int | None = None,
                           bytes_per_element: int = 4) -> int:
    """Bytes of one (batch, heads, L, S) attention matrix (float32 by default)."""
    source_length = length if source_length is None else source_length
    for name, value in (("batch", batch), ("heads", heads), ("length", length), ("source_length", source_length),
                        ("bytes_per_element", bytes_per_element)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return batch * heads * length * source_length * bytes_per_element


def median_time(fn, *args, repeats: int = 5, warmup: int = 1) -> float:
    """Median wall-clock seconds of ``fn(*args)`` over ``repeats`` calls, after ``warmup`` untimed calls."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    for _ in range(warmup):
        fn(*args)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _attention_function(method: str):
    if method == "naive":
        return naive_attention
    if method == "fused":
        import torch.nn.functional as F

        return F.scaled_dot_product_attention
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def _peak_kib() -> float:
    """This process's peak resident memory in KiB.

    On Linux, VmHWM of /proc/self/status: it belongs to the process's own address space, whereas ru_maxrss
    carries over the parent's peak through fork and exec (a child of a big notebook kernel would start high).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else float(peak)  # macOS reports bytes


def _measure(method: str, length: int, batch: int, heads: int, head_dim: int) -> float:
    """In this process: extra peak resident memory (MiB) of one attention call on random float32 inputs."""
    import torch

    attend = _attention_function(method)
    torch.manual_seed(0)
    attend(*(torch.randn(1, heads, 64, head_dim) for _ in range(3)))  # load kernels, start threads
    q, k, v = (torch.randn(batch, heads, length, head_dim) for _ in range(3))
    before = _peak_kib()
    out = attend(q, k, v)
    after = _peak_kib()
    del out
    return (after - before) / 1024


def peak_memory_mib(method: str, length: int, *, batch: int = 1, heads: int = 4, head_dim: int = 64,
                    timeout: float = 120) -> float:
    """How much one attention call raises the peak memory of a fresh process, in MiB (Linux; macOS roughly).

    ``method`` is ``"naive"`` or ``"fused"``. The child imports torch, runs a tiny call to load the kernels,
    makes the inputs, then reads the peak resident memory before and after one call.
    """
    _attention_function(method)  # fail early, in this process, on a bad name
    for name, value in (("length", length), ("batch", batch), ("heads", heads), ("head_dim", head_dim)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    command = [sys.executable, "-m", "companion.torch.attention_cost", method, str(length), str(batch), str(heads),
               str(head_dim)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"measuring {method} attention at length {length} failed:\n{result.stderr[-2000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 5):
        raise SystemExit("usage: python -m companion.torch.attention_cost naive|fused LENGTH [BATCH HEADS HEAD_DIM]")
    method, numbers = args[0], [int(a) for a in args[1:]]
    batch, heads, head_dim = numbers[1:] if len(numbers) == 4 else (1, 4, 64)
    print(f"{_measure(method, numbers[0], batch, heads, head_dim):.3f}")


if __name__ == "__main__":
    main()
