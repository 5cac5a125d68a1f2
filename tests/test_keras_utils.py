"""Weights copied between the companion's NumPy layers (torch layout) and Keras give the same outputs."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
keras = pytest.importorskip("keras")

from companion.keras.convert import dense_to_linear, linear_state_dict, linear_to_dense, load_linear_state_dict
from companion.nn import Linear, ReLU, Sequential


def keras_mlp(sizes, use_bias=True):
    layers = [keras.Input((sizes[0],))]
    for i, size in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        layers.append(keras.layers.Dense(size, activation=None if last else "relu", use_bias=use_bias))
    return keras.Sequential(layers)


def test_linear_to_dense_transposes_and_round_trips():
    rng = np.random.default_rng(0)
    weight, bias = rng.normal(size=(3, 5)), rng.normal(size=3)
    kernel, kbias = linear_to_dense(weight, bias)
    assert kernel.shape == (5, 3) and kernel.flags.c_contiguous
    np.testing.assert_array_equal(kernel, weight.T)
    back_weight, back_bias = dense_to_linear(kernel, kbias)
    np.testing.assert_array_equal(back_weight, weight)
    np.testing.assert_array_equal(back_bias, bias)
    assert len(linear_to_dense(weight)) == 1 and dense_to_linear(kernel)[1] is None


def test_a_numpy_linear_and_its_dense_twin_compute_the_same():
    rng = np.random.default_rng(1)
    linear = Linear(6, 4, rng=rng)
    dense = keras.layers.Dense(4)
    dense.build((None, 6))
    dense.set_weights(linear_to_dense(linear.weight.data, linear.bias.data))
    x = rng.normal(size=(7, 6)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(dense(x)), linear(x), rtol=1e-5, atol=1e-6)


def test_an_mlp_copies_to_keras_and_back_with_equal_outputs():
    rng = np.random.default_rng(2)
    net = Sequential(Linear(8, 5, rng=rng), ReLU(), Linear(5, 3, rng=rng))
    model = keras_mlp([8, 5, 3])
    load_linear_state_dict(model, net.state_dict())
    x = rng.normal(size=(10, 8)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(model(x)), net(x), rtol=1e-5, atol=1e-6)

    # Keras -> NumPy: change the Keras weights, copy them back by torch-style names.
    model.layers[0].set_weights([w + 0.5 for w in model.layers[0].get_weights()])
    state = linear_state_dict(model, names=["0", "2"])
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].shape == (5, 8)
    net.load_state_dict(state)
    np.testing.assert_allclose(np.asarray(model(x)), net(x), rtol=1e-5, atol=1e-6)


def test_torch_tensors_and_layers_without_bias_are_accepted():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False), torch.nn.ReLU(), torch.nn.Linear(3, 2, bias=False))
    model = keras_mlp([4, 3, 2], use_bias=False)
    load_linear_state_dict(model, net.state_dict())
    x = np.random.default_rng(3).normal(size=(5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(np.asarray(model(x)), expected, rtol=1e-5, atol=1e-6)
    assert list(linear_state_dict(model)) == ["0.weight", "1.weight"]


def test_bad_input_is_reported_clearly():
    with pytest.raises(ValueError, match=r"shape \(out, in\), got \(3,\)"):
        linear_to_dense(np.zeros(3))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\).*got \(4,\)"):
        linear_to_dense(np.zeros((3, 5)), np.zeros(4))
    with pytest.raises(ValueError, match=r"bias of shape \(2,\).*got \(5,\)"):
        dense_to_linear(np.zeros((5, 2)), np.zeros(5))
    model = keras_mlp([8, 5, 3])
    before = [w.copy() for w in model.get_weights()]
    wrong = Sequential(Linear(8, 5), ReLU(), Linear(5, 4)).state_dict()
    with pytest.raises(ValueError, match=r"shapes \[\(5, 4\), \(4,\)\].*has shapes \[\(5, 3\), \(3,\)\]"):
        load_linear_state_dict(model, wrong)
    for old, new in zip(before, model.get_weights()):  # nothing was changed by the failed load
        np.testing.assert_array_equal(old, new)
    with pytest.raises(ValueError, match="1 linear layers.*2 Dense layers"):
        load_linear_state_dict(model, {"0.weight": np.zeros((5, 8))})
    with pytest.raises(ValueError, match="'.weight' or '.bias'"):
        load_linear_state_dict(model, {"0.kernel": np.zeros((8, 5))})
    with pytest.raises(ValueError, match=r"1 names \['a'\] for 2 Dense layers"):
        linear_state_dict(model, names=["a"])
    with pytest.raises(ValueError, match="no Dense layers"):
        load_linear_state_dict(keras.Sequential([keras.Input((3,)), keras.layers.ReLU()]), {})
