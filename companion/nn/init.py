"""Weight initialization from scratch, with the rules of ``torch.nn.init`` (taught in chapter 3, section 3.6).

Each function fills an array or a :class:`~companion.nn.module.Parameter` in place and returns it, drawing from
``rng`` or, without one, from :func:`companion.book.runtime.default_generator` (seeded by ``set_seed``)::

    layer = Linear(256, 256)
    kaiming_normal_(layer.weight, nonlinearity="relu"); zeros_(layer.bias)

The distributions equal torch's (same bounds and standard deviations from the same fans and gains); the random
numbers differ, since NumPy and torch have different generators.
"""
from __future__ import annotations

import math

import numpy as np

from ..book.runtime import default_generator
from .module import Parameter

__all__ = ["calculate_gain", "calculate_fan_in_and_fan_out", "uniform_", "normal_", "zeros_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps the variance of activations through the nonlinearity: torch's table
    (linear and sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)), selu 3/4).

    Taught in chapter 3, section 3.6.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r} (use e.g. 'linear', 'tanh', "
                     f"'relu' or 'leaky_relu')")


def calculate_fan_in_and_fan_out(weight):
    """``(fan_in, fan_out)`` of a weight ``(out, in, *kernel)``: in and out times the kernel's size, as torch.

    Taught in chapter 3, section 3.6.
    """
    shape = _array(weight).shape
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions (out, in, ...), "
                         f"got shape {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def _array(tensor) -> np.ndarray:
    """The array to fill: a Parameter's data or the array itself (which must be floating)."""
    data = tensor.data if isinstance(tensor, Parameter) else tensor
    if not isinstance(data, np.ndarray) or data.dtype.kind != "f":
        raise TypeError(f"init functions fill a Parameter or a floating-point ndarray in place, "
                        f"got {type(tensor).__name__}")
    return data


def _fan(weight, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = calculate_fan_in_and_fan_out(weight)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor, a=0.0, b=1.0, rng=None):
    """Fill with draws from U(a, b). Taught in chapter 3, section 3.6."""
    data = _array(tensor)
    rng = default_generator() if rng is None else rng
    data[...] = rng.uniform(a, b, data.shape)
    return tensor


def normal_(tensor, mean=0.0, std=1.0, rng=None):
    """Fill with draws from N(mean, std^2). Taught in chapter 3, section 3.6."""
    data = _array(tensor)
    rng = default_generator() if rng is None else rng
    data[...] = rng.normal(mean, std, data.shape)
    return tensor


def zeros_(tensor):
    """Fill with zeros. Taught in chapter 3, section 3.6."""
    _array(tensor)[...] = 0
    return tensor


def xavier_uniform_(tensor, gain=1.0, rng=None):
    """Glorot and Bengio (2010): U(-a, a) with ``a = gain * sqrt(6 / (fan_in + fan_out))``, so that the
    standard deviation is ``gain * sqrt(2 / (fan_in + fan_out))``.

    Taught in chapter 3, section 3.6.
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # U(-a, a) has standard deviation a / sqrt(3)
    return uniform_(tensor, -bound, bound, rng=rng)


def xavier_normal_(tensor, gain=1.0, rng=None):
    """Glorot and Bengio (2010): N(0, std^2) with ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Taught in chapter 3, section 3.6.
    """
    fan_in, fan_out = calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std, rng=rng)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """He et al. (2015): U(-b, b) with ``b = sqrt(3) * gain / sqrt(fan)``; ``a`` is leaky ReLU's slope.

    Taught in chapter 3, section 3.6.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, rng=rng)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """He et al. (2015): N(0, std^2) with ``std = gain / sqrt(fan)`` (``sqrt(2 / fan_in)`` for ReLU).

    Taught in chapter 3, section 3.6.
    """
    std = calculate_gain(nonlinearity, a) / math.sqrt(_fan(tensor, mode))
    return normal_(tensor, 0.0, std, rng=rng)
