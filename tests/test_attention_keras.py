"""The NumPy TransformerBlock and its Keras twin (keras.layers.MultiHeadAttention etc.) compute the same thing."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
keras = pytest.importorskip("keras")

from companion.keras.blocks import attention_to_keras_weights, keras_transformer_block  # noqa: E402
from companion.nn.attention import SelfAttention  # noqa: E402
from companion.nn.transformer import TransformerBlock  # noqa: E402


def random_block(seed, causal, approximate="none"):
    """A float32 block whose every parameter is random (LayerNorm's ones and the zero biases would hide swaps)."""
    rng = np.random.default_rng(seed)
    block = TransformerBlock(16, 4, causal=causal, rng=rng)
    block.mlp.gelu.approximate = approximate
    for p in block.parameters():
        p.data[...] = rng.standard_normal(p.shape) * 0.3
    return block


@pytest.mark.parametrize("causal, approximate", [(False, "none"), (True, "none"), (False, "tanh")])
def test_keras_block_matches_numpy_block(causal, approximate):
    block = random_block(0, causal, approximate)
    model = keras_transformer_block(block)
    x = np.random.default_rng(1).standard_normal((3, 7, 16)).astype(np.float32)
    expected = block(x)
    out = np.asarray(model(x))
    assert out.shape == expected.shape == (3, 7, 16)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5)
    # the model is not tied to one sequence length
    np.testing.assert_allclose(np.asarray(model(x[:, :4])), block(x[:, :4]), rtol=0, atol=1e-5)


def test_causal_keras_block_ignores_the_future():
    block = random_block(2, causal=True)
    model = keras_transformer_block(block)
    x = np.random.default_rng(3).standard_normal((2, 6, 16)).astype(np.float32)
    changed = x.copy()
    changed[:, 4:] += 1.0
    a, b = np.asarray(model(x)), np.asarray(model(changed))
    np.testing.assert_array_equal(a[:, :4], b[:, :4])
    assert np.abs(a[:, 4:] - b[:, 4:]).max() > 0.1


def test_attention_weights_layout():
    attn = SelfAttention(16, 4, rng=np.random.default_rng(0))
    w, b = attn.c_attn.weight.data, attn.c_attn.bias.data
    arrays = attention_to_keras_weights(w, b, attn.c_proj.weight.data, attn.c_proj.bias.data, 4)
    assert [a.shape for a in arrays] == [(16, 4, 4), (4, 4)] * 3 + [(4, 4, 16), (16,)]
    # key kernel [input i, head h, unit j] is row E + h * (E / H) + j, column i of c_attn.weight
    assert arrays[2][5, 3, 1] == w[16 + 3 * 4 + 1, 5]
    assert arrays[3][3, 1] == b[16 + 3 * 4 + 1]
    assert arrays[6][2, 3, 9] == attn.c_proj.weight.data[9, 2 * 4 + 3]
    with pytest.raises(ValueError, match="no biases"):
        attention_to_keras_weights(w, None, attn.c_proj.weight.data, None, 4)
    with pytest.raises(ValueError, match=r"qkv_weight \(3E, E\)"):
        attention_to_keras_weights(w[:40], b, attn.c_proj.weight.data, attn.c_proj.bias.data, 4)
