"""Wall-clock timing for the book's cells and benchmarks: one helper, no framework.

Timings are shown, never asserted: they depend on the machine and on what else runs on it. For a GPU, pass
``sync=torch.cuda.synchronize`` so that a call is timed until its kernels have finished, not until they were
queued.
"""
from __future__ import annotations

import statistics
import time

__all__ = ["time_calls", "median_time"]


def _count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def time_calls(fn, *args, repeats: int = 5, warmup: int = 1, sync=None) -> list[float]:
    """Seconds of each of ``repeats`` calls ``fn(*args)``, after ``warmup`` untimed calls.

    ``sync`` (a function of no arguments, e.g. ``torch.cuda.synchronize``) is called before the clock starts and
    before it stops, so that asynchronous work is inside the timed interval.
    """
    _count(repeats, "repeats", 1)
    _count(warmup, "warmup", 0)
    if sync is not None and not callable(sync):
        raise TypeError(f"sync must be a function of no arguments or None, got {sync!r}")
    sync = sync or (lambda: None)
    for _ in range(warmup):
        fn(*args)
    sync()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(*args)
        sync()
        seconds.append(time.perf_counter() - start)
    return seconds


def median_time(fn, *args, repeats: int = 5, warmup: int = 1, sync=None) -> float:
    """Median wall-clock seconds of ``fn(*args)`` over ``repeats`` calls after ``warmup`` untimed ones."""
    return statistics.median(time_calls(fn, *args, repeats=repeats, warmup=warmup, sync=sync))
