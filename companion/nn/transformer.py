"""Transformer building blocks in NumPy with forward and backward: Embedding, LayerNorm, GELU, the sinusoidal
positional encoding and a pre-norm TransformerBlock.

Names and layouts follow ``torch.nn``; a ``TransformerBlock``'s state dict has the keys of a torch module with
submodules ``ln1`` (LayerNorm), ``attn`` (MultiheadAttention, batch_first), ``ln2`` and ``mlp``
(Sequential(Linear, GELU, Linear)), so weights copy from such a torch twin with ``load_state_dict``.
"""
from __future__ import annotations

import math

import numpy as np

from ..book.runtime import default_generator
from .attention import MultiheadAttention
from .container import Sequential
from .linear import Linear
from .module import Module, Parameter

__all__ = ["Embedding", "LayerNorm", "GELU", "sinusoidal_positional_encoding", "TransformerBlock"]


class Embedding(Module):
    """A lookup table ``weight`` (num_embeddings, embedding_dim), initialised N(0, 1) like ``torch.nn.Embedding``.

    ``forward(indices)`` takes integer indices of any shape and returns shape ``indices.shape + (dim,)``.
    ``backward`` adds into ``weight.grad`` and returns None: integer indices have no gradient.
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, rng=None, dtype=np.float32):
        super().__init__()
        if num_embeddings < 1 or embedding_dim < 1:
            raise ValueError(f"Embedding: sizes must be positive, got ({num_embeddings}, {embedding_dim})")
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        rng = default_generator() if rng is None else rng
        self.weight = Parameter(rng.standard_normal((num_embeddings, embedding_dim)).astype(dtype))
        self._indices = None

    def forward(self, indices):
        indices = np.asarray(indices)
        if indices.dtype.kind not in "iu":
            raise TypeError(f"Embedding expects integer indices, got dtype {indices.dtype}")
        if indices.size and (indices.min() < 0 or indices.max() >= self.num_embeddings):
            bad = indices[(indices < 0) | (indices >= self.num_embeddings)].flat[0]
            raise ValueError(f"Embedding({self.num_embeddings}, {self.embedding_dim}): index {bad} is out of "
                             f"range [0, {self.num_embeddings})")
        self._indices = indices
        return self.weight.data[indices]

    def backward(self, grad_out):
        indices = self._cached("_indices")
        grad_out = self._check_grad_shape(grad_out, indices.shape + (self.embedding_dim,))
        # np.add.at accumulates repeated indices (fancy-index += would keep only one of them).
        np.add.at(self.weight.grad, indices.reshape(-1), grad_out.reshape(-1, self.embedding_dim))
        return None

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """``(x - mean) / sqrt(var + eps) * weight + bias`` over the last ``len(normalized_shape)`` axes (biased var)."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, *, dtype=np.float32):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
        if not shape or any(int(s) < 1 for s in shape):
            raise ValueError(f"LayerNorm: normalized_shape must hold positive sizes, got {normalized_shape!r}")
        self.normalized_shape, self.eps = tuple(int(s) for s in shape), float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype)) if elementwise_affine else None
        self._dtype = np.dtype(dtype)
        self._cache = None

    def forward(self, x):
        x = np.asarray(x)
        n = len(self.normalized_shape)
        if x.ndim < n or x.shape[x.ndim - n:] != self.normalized_shape:
            raise ValueError(f"LayerNorm expected input of shape (..., {', '.join(map(str, self.normalized_shape))}),"
                             f" got {x.shape}")
        x = x.astype(self.weight.data.dtype if self.weight is not None else self._dtype, copy=False)
        axes = tuple(range(-n, 0))
        centred = x - x.mean(axis=axes, keepdims=True)
        rstd = 1.0 / np.sqrt((centred * centred).mean(axis=axes, keepdims=True) + self.eps)
        xhat = centred * rstd
        self._cache = (xhat, rstd, axes)
        return xhat * self.weight.data + self.bias.data if self.weight is not None else xhat

    def backward(self, grad_out):
        xhat, rstd, axes = self._cached("_cache")
        grad_out = self._check_grad_shape(grad_out, xhat.shape)
        if self.weight is not None:
            lead = (-1,) + self.normalized_shape
            self.weight.grad += (grad_out * xhat).reshape(lead).sum(axis=0)
            self.bias.grad += grad_out.reshape(lead).sum(axis=0)
            grad_out = grad_out * self.weight.data
        # d xhat / dx removes the mean and the component along xhat, then scales by 1/std.
        return rstd * (grad_out - grad_out.mean(axis=axes, keepdims=True)
                       - xhat * (grad_out * xhat).mean(axis=axes, keepdims=True))

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


_erf = np.frompyfunc(math.erf, 1, 1)  # NumPy has no erf (and SciPy is not a dependency): exact but slowish


class GELU(Module):
    """``x * Phi(x)`` (``approximate="none"``, via erf) or torch's tanh approximation (``approximate="tanh"``)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self._cache = None

    def forward(self, x):
        x = np.asarray(x)
        if x.dtype.kind != "f":
            x = x.astype(np.float32)
        if self.approximate == "none":
            cdf = 0.5 * (1.0 + _erf(x * (1.0 / math.sqrt(2.0))).astype(x.dtype))
            self._cache = (x, cdf, None)
        else:
            inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)
            t = np.tanh(inner)
            cdf = 0.5 * (1.0 + t)
            self._cache = (x, cdf, t)
        return (x * cdf).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        x, cdf, t = self._cached("_cache")
        grad_out = self._check_grad_shape(grad_out, x.shape)
        if t is None:  # d/dx x Phi(x) = Phi(x) + x phi(x)
            deriv = cdf + x * np.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
        else:
            deriv = cdf + 0.5 * x * (1.0 - t * t) * math.sqrt(2.0 / math.pi) * (1.0 + 3 * 0.044715 * x * x)
        return (grad_out * deriv).astype(x.dtype, copy=False)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


def sinusoidal_positional_encoding(length: int, dim: int, *, base: float = 10000.0, dtype=np.float32) -> np.ndarray:
    """``PE[pos, 2i] = sin(pos / base^(2i/dim))``, ``PE[pos, 2i+1] = cos(...)`` (Vaswani et al. 2017), (length, dim)."""
    if length < 0 or dim < 2 or dim % 2:
        raise ValueError(f"sinusoidal_positional_encoding needs length >= 0 and an even dim >= 2, "
                         f"got length={length}, dim={dim}")
    position = np.arange(length, dtype=np.float64)[:, None]
    angle = position / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    pe = np.empty((length, dim))
    pe[:, 0::2], pe[:, 1::2] = np.sin(angle), np.cos(angle)
    return pe.astype(dtype)


class TransformerBlock(Module):
    """Pre-norm encoder block: ``x = x + attn(ln1(x))``, then ``x = x + mlp(ln2(x))``, mlp = Linear-GELU-Linear.

    Input (N, L, E), batch first. ``causal=True`` masks future positions; ``forward(x, key_padding_mask)`` takes
    torch's key padding mask (N, L), True = padding.
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_ratio: float = 4, causal: bool = False, *,
                 rng=None, dtype=np.float32):
        super().__init__()
        rng = default_generator() if rng is None else rng
        hidden = int(round(mlp_ratio * embed_dim))
        self.embed_dim, self.num_heads, self.causal = embed_dim, num_heads, bool(causal)
        self.ln1 = LayerNorm(embed_dim, dtype=dtype)
        self.attn = MultiheadAttention(embed_dim, num_heads, batch_first=True, rng=rng, dtype=dtype)
        self.ln2 = LayerNorm(embed_dim, dtype=dtype)
        self.mlp = Sequential(Linear(embed_dim, hidden, rng=rng, dtype=dtype), GELU(),
                              Linear(hidden, embed_dim, rng=rng, dtype=dtype))

    def __call__(self, x, key_padding_mask=None):
        return self.forward(x, key_padding_mask)

    def forward(self, x, key_padding_mask=None):
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[-1] != self.embed_dim:
            raise ValueError(f"TransformerBlock expected input of shape (N, L, {self.embed_dim}), got {x.shape}")
        x = x.astype(self.ln1.weight.data.dtype, copy=False)
        h = self.ln1(x)
        attended, _ = self.attn(h, h, h, key_padding_mask=key_padding_mask, need_weights=False,
                                is_causal=self.causal)
        x = x + attended
        return x + self.mlp(self.ln2(x))

    def backward(self, grad_out):
        # Each residual branch adds its own gradient to the one that skips it.
        grad_mid = grad_out + self.ln2.backward(self.mlp.backward(grad_out))
        return grad_mid + self.ln1.backward(self.attn.backward_self(grad_mid))

    def extra_repr(self) -> str:
        return f"causal={self.causal}"
