"""Copy recurrent weights between torch's layout (also ``companion.nn.RNN``/``LSTM``/``GRU``) and Keras'
``SimpleRNN``, ``LSTM`` and ``GRU`` layers (chapter 7).

torch stores, per layer ``l``, ``weight_ih_l{l}`` (gH, I), ``weight_hh_l{l}`` (gH, H) and two biases
``bias_ih_l{l}``, ``bias_hh_l{l}`` (gH,); Keras stores ``kernel`` (I, gH), ``recurrent_kernel`` (H, gH) and one
``bias`` (gH,), or for a ``GRU(reset_after=True)`` a bias of shape (2, gH) (input and recurrent biases). So the
kernels are the transposed weights, with the gate blocks reordered where the orders differ:

- LSTM: torch's rows i, f, g, o and Keras' columns i, f, c, o are the same order; the biases add up.
- GRU: torch r, z, n; Keras z, r, h, so the first two blocks swap. torch computes
  ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, the reset gate applied *after* the recurrent product and its
  bias: that is Keras' ``reset_after=True`` (its default). Keras' ``reset_after=False`` (the GRU of Cho et al.,
  2014) computes ``tanh(W_in x + b_in + W_hn (r * h))``, a different function: no weights make it equal torch's.
- SimpleRNN: one block; the biases add up.

A stacked torch module with ``num_layers=L`` is L Keras layers, each with ``return_sequences=True`` (except
perhaps the last). Importing this module does not import Keras: the functions only call the layers' methods.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..nn.module import to_numpy

__all__ = ["GATE_ORDER", "torch_to_keras_recurrent", "keras_to_torch_recurrent", "load_recurrent_state_dict",
           "recurrent_state_dict"]

# For each kind: Keras' gate blocks as indices of torch's blocks (LSTM i,f,g,o = i,f,c,o; GRU z,r,h = torch 1,0,2).
GATE_ORDER = {"rnn": [0], "lstm": [0, 1, 2, 3], "gru": [1, 0, 2]}


def _reorder(array, kind, axis):
    """Permute the gate blocks of ``array`` along ``axis`` from torch's order to Keras' (it is its own inverse)."""
    blocks = np.split(array, len(GATE_ORDER[kind]), axis=axis)
    return np.concatenate([blocks[i] for i in GATE_ORDER[kind]], axis=axis)


def _check_kind(kind):
    if kind not in GATE_ORDER:
        raise ValueError(f"kind must be one of {sorted(GATE_ORDER)}, got {kind!r}")


def torch_to_keras_recurrent(state_dict, kind: str, layer: int = 0, reset_after: bool = True) -> list[np.ndarray]:
    """``[kernel, recurrent_kernel(, bias)]`` for one Keras layer's ``set_weights`` from layer ``layer`` of a
    torch-style state dict of an RNN (``kind="rnn"``), LSTM or GRU."""
    _check_kind(kind)
    if kind == "gru" and not reset_after:
        raise ValueError("torch's GRU equals Keras' GRU(reset_after=True) only; reset_after=False is another cell")
    w_ih, w_hh = to_numpy(state_dict[f"weight_ih_l{layer}"]), to_numpy(state_dict[f"weight_hh_l{layer}"])
    rows = len(GATE_ORDER[kind]) * w_hh.shape[1]
    if w_ih.shape[0] != rows or w_hh.shape != (rows, w_hh.shape[1]):
        raise ValueError(f"{kind} layer {layer}: expected weights with {rows} rows, got {w_ih.shape} and {w_hh.shape}")
    arrays = [_reorder(w_ih, kind, 0).T.copy(), _reorder(w_hh, kind, 0).T.copy()]
    if f"bias_ih_l{layer}" in state_dict:
        b_ih, b_hh = (_reorder(to_numpy(state_dict[f"{name}_l{layer}"]), kind, 0) for name in ("bias_ih", "bias_hh"))
        arrays.append(np.stack([b_ih, b_hh]) if kind == "gru" else b_ih + b_hh)
    return arrays


def keras_to_torch_recurrent(weights, kind: str, layer: int = 0) -> "OrderedDict[str, np.ndarray]":
    """torch names -> arrays for layer ``layer`` from one Keras layer's ``get_weights()``. Keras' single bias of a
    SimpleRNN or LSTM becomes ``bias_ih`` with ``bias_hh`` zero (only their sum matters)."""
    _check_kind(kind)
    kernel, recurrent = (to_numpy(w) for w in weights[:2])
    state = OrderedDict([(f"weight_ih_l{layer}", _reorder(kernel.T, kind, 0).copy()),
                         (f"weight_hh_l{layer}", _reorder(recurrent.T, kind, 0).copy())])
    if len(weights) > 2:
        bias = to_numpy(weights[2])
        if kind == "gru" and bias.ndim != 2:
            raise ValueError(f"a Keras GRU with reset_after=False (bias {bias.shape}) has no torch equivalent")
        b_ih, b_hh = (bias[0], bias[1]) if kind == "gru" else (bias, np.zeros_like(bias))
        state[f"bias_ih_l{layer}"], state[f"bias_hh_l{layer}"] = _reorder(b_ih, kind, 0), _reorder(b_hh, kind, 0)
    return state


def load_recurrent_state_dict(layers, state_dict, kind: str) -> None:
    """Copy a torch-style state dict of ``num_layers = len(layers)`` into built Keras layers, layer l into
    ``layers[l]``."""
    count = sum(1 for key in state_dict if key.startswith("weight_ih_l"))
    if count != len(layers):
        raise ValueError(f"the state dict holds {count} layers, got {len(layers)} Keras layers")
    new = [torch_to_keras_recurrent(state_dict, kind, l, getattr(k, "reset_after", True))
           for l, k in enumerate(layers)]
    for keras_layer, arrays in zip(layers, new):
        shapes = [tuple(w.shape) for w in keras_layer.get_weights()]
        if shapes != [a.shape for a in arrays]:
            raise ValueError(f"Keras layer {keras_layer.name!r} has weights of shapes {shapes}, "
                             f"the state dict gives {[a.shape for a in arrays]}")
    for keras_layer, arrays in zip(layers, new):
        keras_layer.set_weights(arrays)


def recurrent_state_dict(layers, kind: str) -> "OrderedDict[str, np.ndarray]":
    """The torch-style state dict of stacked Keras recurrent layers (``load_state_dict`` takes it)."""
    state = OrderedDict()
    for l, keras_layer in enumerate(layers):
        state.update(keras_to_torch_recurrent(keras_layer.get_weights(), kind, l))
    return state
