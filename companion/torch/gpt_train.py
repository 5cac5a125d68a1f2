"""Training a language model on a token stream, nanoGPT's train.py in miniature (used in chapter 8, section 8.9).

``get_batch`` cuts random windows out of the training text, ``estimate_loss`` averages the loss over fixed
batches, ``configure_optimizers`` sets up AdamW with weight decay on the matrices only, and ``train`` runs the loop
with gradient clipping and, on a GPU, mixed precision (the helpers of ``companion.torch.train``). A model is any
``nn.Module`` with a ``config.block_size`` whose ``forward(idx, targets)`` returns ``(logits, loss)``.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..book.progress import progress
from .train import autocast, grad_scaler

__all__ = ["get_batch", "estimate_loss", "configure_optimizers", "train"]


def get_batch(data, block_size: int, batch_size: int, generator: torch.Generator | None = None, device="cpu"):
    """``batch_size`` random windows of ``data`` (1-D ids): inputs x and targets y = x shifted by one, (B, T)."""
    data = torch.as_tensor(data if torch.is_tensor(data) else np.asarray(data, dtype=np.int64))
    if data.dim() != 1:
        raise ValueError(f"data must be 1-D, got shape {tuple(data.shape)}")
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens; it needs more than block_size={block_size}")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[starts[:, None] + offsets]      # (B, T)
    y = data[starts[:, None] + offsets + 1]  # (B, T): the token that follows each one
    return x.to(device), y.to(device)


@torch.no_grad()
def estimate_loss(model: nn.Module, data, *, batch_size: int, eval_iters: int, device="cpu",
                  amp_dtype: torch.dtype | None = None, seed: int = 0) -> float:
    """Mean loss over ``eval_iters`` random batches in evaluation mode (no dropout); the same ``seed`` gives the
    same batches. The model is left in the mode it was in."""
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    losses = []
    for _batch in range(eval_iters):
        x, y = get_batch(data, model.config.block_size, batch_size, generator, device)
        with autocast(device, amp_dtype):
            losses.append(model(x, y)[1].item())
    model.train(was_training)
    return float(np.mean(losses))


def configure_optimizers(model: nn.Module, *, lr: float, weight_decay: float, betas=(0.9, 0.99), device="cpu"):
    """AdamW with weight decay on the matrices and embeddings (parameters of 2 or more dimensions) only: biases
    and LayerNorm gains are not pulled towards zero (as in nanoGPT)."""
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=torch.device(device).type == "cuda")


def _positive(**values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def train(model: nn.Module, train_ids, val_ids, *, steps: int, batch_size: int, lr: float, eval_interval: int,
          eval_iters: int, device="cpu", amp_dtype: torch.dtype | None = None, seed: int = 0,
          weight_decay: float = 0.1, grad_clip: float | None = 1.0, desc: str = "train") -> dict[str, list]:
    """Train with AdamW on random windows of ``train_ids``; return ``{"step", "train_loss", "val_loss"}`` lists.

    Losses are estimated at step 0, every ``eval_interval`` steps and at the end, on the same ``eval_iters``
    batches each time. ``seed`` fixes the batches and the dropout masks; torch's global random state is saved
    and restored, so the caller's stream goes on as if this had not run. ``amp_dtype`` (e.g. from
    ``companion.torch.train.default_amp_dtype``) turns on autocast; ``grad_clip`` caps the gradient norm (None:
    no clipping). The model is trained in place and left in evaluation mode.
    """
    _positive(steps=steps, batch_size=batch_size, eval_interval=eval_interval, eval_iters=eval_iters)
    device = torch.device(device)
    model.to(device)
    optimizer = configure_optimizers(model, lr=lr, weight_decay=weight_decay, device=device)
    scaler = grad_scaler(device, amp_dtype)  # scales the loss for float16 only
    evaluate = dict(batch_size=batch_size, eval_iters=eval_iters, device=device, amp_dtype=amp_dtype, seed=seed + 1)
    history = {"step": [], "train_loss": [], "val_loss": []}

    def record(step):
        history["step"].append(step)
        history["train_loss"].append(estimate_loss(model, train_ids, **evaluate))
        history["val_loss"].append(estimate_loss(model, val_ids, **evaluate))
        bar.set_postfix(train=f"{history['train_loss'][-1]:.3f}", val=f"{history['val_loss'][-1]:.3f}")

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # the dropout masks, inside fork_rng: restored afterwards
        bar = progress(range(1, steps + 1), desc=desc)
        model.train()
        record(0)
        for step in bar:
            x, y = get_batch(train_ids, model.config.block_size, batch_size, generator, device)
            with autocast(device, amp_dtype):
                _, loss = model(x, y)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if grad_clip is not None:
                scaler.unscale_(optimizer)  # clip the true gradients, not the scaled ones
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            scaler.step(optimizer)
            scaler.update()
            if step % eval_interval == 0 or step == steps:
                record(step)
        bar.close()
    model.eval()
    return history
