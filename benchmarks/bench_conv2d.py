"""Time the NumPy FastConv2d forward+backward against torch.nn.functional.conv2d (autograd) on the CPU, in one run.

Batch 64, 16 -> 32 channels, 28x28 images, 3x3 kernel, padding 1, float32, the same weights in both. Each
timed step is a forward pass and a backward pass of ``sum(output * g)`` with respect to the input, the weight
and the bias. The steps are timed in alternating blocks (a few warm-up steps each, with
``companion.book.timing.time_calls``) so that a change in the load of a shared machine hits all of them alike;
the script prints the median (and range) of each and the ratio NumPy/torch.

    python benchmarks/bench_conv2d.py [--threads N] [--rounds 3] [--reps 7] [--warmup 3] [--breakdown] [--teaching]

By default both libraries use their default thread counts (torch: one per core; NumPy: OpenBLAS's default).
``--threads N`` sets OpenBLAS' threads and torch's intra-op threads to N alike. ``--breakdown`` also times the
three matrix products of a FastConv2d step alone, at its shapes (forward, weight gradient, patch gradient): the
rest of the step is data movement (im2col, layout copies, the fold of the input gradient). ``--teaching`` also
times the teaching Conv2d of chapter 6 (three einsum cross-correlations).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

TARGET = 2.0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="threads for both (default: each its own)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating blocks per step")
    parser.add_argument("--reps", type=int, default=7, help="timed steps per block")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before each block")
    parser.add_argument("--breakdown", action="store_true", help="also time FastConv2d's three matrix products alone")
    parser.add_argument("--teaching", action="store_true", help="also time the teaching Conv2d")
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
    from companion.book.timing import time_calls
    from companion.nn import Conv2d, FastConv2d

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

    steps = {"numpy": numpy_step, "torch": torch_step}
    labels = {"numpy": "NumPy FastConv2d", "torch": "torch F.conv2d"}
    if args.teaching:
        teaching = Conv2d(c_in, c_out, k, padding=pad, dtype=np.float32)
        teaching.load_state_dict(conv.state_dict())

        def teaching_step():
            teaching.zero_grad()
            out = teaching(x)
            return out, teaching.backward(g)

        np.testing.assert_allclose(teaching_step()[1], dx_np, rtol=1e-4, atol=1e-4)
        steps["teaching"], labels["teaching"] = teaching_step, "teaching Conv2d"
    if args.breakdown:
        # FastConv2d's products at its shapes: forward (O, CKK) @ (CKK, NHW); weight gradient (CKK, NHW) @ (NHW, O);
        # patch gradient (KKC, O) @ (O, N*Hp*Wp), on the padded grid as FastConv2d computes it for stride 1.
        ckk, nhw, nhw_padded = c_in * k * k, n * size * size, n * (size + 2 * pad) ** 2
        weight = rng.standard_normal((c_out, ckk)).astype(np.float32)
        cols = rng.standard_normal((ckk, nhw)).astype(np.float32)
        dout = rng.standard_normal((c_out, nhw)).astype(np.float32)
        dout_padded = rng.standard_normal((c_out, nhw_padded)).astype(np.float32)
        weight_t = np.ascontiguousarray(weight.T)
        out_forward, out_dcols = np.empty((c_out, nhw), np.float32), np.empty((ckk, nhw_padded), np.float32)

        def products():
            np.matmul(weight, cols, out=out_forward)
            cols @ dout.T
            np.matmul(weight_t, dout_padded, out=out_dcols)

        steps["products"], labels["products"] = products, "3 products alone"

    times = {name: [] for name in steps}
    for _round in range(args.rounds):
        for name, step in steps.items():
            times[name] += time_calls(step, repeats=args.reps, warmup=args.warmup)

    threads = f"torch threads {torch.get_num_threads()}, OpenBLAS threads " + (
        str(args.threads) if args.threads is not None else os.environ.get("OPENBLAS_NUM_THREADS", "default"))
    print(f"Conv2d forward+backward, batch {n}, {c_in}->{c_out} channels, {size}x{size}, kernel {k}, "
          f"padding {pad}, float32 ({threads}; {args.rounds}x{args.reps} steps each)")
    median = {name: statistics.median(seconds) for name, seconds in times.items()}
    for name, seconds in times.items():
        print(f"{labels[name]:17s} median {median[name] * 1e3:7.2f} ms  "
              f"(min {min(seconds) * 1e3:.2f}, max {max(seconds) * 1e3:.2f})")
    print(f"ratio: {median['numpy'] / median['torch']:.2f}x (target <= {TARGET:g}x)")
    if "teaching" in median:
        print(f"teaching Conv2d / FastConv2d: {median['teaching'] / median['numpy']:.1f}x")
    if "products" in median:
        share = median["products"] / median["numpy"]
        print(f"matrix products: {share:.0%} of the FastConv2d step; data movement and the rest: {1 - share:.0%}")


if __name__ == "__main__":
    main()
