"""Pretraining and adapting a small language model (chapter 9): a neural bigram baseline, exact per-token losses,
masked-token (BERT-style) batches and a bidirectional encoder, and a classifier on a pretrained body.

The models share ``companion.torch.gpt``'s interface: ``config.block_size`` and ``forward(idx, targets)`` ->
``(logits, loss)``, so ``companion.torch.gpt_train.train`` trains every one of them.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .gpt import GPT, CausalSelfAttention, GPTConfig, check_tokens
from .gpt_train import get_batch

__all__ = ["BigramLM", "token_losses", "mask_tokens", "masked_batches", "BidirectionalSelfAttention", "MaskedLM",
           "hidden_states", "pad_batch", "GPTClassifier", "IGNORE_INDEX"]

IGNORE_INDEX = -100  # a target that the loss skips (F.cross_entropy's default ignore_index)


class BigramLM(nn.Module):
    """The neural bigram: a table of ``vocab_size x vocab_size`` learned logits, the next token given the current
    one only. Trained by gradient descent, it can do no better than the counted bigram; it is the baseline that
    shows what context adds. Taught in chapter 9."""

    def __init__(self, vocab_size: int, block_size: int):
        super().__init__()
        self.config = GPTConfig(vocab_size=vocab_size, block_size=block_size, n_layer=1, n_head=1, n_embd=1)
        self.logits = nn.Embedding(vocab_size, vocab_size)
        nn.init.zeros_(self.logits.weight)  # starts uniform: loss ln V

    def forward(self, idx, targets=None):
        B, T = check_tokens(idx, targets, self.config.block_size)
        logits = self.logits(idx)                                     # (B, T, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits.view(B * T, -1), targets.reshape(-1),
                                                            ignore_index=IGNORE_INDEX)
        return logits, loss


@torch.no_grad()
def token_losses(model: nn.Module, ids, *, stride: int | None = None, batch_size: int = 32, device="cpu") -> np.ndarray:
    """The loss in nats of every token of ``ids`` after the first, each predicted from up to ``block_size``
    tokens before it: the exact cross-entropy of a whole text, where ``estimate_loss`` samples windows.

    Windows of ``block_size`` tokens start every ``stride`` tokens (default ``block_size // 2``); the first window
    scores all its targets, each later one only those no earlier window scored (its last ``stride``), so every
    target is scored once, and after the first window with at least ``block_size - stride`` tokens of context.
    Returns ``len(ids) - 1`` values.
    """
    ids = torch.as_tensor(np.asarray(ids, dtype=np.int64))
    if ids.dim() != 1 or len(ids) < 2:
        raise ValueError(f"ids must be 1-D with at least 2 tokens, got shape {tuple(ids.shape)}")
    T = model.config.block_size
    stride = stride or max(1, T // 2)
    if not 1 <= stride <= T:
        raise ValueError(f"stride must be from 1 to block_size={T}, got {stride!r}")
    n = len(ids) - 1  # target j is ids[j + 1], predicted from ids[:j + 1]
    width = min(T, n)
    starts = list(range(0, n - width + 1, stride))
    if starts[-1] + width < n:
        starts.append(n - width)  # a last window that ends at the last target
    was_training = model.training
    model.eval()
    out = np.full(n, np.nan)
    for first in range(0, len(starts), batch_size):
        group = starts[first:first + batch_size]
        x = torch.stack([ids[s:s + width] for s in group]).to(device)
        y = torch.stack([ids[s + 1:s + 1 + width] for s in group]).to(device)
        logits = model(x)[0].float()
        nats = F.cross_entropy(logits.transpose(1, 2), y, reduction="none").cpu().numpy()  # (B, width)
        for row, s in zip(nats, group):  # windows go left to right: keep the targets no window has scored yet
            fresh = np.isnan(out[s:s + width])
            out[s:s + width][fresh] = row[fresh]
    model.train(was_training)
    if np.isnan(out).any():  # every target must have been scored; a failure here is a bug in the windows
        raise RuntimeError(f"{int(np.isnan(out).sum())} targets were not scored")
    return out


def mask_tokens(x, *, mask_id, vocab_size, p=0.15, generator=None):
    """BERT's masking (Devlin et al., 2019): choose each position with probability ``p``; of the chosen, 80 %
    become ``mask_id``, 10 % a random token, 10 % stay as they are. Returns ``(inputs, targets)``, where the
    targets are the original tokens at the chosen positions and ``IGNORE_INDEX`` elsewhere (no loss there).
    At least one position of each row is chosen, so that no row has nothing to predict. Taught in chapter 9."""
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p must be in (0, 1], got {p!r}")
    if not 0 <= mask_id < vocab_size:
        raise ValueError(f"mask_id must be a token id below vocab_size={vocab_size}, got {mask_id!r}")
    device = x.device
    u = torch.rand(x.shape, generator=generator).to(device)
    chosen = u < p
    chosen[torch.arange(x.size(0)), u.argmin(dim=1)] = True       # the smallest draw of each row is always chosen
    action = torch.rand(x.shape, generator=generator).to(device)  # which of the three replacements
    random_ids = torch.randint(vocab_size, x.shape, generator=generator).to(device)
    inputs = torch.where(chosen & (action < 0.8), torch.full_like(x, mask_id), x)
    inputs = torch.where(chosen & (action >= 0.8) & (action < 0.9), random_ids, inputs)
    targets = torch.where(chosen, x, torch.full_like(x, IGNORE_INDEX))
    return inputs, targets


def masked_batches(mask_id: int, vocab_size: int, p: float = 0.15):
    """A ``batch_fn`` for ``gpt_train.train``: random windows of the text, masked by ``mask_tokens``."""

    def batch_fn(data, block_size, batch_size, generator=None, device="cpu"):
        x, _next = get_batch(data, block_size, batch_size, generator)
        inputs, targets = mask_tokens(x, mask_id=mask_id, vocab_size=vocab_size, p=p, generator=generator)
        return inputs.to(device), targets.to(device)

    return batch_fn


class BidirectionalSelfAttention(CausalSelfAttention):
    """Chapter 8's attention without the causal mask: every position attends to every position. Taught in
    chapter 9."""

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.heads(x)                                                          # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=False)                              # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MaskedLM(GPT):
    """A BERT-style encoder: the GPT of chapter 8 with bidirectional attention, trained to predict masked tokens
    (targets ``IGNORE_INDEX`` are skipped). Its loss is over the masked positions only. Taught in chapter 9."""

    def __init__(self, config: GPTConfig):
        super().__init__(config)
        for block in self.blocks:
            block.attn = BidirectionalSelfAttention(config)
        self.apply(self._init_weights)  # GPT's initialisation, for the new attention layers too
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=config.init_std / math.sqrt(2 * config.n_layer))

    def forward(self, idx, targets=None):
        logits = super().forward(idx)[0]                              # (B, T, vocab_size)
        loss = None
        if targets is not None:
            check_tokens(idx, targets, self.config.block_size)
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1),
                                   ignore_index=IGNORE_INDEX)
        return logits, loss


def hidden_states(model: GPT, idx) -> torch.Tensor:
    """The last layer's vectors (B, T, n_embd) of a ``GPT`` or ``MaskedLM``, after the final LayerNorm: what the
    language-model head reads, and what a classifier reads instead."""
    B, T = check_tokens(idx, None, model.config.block_size)
    x = model.drop(model.wte(idx) + model.wpe(torch.arange(T, device=idx.device)))
    for block in model.blocks:
        x = block(x)
    return model.ln_f(x)


def pad_batch(sequences, pad_id: int, block_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token lists as one (B, T) tensor, padded on the right with ``pad_id`` and cut to their last ``block_size``
    tokens, and their lengths (B,). Right padding keeps a causal model's real tokens from seeing the pads."""
    if not len(sequences):
        raise ValueError("pad_batch needs at least one sequence")
    cut = [list(seq)[-block_size:] for seq in sequences]
    if min(len(seq) for seq in cut) == 0:
        raise ValueError("every sequence needs at least one token")
    T = max(len(seq) for seq in cut)
    idx = torch.full((len(cut), T), pad_id, dtype=torch.long)
    for row, seq in enumerate(cut):
        idx[row, :len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return idx, torch.as_tensor([len(seq) for seq in cut])


class GPTClassifier(nn.Module):
    """A pretrained body and a new linear head: the vector of each sequence's last real token (causal body) or the
    mean over its real tokens (``pool="mean"``, for a bidirectional body) gives class logits.
    ``forward(idx, lengths, targets)`` -> ``(logits, loss)``. Taught in chapter 9."""

    def __init__(self, body: GPT, num_classes: int, pool: str = "last"):
        super().__init__()
        if pool not in ("last", "mean"):
            raise ValueError(f"pool must be 'last' or 'mean', got {pool!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        self.body, self.pool, self.config = body, pool, body.config
        self.head = nn.Linear(body.config.n_embd, num_classes)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)  # starts at uniform class probabilities

    def forward(self, idx, lengths, targets=None):
        h = hidden_states(self.body, idx)                                       # (B, T, C)
        lengths = lengths.to(idx.device)
        if self.pool == "last":
            features = h[torch.arange(idx.size(0), device=idx.device), lengths - 1]  # (B, C)
        else:
            real = (torch.arange(idx.size(1), device=idx.device)[None, :] < lengths[:, None]).float()  # (B, T)
            features = (h * real[..., None]).sum(1) / lengths[:, None].float()
        logits = self.head(features)                                           # (B, num_classes)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss
