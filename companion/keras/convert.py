"""Copy linear-layer weights between PyTorch's layout (also the companion's NumPy layers) and Keras'.

``torch.nn.Linear`` and ``companion.nn.Linear`` store ``weight`` as ``(out, in)`` and compute
``y = x W^T + b``; a Keras ``Dense`` layer stores ``kernel`` as ``(in, out)`` and computes ``y = x K + b``.
So ``K = W^T``. Importing this module does not import Keras: only :func:`load_linear_state_dict` and
:func:`linear_state_dict` touch a Keras model, and they only call its methods.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..nn.module import to_numpy

__all__ = ["linear_to_dense", "dense_to_linear", "load_linear_state_dict", "linear_state_dict"]


def linear_to_dense(weight, bias=None) -> list[np.ndarray]:
    """``[kernel]`` or ``[kernel, bias]`` for ``Dense.set_weights`` from a linear layer's ``weight`` (out, in)."""
    weight = to_numpy(weight)
    if weight.ndim != 2:
        raise ValueError(f"linear_to_dense expected a weight of shape (out, in), got {weight.shape}")
    arrays = [np.ascontiguousarray(weight.T)]
    if bias is not None:
        bias = to_numpy(bias)
        if bias.shape != (weight.shape[0],):
            raise ValueError(f"linear_to_dense expected a bias of shape ({weight.shape[0]},) for a weight of "
                             f"shape {weight.shape}, got {bias.shape}")
        arrays.append(bias.copy())
    return arrays


def dense_to_linear(kernel, bias=None) -> tuple[np.ndarray, np.ndarray | None]:
    """``(weight, bias)`` in the linear layer's layout from a Dense ``kernel`` (in, out) and ``bias`` (out,)."""
    kernel = to_numpy(kernel)
    if kernel.ndim != 2:
        raise ValueError(f"dense_to_linear expected a kernel of shape (in, out), got {kernel.shape}")
    if bias is not None:
        bias = to_numpy(bias)
        if bias.shape != (kernel.shape[1],):
            raise ValueError(f"dense_to_linear expected a bias of shape ({kernel.shape[1]},) for a kernel of "
                             f"shape {kernel.shape}, got {bias.shape}")
        bias = bias.copy()
    return np.ascontiguousarray(kernel.T), bias


def _dense_layers(model) -> list:
    """The model's Dense layers, in order (found by class name, so that this module need not import Keras)."""
    dense = [layer for layer in model.layers if type(layer).__name__ == "Dense"]
    if not dense:
        raise ValueError(f"{type(model).__name__} {getattr(model, 'name', '')!r} has no Dense layers")
    return dense


def _group_linear(state_dict) -> "OrderedDict[str, dict]":
    """Group ``"<prefix>.weight"`` / ``"<prefix>.bias"`` entries by prefix, keeping their order."""
    groups: OrderedDict[str, dict] = OrderedDict()
    for key, value in state_dict.items():
        prefix, _, kind = key.rpartition(".")
        if kind not in ("weight", "bias"):
            raise ValueError(f"expected keys ending in '.weight' or '.bias' (a state dict of linear layers), got {key!r}")
        groups.setdefault(prefix, {})[kind] = value
    for prefix, group in groups.items():
        if "weight" not in group:
            raise ValueError(f"state dict has {prefix}.bias but no {prefix}.weight")
    return groups


def load_linear_state_dict(model, state_dict) -> None:
    """Copy a torch-style state dict of linear layers (``"0.weight"``, ``"0.bias"``, ``"2.weight"``, ...) into
    the Dense layers of a built Keras ``model``, the i-th linear layer into the i-th Dense layer."""
    groups = _group_linear(state_dict)
    dense = _dense_layers(model)
    if len(groups) != len(dense):
        raise ValueError(f"the state dict holds {len(groups)} linear layers ({list(groups)}), "
                         f"the Keras model {len(dense)} Dense layers")
    new_weights = []
    for (prefix, group), layer in zip(groups.items(), dense):  # check all before changing any layer
        arrays = linear_to_dense(group["weight"], group.get("bias"))
        expected = [tuple(w.shape) for w in layer.get_weights()]
        if not expected:
            raise ValueError(f"Dense layer {layer.name!r} is not built yet: call the model on an input or give it an Input")
        got = [a.shape for a in arrays]
        if got != expected:
            raise ValueError(f"layer {prefix!r} gives Dense weights of shapes {got}, "
                             f"but Dense layer {layer.name!r} has shapes {expected}")
        new_weights.append(arrays)
    for layer, arrays in zip(dense, new_weights):
        layer.set_weights(arrays)


def linear_state_dict(model, names=None) -> "OrderedDict[str, np.ndarray]":
    """The Dense layers of a Keras ``model`` as a torch-style state dict; ``names`` are the key prefixes,
    e.g. ``["0", "2"]`` for ``nn.Sequential(Linear, ReLU, Linear)`` (default ``"0"``, ``"1"``, ...)."""
    dense = _dense_layers(model)
    names = [str(i) for i in range(len(dense))] if names is None else [str(name) for name in names]
    if len(names) != len(dense):
        raise ValueError(f"got {len(names)} names {names} for {len(dense)} Dense layers")
    state: OrderedDict[str, np.ndarray] = OrderedDict()
    for name, layer in zip(names, dense):
        arrays = layer.get_weights()
        weight, bias = dense_to_linear(arrays[0], arrays[1] if len(arrays) > 1 else None)
        state[f"{name}.weight"] = weight
        if bias is not None:
            state[f"{name}.bias"] = bias
    return state
