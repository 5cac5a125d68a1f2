"""Losses that torch.nn does not ship: the focal loss (chapter 10, class imbalance) and the distillation loss
(chapter 11, knowledge distillation)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["focal_loss", "check_classification_batch", "distillation_loss"]


def check_classification_batch(logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> None:
    """Logits (N, C) floating, integer labels (N,) in 0 .. C-1, optional class weights (C,)."""
    if logits.ndim != 2 or not logits.is_floating_point():
        raise ValueError(f"logits must be a floating (N, C) tensor, got shape {tuple(logits.shape)} "
                         f"and dtype {logits.dtype}")
    if target.ndim != 1 or target.shape[0] != logits.shape[0] or target.is_floating_point():
        raise ValueError(f"target must hold N integer labels, shape ({logits.shape[0]},), got shape "
                         f"{tuple(target.shape)} and dtype {target.dtype}")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= logits.shape[1]):
        raise ValueError(f"target holds labels outside 0 .. {logits.shape[1] - 1} for logits of shape "
                         f"{tuple(logits.shape)}")
    if weight is not None and tuple(weight.shape) != (logits.shape[1],):
        raise ValueError(f"weight must have one entry per class, shape ({logits.shape[1]},), got "
                         f"{tuple(weight.shape)}")


def focal_loss(logits: torch.Tensor, target: torch.Tensor, gamma: float = 2.0,
               weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean focal loss (Lin et al. 2017) of logits (N, C) for labels (N,). Taught in chapter 10.

    Each example costs -w_y (1 - p_y)^gamma log p_y: the cross-entropy, scaled down for examples the model
    already gets right with confidence (p_y near 1), so that the hard ones dominate the gradient. With class
    weights the mean is sum(w_y l) / sum(w_y), as in ``F.cross_entropy``; gamma=0 is ``F.cross_entropy``.
    """
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0 (0 gives the cross-entropy), got {gamma!r}")
    check_classification_batch(logits, target, weight)
    log_p = F.log_softmax(logits, dim=1).gather(1, target[:, None]).squeeze(1)  # (N,) log p_y
    loss = -(1 - log_p.exp()) ** gamma * log_p
    if weight is None:
        return loss.mean()
    w = weight[target]
    return (w * loss).sum() / w.sum()


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, target: torch.Tensor,
                      temperature: float = 4.0, alpha: float = 0.9) -> torch.Tensor:
    """``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(s, y)``, batch means (Hinton et al.,
    2015); the teacher's logits are a fixed target (detached)."""
    if not temperature > 0 or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"need temperature > 0 and alpha in [0, 1], got temperature={temperature!r}, alpha={alpha!r}")
    check_classification_batch(student_logits, target, None)
    if teacher_logits.shape != student_logits.shape:
        raise ValueError(f"student and teacher logits must have the same shape (N, C), got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.log_softmax(teacher_logits.detach() / temperature, dim=1), reduction="batchmean", log_target=True)
    return alpha * temperature ** 2 * soft + (1 - alpha) * F.cross_entropy(student_logits, target)
