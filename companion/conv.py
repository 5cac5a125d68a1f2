"""Convolution and pooling layers from scratch in NumPy, vectorised, with explicit backward passes.

Names, shapes and layouts follow ``torch.nn``: images are ``NCHW`` and a convolution's ``weight`` is
``(out_channels, in_channels, kh, kw)``, so weights copy by name from a ``torch.nn.Conv2d``::

    conv.load_state_dict(torch_conv.state_dict())

``Conv2d`` is a cross-correlation, as in every framework. It uses im2col: the input patches become the
columns of one matrix, so the forward pass and both weight and input gradients are single matrix products;
the backward pass folds the patch gradients back onto the image (col2im) with one matrix product and one
vectorised add per kernel offset (a loop over the ``kh * kw`` offsets; none over pixels or examples).
"""
from __future__ import annotations

import math

import numpy as np

from .layers import Module, Parameter

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
        rng = np.random.default_rng() if rng is None else rng
        # torch's default, kaiming_uniform_(a=sqrt(5)), works out to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
        bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(rng.uniform(-bound, bound, size=shape).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, size=self.out_channels).astype(dtype)) if bias else None
        self._cache = None

    def _geometry(self, x: np.ndarray) -> dict:
        """Sizes, and the grid of positions at which the matrix products are computed.

        The padded input is stored channel-first, ``(C, N, Hp, Wp)``, flattened per channel. With stride 1
        every kernel offset ``(i, j)`` is then one contiguous slice starting at ``i * Wp + j``, so we compute
        on the whole padded grid ``(Hp, Wp)`` and drop the positions outside ``(Ho, Wo)`` afterwards: slices
        copy and add at memory speed, which beats the few extra products while the waste is small.
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
        dtype, (kh, kw), (ph, pw) = self.weight.data.dtype, self.kernel_size, self.padding
        c, n, hp, wp, hg, wg = self.in_channels, g["n"], g["hp"], g["wp"], g["hg"], g["wg"]

        # Zero-padded input, channel-first: (C, N, Hp, Wp) flattened per channel, plus the slack.
        xp = np.zeros((c, g["length"]), dtype=dtype)
        xp[:, :n * hp * wp].reshape(c, n, hp, wp)[:, :, ph:ph + g["h"], pw:pw + g["w"]] = x.transpose(1, 0, 2, 3)

        # im2col: cols[(c, i, j), (n, r, s)] = xp[c, n, r*sh + i, s*sw + j], one strided view copied once.
        item = xp.itemsize
        patches = np.lib.stride_tricks.as_strided(
            xp, shape=(c, kh, kw, n, hg, wg),
            strides=(xp.strides[0], wp * item, item, hp * wp * item, self.stride[0] * wp * item,
                     self.stride[1] * item),
            writeable=False)
        # Reuse the previous call's column buffer when it fits: a fresh one this large costs page faults.
        cols = self._cache[0] if self._cache is not None else None
        if cols is None or cols.shape != (c * kh * kw, n * hg * wg) or cols.dtype != dtype:
            cols = np.empty((c * kh * kw, n * hg * wg), dtype=dtype)
        np.copyto(cols.reshape(patches.shape), patches)

        y = self.weight.data.reshape(self.out_channels, -1) @ cols  # (O, N*Hg*Wg): all positions at once
        y = y.reshape(self.out_channels, n, hg, wg)[:, :, :g["ho"], :g["wo"]].transpose(1, 0, 2, 3)
        out = np.empty((n, self.out_channels, g["ho"], g["wo"]), dtype=dtype)
        if self.bias is not None:
            np.add(y, self.bias.data[:, None, None], out=out)  # bias and the copy to NCHW in one pass
        else:
            np.copyto(out, y)
        self._cache = (cols, g)
        return out

    def backward(self, grad_out):
        cols, g = self._cached("_cache")
        n, ho, wo, hg, wg = g["n"], g["ho"], g["wo"], g["hg"], g["wg"]
        o, c, (kh, kw) = self.out_channels, self.in_channels, self.kernel_size
        grad_out = self._check_grad_shape(grad_out, (n, o, ho, wo))
        dtype = self.weight.data.dtype

        # The upstream gradient on the compute grid, channel-first; zero at the positions we dropped.
        if (hg, wg) == (ho, wo):
            g2 = np.ascontiguousarray(grad_out.transpose(1, 0, 2, 3), dtype=dtype)
        else:
            g2 = np.zeros((o, n, hg, wg), dtype=dtype)
            g2[:, :, :ho, :wo] = grad_out.transpose(1, 0, 2, 3)
        g2 = g2.reshape(o, n * hg * wg)

        if self.bias is not None:
            self.bias.grad += grad_out.sum(axis=(0, 2, 3), dtype=dtype)  # dl/db[o] = sum over n, r, s
        self.weight.grad += (cols @ g2.T).T.reshape(self.weight.shape)  # dl/dW = g cols^T

        # dl/dcols = W^T g, folded back onto the input (col2im): the patch entries of kernel offset (i, j)
        # came from the input shifted by (i, j), and overlapping patches add up. One product per offset
        # into a reused buffer, rather than all of dl/dcols at once, keeps the data in cache.
        dxp = np.zeros((c, g["length"]), dtype=dtype)
        part = np.empty((c, n * hg * wg), dtype=dtype)
        for i in range(kh):
            for j in range(kw):
                np.matmul(self.weight.data[:, :, i, j].T, g2, out=part)
                self._offset_view(dxp, g, i, j)[...] += part.reshape(c, n, hg, wg)
        (ph, pw), hp, wp = self.padding, g["hp"], g["wp"]
        dx = dxp[:, :n * hp * wp].reshape(c, n, hp, wp)[:, :, ph:ph + g["h"], pw:pw + g["w"]]
        return np.ascontiguousarray(dx.transpose(1, 0, 2, 3))

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
