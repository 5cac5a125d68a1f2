"""A tiny GPT in PyTorch, in the spirit of nanoGPT: a decoder-only Transformer for characters.

``GPT`` = token and learned position embeddings, ``n_layer`` pre-norm blocks (causal self-attention,
then an MLP, each with a residual connection), a final LayerNorm, and a language-model head that
shares its weight with the token embedding. Also here: sampling (``generate``), random batches,
a training loop with mixed precision, and the unigram/bigram baselines that a model must beat.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..book.progress import progress

__all__ = [
    "GPTConfig", "CausalSelfAttention", "MLP", "Block", "GPT", "count_parameters", "generate", "get_batch",
    "estimate_loss", "train", "unigram_bigram_baselines",
]


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int  # longest context, in tokens
    n_layer: int
    n_head: int
    n_embd: int
    dropout: float = 0.0
    bias: bool = True  # biases in the Linear layers and LayerNorms

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")

    def num_parameters(self) -> int:
        """Parameters of ``GPT(self)``, counted from the formula (the LM head is tied: counted once)."""
        C, b = self.n_embd, int(self.bias)
        layer_norm = C + b * C
        block = 2 * layer_norm + (C * 3 * C + b * 3 * C) + (C * C + b * C) + (C * 4 * C + b * 4 * C) + (4 * C * C + b * C)
        return self.vocab_size * C + self.block_size * C + self.n_layer * block + layer_norm


def count_parameters(model: nn.Module) -> int:
    """Number of distinct parameters (a tied weight counts once)."""
    return sum(p.numel() for p in model.parameters())


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which position t sees only positions <= t."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v in one matmul
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        """``x``: (B, T, C) -> (B, T, C); with ``return_attention``, also the weights (B, n_head, T, T)."""
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        # (B, T, C) -> (B, n_head, T, head_size): each head attends on its own slice of the channels.
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if return_attention:  # the same computation, spelled out, so the weights can be drawn
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(k.size(-1))
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            weights = F.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
            y = self.attn_dropout(weights) @ v
        else:  # fused kernel (flash attention where available)
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                               is_causal=True)
        y = self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))
        return (y, weights) if return_attention else y


class MLP(nn.Module):
    """Position-wise feed-forward network: C -> 4C -> GELU -> C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm Transformer block: ``x + attn(ln(x))``, then ``x + mlp(ln(x))``."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, return_attention: bool = False):
        if return_attention:
            a, weights = self.attn(self.ln_1(x), return_attention=True)
        else:
            a, weights = self.attn(self.ln_1(x)), None
        x = x + a
        x = x + self.mlp(self.ln_2(x))
        return (x, weights) if return_attention else x


class GPT(nn.Module):
    """Decoder-only Transformer language model."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embedding
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # learned position embedding
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init_weights)
        # GPT-2: scale the projections into the residual stream, so its variance does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def _check_input(self, idx: torch.Tensor) -> None:
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (batch, time), got shape {tuple(idx.shape)}")
        if idx.size(1) > self.config.block_size:
            raise ValueError(f"sequence length {idx.size(1)} is longer than block_size {self.config.block_size}")

    def _embed(self, idx):
        pos = torch.arange(idx.size(1), device=idx.device)
        return self.drop(self.wte(idx) + self.wpe(pos))

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        """``idx``: (B, T) token ids -> ``(logits (B, T, vocab_size), loss or None)``."""
        self._check_input(idx)
        x = self._embed(idx)
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}")
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)).float(), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def attention_weights(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """The attention weights of every layer, each (B, n_head, T, T), for plotting."""
        self._check_input(idx)
        x, maps = self._embed(idx), []
        for block in self.blocks:
            x, weights = block(x, return_attention=True)
            maps.append(weights)
        return maps


@torch.no_grad()
def generate(model: GPT, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T); returns (B, T + max_new_tokens).

    ``temperature`` divides the logits (< 1: surer, > 1: more random); ``top_k`` samples only among
    the k likeliest tokens. The same seeded ``generator`` gives the same text.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if idx.dim() != 2:
        raise ValueError(f"idx must have shape (batch, time), got shape {tuple(idx.shape)}")
    was_training = model.training
    model.eval()
    block_size = model.config.block_size
    for _ in range(max_new_tokens):
        logits, _ = model(idx[:, -block_size:])  # the model sees at most block_size tokens
        logits = logits[:, -1, :].float() / temperature
        if top_k is not None:
            logits, candidates = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1)
        probs = F.softmax(logits, dim=-1)
        if generator is not None:  # sample where the generator lives, so a CPU generator works for a GPU model
            probs = probs.to(generator.device)
        choice = torch.multinomial(probs, num_samples=1, generator=generator).to(idx.device)
        next_id = candidates.gather(-1, choice) if top_k is not None else choice
        idx = torch.cat([idx, next_id], dim=1)
    model.train(was_training)
    return idx


def get_batch(data, block_size: int, batch_size: int, generator: torch.Generator | None = None, device="cpu"):
    """``batch_size`` random windows of ``data`` (1-D int64): inputs x and targets y = x shifted by one, (B, T)."""
    data = torch.as_tensor(np.asarray(data, dtype=np.int64) if not torch.is_tensor(data) else data)
    if data.dim() != 1:
        raise ValueError(f"data must be 1-D, got shape {tuple(data.shape)}")
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens; it needs more than block_size={block_size}")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[starts[:, None] + offsets]
    y = data[starts[:, None] + offsets + 1]
    return x.to(device), y.to(device)


def _autocast(device: torch.device, amp: bool):
    """bf16 autocast on CPU and on GPUs that support it, fp16 on older GPUs (with a GradScaler)."""
    if amp and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype), dtype
    if amp and device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16), torch.bfloat16
    return torch.autocast(device.type, enabled=False), torch.float32  # e.g. MPS: full precision


@torch.no_grad()
def estimate_loss(model: GPT, data, *, batch_size: int, eval_iters: int, device="cpu", amp: bool = False,
                  seed: int = 0) -> float:
    """Mean loss over ``eval_iters`` random batches; the same ``seed`` gives the same batches."""
    device = torch.device(device)
    generator = torch.Generator().manual_seed(seed)
    autocast, _ = _autocast(device, amp)
    was_training = model.training
    model.eval()
    losses = []
    for _ in range(eval_iters):
        x, y = get_batch(data, model.config.block_size, batch_size, generator, device)
        with autocast:
            losses.append(model(x, y)[1].item())
    model.train(was_training)
    return float(np.mean(losses))


def train(model: GPT, train_ids, val_ids, *, steps: int, batch_size: int, lr: float, eval_interval: int,
          eval_iters: int, device="cpu", amp: bool = True, seed: int = 0, weight_decay: float = 0.1,
          grad_clip: float = 1.0) -> dict[str, list]:
    """Train with AdamW on random windows; return ``{"step", "train_loss", "val_loss"}`` lists.

    Losses are estimated at step 0, every ``eval_interval`` steps and at the end, on the same
    ``eval_iters`` batches each time. ``seed`` fixes the batches and dropout (it seeds torch's global RNG).
    The model is trained in place and left in eval mode.
    """
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_interval", eval_interval),
                        ("eval_iters", eval_iters)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    device = torch.device(device)
    model.to(device)
    torch.manual_seed(seed)  # dropout masks
    generator = torch.Generator().manual_seed(seed)
    # Weight decay on matrices and embeddings only; biases and LayerNorm gains stay free (as in nanoGPT).
    params = [p for p in model.parameters() if p.requires_grad]
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.99), fused=device.type == "cuda")
    autocast, dtype = _autocast(device, amp)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)  # fp16 gradients underflow without it
    evaluate = dict(batch_size=batch_size, eval_iters=eval_iters, device=device, amp=amp, seed=seed + 1)
    history = {"step": [], "train_loss": [], "val_loss": []}

    def record(step):
        history["step"].append(step)
        history["train_loss"].append(estimate_loss(model, train_ids, **evaluate))
        history["val_loss"].append(estimate_loss(model, val_ids, **evaluate))

    model.train()
    record(0)
    bar = progress(range(1, steps + 1), desc="train")
    bar.set_postfix(train=f"{history['train_loss'][-1]:.3f}", val=f"{history['val_loss'][-1]:.3f}")
    for step in bar:
        x, y = get_batch(train_ids, model.config.block_size, batch_size, generator, device)
        with autocast:
            _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        if grad_clip:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        scaler.step(optimizer)
        scaler.update()
        if step % eval_interval == 0 or step == steps:
            record(step)
            bar.set_postfix(train=f"{history['train_loss'][-1]:.3f}", val=f"{history['val_loss'][-1]:.3f}")
    bar.close()
    model.eval()
    return history


def unigram_bigram_baselines(train_ids, val_ids, vocab_size: int, smoothing: float = 1.0) -> dict[str, float]:
    """Validation cross-entropy (nats per token) of add-k smoothed unigram and bigram models fitted on train.

    Both are scored on the same targets ``val_ids[1:]`` (every token that has a predecessor), the
    bigram conditioning on ``val_ids[:-1]``; ``"uniform"`` is ln(vocab_size), a model that knows nothing.
    """
    if not smoothing > 0:
        raise ValueError(f"smoothing must be > 0 (else unseen tokens get probability 0), got {smoothing!r}")
    V = int(vocab_size)
    train_ids, val_ids = np.asarray(train_ids, dtype=np.int64), np.asarray(val_ids, dtype=np.int64)
    for name, ids in (("train_ids", train_ids), ("val_ids", val_ids)):
        if ids.ndim != 1 or len(ids) < 2:
            raise ValueError(f"{name} must be 1-D with at least 2 ids, got shape {ids.shape}")
        if ids.min() < 0 or ids.max() >= V:
            raise ValueError(f"{name} has ids outside 0 .. {V - 1} (vocab_size={V})")
    prev, target = val_ids[:-1], val_ids[1:]

    counts = np.bincount(train_ids, minlength=V).astype(np.float64)
    p_unigram = (counts[target] + smoothing) / (counts.sum() + smoothing * V)

    # Bigram counts of the pairs we need only, not a V x V table (V is in the thousands with Chinese).
    pair_codes, pair_counts = np.unique(train_ids[:-1] * V + train_ids[1:], return_counts=True)
    wanted = prev * V + target
    where = np.clip(np.searchsorted(pair_codes, wanted), 0, len(pair_codes) - 1)
    n_pair = np.where(pair_codes[where] == wanted, pair_counts[where], 0)
    n_prev = np.bincount(train_ids[:-1], minlength=V)[prev]
    p_bigram = (n_pair + smoothing) / (n_prev + smoothing * V)

    return {"uniform": math.log(V), "unigram": float(-np.log(p_unigram).mean()),
            "bigram": float(-np.log(p_bigram).mean())}
