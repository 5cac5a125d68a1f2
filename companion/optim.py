"""Optimizers and learning-rate schedules from scratch in NumPy, with the update rules of ``torch.optim``
(``SGD``, ``Adam``, ``RMSprop``, ``AdamW``) and of ``torch.optim.lr_scheduler`` (``StepLR``, ``LinearLR``,
``CosineAnnealingLR``, ``LambdaLR``, ``SequentialLR``).

They update ``param.data`` in place from ``param.grad``::

    opt = SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad(); loss_fn(model(x), y); model.backward(loss_fn.backward()[0]); opt.step()

A schedule changes ``opt.lr``; call ``scheduler.step()`` once per optimizer step (or epoch), after
``opt.step()``, as in torch::

    scheduler = CosineAnnealingLR(opt, T_max=100)
    for step in range(100):
        ...; opt.step(); scheduler.step()

SGD and Adam are taught in chapter 2, section 2.7; the rest in chapter 3.
"""
from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from .nn.checks import number_in_range, positive_int
from .nn.module import Parameter

__all__ = ["Optimizer", "SGD", "Adam", "RMSprop", "AdamW",
           "LRScheduler", "StepLR", "LinearLR", "CosineAnnealingLR", "LambdaLR", "SequentialLR"]


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
    """``g <- grad + wd * w``; with momentum ``b <- mu * b + g`` (``b = g`` at the first step), then ``g <- b``,
    or with ``nesterov=True`` ``g <- g + mu * b``; then ``w <- w - lr * g``. This is torch's convention
    (dampening 0): lr stays outside the buffer.

    Taught in chapter 2, section 2.7; the Nesterov branch in chapter 3, section 3.3.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params)
        self.lr = number_in_range(lr, "lr", "SGD", low=0.0, low_inclusive=False)
        self.momentum = number_in_range(momentum, "momentum", "SGD", low=0.0)
        self.weight_decay = number_in_range(weight_decay, "weight_decay", "SGD", low=0.0)
        if nesterov and not self.momentum:
            raise ValueError("SGD: nesterov=True needs a momentum > 0 (pass e.g. momentum=0.9)")
        self.nesterov = bool(nesterov)
        self.momentum_buffers = [None] * len(self.params)

    def step(self):
        for i, param in enumerate(self.params):
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data  # the gradient of the L2 penalty wd/2 * |w|^2
            if self.momentum:
                buffer = self.momentum_buffers[i]
                buffer = grad.copy() if buffer is None else self.momentum * buffer + grad
                self.momentum_buffers[i] = buffer
                # Nesterov: step along the gradient plus the momentum the next step will add (Sutskever et al.).
                grad = grad + self.momentum * buffer if self.nesterov else buffer
            param.data -= self.lr * grad

    def __repr__(self):
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay}, "
                f"nesterov={self.nesterov})")


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


class RMSprop(Optimizer):
    """``v <- alpha v + (1-alpha) g^2``, ``w <- w - lr * g / (sqrt(v) + eps)``: torch.optim.RMSprop, with its
    defaults (lr 0.01, alpha 0.99, eps 1e-8), L2 weight decay, momentum and the centred variant.

    Taught in chapter 3, section 3.4.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params)
        self.lr = number_in_range(lr, "lr", "RMSprop", low=0.0, low_inclusive=False)
        self.alpha = number_in_range(alpha, "alpha", "RMSprop", low=0.0, high=1.0)
        self.eps = number_in_range(eps, "eps", "RMSprop", low=0.0)
        self.weight_decay = number_in_range(weight_decay, "weight_decay", "RMSprop", low=0.0)
        self.momentum = number_in_range(momentum, "momentum", "RMSprop", low=0.0)
        self.centered = bool(centered)
        self.square_avg = [np.zeros_like(p.data) for p in self.params]  # running mean of g^2
        self.grad_avg = [np.zeros_like(p.data) for p in self.params]  # running mean of g (centred only)
        self.momentum_buffers = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        alpha = self.alpha
        for param, v, m, buffer in zip(self.params, self.square_avg, self.grad_avg, self.momentum_buffers):
            grad = param.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * param.data
            v *= alpha
            v += (1.0 - alpha) * grad * grad
            if self.centered:  # divide by an estimate of the standard deviation instead of the root mean square
                m += (1.0 - alpha) * (grad - m)
                denom = np.sqrt(v - m * m) + self.eps
            else:
                denom = np.sqrt(v) + self.eps
            if self.momentum:
                buffer *= self.momentum
                buffer += grad / denom
                param.data -= self.lr * buffer
            else:
                param.data -= self.lr * grad / denom

    def __repr__(self):
        return (f"RMSprop(lr={self.lr}, alpha={self.alpha}, eps={self.eps}, weight_decay={self.weight_decay}, "
                f"momentum={self.momentum}, centered={self.centered})")


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``w <- w - lr * wd * w``, then an Adam step
    on the plain gradient. torch.optim.AdamW, whose default weight decay is 0.01.

    Taught in chapter 3, section 3.4.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=0.0)  # no L2 term in the gradient
        self.decoupled_weight_decay = number_in_range(weight_decay, "weight_decay", "AdamW", low=0.0)

    def step(self):
        for param in self.params:
            param.data *= 1.0 - self.lr * self.decoupled_weight_decay  # every weight shrinks by the same factor
        super().step()

    def __repr__(self):
        return (f"AdamW(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.decoupled_weight_decay})")


class LRScheduler:
    """Sets ``optimizer.lr`` to ``lr_at(t)`` at step ``t = 0, 1, 2, ...``: at creation (``t = 0``) and at each
    ``step()``. The base rate is the optimizer's rate when its first schedule was made (torch's ``initial_lr``).

    Taught in chapter 3, section 3.5.
    """

    def __init__(self, optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} expects a companion optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if not hasattr(optimizer, "initial_lr"):
            optimizer.initial_lr = optimizer.lr
        self.base_lr = optimizer.initial_lr
        self.last_epoch = 0
        optimizer.lr = self.lr_at(0)

    def lr_at(self, t):
        raise NotImplementedError(f"{type(self).__name__} does not define lr_at")

    def step(self):
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self):
        return [self.optimizer.lr]


class StepLR(LRScheduler):
    """``lr = base * gamma ** (t // step_size)``: torch.optim.lr_scheduler.StepLR.

    Taught in chapter 3, section 3.5.
    """

    def __init__(self, optimizer, step_size, gamma=0.1):
        self.step_size = positive_int(step_size, "step_size", "StepLR")
        self.gamma = number_in_range(gamma, "gamma", "StepLR", low=0.0)
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.gamma ** (t // self.step_size)


class LinearLR(LRScheduler):
    """The factor goes linearly from ``start_factor`` to ``end_factor`` in ``total_iters`` steps, then stays:
    a linear warm-up with the defaults of torch.optim.lr_scheduler.LinearLR's arguments.

    Taught in chapter 3, section 3.5.
    """

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5):
        if not (0.0 < start_factor <= 1.0 and 0.0 <= end_factor <= 1.0):
            raise ValueError(f"LinearLR: expected 0 < start_factor <= 1 and 0 <= end_factor <= 1, "
                             f"got start_factor={start_factor}, end_factor={end_factor}")
        self.start_factor, self.end_factor = float(start_factor), float(end_factor)
        self.total_iters = positive_int(total_iters, "total_iters", "LinearLR")
        super().__init__(optimizer)

    def lr_at(self, t):
        progress = min(t, self.total_iters) / self.total_iters
        return self.base_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)


class CosineAnnealingLR(LRScheduler):
    """``lr = eta_min + (base - eta_min) * (1 + cos(pi t / T_max)) / 2``: torch.optim.lr_scheduler.
    CosineAnnealingLR (Loshchilov and Hutter's SGDR without restarts); after ``T_max`` it rises again.

    Taught in chapter 3, section 3.5.
    """

    def __init__(self, optimizer, T_max, eta_min=0.0):
        self.T_max = positive_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = number_in_range(eta_min, "eta_min", "CosineAnnealingLR", low=0.0)
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.eta_min + (self.base_lr - self.eta_min) * (1.0 + math.cos(math.pi * t / self.T_max)) / 2.0


class LambdaLR(LRScheduler):
    """``lr = base * lr_lambda(t)`` for any function of the step: torch.optim.lr_scheduler.LambdaLR.

    Taught in chapter 3, section 3.5.
    """

    def __init__(self, optimizer, lr_lambda):
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR expects a function of the step, got {type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer)

    def lr_at(self, t):
        return self.base_lr * self.lr_lambda(t)


class SequentialLR(LRScheduler):
    """Runs ``schedulers[0]`` until step ``milestones[0]``, then ``schedulers[1]`` counted from 0, and so on:
    torch.optim.lr_scheduler.SequentialLR (e.g. a linear warm-up, then cosine decay).

    Taught in chapter 3, section 3.5.
    """

    def __init__(self, optimizer, schedulers, milestones):
        self.schedulers, self.milestones = list(schedulers), [int(m) for m in milestones]
        if not self.schedulers:
            raise ValueError("SequentialLR expects at least one scheduler")
        if len(self.milestones) != len(self.schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got "
                             f"{len(self.schedulers)} schedulers and {len(self.milestones)} milestones")
        if any(s.optimizer is not optimizer for s in self.schedulers):
            raise ValueError("SequentialLR expects all schedulers to belong to its optimizer")
        super().__init__(optimizer)

    def current(self, t):
        """The scheduler in charge at step ``t`` and its own step count."""
        index = bisect_right(self.milestones, t)
        return self.schedulers[index], t - (self.milestones[index - 1] if index else 0)

    def lr_at(self, t):
        scheduler, local_t = self.current(t)
        return scheduler.lr_at(local_t)

    def step(self):
        self.last_epoch += 1
        scheduler, local_t = self.current(self.last_epoch)
        scheduler.last_epoch = local_t  # the scheduler in charge counts its own steps, from 0 at its milestone
        self.optimizer.lr = scheduler.lr_at(local_t)
