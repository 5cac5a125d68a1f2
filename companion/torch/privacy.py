"""DP-SGD from scratch (chapter 12): per-example gradients, clipping each to a norm C, Gaussian noise of standard
deviation sigma * C on their sum, then the average (Abadi et al., 2016). Opacus (``opacus.PrivacyEngine``) does the
same; with the noise off, one step of each gives the same parameters (tests/test_privacy.py).

The per-example gradients come from ``torch.func``: ``grad`` of the loss of one example, vectorised over the batch
with ``vmap``, the model called functionally on its own parameters (``functional_call``).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

__all__ = ["clip_per_example", "dp_sgd_step", "per_example_gradients"]


def per_example_gradients(model: nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{name: (B, *shape)}``: the gradient of ``loss_fn(model(x_i), y_i)`` for every example i of the batch."""
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    buffers = {name: b.detach() for name, b in model.named_buffers()}

    def loss_of_one(params, x_i, y_i):
        out = functional_call(model, (params, buffers), (x_i.unsqueeze(0),))
        return loss_fn(out, y_i.unsqueeze(0))

    return vmap(grad(loss_of_one), in_dims=(None, 0, 0))(params, x, y)


def clip_per_example(grads: dict[str, torch.Tensor], max_norm: float) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """Scale each example's gradient (all parameters together, as one vector) to norm at most ``max_norm``:
    factor ``min(1, C / (norm + 1e-6))``, as Opacus computes it. Returns the clipped gradients and the norms."""
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm!r}")
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], dim=1).norm(dim=1)   # (B,)
    factor = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    return {name: g * factor.view(-1, *([1] * (g.dim() - 1))) for name, g in grads.items()}, norms


@torch.no_grad()
def _apply(model: nn.Module, update: dict[str, torch.Tensor], lr: float) -> None:
    for name, p in model.named_parameters():
        if name in update:
            p -= lr * update[name]


def dp_sgd_step(model: nn.Module, loss_fn, x: torch.Tensor, y: torch.Tensor, *, lr: float, max_norm: float,
                noise_multiplier: float, generator: torch.Generator | None = None,
                expected_batch_size: int | None = None) -> torch.Tensor:
    """One DP-SGD step in place: per-example gradients, clipped to ``max_norm``, summed, plus Gaussian noise of std
    ``noise_multiplier * max_norm``, divided by the (expected) batch size, then a plain SGD update. Returns the
    per-example gradient norms before clipping. ``loss_fn`` must average over the batch (reduction "mean")."""
    if noise_multiplier < 0:
        raise ValueError(f"noise_multiplier must be >= 0, got {noise_multiplier!r}")
    clipped, norms = clip_per_example(per_example_gradients(model, loss_fn, x, y), max_norm)
    batch = expected_batch_size or len(x)
    update = {}
    for name, g in clipped.items():
        total = g.sum(dim=0)
        noise = torch.normal(0.0, noise_multiplier * max_norm, size=total.shape, generator=generator) \
            if noise_multiplier > 0 else torch.zeros_like(total)
        update[name] = (total + noise.to(total.dtype)) / batch
    _apply(model, update, lr)
    return norms
