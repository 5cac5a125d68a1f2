"""Optimizers from scratch in NumPy, with the update rules of ``torch.optim.SGD`` and ``torch.optim.Adam``.

They update ``param.data`` in place from ``param.grad``::

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss_fn(model(x), y); model.backward(loss_fn.backward()[0]); opt.step()

Taught in chapter 2, section 2.7 (chapter 3 studies them further).
"""
from __future__ import annotations

import math

import numpy as np

from .nn.module import Parameter

__all__ = ["Optimizer", "SGD", "Adam"]


def _check_number(name: str, value, *, low: float, high: float = math.inf, low_inclusive: bool = True) -> float:
    value = float(value)
    ok = (value >= low if low_inclusive else value > low) and value < high
    if not ok:  # also rejects NaN, for which every comparison is False
        low_text = f"{low} <= " if low_inclusive else f"{low} < "
        high_text = f" < {high}" if high != math.inf else ""
        raise ValueError(f"invalid {name}: {value} (expected {low_text}{name}{high_text})")
    return value


class Optimizer:
    """Holds the parameters; subclasses define ``step``.

    Taught in chapter 2, section 2.7.
    """

    def __init__(self, params):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        for param in self.params:
            if not isinstance(param, Parameter):
                raise TypeError(
                    f"{type(self).__name__} expects companion Parameters (e.g. model.parameters()), "
                    f"got {type(param).__name__}"
                )

    def zero_grad(self) -> None:
        for param in self.params:
            param.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not define step")


class SGD(Optimizer):
    """``g <- grad + wd * w``; with momentum ``b <- mu * b + g`` (``b = g`` at the first step), ``g <- b``;
    then ``w <- w - lr * g``. This is torch's convention (dampening 0, no Nesterov).

    Taught in chapter 2, section 2.7.
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params)
        self.lr = _check_number("lr", lr, low=0.0, low_inclusive=False)
        self.momentum = _check_number("momentum", momentum, low=0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)
        self.buffers: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, param in enumerate(self.params):
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data  # L2 penalty wd/2 * |w|^2
            if self.momentum:
                if self.buffers[i] is None:
                    self.buffers[i] = grad.copy()
                else:
                    self.buffers[i] = self.momentum * self.buffers[i] + grad
                grad = self.buffers[i]
            param.data -= self.lr * grad

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


class Adam(Optimizer):
    """``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``,
    ``w <- w - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``: torch.optim.Adam with L2 weight decay.

    Taught in chapter 2, section 2.7.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(params)
        self.lr = _check_number("lr", lr, low=0.0, low_inclusive=False)
        if len(betas) != 2:
            raise ValueError(f"invalid betas: {betas!r} (expected a pair (beta1, beta2))")
        self.betas = (
            _check_number("beta1", betas[0], low=0.0, high=1.0),
            _check_number("beta2", betas[1], low=0.0, high=1.0),
        )
        self.eps = _check_number("eps", eps, low=0.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, low=0.0)
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self) -> None:
        self.t += 1
        beta1, beta2 = self.betas
        # Bias correction: m and v start at 0, so early averages are too small by (1 - beta^t).
        step_size = self.lr / (1.0 - beta1**self.t)
        bias_correction2_sqrt = math.sqrt(1.0 - beta2**self.t)
        for param, m, v in zip(self.params, self.m, self.v):
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data
            m *= beta1
            m += (1.0 - beta1) * grad
            v *= beta2
            v += (1.0 - beta2) * grad * grad
            denom = np.sqrt(v) / bias_correction2_sqrt + self.eps
            param.data -= step_size * m / denom

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"
