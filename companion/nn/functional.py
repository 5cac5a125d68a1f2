"""The stateless math under the layers, in cs231n's style: ``out, cache = f_forward(...)`` and
``grads = f_backward(dout, cache)``.

A forward function returns its output and a *cache*, the values its backward function will need; the
backward function takes the gradient of the loss with respect to the output (``dout``) and that cache, and
returns the gradients with respect to the inputs, in argument order (one array for a function of one input,
a tuple for several, ``None`` for an integer input such as class labels). Nothing is stored between calls,
so one function can serve many calls at once (an RNN cell reused at every time step keeps one cache per step).
The Modules in ``linear``, ``activation`` and ``loss`` are thin wrappers that keep the cache of their last
forward. NumPy only.

Taught in chapter 2: the affine map in section 2.1, activations in 2.2, losses and softmax in 2.3, the linear
backward rule in 2.4.
"""
from __future__ import annotations

import numpy as np

from .checks import as_float, check_class_labels, check_same_shape

__all__ = ["linear_forward", "linear_backward", "relu_forward", "relu_backward", "sigmoid_forward",
           "sigmoid_backward", "tanh_forward", "tanh_backward", "softmax", "log_softmax", "cross_entropy_forward",
           "cross_entropy_backward", "mse_forward", "mse_backward"]


# --- the affine map ---------------------------------------------------------------------------------

def linear_forward(x, weight, bias):
    """``out = x W^T + b`` on the last axis of ``x`` (..., in); ``weight`` is (out, in), ``bias`` (out,) or None.

    Taught in chapter 2, section 2.1.
    """
    out = x @ weight.T
    if bias is not None:
        out = out + bias
    return out, (x, weight, bias)


def linear_backward(dout, cache):
    """``dx = dout W``, ``dW = dout^T x``, ``db = sum of dout`` over the examples (``db`` None without a bias).

    Taught in chapter 2, section 2.4.
    """
    x, weight, bias = cache
    dout_rows = dout.reshape(-1, weight.shape[0])  # one row per example, whatever the leading axes
    x_rows = x.reshape(-1, weight.shape[1])
    dx = dout @ weight
    dweight = dout_rows.T @ x_rows  # the weight serves every example: sum their gradients
    dbias = None if bias is None else dout_rows.sum(axis=0)
    return dx, dweight, dbias


# --- activations ------------------------------------------------------------------------------------

def relu_forward(x):
    """``relu(x) = max(x, 0)`` element by element; the cache is the input.

    Taught in chapter 2, section 2.2.
    """
    x = as_float(x)
    out = np.maximum(x, 0)
    return out, x


def relu_backward(dout, cache):
    """``dx = dout * 1[x > 0]``: the derivative at 0 is taken as 0, as in torch.

    Taught in chapter 2, section 2.2.
    """
    x = cache
    return dout * (x > 0)


def sigmoid_forward(x):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, computed without overflow; the cache is the output.

    Taught in chapter 2, section 2.2.
    """
    x = as_float(x)
    e = np.exp(-np.abs(x))  # in (0, 1], so it never overflows
    out = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))  # both forms equal sigmoid(x); each is exact on its side
    return out, out


def sigmoid_backward(dout, cache):
    """``dx = dout * s (1 - s)`` with ``s = sigmoid(x)``, the output the forward pass cached.

    Taught in chapter 2, section 2.2.
    """
    s = cache
    return dout * s * (1.0 - s)


def tanh_forward(x):
    """``tanh(x)`` element by element; the cache is the output.

    Taught in chapter 2, section 2.2.
    """
    out = np.tanh(as_float(x))
    return out, out


def tanh_backward(dout, cache):
    """``dx = dout * (1 - y^2)`` with ``y = tanh(x)``, the output the forward pass cached.

    Taught in chapter 2, section 2.2.
    """
    y = cache
    return dout * (1.0 - y * y)


# --- softmax and losses -----------------------------------------------------------------------------

def log_softmax(x, axis=-1):
    """``log softmax(x) = x - max(x) - log(sum(exp(x - max(x))))`` along ``axis``: the shift avoids overflow.

    Taught in chapter 2, section 2.3.
    """
    x = np.asarray(x)
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x, axis=-1):
    """``softmax(x)_k = exp(x_k - max(x)) / sum_j exp(x_j - max(x))`` along ``axis``.

    Taught in chapter 2, section 2.3.
    """
    x = np.asarray(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def cross_entropy_forward(logits, target):
    """``l = -(1/N) sum_n log softmax(z_n)[y_n]`` for logits (N, C) and integer labels (N,); a float.

    Taught in chapter 2, section 2.3.
    """
    logits = as_float(logits, np.float64)
    target = check_class_labels(logits, target, "cross_entropy_forward")
    logp = log_softmax(logits, axis=1)
    rows = np.arange(len(target))
    loss = -logp[rows, target].mean()
    return float(loss), (np.exp(logp), target)


def cross_entropy_backward(dloss, cache):
    """``dl/dz = dloss * (softmax(z) - onehot(y)) / N``; the integer labels get no gradient (None).

    Taught in chapter 2, section 2.3.
    """
    probs, target = cache
    dlogits = probs.copy()
    dlogits[np.arange(len(target)), target] -= 1.0  # softmax minus one-hot
    dlogits *= float(dloss) / len(target)  # a Python float keeps the logits' dtype
    return dlogits, None


def mse_forward(pred, target):
    """``l = mean((p - t)^2)`` over all elements of two arrays of the same shape; a float.

    Taught in chapter 2, section 2.3.
    """
    pred = as_float(pred, np.float64)
    target = as_float(target, pred.dtype)
    check_same_shape(pred, target, "mse_forward")
    diff = pred - target
    return float(np.mean(diff**2)), diff


def mse_backward(dloss, cache):
    """``dl/dp = dloss * 2 (p - t) / n`` and ``dl/dt = -dl/dp``.

    Taught in chapter 2, section 2.3.
    """
    diff = cache
    dpred = (2.0 * float(dloss) / diff.size) * diff  # a Python float keeps the dtype of p
    return dpred, -dpred
