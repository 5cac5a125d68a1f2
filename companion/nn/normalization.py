"""Normalization layers in NumPy, thin Modules over cs231n forward/backward pairs: layer normalization
(``torch.nn.LayerNorm``, taught in chapter 8, section 8.7) and batch normalization (``torch.nn.BatchNorm1d``,
``torch.nn.BatchNorm2d``, taught in chapter 5, section 5.6).
"""
from __future__ import annotations

import numpy as np

from .checks import number_in_range, positive_int
from .module import Module, Parameter

__all__ = ["layer_norm_forward", "layer_norm_backward", "LayerNorm", "batch_norm_forward", "batch_norm_backward",
           "BatchNorm1d", "BatchNorm2d"]


def layer_norm_forward(x, weight, bias, eps=1e-5, ndim=1):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last ``ndim`` axes (biased variance); ``(out,
    cache)``. ``weight`` and ``bias`` have the shape of those axes, or are None (no affine map).

    Taught in chapter 8, section 8.7.
    """
    axes = tuple(range(-ndim, 0))
    centred = x - x.mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + eps)  # 1 / standard deviation
    xhat = centred * rstd  # mean 0, variance 1 for every token
    out = xhat if weight is None else xhat * weight + bias
    return out, (xhat, rstd, weight, axes)


def layer_norm_backward(dout, cache):
    """``(dx, dweight, dbias)``; ``dweight`` and ``dbias`` are None without an affine map.

    Taught in chapter 8, section 8.7.
    """
    xhat, rstd, weight, axes = cache
    dweight = dbias = None
    if weight is not None:
        rows = dout.reshape((-1,) + weight.shape)  # one row per token: the gain and bias serve every token
        dweight, dbias = (rows * xhat.reshape(rows.shape)).sum(axis=0), rows.sum(axis=0)
        dout = dout * weight
    # d xhat / dx removes the mean and the component along xhat, then scales by 1 / std.
    dx = rstd * (dout - dout.mean(axis=axes, keepdims=True) - xhat * (dout * xhat).mean(axis=axes, keepdims=True))
    return dx, dweight, dbias


class LayerNorm(Module):
    """``torch.nn.LayerNorm``: normalize every token over its last ``len(normalized_shape)`` axes, then scale by
    ``weight`` (ones at first) and shift by ``bias`` (zeros).

    Taught in chapter 8, section 8.7.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, *, dtype=np.float32):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must hold positive integers, got {normalized_shape!r}")
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), float(eps)
        self.elementwise_affine, self.dtype = bool(elementwise_affine), np.dtype(dtype)
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, x):
        x = self._check(x)
        weight, bias = (None, None) if self.weight is None else (self.weight.data, self.bias.data)
        out, self._cache = layer_norm_forward(x, weight, bias, self.eps, len(self.normalized_shape))
        return out

    def backward(self, grad_out):
        cache = self._cached("_cache")
        dx, dweight, dbias = layer_norm_backward(self._check_grad_shape(grad_out, cache[0].shape), cache)
        if self.weight is not None:
            self.weight.grad += dweight  # add: gradients accumulate until zero_grad, as in torch
            self.bias.grad += dbias
        return dx

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x)
        n = len(self.normalized_shape)
        if x.ndim < n or x.shape[x.ndim - n:] != self.normalized_shape:
            raise ValueError(f"LayerNorm expected input of shape (..., {', '.join(map(str, self.normalized_shape))}),"
                             f" got {x.shape}")
        return x.astype(self.weight.data.dtype if self.weight is not None else self.dtype, copy=False)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


# --- batch normalization (chapter 5) ------------------------------------------------------------------

def batch_norm_forward(x, weight, bias, mean=None, var=None, eps=1e-5):
    """Batch normalization over every axis but the channel axis 1; ``(out, cache)``.

    Without ``mean`` and ``var`` (training mode) each channel is normalized with the mean and the *biased*
    variance of the batch; with them (evaluation mode, the running averages) the same fixed affine map is applied
    to every example. Then ``out = xhat * weight + bias`` per channel (``weight``, ``bias`` of shape (C,) or None).
    The cache also holds the batch mean and biased variance, for the running averages.

    Taught in chapter 5, section 5.6.
    """
    axes = (0,) + tuple(range(2, x.ndim))  # (N, C), (N, C, L), (N, C, H, W): statistics per channel
    shape = (1, -1) + (1,) * (x.ndim - 2)  # a (C,) vector broadcast along the channel axis
    batch_stats = mean is None
    if batch_stats:
        mean = x.mean(axis=axes)
        var = np.square(x - mean.reshape(shape)).mean(axis=axes)  # biased: divide by the count
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = (x - mean.reshape(shape)) * rstd.reshape(shape)
    out = xhat if weight is None else xhat * weight.reshape(shape) + bias.reshape(shape)
    return out, (xhat, rstd, weight, axes, shape, batch_stats, mean, var)


def batch_norm_backward(dout, cache):
    """``(dx, dweight, dbias)``; ``dweight`` and ``dbias`` are None without an affine map.

    With batch statistics the mean and variance depend on every example of the batch, so ``dx`` loses the
    mean of the upstream gradient and its component along ``xhat`` (as in layer normalization, over the other
    axes); with fixed running statistics ``dx`` is just ``dout * weight / std``.

    Taught in chapter 5, section 5.6.
    """
    xhat, rstd, weight, axes, shape, batch_stats, _mean, _var = cache
    dweight = dbias = None
    if weight is not None:
        dweight, dbias = (dout * xhat).sum(axis=axes), dout.sum(axis=axes)
        dout = dout * weight.reshape(shape)
    if batch_stats:
        dout = (dout - dout.mean(axis=axes, keepdims=True)
                - xhat * (dout * xhat).mean(axis=axes, keepdims=True))
    return dout * rstd.reshape(shape), dweight, dbias


class _BatchNorm(Module):
    """What ``BatchNorm1d`` and ``BatchNorm2d`` share, as ``torch.nn.modules.batchnorm._BatchNorm``.

    ``weight`` (ones) and ``bias`` (zeros) are parameters; ``running_mean`` (zeros), ``running_var`` (ones) and
    ``num_batches_tracked`` are buffers. In training mode each forward normalizes with the batch statistics and
    moves the running averages: ``running = (1 - momentum) * running + momentum * batch``, with the *unbiased*
    batch variance (``momentum=None``: the cumulative average, ``1 / num_batches_tracked``). In evaluation mode
    it normalizes with the running averages. ``track_running_stats=False`` keeps no buffers and always uses the
    batch statistics.

    Taught in chapter 5, section 5.6.
    """

    _layouts = ()  # the input ranks a subclass accepts, and how to name them in an error

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, *,
                 dtype=np.float32):
        super().__init__()
        self.num_features = positive_int(num_features, "num_features", type(self).__name__)
        self.eps = number_in_range(eps, "eps", type(self).__name__, low=0.0, low_inclusive=False)
        self.momentum = None if momentum is None else number_in_range(momentum, "momentum", type(self).__name__,
                                                                      low=0.0, high=1.0 + 1e-12)
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        c = self.num_features
        self.weight = Parameter(np.ones(c, dtype=dtype)) if self.affine else None
        self.bias = Parameter(np.zeros(c, dtype=dtype)) if self.affine else None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, dtype=dtype))
            self.register_buffer("running_var", np.ones(c, dtype=dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:  # registered as None, as torch does: not in state_dict
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)
        self.dtype = np.dtype(dtype)

    def forward(self, x):
        x = self._check(x)
        weight, bias = (None, None) if self.weight is None else (self.weight.data, self.bias.data)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            count = x.size // self.num_features  # values per channel
            if count < 2:  # batch statistics of one value: torch refuses too
                raise ValueError(f"{type(self).__name__} with batch statistics needs more than 1 value per channel, "
                                 f"got input of shape {x.shape}: use a larger batch, or call eval() with "
                                 "track_running_stats=True")
            out, self._cache = batch_norm_forward(x, weight, bias, eps=self.eps)
            if self.training and self.track_running_stats:
                self.num_batches_tracked += 1
                momentum = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
                batch_mean, batch_var = self._cache[6], self._cache[7] * count / (count - 1)  # unbiased
                self.running_mean[...] = (1 - momentum) * self.running_mean + momentum * batch_mean
                self.running_var[...] = (1 - momentum) * self.running_var + momentum * batch_var
        else:
            out, self._cache = batch_norm_forward(x, weight, bias, self.running_mean, self.running_var, self.eps)
        return out

    def backward(self, grad_out):
        cache = self._cached("_cache")
        dx, dweight, dbias = batch_norm_backward(self._check_grad_shape(grad_out, cache[0].shape), cache)
        if self.weight is not None:
            self.weight.grad += dweight  # add: gradients accumulate until zero_grad, as in torch
            self.bias.grad += dbias
        return dx

    def astype(self, dtype):
        """Convert the parameters and the running averages to a floating dtype; returns self."""
        super().astype(dtype)
        self.dtype = np.dtype(dtype)
        if self.track_running_stats:
            self.running_mean = self.running_mean.astype(dtype)
            self.running_var = self.running_var.astype(dtype)
        return self

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x)
        name = type(self).__name__
        if x.ndim not in self._layouts or x.shape[1] != self.num_features:
            layouts = " or ".join(self._layouts[rank].format(c=self.num_features) for rank in self._layouts)
            raise ValueError(f"{name} expected input of shape {layouts}, got {x.shape}")
        return x.astype(self.weight.data.dtype if self.weight is not None else self.dtype, copy=False)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.affine}, track_running_stats={self.track_running_stats}")  # torch's repr, bias included


class BatchNorm1d(_BatchNorm):
    """``torch.nn.BatchNorm1d``: batch normalization of (N, C) features or (N, C, L) sequences, per channel C.

    Taught in chapter 5, section 5.6.
    """

    _layouts = {2: "(N, {c})", 3: "(N, {c}, L)"}


class BatchNorm2d(_BatchNorm):
    """``torch.nn.BatchNorm2d``: batch normalization of (N, C, H, W) images, per channel C.

    Taught in chapter 5, section 5.6.
    """

    _layouts = {4: "(N, {c}, H, W)"}
