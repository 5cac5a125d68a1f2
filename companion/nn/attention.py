"""Scaled dot-product attention and multi-head attention in NumPy, forward and backward, with torch's semantics.

``scaled_dot_product_attention(q, k, v, ...)`` returns ``(output, cache)``; ``cache.weights`` holds the attention
weights and ``scaled_dot_product_attention_backward(grad_out, cache)`` returns ``(dq, dk, dv)``.
:class:`MultiheadAttention` has the parameter names and layouts of ``torch.nn.MultiheadAttention``, so
``mha.load_state_dict(torch_mha.state_dict())`` works.

Fully masked rows (a query allowed to attend to no key) give an output of zeros and zero gradients, as
``torch.nn.functional.scaled_dot_product_attention`` does in torch 2.13 - never NaN. (``nn.MultiheadAttention``
with ``need_weights=True`` returns NaN there; this module returns zeros, plus the output projection's bias.)
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..book.runtime import default_generator
from .linear import Linear
from .module import Module, Parameter

__all__ = ["AttentionCache", "scaled_dot_product_attention", "scaled_dot_product_attention_backward",
           "causal_mask", "MultiheadAttention"]


class AttentionCache(NamedTuple):
    """What the backward pass needs: the (scaled) query, key, value, the attention weights and the scale."""
    q: np.ndarray
    k: np.ndarray
    v: np.ndarray
    weights: np.ndarray  # softmax probabilities, (..., L, S)
    scale: float


def causal_mask(length: int, source_length: int | None = None) -> np.ndarray:
    """Boolean ``(L, S)`` mask, True where query ``i`` may attend to key ``j`` (``j <= i``), as torch's is_causal."""
    source_length = length if source_length is None else source_length
    return np.tril(np.ones((length, source_length), dtype=bool))


def _float_array(x, name: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"scaled_dot_product_attention: {name} must be floating point, got dtype {x.dtype}")
    return x


def _apply_mask(scores: np.ndarray, mask) -> None:
    """Mask ``scores`` in place: a boolean mask keeps True entries, a float mask is added (torch's rules)."""
    mask = np.asarray(mask)
    try:
        fits = np.broadcast_shapes(mask.shape, scores.shape) == scores.shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"attn_mask of shape {mask.shape} does not broadcast to the attention scores' shape "
                         f"{scores.shape} (..., L, S)")
    if mask.dtype == bool:
        np.copyto(scores, -np.inf, where=~mask)
    elif mask.dtype.kind == "f":
        scores += mask
    else:
        raise TypeError(f"attn_mask must be boolean (True = attend) or floating point (added), got dtype {mask.dtype}")


def _softmax_inplace(scores: np.ndarray, masked: bool) -> np.ndarray:
    """Softmax over the last axis, in place; rows that are all -inf become all zeros instead of NaN."""
    row_max = scores.max(axis=-1, keepdims=True)
    dead = None
    if masked:
        dead = row_max == -np.inf
        if dead.any():
            row_max[dead] = 0.0  # exp(-inf - 0) = 0: no NaN from -inf - (-inf)
        else:
            dead = None
    scores -= row_max
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if dead is not None:
        total[dead] = 1.0  # 0 / 1 = 0 for the fully masked rows
    scores /= total
    return scores


def scaled_dot_product_attention(q, k, v, attn_mask=None, is_causal: bool = False, scale: float | None = None):
    """``softmax(q k^T * scale + mask) v`` over shapes q (..., L, E), k (..., S, E), v (..., S, Ev).

    ``attn_mask``: boolean (True = may attend) or float (added to the scores), broadcastable to (..., L, S);
    ``is_causal`` uses the lower-triangular (L, S) mask and, as in torch, excludes ``attn_mask``.
    ``scale`` defaults to ``1/sqrt(E)``. Returns ``(output (..., L, Ev), AttentionCache)``.
    """
    q, k, v = _float_array(q, "query"), _float_array(k, "key"), _float_array(v, "value")
    if q.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention expected query of shape (..., L, E), got {q.shape}")
    batch, (length, dim) = q.shape[:-2], q.shape[-2:]
    if k.shape[:-2] != batch or k.ndim != q.ndim or k.shape[-1] != dim:
        raise ValueError(f"scaled_dot_product_attention expected key of shape {batch + ('S', dim)} "
                         f"(the query is {q.shape}), got {k.shape}")
    if v.ndim != q.ndim or v.shape[:-1] != k.shape[:-1]:
        raise ValueError(f"scaled_dot_product_attention expected value of shape {k.shape[:-1] + ('Ev',)} "
                         f"(the key is {k.shape}), got {v.shape}")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal=True, not both (as in torch)")
    dtype = np.result_type(q, k, v)
    q, k, v = q.astype(dtype, copy=False), k.astype(dtype, copy=False), v.astype(dtype, copy=False)
    scale = 1.0 / math.sqrt(dim) if scale is None else float(scale)

    q_scaled = q * dtype.type(scale)  # scaling q (L x E) is cheaper than scaling the scores (L x S)
    scores = q_scaled @ np.swapaxes(k, -1, -2)
    if is_causal:
        attn_mask = causal_mask(length, k.shape[-2])
    if attn_mask is not None:
        _apply_mask(scores, attn_mask)
    weights = _softmax_inplace(scores, masked=attn_mask is not None)
    return weights @ v, AttentionCache(q_scaled, k, v, weights, scale)


def scaled_dot_product_attention_backward(grad_out, cache: AttentionCache):
    """Gradients ``(dq, dk, dv)`` of the loss, given ``grad_out`` = dloss/doutput (..., L, Ev)."""
    q_scaled, k, v, p, scale = cache
    expected = p.shape[:-1] + (v.shape[-1],)
    grad_out = np.asarray(grad_out)
    if grad_out.shape != expected:
        raise ValueError(f"scaled_dot_product_attention_backward expected grad_out of shape {expected} "
                         f"(the output's shape), got {grad_out.shape}")
    grad_out = grad_out.astype(p.dtype, copy=False)
    dv = np.swapaxes(p, -1, -2) @ grad_out  # out = P v
    ds = grad_out @ np.swapaxes(v, -1, -2)  # dP
    # Softmax backward, row by row: dS = P * (dP - sum_j dP_j P_j). Masked entries have P = 0, so dS = 0.
    row = np.einsum("...ij,...ij->...i", ds, p)[..., None]
    ds -= row
    ds *= p
    dq = ds @ k
    dq *= p.dtype.type(scale)
    dk = np.swapaxes(ds, -1, -2) @ q_scaled
    return dq, dk, dv


def _bool_or_float(mask, name: str, dtype) -> np.ndarray:
    mask = np.asarray(mask)
    if mask.dtype != bool and mask.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {name} must be boolean (True = masked out) or floating point "
                        f"(added to the scores), got dtype {mask.dtype}")
    return mask if mask.dtype == bool else mask.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Multi-head attention with ``torch.nn.MultiheadAttention``'s parameters and masks (kdim = vdim = embed_dim).

    ``forward(query, key, value, ...)`` returns ``(output, weights)``; ``backward(grad_out)`` returns
    ``(dquery, dkey, dvalue)`` (no gradient flows back through the returned weights) and
    ``backward_self(grad_out)`` returns their sum, the input gradient of self-attention ``mha(x, x, x)``.
    Masks follow torch's MHA (opposite to F.scaled_dot_product_attention): a boolean True means *masked out*.
    Unlike torch, ``is_causal=True`` without ``attn_mask`` builds the causal mask (torch requires the mask and
    treats is_causal as a hint about it; given both, ``attn_mask`` is used).
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, batch_first: bool = True, *,
                 rng=None, dtype=np.float32):
        super().__init__()
        if embed_dim < 1 or num_heads < 1 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive multiple of "
                             f"num_heads ({num_heads})")
        self.embed_dim, self.num_heads, self.head_dim = int(embed_dim), int(num_heads), embed_dim // num_heads
        self.batch_first = bool(batch_first)
        rng = default_generator() if rng is None else rng
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))  # torch: xavier_uniform_ on the (3E, E) matrix
        self.in_proj_weight = Parameter(rng.uniform(-bound, bound, (3 * embed_dim, embed_dim)).astype(dtype))
        self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dtype=dtype)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, rng=rng, dtype=dtype)
        if bias:
            self.out_proj.bias.data[...] = 0  # torch zeroes both biases
        self._state = None

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _check(self, x, name: str) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.embed_dim:
            layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
            raise ValueError(f"MultiheadAttention expected {name} of shape {layout} or (L, E) with "
                             f"E = {self.embed_dim}, got {x.shape}")
        return x.astype(self.in_proj_weight.data.dtype, copy=False)

    def _merge_masks(self, key_padding_mask, attn_mask, is_causal, n, length, source):
        """One mask for F.sdpa's rules (bool True = attend, float added), broadcastable to (N, H, L, S)."""
        dtype = self.in_proj_weight.data.dtype
        masks = []
        if attn_mask is None and is_causal:
            masks.append(~causal_mask(length, source))  # in torch MHA's convention: True = masked out
        elif attn_mask is not None:
            attn_mask = _bool_or_float(attn_mask, "attn_mask", dtype)
            if attn_mask.shape == (length, source):
                masks.append(attn_mask)
            elif attn_mask.shape == (n * self.num_heads, length, source):
                masks.append(attn_mask.reshape(n, self.num_heads, length, source))
            else:
                raise ValueError(f"MultiheadAttention expected attn_mask of shape {(length, source)} or "
                                 f"{(n * self.num_heads, length, source)}, got {attn_mask.shape}")
        if key_padding_mask is not None:
            key_padding_mask = _bool_or_float(key_padding_mask, "key_padding_mask", dtype)
            if key_padding_mask.shape != (n, source):
                raise ValueError(f"MultiheadAttention expected key_padding_mask of shape {(n, source)}, "
                                 f"got {key_padding_mask.shape}")
            masks.append(key_padding_mask.reshape(n, 1, 1, source))
        if not masks:
            return None
        if all(m.dtype == bool for m in masks):
            keep = ~masks[0]
            for m in masks[1:]:
                keep = keep & ~m
            return keep
        total = 0
        for m in masks:  # torch converts boolean masks to -inf where True and adds the masks up
            total = total + (np.where(m, -np.inf, 0.0).astype(dtype) if m.dtype == bool else m)
        return total

    def forward(self, query, key, value, key_padding_mask=None, attn_mask=None, need_weights: bool = True,
                average_attn_weights: bool = True, is_causal: bool = False):
        """``(output, weights)``: output like ``query``; weights (N, L, S), or (N, H, L, S) if not averaged."""
        self_attention = query is key and key is value
        query, key, value = self._check(query, "query"), self._check(key, "key"), self._check(value, "value")
        unbatched = query.ndim == 2
        batch_axis = 0 if self.batch_first else 1
        if key.ndim != query.ndim or value.shape != key.shape or (
                not unbatched and key.shape[batch_axis] != query.shape[batch_axis]):
            if unbatched:
                expected = f"('S', {self.embed_dim})"
            else:
                expected = str(("N", "S", self.embed_dim) if self.batch_first else ("S", "N", self.embed_dim))
                expected += f" with N = {query.shape[batch_axis]}"
            raise ValueError(f"MultiheadAttention expected key and value of the same shape {expected} (the query "
                             f"is {query.shape}), got key {key.shape} and value {value.shape}")
        if unbatched:
            query, key, value = query[None], key[None], value[None]
            if key_padding_mask is not None:
                key_padding_mask = np.asarray(key_padding_mask)[None]
        elif not self.batch_first:
            query, key, value = (np.swapaxes(t, 0, 1) for t in (query, key, value))
        n, length, e = query.shape
        source, h, d = key.shape[1], self.num_heads, self.head_dim
        w = self.in_proj_weight.data
        b = self.in_proj_bias.data if self.in_proj_bias is not None else None

        if self_attention:  # one (N L, E) x (E, 3E) product instead of three
            qkv = query @ w.T
            if b is not None:
                qkv += b
            heads = qkv.reshape(n, length, 3, h, d).transpose(2, 0, 3, 1, 4)  # (3, N, H, L, d) view
            q, k, v = heads[0], heads[1], heads[2]
        else:
            q, k, v = (x @ w[i * e:(i + 1) * e].T + (0 if b is None else b[i * e:(i + 1) * e])
                       for i, x in enumerate((query, key, value)))
            q = q.reshape(n, length, h, d).transpose(0, 2, 1, 3)
            k = k.reshape(n, source, h, d).transpose(0, 2, 1, 3)
            v = v.reshape(n, source, h, d).transpose(0, 2, 1, 3)

        mask = self._merge_masks(key_padding_mask, attn_mask, is_causal, n, length, source)
        context, cache = scaled_dot_product_attention(q, k, v, attn_mask=mask)
        out = self.out_proj(context.transpose(0, 2, 1, 3).reshape(n, length, e))
        self._state = dict(inputs=(query, key, value), cache=cache, self_attention=self_attention,
                           unbatched=unbatched, out_shape=out.shape)

        weights = None
        if need_weights:
            weights = cache.weights.mean(axis=1) if average_attn_weights else cache.weights.copy()
            if unbatched:
                weights = weights[0]
        if unbatched:
            out = out[0]
        elif not self.batch_first:
            out = np.swapaxes(out, 0, 1)
        return out, weights

    def _projection_grads(self, grad_out):
        """Accumulate all parameter gradients; return dloss/d(projected q, k, v), each (N, L or S, 3 | 1, E)."""
        state = self._cached("_state")
        n, length, e = state["out_shape"]
        grad_out = np.asarray(grad_out)
        if state["unbatched"]:
            grad_out = self._check_grad_shape(grad_out, (length, e))[None]
        elif not self.batch_first:
            grad_out = np.swapaxes(self._check_grad_shape(grad_out, (length, n, e)), 0, 1)
        else:
            grad_out = self._check_grad_shape(grad_out, (n, length, e))
        dcontext = self.out_proj.backward(grad_out.astype(self.in_proj_weight.data.dtype, copy=False))
        dcontext = dcontext.reshape(n, length, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)
        dq, dk, dv = scaled_dot_product_attention_backward(dcontext, state["cache"])
        query, key, value = state["inputs"]
        w_grad, b_grad = self.in_proj_weight.grad, (None if self.in_proj_bias is None else self.in_proj_bias.grad)
        if state["self_attention"]:
            # Write (N, H, L, d) straight into the fused projection's layout (N, L, 3, H, d): one copy each.
            packed = np.empty((n, length, 3, self.num_heads, self.head_dim), dtype=dq.dtype)
            for i, g in enumerate((dq, dk, dv)):
                packed[:, :, i] = g.transpose(0, 2, 1, 3)
            flat = packed.reshape(n * length, 3 * e)
            w_grad += flat.T @ query.reshape(n * length, e)
            if b_grad is not None:
                b_grad += flat.sum(axis=0)
            return [flat]
        grads = []
        for i, (g, x) in enumerate(zip((dq, dk, dv), (query, key, value))):
            flat = g.transpose(0, 2, 1, 3).reshape(-1, e)
            w_grad[i * e:(i + 1) * e] += flat.T @ x.reshape(-1, e)
            if b_grad is not None:
                b_grad[i * e:(i + 1) * e] += flat.sum(axis=0)
            grads.append(flat)
        return grads

    def _restore_layout(self, flat, rows):
        state = self._state
        x = flat.reshape(state["out_shape"][0], rows, self.embed_dim)
        if state["unbatched"]:
            return x[0]
        return x if self.batch_first else np.swapaxes(x, 0, 1)

    def backward(self, grad_out):
        """``(dquery, dkey, dvalue)``, and the parameter gradients added to ``.grad``."""
        grads = self._projection_grads(grad_out)
        w, e = self.in_proj_weight.data, self.embed_dim
        length, source = self._state["out_shape"][1], self._state["inputs"][1].shape[1]
        if len(grads) == 1:  # fused self-attention: split the packed gradient back into its three parts
            grads = [grads[0][:, i * e:(i + 1) * e] for i in range(3)]
        return tuple(self._restore_layout(g @ w[i * e:(i + 1) * e], length if i == 0 else source)
                     for i, g in enumerate(grads))

    def backward_self(self, grad_out):
        """The input gradient of self-attention ``mha(x, x, x)``: dquery + dkey + dvalue."""
        if not self._cached("_state")["inputs"][0].shape == self._state["inputs"][1].shape:
            raise ValueError("backward_self needs query, key and value of the same shape (self-attention)")
        grads = self._projection_grads(grad_out)
        length = self._state["out_shape"][1]
        if len(grads) == 1:
            return self._restore_layout(grads[0] @ self.in_proj_weight.data, length)
        e, w = self.embed_dim, self.in_proj_weight.data
        return self._restore_layout(sum(g @ w[i * e:(i + 1) * e] for i, g in enumerate(grads)), length)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
