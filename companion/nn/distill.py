"""Knowledge distillation's loss from scratch (Hinton, Vinyals and Dean, 2015), in the functional style of
``companion.nn.functional`` with a thin Module on top (taught in chapter 11).

The student's logits ``s`` learn from the teacher's ``t`` softened by a temperature ``T``:

``l = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)``, both terms averaged over the
batch. The soft term's gradient is ``alpha * T * (p_s - p_t)``, and ``p_s - p_t`` itself shrinks like ``1 / T`` at high
temperature (Hinton et al., 2015, section 2.1): the ``T^2`` keeps the soft term's gradient roughly independent of
``T``, so that ``alpha`` weighs the two terms alike at every temperature. NumPy only.
"""
from __future__ import annotations

import numpy as np

from .checks import as_float, check_class_labels
from .functional import log_softmax
from .module import Module

__all__ = ["DistillationLoss", "distillation_backward", "distillation_forward"]


def check_distillation(temperature, alpha) -> tuple[float, float]:
    temperature, alpha = float(temperature), float(alpha)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha (the weight of the teacher's term) must be in [0, 1], got {alpha!r}")
    return temperature, alpha


def distillation_forward(student_logits, teacher_logits, target, temperature=4.0, alpha=0.9):
    """The distillation loss of student logits (N, C) against teacher logits (N, C) and labels (N,); a float."""
    temperature, alpha = check_distillation(temperature, alpha)
    s = as_float(student_logits, np.float64)
    t = as_float(teacher_logits, np.float64)
    if s.shape != t.shape:
        raise ValueError(f"distillation_forward expected student and teacher logits of the same shape (N, C), "
                         f"got {s.shape} and {t.shape}")
    target = check_class_labels(s, target, "distillation_forward")
    n = len(target)
    log_p_teacher = log_softmax(t / temperature, axis=1)
    log_p_student = log_softmax(s / temperature, axis=1)
    p_teacher = np.exp(log_p_teacher)
    kl = (p_teacher * (log_p_teacher - log_p_student)).sum() / n          # KL(teacher || student), batch mean
    log_p = log_softmax(s, axis=1)
    ce = -log_p[np.arange(n), target].mean()
    loss = alpha * temperature ** 2 * kl + (1 - alpha) * ce
    cache = (np.exp(log_p_student), p_teacher, np.exp(log_p), target, temperature, alpha)
    return float(loss), cache


def distillation_backward(dloss, cache):
    """``dl/ds = dloss * (alpha * T * (p_s - p_t) + (1 - alpha) * (softmax(s) - onehot(y))) / N``, with ``p_s``,
    ``p_t`` the softened probabilities; the teacher (a fixed target) and the labels get no gradient (None)."""
    p_student, p_teacher, probs, target, temperature, alpha = cache
    n = len(target)
    hard = probs.copy()
    hard[np.arange(n), target] -= 1.0
    dlogits = (alpha * temperature * (p_student - p_teacher) + (1 - alpha) * hard) * (float(dloss) / n)
    return dlogits, None, None


class DistillationLoss(Module):
    """``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)`` (Hinton et al., 2015).

    Taught in chapter 11.
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9):
        super().__init__()
        self.temperature, self.alpha = check_distillation(temperature, alpha)

    def forward(self, student_logits, teacher_logits, target):
        loss, self._cache = distillation_forward(student_logits, teacher_logits, target, self.temperature, self.alpha)
        return loss

    def backward(self, grad_out=1.0):
        cache = self._cached("_cache")
        return distillation_backward(self._check_grad_shape(grad_out, ()), cache)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}, alpha={self.alpha}"
