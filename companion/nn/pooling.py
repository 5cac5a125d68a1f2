"""Max and average pooling from scratch in NumPy, as taught in chapter 6, section 6.8 (``torch.nn.MaxPool2d``,
``torch.nn.AvgPool2d``).

A pooling layer looks at windows of each channel (:func:`pool_windows`, a view of the padded input) and
summarises each by one number. Its backward pass hands each window's gradient back to the inputs of the
window: all of it to the maximum (max pooling), an equal share to each input (average pooling).
:func:`fold_windows` adds those per-window gradients back onto the input, so that inputs shared by
overlapping windows collect the gradient of every window they belong to. Functional cores with explicit
caches, thin Modules over them.
"""
from __future__ import annotations

import numpy as np

from .checks import as_float
from .conv import check_nchw, check_window_fits, pair
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "pool_windows", "fold_windows", "max_pool2d_forward", "max_pool2d_backward",
           "avg_pool2d_forward", "avg_pool2d_backward"]


# --- the functional core ----------------------------------------------------------------------------------

def pool_windows(x, kernel_size, stride, padding, fill):
    """The windows of ``x`` (N, C, H, W) padded with ``fill``: a view of shape (N, C, Ho, Wo, kh, kw).

    Taught in chapter 6, section 6.8.
    """
    (ph, pw), (sh, sw) = padding, stride
    x_padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(x_padded, kernel_size, axis=(2, 3))
    return windows[:, :, ::sh, ::sw]  # every s-th window


def fold_windows(dwindows, x_shape, stride, padding):
    """Add per-window gradients ``dwindows`` (N, C, Ho, Wo, kh, kw) back onto an input of shape ``x_shape``.

    The adjoint of :func:`pool_windows`: an input that sits in several windows collects all their gradients.
    Taught in chapter 6, section 6.8.
    """
    n, c, h, w = x_shape
    ho, wo, kh, kw = dwindows.shape[2:]
    (sh, sw), (ph, pw) = stride, padding
    dx_padded = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dwindows.dtype)
    for u in range(kh):  # one add per position (u, v) in the window, for all windows at once
        for v in range(kw):
            dx_padded[:, :, u:u + sh * (ho - 1) + 1:sh, v:v + sw * (wo - 1) + 1:sw] += dwindows[..., u, v]
    return dx_padded[:, :, ph:ph + h, pw:pw + w]  # the gradient of the padding is dropped


def max_pool2d_forward(x, kernel_size, stride, padding):
    """The maximum of each window; returns ``(out, cache)``. Taught in chapter 6, section 6.8."""
    windows = pool_windows(x, kernel_size, stride, padding, fill=-np.inf)  # padding never wins, as in torch
    n, c, ho, wo, kh, kw = windows.shape
    flat = windows.reshape(n, c, ho, wo, kh * kw)
    argmax = flat.argmax(axis=-1)  # the first maximum in each window: torch's rule for ties
    out = np.take_along_axis(flat, argmax[..., None], axis=-1)[..., 0]
    return out, (x.shape, argmax, kernel_size, stride, padding)


def max_pool2d_backward(dout, cache):
    """dl/dx from ``dout`` (N, C, Ho, Wo): each window's gradient goes to its maximum. Chapter 6, section 6.8."""
    x_shape, argmax, (kh, kw), stride, padding = cache
    routed = (argmax[..., None] == np.arange(kh * kw)) * dout[..., None]  # all to the argmax, 0 to the rest
    return fold_windows(routed.reshape(argmax.shape + (kh, kw)), x_shape, stride, padding)


def avg_pool2d_forward(x, kernel_size, stride, padding):
    """The mean of each window, padding counted as zeros; returns ``(out, cache)``. Chapter 6, section 6.8."""
    windows = pool_windows(x, kernel_size, stride, padding, fill=0.0)  # torch's count_include_pad=True
    return windows.mean(axis=(-2, -1)), (x.shape, kernel_size, stride, padding)


def avg_pool2d_backward(dout, cache):
    """dl/dx from ``dout`` (N, C, Ho, Wo): each input of a window gets 1/(kh kw) of its gradient. Section 6.8."""
    x_shape, (kh, kw), stride, padding = cache
    share = dout[..., None, None] / (kh * kw)
    return fold_windows(np.broadcast_to(share, dout.shape + (kh, kw)), x_shape, stride, padding)


# --- the layers -------------------------------------------------------------------------------------------

class _Pool2d(Module):
    """What the pooling layers share: their arguments, as torch takes them, and the input checks."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        # Keep the arguments as given for the repr (torch prints them unchanged); compute with pairs.
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self._k = pair(kernel_size, "kernel_size", name)
        self._s = pair(self.stride, "stride", name)
        self._p = pair(padding, "padding", name, minimum=0)
        if self._p[0] > self._k[0] // 2 or self._p[1] > self._k[1] // 2:
            raise ValueError(f"{name}: padding must be at most half the kernel size (as in torch), "
                             f"got padding={padding!r} for kernel_size={kernel_size!r}")
        self._cache = None

    def _checked_input(self, x) -> np.ndarray:
        x = as_float(x)  # a floating input keeps its dtype; integers become float32
        check_nchw(x, None, repr(self))
        check_window_fits(x, self._k, self._p, repr(self))
        return x

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over each window; the gradient goes to the window's first maximum, as in torch.

    Taught in chapter 6, section 6.8.
    """

    def forward(self, x):
        out, cache = max_pool2d_forward(self._checked_input(x), self._k, self._s, self._p)
        self._cache = (cache, out.shape)
        return out

    def backward(self, grad_out):
        cache, out_shape = self._cached("_cache")
        return max_pool2d_backward(self._check_grad_shape(grad_out, out_shape), cache)

    def extra_repr(self) -> str:
        return super().extra_repr() + ", dilation=1, ceil_mode=False"


class AvgPool2d(_Pool2d):
    """Mean over each window; padding counts as zeros in the mean (torch's ``count_include_pad=True``).

    Taught in chapter 6, section 6.8.
    """

    def forward(self, x):
        out, cache = avg_pool2d_forward(self._checked_input(x), self._k, self._s, self._p)
        self._cache = (cache, out.shape)
        return out

    def backward(self, grad_out):
        cache, out_shape = self._cached("_cache")
        return avg_pool2d_backward(self._check_grad_shape(grad_out, out_shape), cache)
