"""Time NumPy MultiheadAttention forward+backward against torch.nn.MultiheadAttention on the CPU, in one run.

Self-attention, batch 8, length 128, width 128, 4 heads, float32, the same weights in both. Each timed step is
a forward pass and a backward pass of ``sum(output * g)`` with respect to the input and all parameters. torch is
timed twice: with ``need_weights=False`` (what training code passes; torch then calls its fused
scaled_dot_product_attention kernel) and with ``need_weights=True`` (torch's default; explicit softmax, and the
head-averaged weights are computed). NumPy always computes the softmax weights (backward needs them).

    python benchmarks/bench_attention.py [--threads 1] [--reps 30] [--warmup 5]

``--threads`` sets the BLAS threads of NumPy (OpenBLAS) and torch's intra-op threads alike; the default 1 keeps
the comparison fair and the numbers stable on a shared machine (OpenBLAS' spinning threads slow down badly when
other processes hold the cores).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

TARGET = 1.5


def time_interleaved(steps: dict, reps: int, warmup: int) -> dict:
    """name -> (median, min, max) seconds per call; the steps take turns, so a change in the load of a shared
    machine hits all of them alike."""
    from companion.book.timing import time_calls

    for step in steps.values():
        time_calls(step, repeats=1, warmup=warmup)
    times = {name: [] for name in steps}
    for _ in range(reps):
        for name, step in steps.items():
            times[name] += time_calls(step, repeats=1, warmup=0)
    return {name: (statistics.median(t), min(t), max(t)) for name, t in times.items()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    # BLAS reads its thread count when NumPy is first imported, so set it before that import.
    if "numpy" in sys.modules:
        raise RuntimeError("run this script directly: NumPy must not be imported before the thread count is set")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from companion.nn.attention import MultiheadAttention

    torch.set_num_threads(args.threads)

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.length, args.width)
    x = rng.standard_normal(shape).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)

    twin = torch.nn.MultiheadAttention(args.width, args.heads, batch_first=True)
    mha = MultiheadAttention(args.width, args.heads, rng=rng, dtype=np.float32)
    mha.load_state_dict(twin.state_dict())
    xt, gt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)

    def numpy_step():
        mha.zero_grad()
        mha(x, x, x, need_weights=False)
        return sum(mha.backward(g))  # self-attention: x feeds query, key and value

    def torch_step(need_weights):
        def step():
            twin.zero_grad()
            xt.grad = None
            out, _ = twin(xt, xt, xt, need_weights=need_weights)
            (out * gt).sum().backward()
        return step

    # The two implementations agree before anything is timed.
    dx = numpy_step()
    torch_step(False)()
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-3, atol=1e-4)

    print(f"MultiheadAttention forward+backward, self-attention, batch {args.batch}, length {args.length}, "
          f"width {args.width}, {args.heads} heads, float32, CPU")
    print(f"numpy {np.__version__}, torch {torch.__version__} ({torch.get_num_threads()} threads); "
          f"median of {args.reps} reps after {args.warmup} warm-ups (min-max in brackets)")
    results = time_interleaved({"numpy": numpy_step, False: torch_step(False), True: torch_step(True)},
                               args.reps, args.warmup)
    t_np = results.pop("numpy")
    print(f"numpy: {1e3 * t_np[0]:8.2f} ms  [{1e3 * t_np[1]:.2f}-{1e3 * t_np[2]:.2f}]")
    for need_weights, t in results.items():
        print(f"torch need_weights={need_weights!s:5}: {1e3 * t[0]:8.2f} ms  [{1e3 * t[1]:.2f}-{1e3 * t[2]:.2f}]")
    for need_weights, t in results.items():
        print(f"ratio vs torch need_weights={need_weights}: {t_np[0] / t[0]:.2f}x (target <= {TARGET}x)")


if __name__ == "__main__":
    main()
