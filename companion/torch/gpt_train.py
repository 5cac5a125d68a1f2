"""Training a language model on a token stream, nanoGPT's train.py in miniature (used in chapter 8, section 8.9).

``get_batch`` cuts random windows out of the training text, ``estimate_loss`` averages the loss over fixed
batches, ``configure_optimizers`` sets up AdamW with weight decay on the matrices only, ``warmup_cosine`` is the
learning-rate schedule of GPT-3 (linear warm-up, then cosine decay to a floor), and ``train`` runs the loop
with gradient clipping and, on a GPU, mixed precision (the helpers of ``companion.torch.train``); chapter 9 adds
the schedule, the best-validation checkpoint and other objectives (``batch_fn``). A model is any ``nn.Module``
with a ``config.block_size`` whose ``forward(idx, targets)`` returns ``(logits, loss)``.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn as nn

from ..book.progress import progress
from .train import autocast, grad_scaler

__all__ = ["get_batch", "estimate_loss", "configure_optimizers", "warmup_cosine", "train"]


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
                  amp_dtype: torch.dtype | None = None, seed: int = 0, batch_fn=get_batch) -> float:
    """Mean loss over ``eval_iters`` random batches in evaluation mode (no dropout); the same ``seed`` gives the
    same batches (``batch_fn``, with ``get_batch``'s arguments, makes them). The model is left in the mode it
    was in."""
    generator = torch.Generator().manual_seed(seed)
    was_training = model.training
    model.eval()
    losses = []
    for _batch in range(eval_iters):
        x, y = batch_fn(data, model.config.block_size, batch_size, generator, device)
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


def warmup_cosine(step, *, warmup, total, min_ratio=0.1):
    """The learning rate at ``step`` as a fraction of the peak: it rises linearly over the first ``warmup`` steps
    (``step / warmup``), then falls along half a cosine to ``min_ratio`` at step ``total``, and stays there.

    GPT-3's schedule (Brown et al., 2020, appendix B: warm-up, then cosine decay to 10 % of the peak). Taught in
    chapter 9.
    """
    if warmup and step < warmup:
        return step / warmup
    progress_ = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress_))


def _positive(**values) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def train(model: nn.Module, train_ids, val_ids, *, steps: int, batch_size: int, lr: float, eval_interval: int,
          eval_iters: int, device="cpu", amp_dtype: torch.dtype | None = None, seed: int = 0,
          weight_decay: float = 0.1, grad_clip: float | None = 1.0, desc: str = "train",
          warmup: int | None = None, min_ratio: float = 0.1, keep_best: bool = False,
          batch_fn=get_batch) -> dict[str, list]:
    """Train with AdamW on random windows of ``train_ids``; return ``{"step", "train_loss", "val_loss", "lr"}``.

    Losses are estimated at step 0, every ``eval_interval`` steps and at the end, on the same ``eval_iters``
    batches each time. ``seed`` fixes the batches and the dropout masks; torch's global random state is saved
    and restored, so the caller's stream goes on as if this had not run. ``amp_dtype`` (e.g. from
    ``companion.torch.train.default_amp_dtype``) turns on autocast; ``grad_clip`` caps the gradient norm (None:
    no clipping). The model is trained in place and left in evaluation mode.

    ``warmup`` (a number of steps; None: a constant learning rate) turns on ``warmup_cosine`` over the ``steps``,
    down to ``min_ratio * lr``. ``keep_best`` loads, at the end, the weights of the evaluation with the lowest
    validation loss (the *best-validation checkpoint*; its step is ``history["best_step"]``). ``batch_fn`` makes
    the batches (default ``get_batch``: next-token prediction), for training and evaluation alike.
    """
    _positive(steps=steps, batch_size=batch_size, eval_interval=eval_interval, eval_iters=eval_iters)
    if warmup is not None and (isinstance(warmup, bool) or not isinstance(warmup, int) or not 0 <= warmup <= steps):
        raise ValueError(f"warmup must be an integer from 0 to steps={steps}, or None; got {warmup!r}")
    device = torch.device(device)
    model.to(device)
    optimizer = configure_optimizers(model, lr=lr, weight_decay=weight_decay, device=device)
    scaler = grad_scaler(device, amp_dtype)  # scales the loss for float16 only
    evaluate = dict(batch_size=batch_size, eval_iters=eval_iters, device=device, amp_dtype=amp_dtype, seed=seed + 1,
                    batch_fn=batch_fn)
    history = {"step": [], "train_loss": [], "val_loss": [], "lr": []}
    best = {"loss": math.inf, "state": None}

    def record(step):
        history["step"].append(step)
        history["train_loss"].append(estimate_loss(model, train_ids, **evaluate))
        history["val_loss"].append(estimate_loss(model, val_ids, **evaluate))
        history["lr"].append(optimizer.param_groups[0]["lr"])
        bar.set_postfix(train=f"{history['train_loss'][-1]:.3f}", val=f"{history['val_loss'][-1]:.3f}")
        if keep_best and history["val_loss"][-1] < best["loss"]:
            best.update(loss=history["val_loss"][-1], step=step, state=copy.deepcopy(model.state_dict()))

    def set_lr(step):
        if warmup is not None:
            for group in optimizer.param_groups:
                group["lr"] = lr * warmup_cosine(step, warmup=warmup, total=steps, min_ratio=min_ratio)

    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # the dropout masks, inside fork_rng: restored afterwards
        bar = progress(range(1, steps + 1), desc=desc)
        model.train()
        set_lr(0)
        record(0)
        for step in bar:
            set_lr(step)
            x, y = batch_fn(train_ids, model.config.block_size, batch_size, generator, device)
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
    if keep_best:
        model.load_state_dict(best["state"])
        history["best_step"] = best["step"]
    model.eval()
    return history
