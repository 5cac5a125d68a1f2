"""Floating-point formats from their bits (chapter 11): the range and precision of fp32, fp16 and bf16 computed from
the widths of their exponent and mantissa, and rounding a float32 array to a narrower format, round half to even,
as the hardware (and ``tensor.to(torch.float16 / torch.bfloat16)``) does.

A binary floating-point number with ``e`` exponent bits and ``m`` mantissa bits is ``(-1)^s 1.f * 2^(E - bias)``,
``bias = 2^(e-1) - 1``; the largest exponent is reserved for inf and nan, and the smallest for the subnormals
``0.f * 2^(1 - bias)``, which fill the gap between 0 and the smallest normal number. NumPy only.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["FORMATS", "FormatInfo", "format_info", "round_to_format"]

FORMATS = {"fp32": (8, 23), "fp16": (5, 10), "bf16": (8, 7)}   # (exponent bits, mantissa bits); 1 sign bit each


class FormatInfo(NamedTuple):
    """A format's width and limits: ``eps`` is the gap between 1 and the next number (the relative precision)."""
    bits: int
    exponent_bits: int
    mantissa_bits: int
    max: float
    eps: float
    smallest_normal: float
    smallest_subnormal: float


def _widths(name: str) -> tuple[int, int]:
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; choose one of {sorted(FORMATS)}")
    return FORMATS[name]


def format_info(name: str) -> FormatInfo:
    """Range and precision of a format, from its exponent and mantissa widths."""
    e, m = _widths(name)
    bias = 2 ** (e - 1) - 1
    return FormatInfo(bits=1 + e + m, exponent_bits=e, mantissa_bits=m,
                      max=(2 - 2.0 ** -m) * 2.0 ** bias,      # all mantissa bits set, the largest finite exponent
                      eps=2.0 ** -m,
                      smallest_normal=2.0 ** (1 - bias),
                      smallest_subnormal=2.0 ** (1 - bias - m))


def round_to_format(x, name: str) -> np.ndarray:
    """float32 values rounded to the nearest number of format ``name`` (ties to even mantissa), returned as float32;
    beyond the largest finite number they become +-inf, below half the smallest subnormal +-0."""
    info = format_info(name)
    x = np.asarray(x, dtype=np.float32).astype(np.float64)      # every float32 is exact in float64
    _mantissa, exponent = np.frexp(x)                             # x = mantissa * 2**exponent, |mantissa| in [0.5, 1)
    # the spacing of the format's numbers around x: 2**(floor(log2|x|) - m), never below the subnormals' spacing
    spacing = np.maximum(np.ldexp(1.0, exponent - 1 - info.mantissa_bits), info.smallest_subnormal)
    finite = np.isfinite(x)
    rounded = np.where(finite, np.rint(np.where(finite, x, 0.0) / spacing) * spacing, x)   # rint: half to even
    # overflow: anything that rounds above max (the format's rounding goes to inf past max + half a spacing)
    rounded = np.where(finite & (np.abs(rounded) > info.max), np.copysign(np.inf, x), rounded)
    return rounded.astype(np.float32)
