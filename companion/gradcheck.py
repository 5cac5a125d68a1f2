"""Numerical gradient checks (cs231n style) for the from-scratch layers, losses and functional cores.

An analytic gradient is compared with centred differences in float64; a correct backward pass gives a
relative error around 1e-10, a wrong one around 1e-2 or more::

    errors = check_module(Linear(3, 4, dtype=np.float64), np.random.randn(5, 3))
    assert max(errors.values()) < 1e-7

Every check reduces the function to one number by a *random projection*: ``f = sum(out * g)`` with a fixed
random upstream gradient ``g`` (one per float output). The gradient of ``f`` with respect to an input is
exactly what ``backward(g)`` returns, so one scalar function checks every element of every gradient, and a
random ``g`` (unlike all ones) leaves no error hidden by a symmetric sum. One routine, :func:`numerical_gradient`,
perturbs the arrays; :func:`check_module`, :func:`check_functional` and :func:`check_loss` set up ``f`` and
the analytic gradients for a Module, a cs231n ``forward``/``backward`` pair and a loss.

Inputs: float arrays must be float64 and are checked; integer and bool arrays (labels, token ids, masks) and
``None`` are passed on unchanged and skipped. Taught in chapter 2, section 2.6.
"""
from __future__ import annotations

import numpy as np

__all__ = ["numerical_gradient", "relative_error", "check_module", "check_functional", "check_loss"]


def numerical_gradient(f, x, eps=1e-6):
    """Centred differences ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)`` of a scalar ``f()`` w.r.t. ``x``.

    ``f`` takes no arguments and must read ``x``: each element of ``x`` is perturbed in place and restored.
    The error of a centred difference is of order ``eps^2``.
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


def relative_error(a, b):
    """``max_i |a_i - b_i| / max(|a_i| + |b_i|, 1e-12)``: the largest elementwise error relative to the *sum*.

    Scale-free, so one threshold fits gradients of any size; elements where both are 0 count as 0, and 1.0 is
    the largest possible value (``a_i = -b_i``). cs231n's notes divide by ``max(|a_i|, |b_i|)`` instead, which is
    between half the sum and the sum: their error is at most twice ours.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs arrays of the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), 1e-12)))


# --- shared plumbing ----------------------------------------------------------------------------------

def _require_float64(what: str, array, advice: str) -> None:
    dtype = getattr(array, "dtype", None)
    if not isinstance(array, np.ndarray) or dtype != np.float64:
        raise TypeError(f"gradient checks need float64: {what} is {type(array).__name__}"
                        + (f" of dtype {dtype}" if dtype is not None else "") + f"; {advice}")


def _prepare_inputs(inputs) -> tuple[list, list[int]]:
    """Copies of the float64 inputs (perturbed in place later) and the positions of those inputs."""
    prepared, checked = [], []
    for position, value in enumerate(inputs):
        if value is None or (isinstance(value, np.ndarray) and value.dtype.kind in "iub"):
            prepared.append(value)  # labels, token ids, masks: not differentiated
            continue
        _require_float64(f"input {position}", value, "pass e.g. x.astype(np.float64)")
        prepared.append(value.copy())  # leave the caller's array alone
        checked.append(position)
    return prepared, checked


def _outputs(out) -> tuple:
    return tuple(out) if isinstance(out, tuple) else (out,)


def _upstream(out, seed: int) -> list:
    """A random upstream gradient per float output (``None`` for an integer or bool output)."""
    rng = np.random.default_rng(seed)
    return [np.asarray(rng.standard_normal(np.shape(o))) if np.asarray(o).dtype.kind == "f" else None
            for o in _outputs(out)]


def _projection(out, out0, upstream) -> float:
    """``sum_k sum((out_k - out0_k) * g_k)``: the gradient of ``sum(out * g)``, with less rounding error.

    Subtracting the unperturbed output ``out0`` before summing keeps the rounding error of the sum proportional
    to the (tiny) change of the output, not to the size of the output.
    """
    return float(sum(np.sum((np.asarray(o) - o0) * g) for o, o0, g in zip(_outputs(out), out0, upstream)
                     if g is not None))


def _input_grads(grads, count: int, who: str) -> tuple:
    """The gradients a backward returned, as a tuple with one entry per input (the Module contract)."""
    if count == 1 and not isinstance(grads, (tuple, list)):
        return (grads,)
    if not isinstance(grads, (tuple, list)) or len(grads) != count:
        got = f"{len(grads)} gradients" if isinstance(grads, (tuple, list)) else "one array"
        raise ValueError(f"{who} returned {got} for {count} inputs: return one gradient per input, in argument "
                         "order (None for an integer input)")
    return tuple(grads)


def _compare(f, analytic: dict, arrays: dict, eps: float) -> dict[str, float]:
    errors = {}
    for name, array in arrays.items():
        if analytic[name] is None:
            raise ValueError(f"the backward pass returned None for {name!r}, a float input: it needs a gradient")
        errors[name] = relative_error(analytic[name], numerical_gradient(f, array, eps))
    return errors


# --- the checks ---------------------------------------------------------------------------------------

def check_module(module, *inputs, seed: int = 0, eps: float = 1e-6, **forward_kwargs) -> dict[str, float]:
    """Relative errors of a module's input gradients and every parameter gradient against centred differences.

    ``module(*inputs, **forward_kwargs)`` is called with the inputs; a forward that returns a tuple gets one
    random upstream gradient per float output, passed as ``backward(g0, g1, ...)``. Returns
    ``{"input": err, "weight": err, ...}`` for one input, or ``{"input0": ..., "input1": ..., ...}`` numbered
    by argument position for several (integer inputs are skipped), plus one entry per parameter. The module
    must be deterministic (no dropout in training mode); its parameter gradients are left as they were.
    """
    for name, param in module.named_parameters():
        _require_float64(f"parameter {name!r}", param.data, "call module.astype(np.float64) first")
    inputs, checked = _prepare_inputs(inputs)
    params = dict(module.named_parameters())

    saved_grads = {name: param.grad.copy() for name, param in params.items()}
    module.zero_grad()
    upstream = _upstream(module.forward(*inputs, **forward_kwargs), seed)
    grads = _input_grads(module.backward(*upstream), len(inputs), f"{type(module).__name__}.backward")
    names = ["input"] if len(inputs) == 1 else [f"input{position}" for position in range(len(inputs))]
    analytic = {names[position]: grads[position] for position in checked}
    analytic.update({name: param.grad.copy() for name, param in params.items()})
    for name, param in params.items():
        param.grad[...] = saved_grads[name]

    out0 = tuple(np.array(o, copy=True) for o in _outputs(module.forward(*inputs, **forward_kwargs)))

    def f():
        return _projection(module.forward(*inputs, **forward_kwargs), out0, upstream)

    arrays = {names[position]: inputs[position] for position in checked}
    arrays.update({name: param.data for name, param in params.items()})
    return _compare(f, analytic, arrays, eps)


def check_functional(forward, backward, *inputs, seed: int = 0, eps: float = 1e-6) -> list[float]:
    """Relative errors of a cs231n pair: ``out, cache = forward(*inputs)``, ``grads = backward(dout, cache)``.

    ``grads`` holds one gradient per input in argument order (one array for a function of one input). A forward
    whose ``out`` is a tuple gets one random upstream gradient per float output, passed as
    ``backward(dout0, dout1, ..., cache)``. Returns one error per float input, in argument order (integer
    inputs are skipped).
    """
    inputs, checked = _prepare_inputs(inputs)
    out, cache = forward(*inputs)
    upstream = _upstream(out, seed)
    grads = _input_grads(backward(*upstream, cache), len(inputs), getattr(backward, "__name__", "backward"))
    out0 = tuple(np.array(o, copy=True) for o in _outputs(out))

    def f():
        return _projection(forward(*inputs)[0], out0, upstream)

    errors = _compare(f, {position: grads[position] for position in checked},
                      {position: inputs[position] for position in checked}, eps)
    return [errors[position] for position in checked]


def check_loss(loss, pred, target, *, seed: int = 0, eps: float = 1e-6) -> float:
    """The largest relative error of ``loss.backward(g)`` against centred differences, with a random scalar ``g``.

    Checks the gradient with respect to the prediction, and with respect to the target when it is a float
    array (MSE); integer labels are skipped. A random ``g`` also catches a backward that ignores ``grad_out``.
    """
    return max(check_module(loss, pred, target, seed=seed, eps=eps).values())
