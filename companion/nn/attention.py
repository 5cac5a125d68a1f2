"""Attention in NumPy, forward and backward (taught in chapter 8, sections 8.2-8.5 and 8.7).

- :func:`attention_forward` / :func:`attention_backward`: the functional core, ``softmax(q k^T / sqrt(d) + mask) v``
  as a cs231n pair, ``out, cache = attention_forward(q, k, v, mask)`` and ``dq, dk, dv = attention_backward(dout,
  cache)``. It is the one place where attention is computed: the modules below call it.
- :func:`causal_mask`, :func:`split_heads`, :func:`merge_heads`: the mask and the layout of heads.
- :class:`MultiheadAttention`: the twin of ``torch.nn.MultiheadAttention`` (same parameter names, layouts and
  arguments, so ``mha.load_state_dict(torch_mha.state_dict())`` works), for self- and cross-attention.
- :class:`SelfAttention`: multi-head self-attention with GPT-2's parameter names (``c_attn``, ``c_proj``), the
  attention of :class:`companion.nn.transformer.TransformerBlock` and of ``companion.torch.gpt.CausalSelfAttention``.

Masks, one convention in this package: a boolean mask is True where a query **may attend** to a key, as in
``torch.nn.functional.scaled_dot_product_attention`` and as :func:`causal_mask` builds it (lower triangular).
A float mask is added to the scores (``-inf`` forbids). ``torch.nn.MultiheadAttention`` uses the opposite
convention for its boolean masks (True = *masked out*: ``key_padding_mask`` is True at padding, ``attn_mask``
True above the diagonal for a causal mask); :class:`MultiheadAttention` takes torch's arguments as they are, so
the same call works on both, and turns them into this package's convention in one place, ``mha_mask``.

A query that may attend to no key gets an output of zeros and zero gradients, as torch's fused kernel gives
(``nn.MultiheadAttention`` with ``need_weights=True`` gives NaN there), never NaN.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from ..book.runtime import default_generator
from .checks import positive_int
from .functional import linear_backward, linear_forward
from .linear import Linear
from .module import Module, Parameter

__all__ = ["AttentionCache", "attention_forward", "attention_backward", "causal_mask", "split_heads", "merge_heads",
           "MultiheadAttention", "SelfAttention"]


class AttentionCache(NamedTuple):
    """What :func:`attention_backward` needs from the forward pass."""
    q: np.ndarray        # (..., L, E)
    k: np.ndarray        # (..., S, E)
    v: np.ndarray        # (..., S, Ev)
    weights: np.ndarray  # the softmax probabilities (..., L, S); 0 where masked
    scale: float


# --- the functional core --------------------------------------------------------------------------------

def check_qkv(q, k, v):
    """q (..., L, E), k (..., S, E), v (..., S, Ev), floating point, in one dtype; else an error naming the shapes."""
    q, k, v = np.asarray(q), np.asarray(k), np.asarray(v)
    for name, x in (("query", q), ("key", k), ("value", v)):
        if x.dtype.kind != "f":
            raise TypeError(f"attention_forward: {name} must be floating point, got dtype {x.dtype}")
    if q.ndim < 2:
        raise ValueError(f"attention_forward expected query of shape (..., L, E), got {q.shape}")
    if k.ndim != q.ndim or k.shape[:-2] != q.shape[:-2] or k.shape[-1] != q.shape[-1]:
        raise ValueError(f"attention_forward expected key of shape {q.shape[:-2] + ('S', q.shape[-1])} "
                         f"(the query is {q.shape}), got {k.shape}")
    if v.ndim != k.ndim or v.shape[:-1] != k.shape[:-1]:
        raise ValueError(f"attention_forward expected value of shape {k.shape[:-1] + ('Ev',)} "
                         f"(the key is {k.shape}), got {v.shape}")
    dtype = np.result_type(q, k, v)
    return q.astype(dtype, copy=False), k.astype(dtype, copy=False), v.astype(dtype, copy=False)


def apply_mask(scores: np.ndarray, mask) -> None:
    """Mask ``scores`` (..., L, S) in place: -inf where a boolean mask is False; a float mask is added."""
    mask = np.asarray(mask)
    try:
        fits = np.broadcast_shapes(mask.shape, scores.shape) == scores.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"attention mask of shape {mask.shape} does not broadcast to the scores' shape "
                         f"{scores.shape} (..., L, S)")
    if mask.dtype == bool:
        np.copyto(scores, -np.inf, where=~mask)
    elif mask.dtype.kind == "f":
        scores += mask
    else:
        raise TypeError(f"an attention mask is boolean (True = may attend) or float (added to the scores), "
                        f"got dtype {mask.dtype}")


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in place; a row that is all -inf (nothing to attend to) becomes zeros."""
    row_max = scores.max(axis=-1, keepdims=True)
    row_max[row_max == -np.inf] = 0.0  # exp(-inf - 0) = 0: no NaN from -inf - (-inf)
    scores -= row_max
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    total[total == 0] = 1.0  # 0 / 1 = 0 for the rows with nothing to attend to
    scores /= total
    return scores


def attention_forward(q, k, v, mask=None, scale=None):
    """``softmax(q k^T * scale + mask) v`` for q (..., L, E), k (..., S, E), v (..., S, Ev); ``(out, cache)``.

    ``mask``: boolean, True where a query may attend to a key, or float, added to the scores; it broadcasts to
    (..., L, S). ``scale`` defaults to ``1 / sqrt(E)``. ``cache.weights`` holds the attention weights.
    Taught in chapter 8, section 8.2 (masks in 8.4).
    """
    q, k, v = check_qkv(q, k, v)
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = (q * scale) @ np.swapaxes(k, -1, -2)  # (..., L, S): every query against every key
    if mask is not None:
        apply_mask(scores, mask)
    weights = softmax_rows(scores)  # each row sums to 1 (or is 0: nothing to attend to)
    return weights @ v, AttentionCache(q, k, v, weights, scale)


def attention_backward(dout, cache: AttentionCache):
    """Gradients ``(dq, dk, dv)`` given ``dout``, the gradient of the loss with respect to the output (..., L, Ev).

    Taught in chapter 8, section 8.2.
    """
    q, k, v, weights, scale = cache
    dout = np.asarray(dout)
    if dout.shape != weights.shape[:-1] + v.shape[-1:]:
        raise ValueError(f"attention_backward expected dout of shape {weights.shape[:-1] + v.shape[-1:]} "
                         f"(the output's shape), got {dout.shape}")
    dout = dout.astype(weights.dtype, copy=False)
    dv = np.swapaxes(weights, -1, -2) @ dout  # out = weights v
    dweights = dout @ np.swapaxes(v, -1, -2)
    # Softmax backward, row by row: ds = w * (dw - sum_j dw_j w_j). Masked entries have w = 0, so ds = 0 there.
    dscores = weights * (dweights - np.sum(dweights * weights, axis=-1, keepdims=True))
    dq = dscores @ k * scale
    dk = np.swapaxes(dscores, -1, -2) @ q * scale
    return dq, dk, dv


def check_sequence(x, embed_dim: int, owner: str) -> np.ndarray:
    """``x`` as an array if it is a batch of sequences (N, L, embed_dim); else a ValueError naming the shapes."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != embed_dim:
        raise ValueError(f"{owner} expected input of shape (N, L, {embed_dim}), got {x.shape}")
    return x


# --- masks and heads ------------------------------------------------------------------------------------

def causal_mask(length: int, source_length: int | None = None) -> np.ndarray:
    """Boolean (L, S), True where query i may attend to key j: j <= i (lower triangular).

    Taught in chapter 8, section 8.4.
    """
    source_length = length if source_length is None else source_length
    return np.tril(np.ones((length, source_length), dtype=bool))


def split_heads(x: np.ndarray, num_heads: int) -> np.ndarray:
    """(N, L, E) -> (N, H, L, E / H): head h gets the channels h d, ..., (h + 1) d - 1 of every position.

    Taught in chapter 8, section 8.5.
    """
    n, length, e = x.shape
    return x.reshape(n, length, num_heads, e // num_heads).transpose(0, 2, 1, 3)


def merge_heads(x: np.ndarray) -> np.ndarray:
    """(N, H, L, d) -> (N, L, H d): the heads' outputs side by side, the Concat of the formula.

    Taught in chapter 8, section 8.5.
    """
    n, h, length, d = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n, length, h * d)


# --- torch.nn.MultiheadAttention's twin -------------------------------------------------------------------

def _as_mask(mask, name: str, dtype) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != bool and mask.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {name} must be boolean (True = masked out, torch's convention) or "
                        f"floating point (added to the scores), got dtype {mask.dtype}")
    return mask if mask.dtype == bool else mask.astype(dtype, copy=False)


def mha_mask(key_padding_mask, attn_mask, is_causal: bool, heads: int, query, key):
    """torch MHA's masks (boolean True = masked out, or float added) as one mask in this package's convention
    (boolean True = may attend, or float added), broadcastable to (N, H, L, S); None if there is no mask."""
    (n, length, _), source, dtype = query.shape, key.shape[1], query.dtype
    masks = []
    if attn_mask is not None:
        attn_mask = _as_mask(attn_mask, "attn_mask", dtype)
        if attn_mask.shape == (n * heads, length, source):
            attn_mask = attn_mask.reshape(n, heads, length, source)
        elif attn_mask.shape != (length, source):
            raise ValueError(f"MultiheadAttention expected attn_mask of shape {(length, source)} or "
                             f"{(n * heads, length, source)}, got {attn_mask.shape}")
        masks.append(attn_mask)
    elif is_causal:
        masks.append(~causal_mask(length, source))  # in torch MHA's convention, as a user's attn_mask would be
    if key_padding_mask is not None:
        key_padding_mask = _as_mask(key_padding_mask, "key_padding_mask", dtype)
        if key_padding_mask.shape != (n, source):
            raise ValueError(f"MultiheadAttention expected key_padding_mask of shape {(n, source)}, "
                             f"got {key_padding_mask.shape}")
        masks.append(key_padding_mask.reshape(n, 1, 1, source))
    if not masks:
        return None
    if all(m.dtype == bool for m in masks):
        return ~functools.reduce(np.logical_or, masks)  # may attend: masked out by none of them
    # As torch does: a boolean mask becomes -inf where it is True, and the masks are added.
    return sum(np.where(m, -np.inf, 0.0).astype(dtype) if m.dtype == bool else m for m in masks)


def stacked_thirds(weight: Parameter, bias, attribute: str = "data"):
    """The query, key and value thirds of a stacked (3E, E) weight and (3E,) bias: views of ``.data`` or ``.grad``."""
    biases = [None] * 3 if bias is None else np.split(getattr(bias, attribute), 3)
    return np.split(getattr(weight, attribute), 3), biases


def mha_batch_first(mha, query, key, value, key_padding_mask):
    """The checked inputs of ``mha`` as (N, L, E), (N, S, E), (N, S, E), the padding mask as (N, S), and whether the
    call was unbatched ((L, E) inputs)."""
    dtype, e = mha.in_proj_weight.data.dtype, mha.embed_dim
    query, key, value = (np.asarray(x).astype(dtype, copy=False) for x in (query, key, value))
    if query.ndim not in (2, 3) or query.shape[-1] != e:
        layout = "(N, L, E)" if mha.batch_first else "(L, N, E)"
        raise ValueError(f"MultiheadAttention expected query of shape {layout} or (L, E) with E = {e}, "
                         f"got {query.shape}")
    unbatched, batch_axis = query.ndim == 2, 0 if mha.batch_first else 1
    if key.ndim != query.ndim or value.shape != key.shape or key.shape[-1] != e or (
            not unbatched and key.shape[batch_axis] != query.shape[batch_axis]):
        if unbatched:
            expected = f"('S', {e})"
        else:
            expected = str(("N", "S", e) if mha.batch_first else ("S", "N", e)) + f" with N = {query.shape[batch_axis]}"
        raise ValueError(f"MultiheadAttention expected key and value of the same shape {expected} (the query is "
                         f"{query.shape}), got key {key.shape} and value {value.shape}")
    if unbatched:
        padding = None if key_padding_mask is None else np.asarray(key_padding_mask)[None]
        return (query[None], key[None], value[None]), padding, True
    if not mha.batch_first:
        query, key, value = (np.swapaxes(x, 0, 1) for x in (query, key, value))
    return (query, key, value), key_padding_mask, False


def caller_layout(x, batch_first: bool, unbatched: bool):
    """(N, L, E) back to the caller's layout: (L, E) if unbatched, (L, N, E) if not batch_first."""
    if unbatched:
        return x[0]
    return x if batch_first else np.swapaxes(x, 0, 1)


def mha_grad_batch_first(mha, grad_out, attention: AttentionCache, unbatched: bool):
    """``grad_out`` checked against the output's shape in the caller's layout, as (N, L, E)."""
    n, length, e = attention.q.shape[0], attention.q.shape[2], mha.embed_dim
    expected = (length, e) if unbatched else ((n, length, e) if mha.batch_first else (length, n, e))
    grad_out = mha._check_grad_shape(grad_out, expected).astype(mha.in_proj_weight.data.dtype, copy=False)
    if unbatched:
        return grad_out[None]
    return grad_out if mha.batch_first else np.swapaxes(grad_out, 0, 1)


def mha_weights(attention: AttentionCache, average: bool, unbatched: bool):
    """The attention weights as torch returns them: (N, L, S) averaged over the heads, or (N, H, L, S)."""
    weights = attention.weights.mean(axis=1) if average else attention.weights.copy()
    return weights[0] if unbatched else weights


class MultiheadAttention(Module):
    """Multi-head attention with ``torch.nn.MultiheadAttention``'s parameters, layouts and masks
    (kdim = vdim = embed_dim; torch's boolean masks: True = masked out).

    ``forward(query, key, value, ...)`` returns ``(output, weights)``: output shaped like ``query``, weights
    (N, L, S), or (N, H, L, S) if not averaged over the heads, or None if not ``need_weights``.
    ``backward(grad_out)`` returns ``(dquery, dkey, dvalue)`` (no gradient flows back through the returned
    weights); for self-attention ``mha(x, x, x)`` the gradient of ``x`` is their sum. Unlike torch,
    ``is_causal=True`` without ``attn_mask`` builds the causal mask (torch requires the mask and treats
    is_causal as a hint about it). Taught in chapter 8, section 8.5.
    """

    def __init__(self, embed_dim, num_heads, bias=True, batch_first=True, *, rng=None, dtype=np.float32):
        super().__init__()
        self.embed_dim = positive_int(embed_dim, "embed_dim", "MultiheadAttention")
        self.num_heads = positive_int(num_heads, "num_heads", "MultiheadAttention")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a multiple of num_heads "
                             f"({num_heads})")
        self.head_dim, self.batch_first = self.embed_dim // self.num_heads, bool(batch_first)
        rng = default_generator() if rng is None else rng
        e = self.embed_dim
        bound = math.sqrt(6.0 / (e + 3 * e))  # torch: xavier_uniform_ on the stacked (3E, E) matrix
        self.in_proj_weight = Parameter(rng.uniform(-bound, bound, (3 * e, e)).astype(dtype))  # W_Q; W_K; W_V
        self.in_proj_bias = Parameter(np.zeros(3 * e, dtype=dtype)) if bias else None
        self.out_proj = Linear(e, e, bias=bias, rng=rng, dtype=dtype)  # W_O
        if bias:
            self.out_proj.bias.data[...] = 0  # torch starts both biases at zero

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        (query, key, value), key_padding_mask, unbatched = mha_batch_first(self, query, key, value, key_padding_mask)
        mask = mha_mask(key_padding_mask, attn_mask, is_causal, self.num_heads, query, key)  # True = may attend
        weights, biases = stacked_thirds(self.in_proj_weight, self.in_proj_bias)
        projected, caches = zip(*(linear_forward(x, w, b) for x, w, b in zip((query, key, value), weights, biases)))
        q, k, v = (split_heads(p, self.num_heads) for p in projected)        # (N, H, L or S, d)
        context, attention = attention_forward(q, k, v, mask)                # (N, H, L, d): h attentions at once
        out = self.out_proj(merge_heads(context))                            # (N, L, E): Concat(heads) W_O
        self._cache = caches, attention, unbatched
        returned = mha_weights(attention, average_attn_weights, unbatched) if need_weights else None
        return caller_layout(out, self.batch_first, unbatched), returned

    def backward(self, grad_out):
        projection_caches, attention, unbatched = self._cached("_cache")
        dcontext = self.out_proj.backward(mha_grad_batch_first(self, grad_out, attention, unbatched))
        dq, dk, dv = attention_backward(split_heads(dcontext, self.num_heads), attention)
        weight_grads, bias_grads = stacked_thirds(self.in_proj_weight, self.in_proj_bias, "grad")
        grads = []
        for dp, cache, w_grad, b_grad in zip((dq, dk, dv), projection_caches, weight_grads, bias_grads):
            dx, dw, db = linear_backward(merge_heads(dp), cache)
            w_grad += dw  # w_grad is a view: one third of in_proj_weight.grad
            if b_grad is not None:
                b_grad += db
            grads.append(caller_layout(dx, self.batch_first, unbatched))
        return tuple(grads)

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


# --- GPT-2's self-attention ----------------------------------------------------------------------------------

class SelfAttention(Module):
    """Multi-head self-attention with GPT-2's parameter names: ``c_attn`` (E -> 3E: the queries, keys and values
    of all heads in one product) and ``c_proj`` (E -> E: mixes the heads). The names of
    ``companion.torch.gpt.CausalSelfAttention``, so state dicts copy between them. ``causal=True``: position i
    attends to positions j <= i only. Input and output (N, L, E).

    Taught in chapter 8, section 8.7.
    """

    def __init__(self, embed_dim, num_heads, causal=False, bias=True, *, rng=None, dtype=np.float32):
        super().__init__()
        self.embed_dim = positive_int(embed_dim, "embed_dim", "SelfAttention")
        self.num_heads = positive_int(num_heads, "num_heads", "SelfAttention")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"SelfAttention: embed_dim ({embed_dim}) must be a multiple of num_heads ({num_heads})")
        self.causal = bool(causal)
        self.c_attn = Linear(embed_dim, 3 * embed_dim, bias=bias, rng=rng, dtype=dtype)
        self.c_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dtype)

    def forward(self, x):
        x = check_sequence(x, self.embed_dim, "SelfAttention")
        q, k, v = np.split(self.c_attn(x), 3, axis=-1)                      # (N, L, E) each
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))        # (N, H, L, d)
        mask = causal_mask(x.shape[1]) if self.causal else None
        y, self._cache = attention_forward(q, k, v, mask)                   # (N, H, L, d)
        return self.c_proj(merge_heads(y))                                  # (N, L, E)

    def backward(self, grad_out):
        dy = split_heads(self.c_proj.backward(grad_out), self.num_heads)    # (N, H, L, d)
        dq, dk, dv = attention_backward(dy, self._cached("_cache"))
        return self.c_attn.backward(np.concatenate([merge_heads(g) for g in (dq, dk, dv)], axis=-1))

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, causal={self.causal}"
