"""Integer quantization from scratch: scales and zero points as ``torch.ao.quantization``'s min-max observers
compute them, per tensor or per channel, and the round trip float -> int8 -> float (taught in chapter 11).

A real number ``x`` is stored as an integer ``q = clamp(round(x / s + z), q_min, q_max)`` and read back as
``s * (q - z)``: ``s`` is the *scale* (the step between two representable values) and ``z`` the *zero point*
(the integer that stands for 0.0, so that zero padding and ReLU zeros are exact). *Symmetric* quantization fixes
``z`` (0 for int8) and covers ``[-max|x|, max|x|]``; *asymmetric* (affine) quantization fits ``[min x, max x]``,
always stretched to include 0. Per-channel quantization gives every slice along one axis (a weight matrix's output
rows) its own ``s`` and ``z``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["QUANT_RANGES", "QParams", "dequantize", "qparams", "quantize"]

QUANT_RANGES = {"qint8": (-128, 127), "quint8": (0, 255)}
_EPS = float(np.finfo(np.float32).eps)  # the smallest scale torch's observers allow


class QParams(NamedTuple):
    """Quantization parameters: ``scale`` and ``zero_point`` (arrays of one value per channel, or 0-d), the integer
    type's name, and the channel ``axis`` (None: one pair for the whole tensor)."""
    scale: np.ndarray
    zero_point: np.ndarray
    dtype: str
    axis: int | None


def _check_dtype(dtype: str) -> tuple[int, int]:
    if dtype not in QUANT_RANGES:
        raise ValueError(f"dtype must be one of {sorted(QUANT_RANGES)}, got {dtype!r}")
    return QUANT_RANGES[dtype]


def _channel_view(x: np.ndarray, axis: int | None) -> tuple[np.ndarray, tuple[int, ...]]:
    """x as float32 and the axes to reduce over (all, or all but ``axis``)."""
    x = np.asarray(x, dtype=np.float32)
    if axis is None:
        return x, tuple(range(x.ndim))
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for an array of shape {x.shape}")
    axis = axis % x.ndim
    return x, tuple(a for a in range(x.ndim) if a != axis)


def qparams(x, *, symmetric: bool = True, axis: int | None = None, dtype: str = "qint8") -> QParams:
    """Scale and zero point of ``x`` from its minimum and maximum (over the whole tensor, or per slice along
    ``axis``), computed in float32 as ``MinMaxObserver`` / ``PerChannelMinMaxObserver`` compute them."""
    q_min, q_max = _check_dtype(dtype)
    x, reduce = _channel_view(x, axis)
    if x.size == 0:
        raise ValueError("cannot choose a scale for an empty array")
    if not np.all(np.isfinite(x)):
        raise ValueError("x holds inf or nan; quantization needs finite values")
    min_neg = np.minimum(x.min(axis=reduce), np.float32(0))   # the range always includes 0
    max_pos = np.maximum(x.max(axis=reduce), np.float32(0))
    if symmetric:
        scale = np.maximum(np.maximum(-min_neg, max_pos) / np.float32((q_max - q_min) / 2), np.float32(_EPS))
        zero_point = np.full(scale.shape, 0 if dtype == "qint8" else 128, dtype=np.int64)
    else:
        scale = np.maximum((max_pos - min_neg) / np.float32(q_max - q_min), np.float32(_EPS))
        zero_point = np.clip(q_min - np.round(min_neg / scale).astype(np.int64), q_min, q_max)
    return QParams(scale.astype(np.float32), zero_point, dtype, None if axis is None else axis % x.ndim)


def _broadcast(values: np.ndarray, ndim: int, axis: int | None) -> np.ndarray:
    """Per-channel values shaped to broadcast against an array of ``ndim`` dimensions along ``axis``."""
    if axis is None:
        return values
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def quantize(x, params: QParams) -> np.ndarray:
    """``clamp(round(x / s + z), q_min, q_max)`` as int8 (qint8) or uint8 (quint8), rounding half to even, with
    ``x / s`` computed as ``x * (1 / s)`` in float32, as torch's x86 (FBGEMM) kernels compute it. They add ``z`` *before*
    rounding, so a tie ``x / s = k + 0.5`` rounds to the even one of ``k + z`` and ``k + z + 1``; per tensor its kernel
    does the multiply and the add as one fused operation (one rounding to float32), per channel as two."""
    q_min, q_max = _check_dtype(params.dtype)
    x, _reduce = _channel_view(x, params.axis)
    if params.axis is not None and x.shape[params.axis] != params.scale.size:
        raise ValueError(f"{params.scale.size} scales for {x.shape[params.axis]} channels along axis {params.axis} "
                         f"of an array of shape {x.shape}")
    inv_scale = _broadcast(np.float32(1) / params.scale, x.ndim, params.axis)
    zero_point = _broadcast(params.zero_point, x.ndim, params.axis)
    if params.axis is None:   # per tensor: round(x * (1/s) + z), the product and the sum rounded once to float32
        q = np.rint((x.astype(np.float64) * inv_scale + zero_point).astype(np.float32)).astype(np.int64)
    else:                     # per channel: round(x * (1/s) + z), the product and the sum each rounded to float32
        q = np.rint(x * inv_scale + zero_point.astype(np.float32)).astype(np.int64)
    return np.clip(q, q_min, q_max).astype(np.int8 if params.dtype == "qint8" else np.uint8)


def dequantize(q, params: QParams) -> np.ndarray:
    """``s * (q - z)`` in float32: the value each integer stands for."""
    q = np.asarray(q)
    if not np.issubdtype(q.dtype, np.integer):
        raise ValueError(f"dequantize expects integers (the output of quantize), got dtype {q.dtype}")
    scale = _broadcast(params.scale, q.ndim, params.axis)
    zero_point = _broadcast(params.zero_point, q.ndim, params.axis)
    return (scale * (q.astype(np.int64) - zero_point).astype(np.float32)).astype(np.float32)
