"""Losses that torch.nn does not ship: the focal loss (chapter 10, class imbalance)."""
from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["focal_loss", "check_classification_batch"]


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
