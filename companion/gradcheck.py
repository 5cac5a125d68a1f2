"""Numerical gradient checks (cs231n style) for the from-scratch layers and losses.

Compare an analytic gradient with centred differences in float64; a correct backward pass gives a
relative error around 1e-10, a wrong one around 1e-2 or more::

    errors = check_module(Linear(3, 4, dtype=np.float64), np.random.randn(5, 3))
    assert max(errors.values()) < 1e-7
"""
from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "relative_error", "check_module", "check_loss"]


def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` of a scalar ``f()`` w.r.t. ``x``.

    ``f`` takes no arguments and must read ``x``: each element of ``x`` is perturbed in place and restored.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError(f"numerical_gradient perturbs x in place: x must be a float ndarray, got {type(x).__name__}"
                        + (f" of dtype {x.dtype}" if isinstance(x, np.ndarray) else ""))
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        try:
            x[index] = old + eps
            f_plus = float(f())
            x[index] = old - eps
            f_minus = float(f())
        finally:
            x[index] = old  # restore even if f raises
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b) -> float:
    """``max_i |a_i - b_i| / max(|a_i| + |b_i|, 1e-12)``, the cs231n definition.

    Scale-free, so one threshold fits gradients of any size; elements where both are 0 count as 0.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


def _require_float64(what: str, array, advice: str) -> None:
    dtype = getattr(array, "dtype", None)
    if not isinstance(array, np.ndarray) or dtype != np.float64:
        raise TypeError(f"gradient checks need float64: {what} is {type(array).__name__}"
                        + (f" of dtype {dtype}" if dtype is not None else "") + f"; {advice}")


def check_module(module, x, *, seed: int = 0, eps: float = 1e-6) -> dict[str, float]:
    """Check a module's input gradient and every parameter gradient against centred differences.

    Uses ``f = sum(module(x) * g)`` with a fixed random upstream gradient ``g``, so that ``backward(g)``
    is the analytic gradient of ``f``. Returns ``{"input": err, "weight": err, ...}`` (relative errors).
    The module must be deterministic (no dropout in training mode). Parameter gradients are restored.
    """
    _require_float64("x", x, "pass e.g. x.astype(np.float64)")
    for name, param in module.named_parameters():
        _require_float64(f"parameter {name!r}", param.data, "call module.astype(np.float64) first")
    x = x.copy()  # perturbed in place below; leave the caller's array alone
    g = np.random.default_rng(seed).standard_normal(np.shape(module(x)))

    params = dict(module.named_parameters())
    saved_grads = {name: param.grad.copy() for name, param in params.items()}
    module.zero_grad()
    module.forward(x)
    analytic = {"input": module.backward(g)}
    analytic.update({name: param.grad.copy() for name, param in params.items()})
    for name, param in params.items():
        param.grad[...] = saved_grads[name]

    out0 = module.forward(x)

    def f():
        # sum((y - y0) * g) has the same gradient as sum(y * g); subtracting y0 before summing keeps
        # the rounding error of the sum proportional to the (tiny) change, not to the size of y.
        return np.sum((module.forward(x) - out0) * g)

    errors = {"input": relative_error(analytic["input"], numerical_gradient(f, x, eps))}
    for name, param in params.items():
        errors[name] = relative_error(analytic[name], numerical_gradient(f, param.data, eps))
    return errors


def check_loss(loss, x, target, *, eps: float = 1e-6) -> float:
    """Relative error of ``loss.backward()`` against centred differences w.r.t. the first argument ``x``."""
    _require_float64("x", x, "pass e.g. x.astype(np.float64)")
    x = x.copy()
    loss(x, target)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: loss.forward(x, target), x, eps)
    return relative_error(analytic, numeric)
