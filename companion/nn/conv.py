"""The convolution layer from scratch in NumPy, as taught in chapter 6, section 6.8 (``torch.nn.Conv2d``).

Everything is one operation, :func:`cross_correlate`: the forward pass is a cross-correlation of the padded
input with the kernel; the weight gradient is a cross-correlation of the padded input with the upstream
gradient; the input gradient is a full convolution of the upstream gradient with the kernel, i.e. a
cross-correlation with the kernel rotated by 180 degrees. The functional core keeps an explicit cache
(``out, cache = conv2d_forward(x, w, b, stride, padding)``, ``dx, dw, db = conv2d_backward(dout, cache)``); the
``Conv2d`` Module is a thin layer over it.

Names, shapes and layouts follow ``torch.nn``: images are ``NCHW`` and ``weight`` is
``(out_channels, in_channels, kh, kw)``, so weights copy by name: ``conv.load_state_dict(torch_conv.state_dict())``.
This is the readable version; :mod:`companion.nn.fast_conv` holds a tuned twin, tested equal to it.

The geometry helpers (:func:`pair`, :func:`check_nchw`, :func:`check_window_fits`, :func:`conv_output_size`)
are shared with the pooling layers.
"""
from __future__ import annotations

import math

import numpy as np

from ..book.runtime import default_generator
from .checks import positive_int
from .module import Module, Parameter

__all__ = ["Conv2d", "cross_correlate", "conv2d_forward", "conv2d_backward", "conv_output_size", "pair",
           "check_nchw", "check_window_fits"]


# --- geometry and input checks (shared with pooling) ------------------------------------------------------

def pair(value, name: str, owner: str, minimum: int = 1) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``: (rows, columns), each an integer >= ``minimum``; else a ValueError."""
    values = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                                   and v >= minimum for v in values):
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum} or a pair of them, got {value!r}")
    return int(values[0]), int(values[1])


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output length ``floor((n + 2 p - k) / s) + 1`` of a convolution or pooling along one axis (section 6.3)."""
    for name, value, minimum in (("n", n, 1), ("kernel_size", kernel_size, 1), ("stride", stride, 1),
                                 ("padding", padding, 0)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
            raise ValueError(f"conv_output_size: {name} must be an integer >= {minimum}, got {value!r}")
    padded = n + 2 * padding
    if padded < kernel_size:
        raise ValueError(
            f"conv_output_size: kernel_size={kernel_size} is larger than the padded input "
            f"{n} + 2*{padding} = {padded}, so there is no output"
        )
    return (padded - kernel_size) // stride + 1


def check_nchw(x: np.ndarray, channels: int | None, owner: str) -> None:
    """Raise ``ValueError`` unless ``x`` is a batch of images ``(N, C, H, W)`` (with ``C == channels`` if given)."""
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{owner} expected input of shape {expected}, got {x.shape}")


def check_window_fits(x: np.ndarray, kernel_size: tuple[int, int], padding: tuple[int, int], owner: str) -> None:
    """Raise ``ValueError`` if the padded image is smaller than the kernel (there would be no output)."""
    (h, w), (kh, kw), (ph, pw) = x.shape[2:], kernel_size, padding
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(f"{owner}: input of shape {x.shape} is too small for the kernel: the padded input is "
                         f"{h + 2 * ph}x{w + 2 * pw} (H x W), the kernel {kh}x{kw}")


# --- the functional core ----------------------------------------------------------------------------------

def cross_correlate(x, w, stride=(1, 1)):
    """``y[n, o, i, j] = sum over c, u, v of w[o, c, u, v] * x[n, c, s*i + u, t*j + v]``, stride ``(s, t)``.

    ``x`` (N, C, H, W), ``w`` (O, C, kh, kw) -> ``y`` (N, O, Ho, Wo); no padding, no bias.
    Taught in chapter 6, section 6.8.
    """
    patches = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(2, 3))  # (N, C, H-kh+1, W-kw+1, kh, kw)
    patches = patches[:, :, ::stride[0], ::stride[1]]  # every s-th position: (N, C, Ho, Wo, kh, kw)
    return np.einsum("nchwuv,ocuv->nohw", patches, w, optimize=True)  # one dot product per position


def conv2d_forward(x, w, b, stride=(1, 1), padding=(0, 0)):
    """Forward pass of a convolution layer, ``y = b + w * pad(x)`` (``*`` the cross-correlation).

    ``x`` (N, C, H, W), ``w`` (O, C, kh, kw), ``b`` (O,) or None; ``stride`` and ``padding`` are pairs
    (rows, columns). Returns ``y`` (N, O, Ho, Wo) and the cache :func:`conv2d_backward` needs.
    Taught in chapter 6, section 6.8.
    """
    ph, pw = padding
    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # zeros around each image
    out = cross_correlate(x_padded, w, stride)
    if b is not None:
        out = out + b[:, None, None]  # one bias per output channel
    return out, (x_padded, w, stride, padding)


def conv2d_backward(dout, cache):
    """Backward pass of a convolution layer: ``dx, dw, db`` from ``dout`` = dl/dy (N, O, Ho, Wo).

    ``dw`` is the cross-correlation of the padded input with ``dout``; ``dx`` is the full convolution of
    ``dout`` with the kernel, i.e. a cross-correlation with the kernel rotated by 180 degrees.
    Taught in chapter 6, section 6.8.
    """
    x_padded, w, (sh, sw), (ph, pw) = cache
    n, o, ho, wo = dout.shape
    kh, kw = w.shape[2:]
    # Spread dout to stride 1: output (i, j) sat at (s*i, t*j); zeros at the positions a stride skipped.
    spread = np.zeros((n, o, sh * (ho - 1) + 1, sw * (wo - 1) + 1), dtype=dout.dtype)
    spread[:, :, ::sh, ::sw] = dout
    hu, wu = spread.shape[2] + kh - 1, spread.shape[3] + kw - 1  # the part of x_padded the windows cover
    db = dout.sum(axis=(0, 2, 3))
    # dl/dw[o, c] = sum over the images n of x_padded[n, c] correlated with spread[n, o]: swap N and C
    dw = cross_correlate(x_padded[:, :, :hu, :wu].transpose(1, 0, 2, 3), spread.transpose(1, 0, 2, 3))
    dw = dw.transpose(1, 0, 2, 3)  # (C, O, kh, kw) -> (O, C, kh, kw)
    # dl/dx_padded: pad spread by k - 1 on every side, correlate with the rotated kernel, channels swapped
    full = np.pad(spread, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    rotated = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, O, kh, kw)
    dx_padded = np.zeros_like(x_padded)
    dx_padded[:, :, :hu, :wu] = cross_correlate(full, rotated)  # rows no window reached get no gradient
    h, w_in = x_padded.shape[2] - 2 * ph, x_padded.shape[3] - 2 * pw
    return dx_padded[:, :, ph:ph + h, pw:pw + w_in], dw, db


# --- the layer --------------------------------------------------------------------------------------------

class Conv2d(Module):
    """2-D cross-correlation of ``NCHW`` images with ``out_channels`` kernels, as ``torch.nn.Conv2d``.

    Taught in chapter 6, section 6.8; :class:`companion.nn.fast_conv.FastConv2d` is its tuned twin.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, *, rng=None,
                 dtype=np.float32):
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2d")
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2d")
        self.stride = pair(stride, "stride", "Conv2d")
        self.padding = pair(padding, "padding", "Conv2d", minimum=0)
        rng = default_generator() if rng is None else rng
        # torch's default, kaiming_uniform_(a=sqrt(5)), works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, size=self.out_channels).astype(dtype)) if bias else None
        self._cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=self.weight.data.dtype)  # compute in the weights' dtype, like torch
        check_nchw(x, self.in_channels, repr(self))
        check_window_fits(x, self.kernel_size, self.padding, repr(self))
        bias = None if self.bias is None else self.bias.data
        out, cache = conv2d_forward(x, self.weight.data, bias, self.stride, self.padding)
        self._cache = (cache, out.shape)
        return out

    def backward(self, grad_out):
        cache, out_shape = self._cached("_cache")
        grad_out = self._check_grad_shape(grad_out, out_shape).astype(self.weight.data.dtype, copy=False)
        dx, dw, db = conv2d_backward(grad_out, cache)
        self.weight.grad += dw
        if self.bias is not None:
            self.bias.grad += db
        return dx

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text
