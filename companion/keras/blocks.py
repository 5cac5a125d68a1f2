"""A Keras twin of ``companion.transformer.TransformerBlock``, with the NumPy block's weights copied in.

Layouts: torch (and the NumPy block) packs the query, key and value projections in ``in_proj_weight`` (3E, E)
and computes ``x W^T + b``; ``keras.layers.MultiHeadAttention`` keeps one kernel per projection, (E, H, E/H),
with bias (H, E/H), and an output kernel (H, E/H, E). So the query kernel is ``W_q^T`` reshaped to (E, H, E/H)
and the output kernel is ``W_out^T`` reshaped to (H, E/H, E). Keras is imported only inside
:func:`keras_transformer_block`.
"""
from __future__ import annotations

import numpy as np

__all__ = ["mha_to_keras_weights", "keras_transformer_block"]


def mha_to_keras_weights(attn) -> list[np.ndarray]:
    """Weights of a (biased) companion ``MultiheadAttention`` in ``keras.layers.MultiHeadAttention.set_weights`` order.

    The order is query kernel, query bias, key kernel, key bias, value kernel, value bias, output kernel,
    output bias.
    """
    if attn.in_proj_bias is None:
        raise ValueError("mha_to_keras_weights: the attention has no biases; Keras' twin is built with use_bias=True")
    e, h, d = attn.embed_dim, attn.num_heads, attn.head_dim
    w, b = attn.in_proj_weight.data, attn.in_proj_bias.data
    arrays = []
    for i in range(3):  # rows i*E .. (i+1)*E of in_proj_weight project q, k, v; row h*d + j is head h, unit j
        arrays.append(np.ascontiguousarray(w[i * e:(i + 1) * e].T.reshape(e, h, d)))
        arrays.append(b[i * e:(i + 1) * e].reshape(h, d).copy())
    arrays.append(np.ascontiguousarray(attn.out_proj.weight.data.T.reshape(h, d, e)))
    arrays.append(attn.out_proj.bias.data.copy())
    return arrays


def keras_transformer_block(block, *, name: str = "transformer_block"):
    """A functional ``keras.Model`` (N, L, E) -> (N, L, E) computing ``block``'s forward pass with its weights.

    Pre-norm, as the NumPy block: ``x + MHA(LN1(x))``, then ``x + Dense(GELU(Dense(LN2(x))))``; ``block.causal``
    becomes ``use_causal_mask``. Later changes to the NumPy block's weights are not seen by the model.
    """
    import keras

    e, h = block.embed_dim, block.num_heads
    fc1, gelu, fc2 = block.mlp[0], block.mlp[1], block.mlp[2]
    approximate = gelu.approximate == "tanh"

    inputs = keras.Input(shape=(None, e), name="x")
    ln1 = keras.layers.LayerNormalization(epsilon=block.ln1.eps, name="ln1")  # Keras' default eps is 1e-3
    attn = keras.layers.MultiHeadAttention(num_heads=h, key_dim=e // h, name="attn")
    ln2 = keras.layers.LayerNormalization(epsilon=block.ln2.eps, name="ln2")
    dense1 = keras.layers.Dense(fc1.out_features, name="mlp_0")
    act = keras.layers.Activation(lambda t: keras.activations.gelu(t, approximate=approximate), name="mlp_1")
    dense2 = keras.layers.Dense(e, name="mlp_2")

    normed = ln1(inputs)
    x = keras.layers.Add()([inputs, attn(normed, normed, use_causal_mask=block.causal)])
    outputs = keras.layers.Add()([x, dense2(act(dense1(ln2(x))))])
    model = keras.Model(inputs, outputs, name=name)

    for ln, source in ((ln1, block.ln1), (ln2, block.ln2)):
        ln.set_weights([source.weight.data, source.bias.data])  # gamma, beta
    attn.set_weights(mha_to_keras_weights(block.attn))
    dense1.set_weights([fc1.weight.data.T, fc1.bias.data])  # Dense kernel is (in, out) = W^T
    dense2.set_weights([fc2.weight.data.T, fc2.bias.data])
    return model
