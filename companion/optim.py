"""Optimizers from scratch in NumPy, with the update rules of ``torch.optim.SGD`` and ``torch.optim.Adam``.

They update ``param.data`` in place from ``param.grad``::

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss_fn(model(x), y); model.backward(loss_fn.backward()[0]); opt.step()

Taught in chapter 2, section 2.7 (chapter 3 studies them further).
"""
from __future__ import annotations

import math

import numpy as np

from .nn.checks import number_in_range
from .nn.module import Parameter

__all__ = ["Optimizer", "SGD", "Adam"]


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
                raise TypeError(f"{type(self).__name__} expects companion Parameters (e.g. model.parameters()), "
                                f"got {type(param).__name__}")

    def zero_grad(self):
        for param in self.params:
            param.grad.fill(0)

    def step(self):
        raise NotImplementedError(f"{type(self).__name__} does not define step")


class SGD(Optimizer):
    """``g <- grad + wd * w``; with momentum ``b <- mu * b + g`` (``b = g`` at the first step), ``g <- b``;
    then ``w <- w - lr * g``. This is torch's convention (dampening 0, no Nesterov).

    Taught in chapter 2, section 2.7.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params)
        self.lr = number_in_range(lr, "lr", "SGD", low=0.0, low_inclusive=False)
        self.momentum = number_in_range(momentum, "momentum", "SGD", low=0.0)
        self.weight_decay = number_in_range(weight_decay, "weight_decay", "SGD", low=0.0)
        self.momentum_buffers = [None] * len(self.params)

    def step(self):
        for i, param in enumerate(self.params):
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data  # the gradient of the L2 penalty wd/2 * |w|^2
            if self.momentum:
                buffer = self.momentum_buffers[i]
                buffer = grad.copy() if buffer is None else self.momentum * buffer + grad
                self.momentum_buffers[i] = grad = buffer
            param.data -= self.lr * grad

    def __repr__(self):
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


class Adam(Optimizer):
    """``m <- b1 m + (1-b1) g``, ``v <- b2 v + (1-b2) g^2``,
    ``w <- w - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``: torch.optim.Adam with L2 weight decay.

    Taught in chapter 2, section 2.7.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params)
        if len(betas) != 2:
            raise ValueError(f"Adam: invalid betas: {betas!r} (expected a pair (beta1, beta2))")
        self.lr = number_in_range(lr, "lr", "Adam", low=0.0, low_inclusive=False)
        self.betas = (number_in_range(betas[0], "beta1", "Adam", low=0.0, high=1.0),
                      number_in_range(betas[1], "beta2", "Adam", low=0.0, high=1.0))
        self.eps = number_in_range(eps, "eps", "Adam", low=0.0)
        self.weight_decay = number_in_range(weight_decay, "weight_decay", "Adam", low=0.0)
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]  # running mean of the gradient
        self.v = [np.zeros_like(p.data) for p in self.params]  # running mean of its square

    def step(self):
        self.t += 1
        beta1, beta2 = self.betas
        # Bias correction: m and v start at 0, so early averages are too small by a factor (1 - beta^t).
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

    def __repr__(self):
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps}, weight_decay={self.weight_decay})"
