"""A Keras twin of the NumPy ``companion.nn.transformer.TransformerBlock``, with the NumPy block's weights copied in
(taught in chapter 8, section 8.7).

Layouts: the NumPy block (like torch and GPT-2) stacks the query, key and value projections in ``attn.c_attn``,
weight (3E, E), and computes ``x W^T + b``; ``keras.layers.MultiHeadAttention`` keeps one kernel per projection,
(E, H, E/H), with bias (H, E/H), and an output kernel (H, E/H, E). So the query kernel is ``W_q^T`` reshaped to
(E, H, E/H) and the output kernel is ``W_out^T`` reshaped to (H, E/H, E). Keras is imported only inside
:func:`keras_transformer_block`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["attention_to_keras_weights", "keras_transformer_block"]


def attention_to_keras_weights(qkv_weight, qkv_bias, out_weight, out_bias, num_heads: int) -> list[np.ndarray]:
    """Stacked projections in torch's layout (``qkv_weight`` (3E, E), ``qkv_bias`` (3E,), ``out_weight`` (E, E),
    ``out_bias`` (E,)) as the arrays of ``keras.layers.MultiHeadAttention.set_weights``: query kernel, query bias,
    key kernel, key bias, value kernel, value bias, output kernel, output bias."""
    qkv_weight, out_weight = np.asarray(qkv_weight), np.asarray(out_weight)
    e = out_weight.shape[0]
    if qkv_weight.shape != (3 * e, e) or e % num_heads:
        raise ValueError(f"attention_to_keras_weights expected qkv_weight (3E, E) = {(3 * e, e)} with E a multiple of "
                         f"num_heads={num_heads}, got {qkv_weight.shape}")
    if qkv_bias is None or out_bias is None:
        raise ValueError("attention_to_keras_weights: the attention has no biases; Keras' twin has use_bias=True")
    h, d = num_heads, e // num_heads
    arrays = []
    for i in range(3):  # rows i*E .. (i+1)*E project q, k, v; row h*d + j is head h, unit j
        arrays.append(np.ascontiguousarray(qkv_weight[i * e:(i + 1) * e].T.reshape(e, h, d)))
        arrays.append(np.asarray(qkv_bias[i * e:(i + 1) * e]).reshape(h, d).copy())
    arrays.append(np.ascontiguousarray(out_weight.T.reshape(h, d, e)))
    arrays.append(np.asarray(out_bias).copy())
    return arrays


def keras_transformer_block(block, *, name: str = "transformer_block"):
    """A functional ``keras.Model`` (N, L, E) -> (N, L, E) computing ``block``'s forward pass with its weights.

    Pre-norm, as the NumPy block: ``x + MHA(LN1(x))``, then ``x + Dense(GELU(Dense(LN2(x))))``; ``block.attn.causal``
    becomes ``use_causal_mask``. Later changes to the NumPy block's weights are not seen by the model.
    """
    import keras

    attention, mlp = block.attn, block.mlp
    e, h = attention.embed_dim, attention.num_heads
    bias = lambda layer: None if layer.bias is None else layer.bias.data  # noqa: E731

    inputs = keras.Input(shape=(None, e), name="x")
    ln_1 = keras.layers.LayerNormalization(epsilon=block.ln_1.eps, name="ln_1")  # Keras' default eps is 1e-3
    attn = keras.layers.MultiHeadAttention(num_heads=h, key_dim=e // h, name="attn")
    ln_2 = keras.layers.LayerNormalization(epsilon=block.ln_2.eps, name="ln_2")
    c_fc = keras.layers.Dense(mlp.c_fc.out_features, name="c_fc")
    approximate = mlp.gelu.approximate == "tanh"
    gelu = keras.layers.Activation(lambda t: keras.activations.gelu(t, approximate=approximate), name="gelu")
    c_proj = keras.layers.Dense(e, name="c_proj")

    normed = ln_1(inputs)
    x = keras.layers.Add()([inputs, attn(normed, normed, use_causal_mask=attention.causal)])
    outputs = keras.layers.Add()([x, c_proj(gelu(c_fc(ln_2(x))))])
    model = keras.Model(inputs, outputs, name=name)

    for layer, source in ((ln_1, block.ln_1), (ln_2, block.ln_2)):
        layer.set_weights([source.weight.data, source.bias.data])  # gamma, beta
    attn.set_weights(attention_to_keras_weights(attention.c_attn.weight.data, bias(attention.c_attn),
                                                attention.c_proj.weight.data, bias(attention.c_proj), h))
    for layer, source in ((c_fc, mlp.c_fc), (c_proj, mlp.c_proj)):
        layer.set_weights([source.weight.data.T, source.bias.data])  # a Dense kernel is (in, out) = W^T
    return model
