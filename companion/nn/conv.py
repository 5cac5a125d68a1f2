"""Convolution and pooling layers from scratch in NumPy, vectorised, with explicit backward passes.

Names, shapes and layouts follow ``torch.nn``: images are ``NCHW`` and a convolution's ``weight`` is
``(out_channels, in_channels, kh, kw)``, so weights copy by name from a ``torch.nn.Conv2d``::

    conv.load_state_dict(torch_conv.state_dict())

``Conv2d`` is a cross-correlation, as in every framework. It uses im2col: the input patches of all the
images become the columns of one matrix (channel-first, built with one strided copy per kernel offset), so the
forward pass and both weight and input gradients are single matrix products; the backward pass folds the
patch gradients back onto the image (col2im) with one vectorised add per kernel offset (loops over the
``kh * kw`` offsets only; none over pixels or examples). Large work arrays are kept between calls.
"""
from __future__ import annotations

import math

import numpy as np

from ..book.runtime import default_generator
from .module import Module, Parameter

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten", "conv_output_size"]


def _pair(value, name: str, *, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``, ``(3, 5) -> (3, 5)``; each entry an integer >= ``minimum``."""
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= minimum for v in pair
    ):
        raise ValueError(f"{name} must be an integer >= {minimum} or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv_output_size(n: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Output length ``floor((n + 2 p - k) / s) + 1`` of a convolution or pooling along one axis."""
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


def _as_float(x) -> np.ndarray:
    """Pooling and flattening keep a floating input's dtype; other inputs become float32."""
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def _check_nchw(layer: Module, x: np.ndarray, channels: int | None = None) -> None:
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        expected = f"(N, {channels}, H, W)" if channels is not None else "(N, C, H, W)"
        raise ValueError(f"{layer!r} expected input of shape {expected}, got {x.shape}")


def _output_hw(layer: Module, x: np.ndarray, kernel, stride, padding) -> tuple[int, int]:
    """(Ho, Wo), or a ValueError saying that the padded input is smaller than the kernel."""
    (h, w), (kh, kw), (ph, pw) = x.shape[2:], kernel, padding
    if h + 2 * ph < kh or w + 2 * pw < kw:
        raise ValueError(
            f"{layer!r}: input of shape {x.shape} is too small for the kernel: the padded input is "
            f"{h + 2 * ph}x{w + 2 * pw} (H x W), the kernel {kh}x{kw}"
        )
    return (conv_output_size(h, kh, stride[0], ph), conv_output_size(w, kw, stride[1], pw))


def _inside(shift: int, stride: int, size: int, count: int) -> tuple[int, int]:
    """The range ``[first, stop)`` of output positions ``r < count`` whose input position ``r * stride + shift``
    lies inside ``[0, size)``."""
    first = max(0, (stride - 1 - shift) // stride)  # ceil(-shift / stride), at least 0
    stop = min(count, (size - 1 - shift) // stride + 1)
    return first, max(first, stop)


class Conv2d(Module):
    """2-D cross-correlation of ``NCHW`` images, ``y[n, o] = b[o] + sum_c W[o, c] * x[n, c]``, like torch's."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, bias: bool = True,
                 *, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Conv2d: {name} must be a positive integer, got {value!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _pair(kernel_size, "Conv2d: kernel_size", minimum=1)
        self.stride = _pair(stride, "Conv2d: stride", minimum=1)
        self.padding = _pair(padding, "Conv2d: padding", minimum=0)
        rng = default_generator() if rng is None else rng
        # torch's default, kaiming_uniform_(a=sqrt(5)), works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, size=self.out_channels).astype(dtype)) if bias else None
        self._cache = None
        self._scratch = {}

    def _geometry(self, x: np.ndarray) -> dict:
        """Sizes, and the grid ``(Hg, Wg)`` on which the backward pass computes the patch gradients.

        Arrays are stored channel-first, ``(C, N, H, W)``, so that one matrix product covers all the
        positions of all the images. The forward pass and the weight gradient work on the output grid
        ``(Ho, Wo)``. For the input gradient of a stride-1 layer the upstream gradient is laid on the whole
        padded grid ``(Hp, Wp)`` (zeros at the extra positions): every kernel offset ``(i, j)`` of the fold is
        then one contiguous slice starting at ``i * Wp + j`` of the flattened padded input, which adds at
        memory speed and beats the few extra products while the waste is small. Otherwise the grid is
        ``(Ho, Wo)`` and the fold adds strided views.
        """
        n, _, h, w = x.shape
        ho, wo = _output_hw(self, x, self.kernel_size, self.stride, self.padding)
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        hp, wp = h + 2 * ph, w + 2 * pw
        flat = self.stride == (1, 1) and hp * wp <= 1.5 * ho * wo
        hg, wg = (hp, wp) if flat else (ho, wo)
        # Slack after the last image so that every offset slice of length n * hp * wp stays in the buffer.
        length = n * hp * wp + (kh - 1) * wp + (kw - 1)
        return dict(n=n, h=h, w=w, ho=ho, wo=wo, hp=hp, wp=wp, hg=hg, wg=wg, length=length)

    def _buffer(self, name: str, shape: tuple, dtype, zeros: bool = False, key=None) -> np.ndarray:
        """A work array kept between calls (a fresh large one costs page faults), remade when its shape, dtype
        or ``key`` changes. Callers write only the parts they use, so the rest of a ``zeros`` buffer stays
        zero; ``key`` names what decides those parts (the input's shape)."""
        dtype = np.dtype(dtype)
        entry = self._scratch.get(name)
        if entry is None or entry[0].shape != shape or entry[0].dtype != dtype or entry[1] != key:
            entry = ((np.zeros if zeros else np.empty)(shape, dtype=dtype), key)
            self._scratch[name] = entry
        return entry[0]

    def _offset_view(self, buffer: np.ndarray, g: dict, i: int, j: int) -> np.ndarray:
        """``(rows, N, Hg, Wg)`` view of a channel-first padded buffer at kernel offset ``(i, j)``."""
        (sh, sw), hp, wp = self.stride, g["hp"], g["wp"]
        start = i * wp + j
        view = buffer[:, start:start + g["n"] * hp * wp].reshape(-1, g["n"], hp, wp)
        return view[:, :, ::sh, ::sw][:, :, :g["hg"], :g["wg"]]

    def forward(self, x):
        x = np.asarray(x)
        _check_nchw(self, x, self.in_channels)
        g = self._geometry(x)
        dtype, (kh, kw), (sh, sw), (ph, pw) = self.weight.data.dtype, self.kernel_size, self.stride, self.padding
        o, c, n, ho, wo = self.out_channels, self.in_channels, g["n"], g["ho"], g["wo"]

        # im2col: cols[(c, i, j), (n, r, s)] = x[n, c, r*sh + i - ph, s*sw + j - pw], zero where that falls in
        # the padding. One strided copy per kernel offset (each reads the whole input in one sweep) into a
        # buffer reused between calls (a fresh one this large costs page faults). Only the positions inside
        # the input are written, so the padding positions stay zero; the buffer is remade if the shape changes.
        cols = self._buffer("cols", (c * kh * kw, n * ho * wo), dtype, zeros=True, key=x.shape)
        blocks = cols.reshape(c, kh, kw, n, ho, wo)
        xt = x.transpose(1, 0, 2, 3)
        for i in range(kh):
            r0, r1 = _inside(i - ph, sh, g["h"], ho)
            for j in range(kw):
                s0, s1 = _inside(j - pw, sw, g["w"], wo)
                if r0 < r1 and s0 < s1:
                    blocks[:, i, j, :, r0:r1, s0:s1] = xt[:, :, r0 * sh + i - ph:(r1 - 1) * sh + i - ph + 1:sh,
                                                          s0 * sw + j - pw:(s1 - 1) * sw + j - pw + 1:sw]

        # One product for all positions of all images, (O, C*kh*kw) @ (C*kh*kw, N*Ho*Wo): one large BLAS call,
        # rather than one per image, which threads well even on a busy machine.
        y = self._buffer("output", (o, n * ho * wo), dtype)
        np.matmul(self.weight.data.reshape(o, -1), cols, out=y)
        y = y.reshape(o, n, ho, wo).transpose(1, 0, 2, 3)
        out = np.empty((n, o, ho, wo), dtype=dtype)
        if self.bias is not None:
            np.add(y, self.bias.data[:, None, None], out=out)  # bias and the copy to NCHW in one pass
        else:
            np.copyto(out, y)
        self._cache = (cols, g)
        return out

    def backward(self, grad_out):
        cols, g = self._cached("_cache")
        n, ho, wo, hg, wg, hp, wp = g["n"], g["ho"], g["wo"], g["hg"], g["wg"], g["hp"], g["wp"]
        o, c, (kh, kw), (ph, pw) = self.out_channels, self.in_channels, self.kernel_size, self.padding
        grad_out = self._check_grad_shape(grad_out, (n, o, ho, wo))
        dtype = self.weight.data.dtype

        # The upstream gradient, channel-first like cols: (O, N*Ho*Wo).
        g2 = self._buffer("grad_output", (o, n, ho, wo), dtype)
        g2[...] = grad_out.transpose(1, 0, 2, 3)
        g2 = g2.reshape(o, n * ho * wo)
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=1, dtype=dtype)  # dl/db[o] = sum over n, r, s
        self.weight.grad += (cols @ g2.T).T.reshape(self.weight.shape)  # dl/dW = g cols^T

        # dl/dcols = W^T g in one product, its rows ordered (i, j, c) so that the block of kernel offset (i, j)
        # is C contiguous rows, then folded back onto the padded input (col2im): those entries came from the
        # input shifted by (i, j), and overlapping patches add up, one vectorised add per offset.
        if (hg, wg) != (ho, wo):
            # Padded grid (stride 1): zeros at the positions outside (Ho, Wo), never written, so they stay
            # zero in the reused buffer; the fold's slices then land where they belong.
            grid = self._buffer("grad_grid", (o, n, hg, wg), dtype, zeros=True)
            grid[:, :, :ho, :wo] = g2.reshape(o, n, ho, wo)
            g2 = grid.reshape(o, n * hg * wg)
        wt = np.ascontiguousarray(self.weight.data.transpose(2, 3, 1, 0)).reshape(kh * kw * c, o)
        dcols = self._buffer("grad_cols", (kh * kw * c, n * hg * wg), dtype)
        np.matmul(wt, g2, out=dcols)
        dxp = self._buffer("grad_input", (c, g["length"]), dtype)
        dxp.fill(0)
        size = n * hp * wp
        for i in range(kh):
            for j in range(kw):
                block = dcols[(i * kw + j) * c:(i * kw + j + 1) * c]
                if (hg, wg) == (hp, wp):  # on the padded grid: the slice starting at i * Wp + j, as 2-D arrays
                    view = dxp[:, i * wp + j:i * wp + j + size]
                    np.add(view, block, out=view)
                else:
                    view = self._offset_view(dxp, g, i, j)
                    np.add(view, block.reshape(c, n, hg, wg), out=view)
        dx = dxp[:, :n * hp * wp].reshape(c, n, hp, wp)[:, :, ph:ph + g["h"], pw:pw + g["w"]]
        return dx.transpose(1, 0, 2, 3).copy()  # a new array (never a view of the work buffer), NCHW

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.bias is None:
            text += ", bias=False"
        return text


class _Pool2d(Module):
    """Shared set-up of the pooling layers: sizes as torch takes them, and the windows of an input."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        name = type(self).__name__
        # Keep the arguments as given for the repr (torch prints them unchanged); compute with pairs.
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding
        self._k = _pair(kernel_size, f"{name}: kernel_size", minimum=1)
        self._s = _pair(self.stride, f"{name}: stride", minimum=1)
        self._p = _pair(padding, f"{name}: padding", minimum=0)
        if self._p[0] > self._k[0] // 2 or self._p[1] > self._k[1] // 2:
            raise ValueError(f"{name}: padding must be at most half the kernel size (as in torch), "
                             f"got padding={padding!r} for kernel_size={kernel_size!r}")
        self._cache = None

    def _windows(self, x: np.ndarray, fill: float):
        """Padded input ``(N, C, Hp, Wp)`` and its windows ``(N, C, Ho, Wo, kh, kw)`` (a view)."""
        _check_nchw(self, x)
        ho, wo = _output_hw(self, x, self._k, self._s, self._p)
        (ph, pw), (sh, sw) = self._p, self._s
        xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill) if ph or pw else x
        windows = np.lib.stride_tricks.sliding_window_view(xp, self._k, axis=(2, 3))
        return xp, windows[:, :, ::sh, ::sw][:, :, :ho, :wo]

    def _fold(self, grad_windows, shape, dtype) -> np.ndarray:
        """Add per-window gradients ``(N, C, Ho, Wo, kh, kw)`` back onto the input (one add per offset)."""
        n, c, h, w = shape
        (kh, kw), (sh, sw), (ph, pw) = self._k, self._s, self._p
        ho, wo = grad_windows.shape[2:4]
        dxp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=dtype)
        for i in range(kh):
            for j in range(kw):
                dxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += grad_windows[..., i, j]
        return dxp[:, :, ph:ph + h, pw:pw + w]

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Maximum over each window; the gradient goes to the window's first maximum (as in torch)."""

    def forward(self, x):
        x = _as_float(x)
        _, windows = self._windows(x, fill=-np.inf)  # padding never wins the max, as in torch
        n, c, ho, wo, kh, kw = windows.shape
        flat = windows.reshape(n, c, ho, wo, kh * kw)
        # argmax returns the first maximum in row-major window order, torch's tie rule (NaN counts as max).
        arg = flat.argmax(axis=-1)
        self._cache = (arg, x.shape, x.dtype)
        return np.take_along_axis(flat, arg[..., None], axis=-1)[..., 0]

    def backward(self, grad_out):
        arg, shape, dtype = self._cached("_cache")
        grad_out = self._check_grad_shape(grad_out, arg.shape)
        kh, kw = self._k
        onehot = arg[..., None] == np.arange(kh * kw)  # (N, C, Ho, Wo, kh*kw): where each max came from
        grad_windows = np.where(onehot, grad_out[..., None], 0).astype(dtype, copy=False)
        grad_windows = grad_windows.reshape(arg.shape + (kh, kw))
        return self._fold(grad_windows, shape, dtype)

    def extra_repr(self) -> str:
        return super().extra_repr() + ", dilation=1, ceil_mode=False"


class AvgPool2d(_Pool2d):
    """Mean over each window; padding counts as zeros in the mean (torch's ``count_include_pad=True``)."""

    def forward(self, x):
        x = _as_float(x)
        _, windows = self._windows(x, fill=0.0)
        self._cache = (windows.shape, x.shape, x.dtype)
        return windows.mean(axis=(-2, -1), dtype=x.dtype)

    def backward(self, grad_out):
        wshape, shape, dtype = self._cached("_cache")
        grad_out = self._check_grad_shape(grad_out, wshape[:4])
        kh, kw = self._k
        # Each input in a window receives 1/(kh*kw) of the window's gradient.
        share = (grad_out.astype(dtype, copy=False) / (kh * kw))[..., None, None]
        return self._fold(np.broadcast_to(share, wshape), shape, dtype)


class Flatten(Module):
    """Merge the axes ``start_dim`` to ``end_dim`` into one, as ``torch.nn.Flatten`` (default: all but N)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)
        self._shape = None

    def forward(self, x):
        x = np.asarray(x)
        needed = max(d + 1 if d >= 0 else -d for d in (self.start_dim, self.end_dim))
        if x.ndim < needed:
            raise ValueError(f"{self!r} expected an input with at least {needed} axes, got shape {x.shape}")
        start, end = self.start_dim % x.ndim, self.end_dim % x.ndim
        if start > end:
            raise ValueError(f"{self!r}: start_dim comes after end_dim for an input of shape {x.shape}")
        self._shape = x.shape
        y = x.reshape(x.shape[:start] + (-1,) + x.shape[end + 1:])
        # A new array, unlike torch's view: changing the input later must not change this output.
        return y.copy() if np.may_share_memory(y, x) else y

    def backward(self, grad_out):
        shape = self._cached("_shape")
        grad_out = np.asarray(grad_out)
        start, end = self.start_dim % len(shape), self.end_dim % len(shape)
        expected = shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
        return self._check_grad_shape(grad_out, expected).reshape(shape)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
