"""Keras SimpleRNN, LSTM and GRU on weights converted from the NumPy (torch-layout) layers give the same outputs and
final states, with initial states, for one and two stacked layers; GRU(reset_after=False) is another function."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
keras = pytest.importorskip("keras")

from companion.keras.recurrent import (keras_to_torch_recurrent, load_recurrent_state_dict,  # noqa: E402
                                       recurrent_state_dict, torch_to_keras_recurrent)
from companion.nn import GRU, LSTM, RNN  # noqa: E402

KINDS = {"rnn": (RNN, keras.layers.SimpleRNN), "lstm": (LSTM, keras.layers.LSTM), "gru": (GRU, keras.layers.GRU)}
I, H, T, N = 3, 5, 6, 2


def numpy_layer(kind, num_layers, seed=0, bias=True):
    """A batch-first NumPy layer whose every parameter is random (larger than torch's init, to exercise the gates)."""
    rng = np.random.default_rng(seed)
    layer = KINDS[kind][0](I, H, num_layers=num_layers, batch_first=True, bias=bias, rng=rng)
    for p in layer.parameters():
        p.data[...] = rng.standard_normal(p.shape) * 0.5
    return layer


def keras_stack(kind, num_layers, x, states, **kwargs):
    """Built Keras layers (return_sequences and return_state on each), called once on ``x``."""
    layers = [KINDS[kind][1](H, return_sequences=True, return_state=True, **kwargs) for _layer in range(num_layers)]
    run_keras(layers, x, states)
    return layers


def run_keras(layers, x, states):
    """Output of the last layer and the final states of each, layer l starting from ``states[l]``."""
    finals = []
    for layer, initial in zip(layers, states):
        x, *final = layer(x, initial_state=list(initial))
        finals.append([np.asarray(f) for f in final])
    return np.asarray(x), finals


def inputs(kind, num_layers, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, I)).astype(np.float32)
    count = 2 if kind == "lstm" else 1
    hx = [rng.standard_normal((num_layers, N, H)).astype(np.float32) for _state in range(count)]
    return x, hx


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bias", [True, False])
def test_keras_layers_match_numpy_on_converted_weights(kind, num_layers, bias):
    layer = numpy_layer(kind, num_layers, bias=bias)
    x, hx = inputs(kind, num_layers)
    out, final = layer(x, tuple(hx) if kind == "lstm" else hx[0])
    finals = final if kind == "lstm" else (final,)
    states = [[s[l] for s in hx] for l in range(num_layers)]  # per layer: [h0] or [h0, c0]
    layers = keras_stack(kind, num_layers, x, states, use_bias=bias)
    load_recurrent_state_dict(layers, layer.state_dict(), kind)
    out_k, finals_k = run_keras(layers, x, states)
    np.testing.assert_allclose(out_k, out, rtol=1e-5, atol=1e-5)
    for l in range(num_layers):
        for s, s_k in zip(finals, finals_k[l]):  # Keras returns [h] or [h, c] per layer
            np.testing.assert_allclose(s_k, s[l], rtol=1e-5, atol=1e-5)
    # and back: the state dict read from Keras gives the same NumPy layer
    twin = KINDS[kind][0](I, H, num_layers=num_layers, batch_first=True, bias=bias)
    twin.load_state_dict(recurrent_state_dict(layers, kind))
    np.testing.assert_allclose(twin(x, tuple(hx) if kind == "lstm" else hx[0])[0], out, rtol=1e-5, atol=1e-5)


def test_gru_reset_after_false_is_another_function():
    """The same kernels in GRU(reset_after=False) (reset gate before the recurrent product) give other outputs."""
    layer = numpy_layer("gru", 1)
    x, hx = inputs("gru", 1)
    out, _h_n = layer(x, hx[0])
    with pytest.raises(ValueError, match="reset_after=True"):
        torch_to_keras_recurrent(layer.state_dict(), "gru", reset_after=False)
    keras_layer = keras.layers.GRU(H, return_sequences=True, reset_after=False)
    keras_layer(x, initial_state=[hx[0][0]])
    kernel, recurrent, bias = torch_to_keras_recurrent(layer.state_dict(), "gru")
    keras_layer.set_weights([kernel, recurrent, bias[0] + bias[1]])  # its only bias: the best one can do
    gap = np.abs(np.asarray(keras_layer(x, initial_state=[hx[0][0]])) - out).max()
    assert gap > 1e-2, gap
    with pytest.raises(ValueError, match="reset_after=False"):
        keras_to_torch_recurrent(keras_layer.get_weights(), "gru")


def test_gate_blocks_round_trip_and_gru_swaps_r_and_z():
    layer = numpy_layer("gru", 1)
    state = layer.state_dict()
    kernel = torch_to_keras_recurrent(state, "gru")[0]
    np.testing.assert_array_equal(kernel[:, :H], state["weight_ih_l0"][H:2 * H].T)  # Keras z = torch's 2nd block
    np.testing.assert_array_equal(kernel[:, H:2 * H], state["weight_ih_l0"][:H].T)  # Keras r = torch's 1st block
    back = keras_to_torch_recurrent(torch_to_keras_recurrent(state, "gru"), "gru")
    for name, array in state.items():
        np.testing.assert_array_equal(back[name], array)


def test_converter_errors_name_the_problem():
    layer = numpy_layer("lstm", 2)
    with pytest.raises(ValueError, match="kind"):
        torch_to_keras_recurrent(layer.state_dict(), "transformer")
    x, hx = inputs("lstm", 1)
    one = keras_stack("lstm", 1, x, [[hx[0][0], hx[1][0]]])
    with pytest.raises(ValueError, match="2 layers, got 1 Keras layers"):
        load_recurrent_state_dict(one, layer.state_dict(), "lstm")
    with pytest.raises(ValueError, match="rows"):
        torch_to_keras_recurrent(layer.state_dict(), "gru")  # 4H rows are not a GRU's 3H
