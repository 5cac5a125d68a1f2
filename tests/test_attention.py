"""companion.nn.attention, embedding, normalization, GELU and transformer: float64 gradient checks, agreement with
their torch twins (forward and every gradient), the NumPy block against companion.torch.gpt.Block on weights
copied by name, masks, layouts and errors."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.gradcheck import check_functional, check_module, numerical_gradient, relative_error
from companion.nn import GELU, Embedding, LayerNorm, MultiheadAttention, SelfAttention, TransformerBlock
from companion.nn.activation import gelu_backward, gelu_forward
from companion.nn.attention import (attention_backward, attention_forward, causal_mask, merge_heads,
                                    split_heads)
from companion.nn.normalization import layer_norm_backward, layer_norm_forward
from companion.nn.transformer import MLP, sinusoidal_positional_encoding
from companion.torch.gpt import Block, GPTConfig
from twins import TOL64, assert_matches_torch

# Finite-difference step for the attention checks. The relative error divides by |a| + |b| element by element, so
# a small gradient element (~1e-5, common in softmax rows with few keys) turns the absolute rounding noise of the
# default step 1e-6 (~1e-16 |f| / eps ~ 1e-10) into relative errors above 1e-7; eps = 1e-5 cuts that noise by 10x
# while the truncation error (~eps^2 |f'''| / 6 ~ 1e-11) stays far below it.
EPS = 1e-5
nn = torch.nn


def randomize(module, rng, scale=0.5):
    """Random parameters, so that LayerNorm's ones/zeros and MHA's zero biases do not hide mistakes."""
    for p in module.parameters():
        p.data[...] = rng.standard_normal(p.shape) * scale
    return module


def t64(a, grad=False):
    return torch.tensor(a, dtype=torch.float64, requires_grad=grad)


def torch_grads(out_t, g, *tensors):
    """The gradients of sum(out_t * g) with respect to ``tensors``."""
    (out_t * torch.from_numpy(np.asarray(g))).sum().backward()
    return [t.grad.numpy() for t in tensors]


# --- the functional core --------------------------------------------------------------------------------

def attention_masks(rng):
    """name -> mask for q (2, 3, 5, 4) and k (2, 3, 6, 4): every kind, no fully masked row."""
    may_attend = rng.random((5, 6)) > 0.4
    may_attend[:, 2] = True  # every query keeps at least one key
    padding = np.ones((2, 1, 1, 6), dtype=bool)  # key padding: True = a real token (this package's convention)
    padding[0, ..., 4:] = False
    padding[1, ..., 5:] = False
    return {
        "none": None,
        "causal": causal_mask(5, 6),
        "bool": may_attend,
        "float": rng.standard_normal((5, 6)),
        "float-inf": np.where(may_attend, 0.0, -np.inf),
        "key-padding": padding,
        "per-head-bool": rng.random((2, 3, 5, 6)) > 0.2,
    }


MASKS = list(attention_masks(np.random.default_rng(0)))


def attention_inputs(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 6, 4)), rng.standard_normal((2, 3, 6, 3))


@pytest.mark.parametrize("case", MASKS)
def test_attention_core_gradcheck(case):
    mask = attention_masks(np.random.default_rng(0))[case]
    errors = check_functional(lambda q, k, v: attention_forward(q, k, v, mask), attention_backward,
                              *attention_inputs(), seed=1, eps=EPS)
    assert len(errors) == 3 and max(errors) < 1e-7, errors


@pytest.mark.parametrize("case", MASKS)
def test_attention_core_matches_torch_sdpa(case):
    mask = attention_masks(np.random.default_rng(0))[case]
    q, k, v = attention_inputs()
    out, cache = attention_forward(q, k, v, mask)
    g = np.random.default_rng(1).standard_normal(out.shape)
    grads = attention_backward(g, cache)
    qt, kt, vt = t64(q, True), t64(k, True), t64(v, True)
    out_t = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=None if mask is None else torch.from_numpy(mask))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    for grad, grad_t in zip(grads, torch_grads(out_t, g, qt, kt, vt)):
        np.testing.assert_allclose(grad, grad_t, **TOL64)
    assert cache.weights.shape == (2, 3, 5, 6)
    np.testing.assert_allclose(cache.weights.sum(-1), 1.0, rtol=1e-12)


def test_causal_mask_is_lower_triangular_and_top_left_aligned_like_torch():
    np.testing.assert_array_equal(causal_mask(2, 4), [[True, False, False, False], [True, True, False, False]])
    rng = np.random.default_rng(3)
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    out, cache = attention_forward(q, k, v, causal_mask(3, 5))
    expected = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), is_causal=True).numpy()
    np.testing.assert_allclose(out, expected, **TOL64)
    assert np.all(cache.weights[~causal_mask(3, 5)] == 0)


def test_a_fully_masked_row_gives_zeros_like_torch_not_nan():
    q, k, v = attention_inputs(4)
    mask = np.ones((5, 6), dtype=bool)
    mask[1] = False  # query 1 may attend to nothing
    for m in (mask, np.where(mask, 0.0, -np.inf)):
        out, cache = attention_forward(q, k, v, m)
        dq, dk, dv = attention_backward(np.ones_like(out), cache)
        assert np.all(np.isfinite(out)) and np.all(out[..., 1, :] == 0) and np.all(dq[..., 1, :] == 0)
        qt, kt, vt = t64(q, True), t64(k, True), t64(v, True)
        out_t = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=torch.from_numpy(m))
        np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
        for grad, grad_t in zip((dq, dk, dv), torch_grads(out_t, np.ones_like(out), qt, kt, vt)):
            np.testing.assert_allclose(grad, grad_t, **TOL64)


def test_attention_core_errors_name_the_shapes():
    q, k, v = attention_inputs()
    with pytest.raises(ValueError, match=r"key of shape \(2, 3, 'S', 4\).*got \(2, 3, 6, 5\)"):
        attention_forward(q, np.zeros((2, 3, 6, 5)), v)
    with pytest.raises(ValueError, match=r"value of shape \(2, 3, 6, 'Ev'\).*got \(2, 3, 7, 3\)"):
        attention_forward(q, k, np.zeros((2, 3, 7, 3)))
    with pytest.raises(ValueError, match=r"mask of shape \(6, 5\).*\(2, 3, 5, 6\)"):
        attention_forward(q, k, v, np.ones((6, 5), dtype=bool))
    with pytest.raises(TypeError, match="boolean"):
        attention_forward(q, k, v, np.ones((5, 6), dtype=int))
    with pytest.raises(TypeError, match="floating point"):
        attention_forward(q.astype(int), k, v)
    out, cache = attention_forward(q, k, v)
    with pytest.raises(ValueError, match=r"dout of shape \(2, 3, 5, 3\).*got \(2, 3, 5, 4\)"):
        attention_backward(np.ones((2, 3, 5, 4)), cache)


def test_attention_core_float32_stays_float32():
    q, k, v = (a.astype(np.float32) for a in attention_inputs())
    out, cache = attention_forward(q, k, v, causal_mask(5, 6))
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in attention_backward(np.ones_like(out), cache))


def test_split_and_merge_heads_are_inverse_and_take_contiguous_channels():
    x = np.arange(2 * 3 * 8).reshape(2, 3, 8)
    heads = split_heads(x, 4)
    assert heads.shape == (2, 4, 3, 2)
    np.testing.assert_array_equal(heads[1, 2, 0], x[1, 0, 4:6])  # head 2 of position 0 = channels 4, 5
    np.testing.assert_array_equal(merge_heads(heads), x)


# --- torch.nn.MultiheadAttention's twin ------------------------------------------------------------------

E, H = 8, 2


def mha_pair(seed=0, batch_first=True):
    """A float64 NumPy MHA and its torch twin with the same (random, non-zero-bias) weights."""
    torch.manual_seed(seed)
    twin = nn.MultiheadAttention(E, H, batch_first=batch_first).double()
    with torch.no_grad():
        for p in twin.parameters():
            p.normal_(0, 0.5)
    mha = MultiheadAttention(E, H, batch_first=batch_first, dtype=np.float64)
    mha.load_state_dict(twin.state_dict())
    return mha, twin


def mha_cases(rng):
    """(self-attention?, forward kwargs) for query (2, 5, E) and key/value (2, 7, E), or (2, 5, E) if self;
    the masks in torch MHA's convention (True = masked out)."""
    padding = np.zeros((2, 7), dtype=bool)
    padding[0, 5:] = True
    padding[1, 6] = True
    self_padding = padding[:, :5].copy()
    masked_out = rng.random((5, 7)) > 0.7
    masked_out[:, 0] = False
    future = np.triu(np.ones((5, 5), dtype=bool), 1)
    return {
        "self": (True, {}),
        "self-causal": (True, dict(attn_mask=future, is_causal=True)),
        "self-causal-padding": (True, dict(attn_mask=future, is_causal=True, key_padding_mask=self_padding)),
        "cross": (False, {}),
        "cross-padding-bool-mask": (False, dict(key_padding_mask=padding, attn_mask=masked_out)),
        "cross-float-masks": (False, dict(key_padding_mask=np.where(padding, -np.inf, 0.0),
                                          attn_mask=rng.standard_normal((5, 7)))),
        "cross-per-head-mask": (False, dict(attn_mask=rng.standard_normal((2 * H, 5, 7)),
                                            average_attn_weights=False)),
    }


MHA_CASES = list(mha_cases(np.random.default_rng(0)))


def mha_inputs(self_attention, seed=1):
    rng = np.random.default_rng(seed)
    query = rng.standard_normal((2, 5, E))
    if self_attention:
        return query, query, query
    return query, rng.standard_normal((2, 7, E)), rng.standard_normal((2, 7, E))


@pytest.mark.parametrize("case", MHA_CASES)
def test_mha_matches_torch(case):
    self_attention, kwargs = mha_cases(np.random.default_rng(0))[case]
    mha, twin = mha_pair()
    query, key, value = mha_inputs(self_attention)
    out, weights = mha(query, key, value, **kwargs)
    g = np.random.default_rng(2).standard_normal(out.shape)
    grads = mha.backward(g)

    qt = t64(query, True)
    kt, vt = (qt, qt) if self_attention else (t64(key, True), t64(value, True))
    torch_kwargs = {k: (torch.from_numpy(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    out_t, weights_t = twin(qt, kt, vt, **torch_kwargs)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(weights, weights_t.detach().numpy(), **TOL64)
    if self_attention:  # one tensor feeds query, key and value: its gradient is the sum of the three
        np.testing.assert_allclose(sum(grads), torch_grads(out_t, g, qt)[0], **TOL64)
    else:
        for grad, grad_t in zip(grads, torch_grads(out_t, g, qt, kt, vt)):
            np.testing.assert_allclose(grad, grad_t, **TOL64)
    torch_params = dict(twin.named_parameters())
    for name, p in mha.named_parameters():
        np.testing.assert_allclose(p.grad, torch_params[name].grad.numpy(), **TOL64, err_msg=name)


@pytest.mark.parametrize("layout", ["seq-first", "unbatched"])
def test_mha_other_layouts_match_torch(layout):
    mha, twin = mha_pair(batch_first=layout != "seq-first")
    rng = np.random.default_rng(6)
    shape_q, shape_kv = ((5, 2, E), (7, 2, E)) if layout == "seq-first" else ((5, E), (7, E))
    query, key, value = rng.standard_normal(shape_q), rng.standard_normal(shape_kv), rng.standard_normal(shape_kv)
    padding = np.zeros((2, 7) if layout == "seq-first" else (7,), dtype=bool)
    padding[..., 6] = True
    out, weights = mha(query, key, value, key_padding_mask=padding)
    g = rng.standard_normal(out.shape)
    qt, kt, vt = t64(query, True), t64(key, True), t64(value, True)
    out_t, weights_t = twin(qt, kt, vt, key_padding_mask=torch.from_numpy(padding))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(weights, weights_t.detach().numpy(), **TOL64)
    for grad, grad_t in zip(mha.backward(g), torch_grads(out_t, g, qt, kt, vt)):
        assert grad.shape == grad_t.shape
        np.testing.assert_allclose(grad, grad_t, **TOL64)


def gradcheck_errors(forward, backward, inputs, module, seed=3, eps=EPS):
    """Relative errors of ``backward(g)`` (a tuple of input gradients) and of the parameter gradients against
    centred differences of ``sum(forward() * g)``, for the arrays in ``inputs`` (name -> array, perturbed in
    place) and every parameter of ``module``.

    The key third of a stacked q, k, v bias (``in_proj_bias``, ``c_attn.bias``) is checked on its own: adding
    ``b_k`` to every key adds ``q . b_k`` to a whole row of scores, which softmax ignores, so its gradient is
    exactly zero, and a relative error of 0 against rounding noise would read 1. (This is why the generic
    ``check_module`` cannot be used here.)
    """
    out0 = forward()
    g = np.random.default_rng(seed).standard_normal(out0.shape)
    module.zero_grad()
    forward()
    analytic = dict(zip(inputs, backward(g)))
    params = dict(module.named_parameters())
    analytic.update({name: p.grad.copy() for name, p in params.items()})

    def f():
        return np.sum((forward() - out0) * g)

    errors = {}
    for name, array in dict(inputs, **{n: p.data for n, p in params.items()}).items():
        a, n = analytic[name], numerical_gradient(f, array, eps)
        if name.endswith(("in_proj_bias", "c_attn.bias")):
            e = a.shape[0] // 3
            assert np.abs(a[e:2 * e]).max() < 1e-12 and np.abs(n[e:2 * e]).max() < 1e-9, name
            a, n = np.delete(a, np.s_[e:2 * e]), np.delete(n, np.s_[e:2 * e])
        errors[name] = relative_error(a, n)
    return errors


@pytest.mark.parametrize("case", MHA_CASES)
def test_mha_gradcheck(case):
    self_attention, kwargs = mha_cases(np.random.default_rng(0))[case]
    mha = mha_pair()[0]
    query, key, value = mha_inputs(self_attention)
    if self_attention:
        errors = gradcheck_errors(lambda: mha(query, query, query, **kwargs)[0],
                                  lambda g: (sum(mha.backward(g)),), {"x": query}, mha)
    else:
        errors = gradcheck_errors(lambda: mha(query, key, value, **kwargs)[0], mha.backward,
                                  {"query": query, "key": key, "value": value}, mha)
    assert len(errors) == (1 if self_attention else 3) + 4
    assert max(errors.values()) < 1e-7, errors


def test_mha_fully_padded_sequence_gives_bias_not_nan():
    """torch with need_weights=True returns NaN here; we follow F.sdpa (and torch's need_weights=False path)."""
    mha, twin = mha_pair()
    query, key, value = mha_inputs(False)
    padding = np.zeros((2, 7), dtype=bool)
    padding[0] = True  # the first sequence is all padding
    out, weights = mha(query, key, value, key_padding_mask=padding)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(weights))
    np.testing.assert_allclose(out[0], np.broadcast_to(mha.out_proj.bias.data, (5, E)), **TOL64)
    out_t, _ = twin(t64(query), t64(key), t64(value), key_padding_mask=torch.from_numpy(padding),
                    need_weights=False)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    grads = mha.backward(np.ones_like(out))
    assert all(np.all(np.isfinite(gr)) for gr in grads) and np.all(grads[1][0] == 0)


def test_mha_causal_without_mask_builds_the_causal_mask():
    mha, twin = mha_pair()
    x = mha_inputs(True)[0]
    out, weights = mha(x, x, x, is_causal=True)
    mask = torch.from_numpy(~causal_mask(5))  # torch MHA's convention: True = masked out
    out_t, weights_t = twin(t64(x), t64(x), t64(x), attn_mask=mask, is_causal=True)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(weights, weights_t.detach().numpy(), **TOL64)


def test_mha_init_and_names_like_torch():
    mha = MultiheadAttention(16, 4, rng=np.random.default_rng(0))
    twin = nn.MultiheadAttention(16, 4, batch_first=True)
    assert [(n, p.shape) for n, p in mha.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in twin.named_parameters()]
    bound = math.sqrt(6 / (16 + 48))
    assert bound * 0.9 < np.abs(mha.in_proj_weight.data).max() <= bound
    assert not mha.in_proj_bias.data.any() and not mha.out_proj.bias.data.any()
    assert mha.in_proj_weight.data.dtype == np.float32
    no_bias = MultiheadAttention(16, 4, bias=False)
    assert [n for n, _ in no_bias.named_parameters()] == [
        n for n, _ in nn.MultiheadAttention(16, 4, bias=False).named_parameters()]
    assert repr(mha).startswith("MultiheadAttention(\n  embed_dim=16, num_heads=4, batch_first=True\n  (out_proj)")


def test_mha_without_bias_matches_torch():
    torch.manual_seed(0)
    twin = nn.MultiheadAttention(E, H, bias=False, batch_first=True).double()
    mha = MultiheadAttention(E, H, bias=False, dtype=np.float64)
    mha.load_state_dict(twin.state_dict())
    query, key, value = mha_inputs(False)
    out, _ = mha(query, key, value)
    g = np.random.default_rng(0).standard_normal(out.shape)
    grads = mha.backward(g)
    qt, kt, vt = t64(query, True), t64(key, True), t64(value, True)
    out_t, _ = twin(qt, kt, vt)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    for grad, grad_t in zip(grads, torch_grads(out_t, g, qt, kt, vt)):
        np.testing.assert_allclose(grad, grad_t, **TOL64)


def test_mha_float32_matches_torch():
    torch.manual_seed(0)
    twin = nn.MultiheadAttention(E, H, batch_first=True)
    mha = MultiheadAttention(E, H)
    mha.load_state_dict(twin.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 5, E)).astype(np.float32)
    out, weights = mha(x, x, x, need_weights=False)
    assert out.dtype == np.float32 and weights is None
    with torch.no_grad():
        out_t = twin(*(torch.from_numpy(x),) * 3, need_weights=False)[0].numpy()
    np.testing.assert_allclose(out, out_t, rtol=1e-5, atol=1e-6)


def test_mha_errors():
    mha = MultiheadAttention(E, H)
    x = np.zeros((2, 5, E))
    with pytest.raises(ValueError, match=r"query of shape \(N, L, E\) or \(L, E\) with E = 8, got \(2, 5, 6\)"):
        mha(np.zeros((2, 5, 6)), x, x)
    with pytest.raises(ValueError, match=r"\('N', 'S', 8\) with N = 2.*got key \(3, 5, 8\)"):
        mha(x, np.zeros((3, 5, E)), np.zeros((3, 5, E)))
    with pytest.raises(ValueError, match=r"key_padding_mask of shape \(2, 5\), got \(2, 4\)"):
        mha(x, x, x, key_padding_mask=np.zeros((2, 4), dtype=bool))
    with pytest.raises(ValueError, match=r"attn_mask of shape \(5, 5\) or \(4, 5, 5\), got \(5, 4\)"):
        mha(x, x, x, attn_mask=np.zeros((5, 4), dtype=bool))
    with pytest.raises(TypeError, match="key_padding_mask must be boolean"):
        mha(x, x, x, key_padding_mask=np.zeros((2, 5), dtype=int))
    with pytest.raises(ValueError, match="multiple of num_heads"):
        MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        MultiheadAttention(8, 0)
    with pytest.raises(RuntimeError, match="before forward"):
        MultiheadAttention(E, H).backward(x)
    mha(x, x, x)
    with pytest.raises(ValueError, match=r"\(2, 5, 8\).*got \(5, 2, 8\)"):
        mha.backward(np.zeros((5, 2, E)))


# --- GPT-2's self-attention, the MLP and the block -----------------------------------------------------------

class TorchSelfAttention(nn.Module):
    """A torch twin of SelfAttention for either mask (companion.torch.gpt's CausalSelfAttention is always causal)."""

    def __init__(self, embed_dim, num_heads, causal):
        super().__init__()
        self.num_heads, self.causal = num_heads, causal
        self.c_attn, self.c_proj = nn.Linear(embed_dim, 3 * embed_dim), nn.Linear(embed_dim, embed_dim)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (t.view(B, T, self.num_heads, -1).transpose(1, 2) for t in self.c_attn(x).split(C, dim=2))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, C))


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_matches_torch_and_gradchecks(causal):
    torch.manual_seed(0)
    twin = TorchSelfAttention(8, 2, causal).double()
    attn = SelfAttention(8, 2, causal=causal, dtype=np.float64)
    attn.load_state_dict(twin.state_dict())
    x = np.random.default_rng(0).standard_normal((3, 5, 8))
    assert_matches_torch(attn, twin, x, seed=1)  # forward, input gradient and every parameter gradient
    errors = gradcheck_errors(lambda: attn(x), lambda grad: (attn.backward(grad),), {"x": x}, attn)
    assert len(errors) == 5 and max(errors.values()) < 1e-7, errors


def test_self_attention_is_multihead_attention_with_other_names():
    """c_attn / c_proj hold what in_proj_weight / out_proj hold: the two modules compute the same thing."""
    rng = np.random.default_rng(4)
    attn = randomize(SelfAttention(8, 2, causal=True, dtype=np.float64), rng)
    mha = MultiheadAttention(8, 2, dtype=np.float64)
    mha.load_state_dict({"in_proj_weight": attn.c_attn.weight.data, "in_proj_bias": attn.c_attn.bias.data,
                         "out_proj.weight": attn.c_proj.weight.data, "out_proj.bias": attn.c_proj.bias.data})
    x = rng.standard_normal((2, 6, 8))
    np.testing.assert_allclose(attn(x), mha(x, x, x, is_causal=True)[0], **TOL64)


def test_causal_self_attention_ignores_the_future():
    attn = randomize(SelfAttention(8, 2, causal=True, dtype=np.float64), np.random.default_rng(5))
    x = np.random.default_rng(6).standard_normal((2, 6, 8))
    changed = x.copy()
    changed[:, 4:] += 1.0
    np.testing.assert_array_equal(attn(x)[:, :4], attn(changed)[:, :4])
    assert np.abs(attn(x)[:, 4:] - attn(changed)[:, 4:]).max() > 0.1


def torch_block(seed, dropout=0.0):
    torch.manual_seed(seed)
    twin = Block(GPTConfig(vocab_size=5, block_size=16, n_layer=1, n_head=2, n_embd=8, dropout=dropout)).double()
    with torch.no_grad():
        for p in twin.parameters():
            p.add_(0.3 * torch.randn_like(p))  # LayerNorm ones and zero biases would hide swapped weights
    return twin


def test_numpy_block_loads_the_torch_gpt_block_by_name_and_computes_the_same():
    twin = torch_block(1)
    block = TransformerBlock(8, 2, causal=True, dtype=np.float64)
    assert list(block.state_dict()) == list(twin.state_dict())  # the same names, in the same order
    block.load_state_dict(twin.state_dict())
    x = np.random.default_rng(1).standard_normal((3, 6, 8))
    assert_matches_torch(block, twin, x, seed=2)  # forward, input gradient and every parameter gradient


def test_torch_gpt_block_loads_the_numpy_block():
    block = randomize(TransformerBlock(8, 2, causal=True, dtype=np.float64), np.random.default_rng(7))
    twin = torch_block(0)
    twin.load_state_dict({name: torch.from_numpy(a) for name, a in block.state_dict().items()})
    x = np.random.default_rng(8).standard_normal((2, 5, 8))
    with torch.no_grad():
        np.testing.assert_allclose(twin(torch.from_numpy(x)).numpy(), block(x), **TOL64)


@pytest.mark.parametrize("causal", [False, True])
def test_block_gradcheck(causal):
    rng = np.random.default_rng(0)
    block = randomize(TransformerBlock(8, 2, mlp_ratio=2, causal=causal, rng=rng, dtype=np.float64), rng)
    x = rng.standard_normal((2, 4, 8))
    errors = gradcheck_errors(lambda: block(x), lambda g: (block.backward(g),), {"input": x}, block)
    # 1e-6, not 1e-7: the whole block composes eleven operations, and a few gradient elements near 1e-6 (the first
    # position attends only to itself) carry finite-difference noise of ~3e-7. A wrong backward gives 1e-2 or more;
    # the float64 comparison with torch above checks every gradient to 1e-10.
    assert len(errors) == 1 + 12 and max(errors.values()) < 1e-6, errors


def test_block_repr_errors_and_float32():
    block = TransformerBlock(8, 2, rng=np.random.default_rng(0))
    assert "(attn): SelfAttention(\n    embed_dim=8, num_heads=2, causal=False" in repr(block)
    with pytest.raises(ValueError, match=r"TransformerBlock expected input of shape \(N, L, 8\), got \(4, 8\)"):
        block(np.zeros((4, 8)))
    out = block(np.random.default_rng(0).standard_normal((2, 3, 8)))
    assert out.dtype == np.float32 and block.backward(np.ones_like(out)).dtype == np.float32


def test_mlp_gradcheck():
    rng = np.random.default_rng(1)
    mlp = randomize(MLP(6, 10, dtype=np.float64), rng)
    errors = check_module(mlp, rng.standard_normal((2, 3, 6)))
    assert set(errors) == {"input", "c_fc.weight", "c_fc.bias", "c_proj.weight", "c_proj.bias"}
    assert max(errors.values()) < 1e-7, errors


# --- Embedding, LayerNorm, GELU, positional encoding ---------------------------------------------------

def test_embedding_gradcheck_with_repeated_indices():
    emb = Embedding(6, 3, rng=np.random.default_rng(0), dtype=np.float64)
    indices = np.array([[0, 2, 2], [5, 2, 0]])
    errors = check_module(emb, indices)
    assert set(errors) == {"weight"} and errors["weight"] < 1e-7  # integer ids are skipped: no gradient
    g = np.random.default_rng(1).standard_normal((2, 3, 3))
    emb.zero_grad()
    out = emb(indices)
    assert emb.backward(g) is None
    np.testing.assert_allclose(emb.weight.grad[2], g[0, 1] + g[0, 2] + g[1, 1])  # three uses, three gradients
    assert not emb.weight.grad[[1, 3, 4]].any()
    np.testing.assert_array_equal(out[1, 0], emb.weight.data[5])


def test_embedding_matches_torch():
    torch.manual_seed(0)
    twin = nn.Embedding(10, 4).double()
    emb = Embedding(10, 4, dtype=np.float64)
    emb.load_state_dict(twin.state_dict())
    indices = np.array([[1, 9, 1, 0], [3, 3, 3, 7]])
    g = np.random.default_rng(0).standard_normal((2, 4, 4))
    out = emb(indices)
    emb.backward(g)
    out_t = twin(torch.from_numpy(indices))
    (out_t * torch.from_numpy(g)).sum().backward()
    np.testing.assert_array_equal(out, out_t.detach().numpy())
    np.testing.assert_allclose(emb.weight.grad, twin.weight.grad.numpy(), **TOL64)


def test_embedding_init_and_errors():
    emb = Embedding(1000, 50, rng=np.random.default_rng(0))
    assert emb.weight.data.dtype == np.float32
    assert abs(emb.weight.data.mean()) < 0.02 and abs(emb.weight.data.std() - 1) < 0.02  # N(0, 1) like torch
    with pytest.raises(ValueError, match=r"Embedding\(1000, 50\): index 1000 is out of range \[0, 1000\)"):
        emb(np.array([3, 1000]))
    with pytest.raises(ValueError, match=r"index -1"):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match="integer"):
        emb(np.array([1.0]))
    with pytest.raises(ValueError, match="embedding_dim must be a positive integer"):
        Embedding(3, 0)


@pytest.mark.parametrize("shape", [5, (4, 5)])
def test_layernorm_gradcheck_and_torch(shape):
    rng = np.random.default_rng(0)
    ln = randomize(LayerNorm(shape, dtype=np.float64), rng)
    x = rng.standard_normal((3, 4, 5)) * 2 + 1
    errors = check_module(ln, x)
    assert set(errors) == {"input", "weight", "bias"} and max(errors.values()) < 1e-7, errors
    twin = nn.LayerNorm(shape).double()
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in ln.state_dict().items()})
    ln.zero_grad()
    g = rng.standard_normal(x.shape)
    out, dx = ln(x), ln.backward(g)
    xt = t64(x, True)
    out_t = twin(xt)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(dx, torch_grads(out_t, g, xt)[0], **TOL64)
    np.testing.assert_allclose(ln.weight.grad, twin.weight.grad.numpy(), **TOL64)
    np.testing.assert_allclose(ln.bias.grad, twin.bias.grad.numpy(), **TOL64)


def test_layer_norm_core_gradcheck():
    rng = np.random.default_rng(0)
    x, weight, bias = rng.standard_normal((2, 3, 6)), rng.standard_normal(6), rng.standard_normal(6)
    errors = check_functional(lambda x, w, b: layer_norm_forward(x, w, b), layer_norm_backward, x, weight, bias,
                              eps=EPS)
    assert max(errors) < 1e-7, errors


def test_layernorm_without_affine_and_errors():
    x = np.random.default_rng(0).standard_normal((3, 6))
    ln = LayerNorm(6, eps=1e-3, elementwise_affine=False, dtype=np.float64)
    assert ln.parameters() == []
    g = np.random.default_rng(2).standard_normal(x.shape)
    xt = t64(x, True)
    out_t = F.layer_norm(xt, (6,), eps=1e-3)
    np.testing.assert_allclose(ln(x), out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(ln.backward(g), torch_grads(out_t, g, xt)[0], **TOL64)
    # Another input for the check: with this x one element of the gradient is 1.2e-4, where finite-difference
    # noise of ~3e-11 already reads as a relative error of 2.6e-7 (torch agrees with dx to 1e-10 above).
    assert check_module(ln, np.random.default_rng(1).standard_normal((3, 6)), eps=EPS)["input"] < 1e-7
    with pytest.raises(ValueError, match=r"LayerNorm expected input of shape \(\.\.\., 6\), got \(3, 5\)"):
        ln(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="positive integers"):
        LayerNorm((4, 0))


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_gradcheck_and_torch(approximate):
    x = np.random.default_rng(0).uniform(-4, 4, (4, 6))
    # GELU' vanishes near x = -0.75 and for x << 0, where the relative error cannot be measured: stay away.
    x[np.abs(x + 0.75) < 0.3] += 0.6
    x[x < -3] += 2
    gelu = GELU(approximate)
    assert check_module(gelu, x, eps=EPS)["input"] < 1e-7
    assert check_functional(lambda x: gelu_forward(x, approximate), gelu_backward, x, eps=EPS)[0] < 1e-7
    g = np.random.default_rng(1).standard_normal(x.shape)
    out, dx = gelu(x), gelu.backward(g)
    xt = t64(x, True)
    out_t = nn.GELU(approximate=approximate)(xt)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(dx, torch_grads(out_t, g, xt)[0], **TOL64)
    assert gelu(x.astype(np.float32)).dtype == np.float32
    assert repr(gelu) == f"GELU(approximate={approximate!r})"
    with pytest.raises(ValueError, match="approximate"):
        GELU("fast")


def test_sinusoidal_positional_encoding():
    pe = sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16) and pe.dtype == np.float32
    pos, i = 7, 3
    assert np.isclose(pe[pos, 2 * i], math.sin(pos / 10000 ** (2 * i / 16)), atol=1e-7)
    assert np.isclose(pe[pos, 2 * i + 1], math.cos(pos / 10000 ** (2 * i / 16)), atol=1e-7)
    # the form used by many implementations: exp(-2i log(10000) / d)
    div = np.exp(np.arange(0, 16, 2) * (-math.log(10000.0) / 16))
    np.testing.assert_allclose(pe[:, 0::2], np.sin(np.arange(50)[:, None] * div), atol=1e-6)
    np.testing.assert_array_equal(pe[0, 1::2], 1.0)
    # the dot product of two codes depends only on their distance: sum_i cos(w_i (p - q))
    np.testing.assert_allclose(pe[10] @ pe[13], pe[30] @ pe[33], rtol=1e-5)
    with pytest.raises(ValueError, match="even dim"):
        sinusoidal_positional_encoding(10, 7)


# --- the chapter's coding exercise ---------------------------------------------------------------------------

WRONG_MASKED_SOFTMAX = {
    # masking with a large negative number: a row with nothing to attend to becomes uniform, not zeros
    "large negative fill": """
def masked_softmax(scores, mask):
    filled = np.where(mask, scores, -1e9)
    e = np.exp(filled - filled.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
""",
    # no shift by the row maximum: overflows for large scores
    "no max shift": """
def masked_softmax(scores, mask):
    e = np.where(mask, np.exp(scores), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1.0)
""",
}


@pytest.mark.parametrize("name", list(WRONG_MASKED_SOFTMAX))
def test_the_masked_softmax_exercise_rejects_plausible_wrong_solutions(name):
    from bookfiles import ROOT, load_notebook
    from exercise_cells import exercise_cells, run_exercise

    solution, checks = exercise_cells(load_notebook(ROOT / "book" / "en" / "08_attention_and_transformer.ipynb"), 4)
    run_exercise(solution, *checks)  # the solution passes
    with np.errstate(all="ignore"), pytest.raises(AssertionError):
        run_exercise("import numpy as np\n" + WRONG_MASKED_SOFTMAX[name], *checks)
