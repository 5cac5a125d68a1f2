"""A GPT in PyTorch, the model of nanoGPT's model.py in miniature (taught in chapter 8, section 8.9).

``GPT`` = token and learned position embeddings, ``n_layer`` pre-norm blocks (causal self-attention, then an MLP,
each inside a residual connection), a final LayerNorm, and a language-model head that shares its weight with the
token embedding. Parameter names are GPT-2's (``c_attn``, ``c_proj``, ``c_fc``, ``ln_1``, ``ln_2``), the names of
the NumPy ``companion.nn.transformer.TransformerBlock``, so a block's weights copy by name between the two.
Training (batches, loss estimates, the optimizer, the loop) is in ``companion.torch.gpt_train``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention_cost import attention_weights

__all__ = ["GPTConfig", "CausalSelfAttention", "MLP", "Block", "GPT", "count_parameters", "generate"]


def check_config(config) -> None:
    for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"GPTConfig: {name} must be a positive integer, got {value!r}")
    if config.n_embd % config.n_head:
        raise ValueError(f"GPTConfig: n_embd ({config.n_embd}) must be divisible by n_head ({config.n_head})")
    if not 0.0 <= config.dropout < 1.0:
        raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {config.dropout!r}")
    if not config.init_std > 0:
        raise ValueError(f"GPTConfig: init_std must be > 0, got {config.init_std!r}")


@dataclass
class GPTConfig:
    """The sizes of a GPT. Taught in chapter 8, section 8.9."""
    vocab_size: int        # tokens in the vocabulary: rows of the token embedding, logits at each position
    block_size: int        # the longest context, in tokens: rows of the position embedding
    n_layer: int           # Transformer blocks, one after the other
    n_head: int            # attention heads per block; each head works on n_embd // n_head channels
    n_embd: int            # width C of the vector that every position carries through the blocks
    dropout: float = 0.0   # dropout on the attention weights and on what each sub-layer adds to the residual stream
    bias: bool = True      # biases in the Linear layers and LayerNorms, as in GPT-2
    init_std: float = 0.02  # std of the initial weights; GPT-2's 0.02 was chosen for its width of 768

    def __post_init__(self):
        check_config(self)


class CausalSelfAttention(nn.Module):
    """All heads of causal self-attention at once: ``c_attn`` computes the queries, keys and values of every head
    in one product, the fused kernel attends, ``c_proj`` mixes the heads. Taught in chapter 8, section 8.9."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)  # q, k, v of all heads
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)      # mixes the heads' outputs
        self.resid_dropout = nn.Dropout(config.dropout)

    def heads(self, x):
        """The queries, keys and values of ``x`` (B, T, C), each (B, n_head, T, head_size)."""
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)                               # (B, T, C) each
        return [t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v)]  # (B, nh, T, hs)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.heads(x)                                                          # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)                               # (B, nh, T, hs)
        y = y.transpose(1, 2).contiguous().view(B, T, C)                                 # (B, T, C): heads side by side
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """The position-wise feed-forward network: C -> 4C -> GELU -> C. Taught in chapter 8, section 8.9."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))                        # (B, T, C)


class Block(nn.Module):
    """Pre-norm Transformer block: ``x + attn(ln_1(x))``, then ``x + mlp(ln_2(x))``. Taught in chapter 8, 8.9."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))  # (B, T, C): each position gathers from itself and the earlier ones
        x = x + self.mlp(self.ln_2(x))   # (B, T, C): each position on its own
        return x


class GPT(nn.Module):
    """Decoder-only Transformer language model: ``forward(idx, targets)`` -> ``(logits, loss)``.

    Taught in chapter 8, section 8.9.
    """

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embedding
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # learned position embedding
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _layer in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight  # weight tying: one matrix reads and writes tokens
        self.apply(self._init_weights)
        # GPT-2: the two projections of each block into the residual stream start smaller, by 1/sqrt(2 n_layer),
        # so that the variance of the stream does not grow with depth.
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=config.init_std / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=self.config.init_std)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx, targets=None):
        B, T = check_tokens(idx, targets, self.config.block_size)
        pos = torch.arange(T, device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))                  # (B, T, C)
        for block in self.blocks:
            x = block(x)                                              # (B, T, C)
        logits = self.lm_head(self.ln_f(x))                           # (B, T, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits.view(B * T, -1).float(), targets.reshape(-1))
        return logits, loss

    @torch.no_grad()
    def attention_weights(self, idx) -> list[torch.Tensor]:
        """The attention weights of every block, each (B, n_head, T, T), computed in evaluation mode (no
        dropout) for plotting; the model is left in the mode it was in."""
        B, T = check_tokens(idx, None, self.config.block_size)
        was_training = self.training
        self.eval()
        x, maps = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device)), []
        for block in self.blocks:
            q, k = block.attn.heads(block.ln_1(x))[:2]                # (B, nh, T, hs)
            maps.append(attention_weights(q, k, is_causal=True))      # (B, nh, T, T)
            x = block(x)
        self.train(was_training)
        return maps


def check_tokens(idx, targets, block_size: int):
    """(B, T) of the token ids ``idx``; a ValueError naming the shapes if idx or targets do not fit."""
    if idx.dim() != 2:
        raise ValueError(f"idx must have shape (batch, time), got shape {tuple(idx.shape)}")
    if idx.size(1) > block_size:
        raise ValueError(f"sequence length {idx.size(1)} is longer than block_size {block_size}")
    if targets is not None and targets.shape != idx.shape:
        raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}")
    return idx.shape


def count_parameters(model: nn.Module) -> int:
    """Number of distinct parameters (a tied weight counts once)."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def generate(model, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
    """Append ``max_new_tokens`` sampled tokens to ``idx`` (B, T); returns (B, T + max_new_tokens).

    ``temperature`` divides the logits (< 1: surer, > 1: more random); ``top_k`` samples only among the k likeliest
    tokens. The same seeded ``generator`` gives the same text. Taught in chapter 8, section 8.9.
    """
    check_sampling(idx, temperature, top_k)
    was_training = model.training
    model.eval()
    for _step in range(max_new_tokens):
        logits = model(idx[:, -model.config.block_size:])[0]          # the model sees at most block_size tokens
        logits = logits[:, -1, :].float() / temperature               # (B, vocab_size): the next token only
        if top_k is not None:
            logits, candidates = torch.topk(logits, min(top_k, logits.size(-1)), dim=-1)
        probs = F.softmax(logits, dim=-1)
        if generator is not None:  # sample where the generator lives, so a CPU generator works for a GPU model
            probs = probs.to(generator.device)
        choice = torch.multinomial(probs, num_samples=1, generator=generator).to(idx.device)  # (B, 1)
        next_id = candidates.gather(-1, choice) if top_k is not None else choice
        idx = torch.cat([idx, next_id], dim=1)
    model.train(was_training)
    return idx


def check_sampling(idx, temperature, top_k) -> None:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if idx.dim() != 2:
        raise ValueError(f"idx must have shape (batch, time), got shape {tuple(idx.shape)}")
