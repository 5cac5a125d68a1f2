"""The Transformer block in NumPy, forward and backward (taught in chapter 8, sections 8.6 and 8.7).

:class:`TransformerBlock` is GPT-2's pre-norm block with GPT-2's parameter names: ``ln_1``, ``attn`` (a
:class:`~companion.nn.attention.SelfAttention`: ``attn.c_attn``, ``attn.c_proj``), ``ln_2`` and ``mlp``
(:class:`MLP`: ``mlp.c_fc``, ``mlp.c_proj``), the names of ``companion.torch.gpt.Block``, so that
``numpy_block.load_state_dict(torch_block.state_dict())`` copies a torch block's weights by name.
"""
from __future__ import annotations

import numpy as np

from ..book.runtime import default_generator
from .activation import GELU
from .attention import SelfAttention, check_sequence
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["sinusoidal_positional_encoding", "MLP", "TransformerBlock"]


def sinusoidal_positional_encoding(length, dim, *, base=10000.0, dtype=np.float32):
    """(length, dim): ``PE[p, 2i] = sin(p / base^(2i/dim))``, ``PE[p, 2i+1] = cos(p / base^(2i/dim))`` (Vaswani et
    al. 2017). Taught in chapter 8, section 8.6."""
    if length < 0 or dim < 2 or dim % 2:
        raise ValueError(f"sinusoidal_positional_encoding needs length >= 0 and an even dim >= 2, "
                         f"got length={length}, dim={dim}")
    angle = np.arange(length)[:, None] / base ** (np.arange(0, dim, 2) / dim)  # (length, dim / 2)
    pe = np.empty((length, dim))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe.astype(dtype)


class MLP(Module):
    """The position-wise feed-forward network: ``c_proj(gelu(c_fc(x)))``, E -> hidden -> E on every position.

    Taught in chapter 8, section 8.7.
    """

    def __init__(self, embed_dim, hidden, bias=True, *, rng=None, dtype=np.float32):
        super().__init__()
        self.c_fc = Linear(embed_dim, hidden, bias=bias, rng=rng, dtype=dtype)
        self.gelu = GELU()
        self.c_proj = Linear(hidden, embed_dim, bias=bias, rng=rng, dtype=dtype)

    def forward(self, x):
        return self.c_proj(self.gelu(self.c_fc(x)))

    def backward(self, grad_out):
        return self.c_fc.backward(self.gelu.backward(self.c_proj.backward(grad_out)))


class TransformerBlock(Module):
    """Pre-norm block: ``x = x + attn(ln_1(x))``, then ``x = x + mlp(ln_2(x))``; input and output (N, L, E).

    ``causal=True`` lets position i attend to positions j <= i only (a GPT block).
    Taught in chapter 8, section 8.7.
    """

    def __init__(self, embed_dim, num_heads, mlp_ratio=4, causal=False, bias=True, *, rng=None, dtype=np.float32):
        super().__init__()
        rng = default_generator() if rng is None else rng
        self.ln_1 = LayerNorm(embed_dim, dtype=dtype)
        self.attn = SelfAttention(embed_dim, num_heads, causal=causal, bias=bias, rng=rng, dtype=dtype)
        self.ln_2 = LayerNorm(embed_dim, dtype=dtype)
        self.mlp = MLP(embed_dim, int(round(mlp_ratio * embed_dim)), bias=bias, rng=rng, dtype=dtype)

    def forward(self, x):
        x = check_sequence(x, self.attn.embed_dim, "TransformerBlock").astype(self.ln_1.weight.data.dtype, copy=False)
        x = x + self.attn(self.ln_1(x))    # every position gathers from the others
        return x + self.mlp(self.ln_2(x))  # every position on its own

    def backward(self, grad_out):
        # Each residual connection adds the gradient of its branch to the gradient that skips it.
        grad_mid = grad_out + self.ln_2.backward(self.mlp.backward(grad_out))
        return grad_mid + self.ln_1.backward(self.attn.backward(grad_mid))
