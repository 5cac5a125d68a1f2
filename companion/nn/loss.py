"""Losses as thin Modules over ``functional.cross_entropy_*`` and ``functional.mse_*``.

``loss_fn = CrossEntropyLoss(); value = loss_fn(logits, target)`` gives a Python float (the mean over the
batch, as in torch). ``loss_fn.backward(grad_out=1.0)`` follows the Module contract: it returns the gradients
with respect to both inputs, ``(dlogits, None)`` for integer labels and ``(dpred, dtarget)`` for MSE, so a
training step reads ``model.backward(loss_fn.backward()[0])``.
"""
from __future__ import annotations

from .functional import cross_entropy_backward, cross_entropy_forward, mse_backward, mse_forward
from .module import Module

__all__ = ["CrossEntropyLoss", "MSELoss"]


class CrossEntropyLoss(Module):
    """``l = -(1/N) sum_n log softmax(z_n)[y_n]`` for logits ``z`` (N, C) and integer labels ``y`` (N,).

    Taught in chapter 2, section 2.4 (the loss and its gradient in section 2.3).
    """

    def forward(self, logits, target):
        loss, self._cache = cross_entropy_forward(logits, target)
        return loss

    def backward(self, grad_out=1.0):
        cache = self._cached("_cache")
        return cross_entropy_backward(self._check_grad_shape(grad_out, ()), cache)


class MSELoss(Module):
    """``l = mean((p - t)^2)`` over all elements; ``p`` and ``t`` must have the same shape.

    Taught in chapter 2, section 2.4 (the loss and its gradient in section 2.3).
    """

    def forward(self, pred, target):
        loss, self._cache = mse_forward(pred, target)
        return loss

    def backward(self, grad_out=1.0):
        cache = self._cached("_cache")
        return mse_backward(self._check_grad_shape(grad_out, ()), cache)
