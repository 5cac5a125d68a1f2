"""Gradient clipping from scratch, as ``torch.nn.utils.clip_grad_norm_`` (taught in chapter 3, section 3.5)."""
from __future__ import annotations

import numpy as np

from .module import Parameter

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients by ``min(1, max_norm / (total_norm + 1e-6))`` in place; return the total norm,
    the norm of all gradients taken as one vector (``norm_type`` may be ``inf``), before clipping.

    Taught in chapter 3, section 3.5.
    """
    params = [parameters] if isinstance(parameters, Parameter) else list(parameters)
    if not all(isinstance(p, Parameter) for p in params):
        raise TypeError("clip_grad_norm_ expects companion Parameters (e.g. model.parameters())")
    norm_type, max_norm = float(norm_type), float(max_norm)
    if not params:
        return 0.0
    norms = [np.linalg.norm(p.grad.ravel(), ord=norm_type) for p in params]
    total_norm = float(np.linalg.norm(np.array(norms), ord=norm_type))  # the norm of the norms
    clip_coef = min(max_norm / (total_norm + 1e-6), 1.0)  # never scales up; 1e-6 avoids dividing by zero
    for p in params:
        p.grad *= clip_coef
    return total_norm
