"""LoRA, low-rank adaptation (Hu et al., 2021), from scratch in PyTorch. Taught in chapter 9.

A pretrained ``nn.Linear`` keeps its weight ``W`` (out, in) and bias frozen; beside it LoRA trains two small
matrices, ``A`` (r, in) and ``B`` (out, r), and the layer computes

    y = x W^T + b + (alpha / r) * x A^T B^T,

that is the weight ``W + (alpha / r) B A``, an update of rank at most ``r`` that costs ``r * (in + out)`` trained
numbers instead of ``in * out``. ``A`` starts as ``nn.Linear`` initialises its weight (Kaiming uniform, as in
Hugging Face ``peft``), ``B`` at zero, so at the start the model computes exactly what it did before. For
inference the update is added into the weight once (:meth:`LoRALinear.merged_linear`, :func:`merge_lora`): a plain
``nn.Linear`` again, with no extra cost per token.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn as nn

__all__ = ["LoRALinear", "add_lora", "mark_only_lora_trainable", "merge_lora", "count_trainable"]


class LoRALinear(nn.Module):
    """``base(x) + dropout(x) @ A.T @ B.T * alpha / r`` with ``base`` frozen. Taught in chapter 9."""

    def __init__(self, base, r, alpha, dropout=0.0):
        super().__init__()
        check_lora(base, r, alpha, dropout)
        self.base = base.requires_grad_(False)                        # W and b stay as pretrained
        self.r, self.alpha, self.scaling = r, alpha, alpha / r
        like = dict(dtype=base.weight.dtype, device=base.weight.device)
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features, **like))   # (r, in)
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r, **like))  # (out, r): zero, so no change yet
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x):
        return self.base(x) + (self.dropout(x) @ self.lora_A.T @ self.lora_B.T) * self.scaling

    def delta_weight(self):
        """The update ``(alpha / r) B A`` (out, in) that LoRA adds to the frozen weight."""
        return self.scaling * self.lora_B @ self.lora_A

    @torch.no_grad()
    def merged_linear(self):
        """A plain ``nn.Linear`` with weight ``W + (alpha / r) B A`` and the same bias: the layer for inference."""
        base = self.base
        out = nn.Linear(base.in_features, base.out_features, bias=base.bias is not None,
                        dtype=base.weight.dtype, device=base.weight.device)
        out.weight.copy_(base.weight + self.delta_weight())
        if base.bias is not None:
            out.bias.copy_(base.bias)
        return out

    def extra_repr(self):
        return f"r={self.r}, alpha={self.alpha}, scaling={self.scaling:g}"


def check_lora(base, r, alpha, dropout) -> None:
    if not isinstance(base, nn.Linear):
        raise ValueError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ValueError(f"LoRALinear: r must be a positive integer, got {r!r}")
    if not alpha > 0:
        raise ValueError(f"LoRALinear: alpha must be > 0, got {alpha!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"LoRALinear: dropout must be in [0, 1), got {dropout!r}")


def add_lora(model: nn.Module, targets: Iterable[str] | Callable[[str, nn.Module], bool], r: int, alpha: float,
             dropout: float = 0.0) -> list[str]:
    """Replace, in place, each ``nn.Linear`` of ``model`` that ``targets`` names by a :class:`LoRALinear` around it;
    returns the names replaced. Taught in chapter 9.

    ``targets`` is either names (a module is chosen if its full name is one of them or ends with ``.`` and one, so
    ``"c_attn"`` picks the attention input projection of every block, as ``peft``'s ``target_modules``) or a
    function ``(name, module) -> bool``. Call :func:`mark_only_lora_trainable` next to freeze everything else.
    """
    if callable(targets):
        chosen = targets
    else:
        names = [targets] if isinstance(targets, str) else list(targets)
        chosen = lambda name, module: any(name == t or name.endswith("." + t) for t in names)  # noqa: E731
    found = [(name, module) for name, module in model.named_modules() if name and chosen(name, module)]
    if not found:
        raise ValueError(f"add_lora: no module of {type(model).__name__} matches targets {targets!r}")
    for name, module in found:
        if not isinstance(module, nn.Linear):
            raise ValueError(f"add_lora: {name} is a {type(module).__name__}, not an nn.Linear")
    for name, module in found:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, LoRALinear(module, r, alpha, dropout))
    return [name for name, _ in found]


def mark_only_lora_trainable(model: nn.Module) -> nn.Module:
    """Freeze every parameter of ``model`` except LoRA's ``A`` and ``B``. Taught in chapter 9."""
    for name, p in model.named_parameters():
        p.requires_grad_(name.rpartition(".")[2] in ("lora_A", "lora_B"))
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace, in place, every :class:`LoRALinear` of ``model`` by its merged ``nn.Linear`` (for inference)."""
    found = [(name, module) for name, module in model.named_modules() if isinstance(module, LoRALinear)]
    for name, module in found:
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, module.merged_linear())
    return model


def count_trainable(model: nn.Module) -> tuple[int, int]:
    """``(trainable, total)`` numbers of parameters of ``model``; a tied weight counts once."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)
