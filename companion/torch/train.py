"""Training a PyTorch classifier on arrays in memory, on any device, with optional mixed precision.

Taught in chapter 4, section 4.4 (``predict`` and the loop of ``train_classifier``) and chapter 6 (its cosine
decay and mixed precision); the GPT of chapter 8 uses the same mixed-precision helpers. A history is a dict of
lists keyed ``epoch``, ``train_loss``, ``test_acc`` (or ``val_acc``), ``seconds``, the format every training
loop of the book returns and ``companion.book.plotting`` draws.
"""
from __future__ import annotations

import contextlib
import math
import time

import numpy as np
import torch
from torch import nn

from ..book.progress import progress
from ..metrics.classification import accuracy

__all__ = ["default_amp_dtype", "autocast", "grad_scaler", "predict", "train_classifier"]


def default_amp_dtype(device) -> torch.dtype | None:
    """The low-precision dtype worth using on ``device``: bfloat16 on CPUs and recent GPUs, float16 on older
    GPUs (it needs loss scaling), None where autocast would not help (Apple MPS)."""
    device = torch.device(device)
    if device.type == "cuda":
        # including_emulation=False: a T4 "supports" bfloat16 only by emulating it, slower than float16
        return torch.bfloat16 if torch.cuda.is_bf16_supported(including_emulation=False) else torch.float16
    if device.type == "cpu":
        return torch.bfloat16
    return None


def autocast(device, dtype: torch.dtype | None):
    """``torch.autocast`` to ``dtype`` on ``device``'s type, or a context that does nothing when ``dtype`` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=dtype)


def grad_scaler(device, dtype: torch.dtype | None) -> torch.amp.GradScaler:
    """A GradScaler that scales the loss only for float16, whose small range would flush gradients to zero."""
    return torch.amp.GradScaler(torch.device(device).type, enabled=dtype == torch.float16)


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray, device, batch_size: int = 1000) -> np.ndarray:
    """Logits (float32 NumPy) of ``model`` for the NumPy inputs ``x``, in batches, in evaluation mode.

    Taught in chapter 4, section 4.4.
    """
    model.eval()
    return np.concatenate([model(torch.from_numpy(x[i:i + batch_size]).to(device)).float().cpu().numpy()
                           for i in range(0, len(x), batch_size)])


def train_classifier(model: nn.Module, x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int, lr: float,
                     device, x_eval: np.ndarray, y_eval: np.ndarray, desc: str = "PyTorch", cosine: bool = False,
                     amp_dtype: torch.dtype | None = None, generator: torch.Generator | None = None,
                     eval_name: str = "test") -> dict:
    """Adam on cross-entropy over shuffled minibatches of ``(x, y)``; accuracy on ``(x_eval, y_eval)`` after each
    epoch, recorded as ``test_acc`` (``eval_name="val"``: as ``val_acc``, for a validation set). ``cosine=True``
    decays the learning rate from ``lr`` to 0 over all steps; ``amp_dtype`` turns on autocast (with loss scaling for float16). The data is moved to ``device`` once; the loss is summed on the
    device and read once per epoch, so that a GPU is not stalled at every step. The permutation of each epoch is
    drawn on the CPU (from ``generator`` if given), so that a run sees the same minibatches on every device.

    Taught in chapter 4, section 4.4 (the options ``cosine``, ``amp_dtype`` and ``eval_name`` in chapter 6).
    """
    key = f"{eval_name}_acc"                                # test_acc, or val_acc for a validation set
    model = model.to(device)
    x, y = torch.from_numpy(x).to(device), torch.from_numpy(y).to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scaler = grad_scaler(device, amp_dtype)
    history = {"epoch": [], "train_loss": [], key: [], "seconds": []}
    step, total_steps = 0, epochs * math.ceil(len(x) / batch_size)
    bar = progress(range(1, epochs + 1), desc=desc)
    for epoch in bar:
        model.train()
        start, total_loss = time.perf_counter(), torch.zeros((), device=device)
        order = torch.randperm(len(x), generator=generator).to(device)
        for idx in order.split(batch_size):
            if cosine:  # cosine decay from lr to 0
                for group in optimizer.param_groups:
                    group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total_steps))
            step += 1
            with autocast(device, amp_dtype):
                loss = loss_fn(model(x[idx]), y[idx])        # forward pass, in amp_dtype where safe
            optimizer.zero_grad()
            scaler.scale(loss).backward()                    # backward pass: autograd fills .grad
            scaler.step(optimizer)                           # Adam update
            scaler.update()
            total_loss += loss.detach().float() * len(idx)
        train_loss = total_loss.item() / len(x)              # waits for the device to finish
        seconds = time.perf_counter() - start
        eval_acc = accuracy(y_eval, predict(model, x_eval, device))
        for name, value in zip(history, (epoch, train_loss, eval_acc, seconds)):
            history[name].append(value)
        bar.set_postfix({"loss": f"{train_loss:.4f}", key: f"{eval_acc:.4f}"})
    return history
