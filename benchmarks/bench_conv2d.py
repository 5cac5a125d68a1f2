"""Time the NumPy FastConv2d forward+backward against torch.nn.functional.conv2d (autograd) on the CPU, in one run.

Batch 64, 16 -> 32 channels, 28x28 images, 3x3 kernel, padding 1, float32, the same weights in both. Each
timed step is a forward pass and a backward pass of ``sum(output * g)`` with respect to the input, the weight
and the bias. The two are timed in alternating blocks (a few warm-up steps each) so that a change in the load of
a shared machine hits both alike; the script prints the median (and range) of each and the ratio NumPy/torch.

    python benchmarks/bench_conv2d.py [--threads N] [--rounds 3] [--reps 7] [--warmup 3]

By default both libraries use their default thread counts (torch: one per core; NumPy: OpenBLAS's default).
``--threads N`` sets OpenBLAS' threads and torch's intra-op threads to N alike.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

TARGET = 2.0


def timed_block(step, reps: int, warmup: int) -> list[float]:
    """Wall times of ``reps`` calls of ``step()``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="threads for both (default: each its own)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating blocks per library")
    parser.add_argument("--reps", type=int, default=7, help="timed steps per block")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before each block")
    args = parser.parse_args(argv)

    if args.threads is not None:
        # OpenBLAS reads its thread count when NumPy is first imported, so set it before that import.
        if "numpy" in sys.modules:
            raise RuntimeError("run this script directly: NumPy must not be imported before the thread count is set")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    import torch.nn.functional as F

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from companion.nn import FastConv2d

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    n, c_in, c_out, size, k, pad = 64, 16, 32, 28, 3, 1
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c_in, size, size)).astype(np.float32)
    g = rng.standard_normal((n, c_out, size, size)).astype(np.float32)
    conv = FastConv2d(c_in, c_out, k, padding=pad, rng=rng, dtype=np.float32)

    xt = torch.from_numpy(x).requires_grad_(True)
    wt = torch.from_numpy(conv.weight.data.copy()).requires_grad_(True)
    bt = torch.from_numpy(conv.bias.data.copy()).requires_grad_(True)
    gt = torch.from_numpy(g)

    def numpy_step():
        conv.zero_grad()
        out = conv(x)
        return out, conv.backward(g)

    def torch_step():
        for tensor in (xt, wt, bt):
            tensor.grad = None
        out = F.conv2d(xt, wt, bt, padding=pad)
        out.backward(gt)
        return out, xt.grad

    # The two must compute the same thing, or the timing means nothing.
    out_np, dx_np = numpy_step()
    out_t, dx_t = torch_step()
    np.testing.assert_allclose(out_np, out_t.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx_np, dx_t.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv.weight.grad, wt.grad.numpy(), rtol=1e-3, atol=1e-2)

    times = {"torch": [], "numpy": []}
    for _ in range(args.rounds):
        times["torch"] += timed_block(torch_step, args.reps, args.warmup)
        times["numpy"] += timed_block(numpy_step, args.reps, args.warmup)

    threads = f"torch threads {torch.get_num_threads()}, OpenBLAS threads " + (
        str(args.threads) if args.threads is not None else os.environ.get("OPENBLAS_NUM_THREADS", "default"))
    print(f"Conv2d forward+backward, batch {n}, {c_in}->{c_out} channels, {size}x{size}, kernel {k}, "
          f"padding {pad}, float32 ({threads}; {args.rounds}x{args.reps} steps each)")
    median = {}
    for name, label in (("numpy", "NumPy Conv2d"), ("torch", "torch F.conv2d")):
        median[name] = statistics.median(times[name])
        print(f"{label:15s} median {median[name] * 1e3:7.2f} ms  "
              f"(min {min(times[name]) * 1e3:.2f}, max {max(times[name]) * 1e3:.2f})")
    print(f"ratio: {median['numpy'] / median['torch']:.1f}x (target <= {TARGET:g}x)")


if __name__ == "__main__":
    main()
