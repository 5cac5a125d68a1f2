"""Time the NumPy LSTM forward+backward (companion.nn.FastLSTM) against torch.nn.LSTM (autograd) on the CPU, in one run.

Batch 32, length 64, input 64, hidden 128, one layer, float32, the same weights in both. Each timed step is a
forward pass and a backward pass of ``sum(output * g)`` with respect to the input and every parameter (torch keeps
the loop over time steps in C++, the NumPy layer in Python: 64 steps of a few small matrix products each way). The
steps are timed in alternating blocks (a few warm-up steps each, with ``companion.book.timing.time_calls``) so that a
change in the load of a shared machine hits both alike; the script prints the median (and range) of each and the
ratio NumPy/torch.

    python benchmarks/bench_lstm.py [--threads N] [--rounds 3] [--reps 5] [--warmup 2] [--teaching]

``FastLSTM`` is the tuned twin of the teaching ``LSTM`` (tested equal to it): the input projections of all steps in
one matrix product before the loop, the input and weight gradients in one product each after it. ``--teaching``
also times the teaching ``LSTM`` (a cell step per time step, as on the page).

By default both libraries use their default thread counts (torch: one per core; NumPy: OpenBLAS's default).
``--threads N`` sets OpenBLAS' threads and torch's intra-op threads to N alike. The matrices here are small
(32 x 128 times 128 x 512): on a busy machine OpenBLAS' threads can spend more time waiting for each other than
multiplying, and ``--threads 1`` is then the fairer comparison.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys

TARGET = 3.0


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="threads for both (default: each its own)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating blocks per step")
    parser.add_argument("--reps", type=int, default=5, help="timed steps per block")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps before each block")
    parser.add_argument("--teaching", action="store_true", help="also time the teaching LSTM")
    args = parser.parse_args(argv)

    if args.threads is not None:
        # OpenBLAS reads its thread count when NumPy is first imported, so set it before that import.
        if "numpy" in sys.modules:
            raise RuntimeError("run this script directly: NumPy must not be imported before the thread count is set")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    import numpy as np
    import torch

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from companion.book.timing import time_calls
    from companion.nn import LSTM
    from companion.nn.recurrent import FastLSTM

    if args.threads is not None:
        torch.set_num_threads(args.threads)

    batch, length, n_in, hidden = 32, 64, 64, 128
    rng = np.random.default_rng(0)
    x = rng.standard_normal((length, batch, n_in)).astype(np.float32)
    g = rng.standard_normal((length, batch, hidden)).astype(np.float32)
    lstm = FastLSTM(n_in, hidden, rng=rng, dtype=np.float32)
    twin = torch.nn.LSTM(n_in, hidden)
    twin.load_state_dict({name: torch.from_numpy(array) for name, array in lstm.state_dict().items()})
    xt, gt = torch.from_numpy(x).requires_grad_(True), torch.from_numpy(g)

    def numpy_step():
        lstm.zero_grad()
        out, _state = lstm(x)
        return out, lstm.backward(g)

    def torch_step():
        xt.grad = None
        twin.zero_grad()
        out, _state = twin(xt)
        out.backward(gt)
        return out, xt.grad

    # The two must compute the same thing, or the timing means nothing.
    out_np, dx_np = numpy_step()
    out_t, dx_t = torch_step()
    np.testing.assert_allclose(out_np, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx_np, dx_t.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(lstm.weight_hh_l0.grad, twin.weight_hh_l0.grad.numpy(), rtol=1e-3, atol=1e-3)

    steps = {"numpy": numpy_step, "torch": torch_step}
    labels = {"numpy": "NumPy FastLSTM", "torch": "torch nn.LSTM"}
    if args.teaching:
        teaching = LSTM(n_in, hidden, dtype=np.float32)
        teaching.load_state_dict(lstm.state_dict())

        def teaching_step():
            teaching.zero_grad()
            out, _state = teaching(x)
            return out, teaching.backward(g)

        np.testing.assert_allclose(teaching_step()[1], dx_np, rtol=1e-4, atol=1e-5)
        steps["teaching"], labels["teaching"] = teaching_step, "teaching LSTM"
    times = {name: [] for name in steps}
    for _round in range(args.rounds):
        for name, step in steps.items():
            times[name] += time_calls(step, repeats=args.reps, warmup=args.warmup)

    threads = f"torch threads {torch.get_num_threads()}, OpenBLAS threads " + (
        str(args.threads) if args.threads is not None else os.environ.get("OPENBLAS_NUM_THREADS", "default"))
    print(f"LSTM forward+backward, batch {batch}, length {length}, input {n_in}, hidden {hidden}, float32 "
          f"({threads}; {args.rounds}x{args.reps} steps each)")
    median = {name: statistics.median(seconds) for name, seconds in times.items()}
    for name, seconds in times.items():
        print(f"{labels[name]:15s} median {median[name] * 1e3:7.2f} ms  "
              f"(min {min(seconds) * 1e3:.2f}, max {max(seconds) * 1e3:.2f})")
    print(f"ratio: {median['numpy'] / median['torch']:.2f}x (target <= {TARGET:g}x)")
    if "teaching" in median:
        print(f"teaching LSTM / FastLSTM: {median['teaching'] / median['numpy']:.1f}x")


if __name__ == "__main__":
    main()
