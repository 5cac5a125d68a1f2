"""The base of every NumPy layer: ``Parameter`` and ``Module``, with explicit forward and backward passes.

Names, shapes and layouts follow ``torch.nn`` (a linear layer's ``weight`` is ``(out, in)``), so weights
copy between a NumPy model and its PyTorch twin by name::

    np_model.load_state_dict(torch_model.state_dict())

Each module caches in ``forward`` what ``backward`` needs. ``backward(grad_out)`` returns the gradient of
the loss with respect to the module's input and *adds* the parameter gradients to ``param.grad``, as
PyTorch does; call ``zero_grad()`` between steps.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

import numpy as np

__all__ = ["Parameter", "Module"]


class Parameter:
    """A trainable array ``data`` and its gradient ``grad`` (same shape and dtype, zeros at first)."""

    def __init__(self, data):
        self.data = np.array(data)  # a copy: the parameter owns its memory
        if self.data.dtype.kind != "f":
            raise TypeError(f"a Parameter holds floating-point data, got dtype {self.data.dtype}")
        self.grad = np.zeros_like(self.data)

    @property
    def shape(self) -> tuple:
        return self.data.shape

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.data.dtype})"


def _to_numpy(value) -> np.ndarray:
    """An ndarray from anything ``np.asarray`` takes, torch tensors included (even ones that require grad)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _addindent(text: str, spaces: int = 2) -> str:
    """Indent every line but the first (how torch nests the repr of child modules)."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


class Module:
    """Base class: parameters and child modules assigned as attributes are registered by name."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"call super().__init__() in {type(self).__name__}.__init__ before assigning attributes"
            )
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    # --- computation -------------------------------------------------------------------------------
    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_out):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, x):
        return self.forward(x)

    def _cached(self, name: str):
        """Return what forward cached under ``name``; fail clearly if forward has not run."""
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: run forward(x) first")
        return value

    def _check_grad_shape(self, grad_out, expected_shape) -> np.ndarray:
        grad_out = np.asarray(grad_out)
        if grad_out.shape != tuple(expected_shape):
            raise ValueError(
                f"{type(self).__name__}.backward expected grad_out of shape {tuple(expected_shape)} "
                f"(the shape of its output), got {grad_out.shape}"
            )
        return grad_out

    # --- parameters --------------------------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` with torch-style dotted names such as ``"0.weight"``."""
        for name, param in self._parameters.items():
            yield prefix + name, param
        for name, module in self._modules.items():
            yield from module.named_parameters(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [param for _, param in self.named_parameters()]

    def children(self) -> list["Module"]:
        return list(self._modules.values())

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.grad.fill(0)

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Name -> a copy of the parameter's array (changing it does not change the model)."""
        return OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())

    def load_state_dict(self, state_dict) -> None:
        """Copy arrays (or torch tensors) into the parameters by name; keys and shapes must match exactly."""
        params = dict(self.named_parameters())
        missing = [name for name in params if name not in state_dict]
        unexpected = [name for name in state_dict if name not in params]
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict into {type(self).__name__}: missing keys {missing}, unexpected keys {unexpected}"
            )
        arrays = {name: _to_numpy(state_dict[name]) for name in params}
        for name, param in params.items():  # check everything before changing anything
            if arrays[name].shape != param.shape:
                raise ValueError(
                    f"load_state_dict: shape mismatch for {name!r}: the model has {param.shape}, "
                    f"the state dict has {arrays[name].shape}"
                )
        for name, param in params.items():
            param.data[...] = arrays[name]  # casts to the parameter's dtype, as torch's copy_ does

    # --- modes and dtype ---------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        object.__setattr__(self, "training", bool(mode))
        for module in self._modules.values():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def astype(self, dtype) -> "Module":
        """Convert every parameter (and its gradient) to a floating dtype, e.g. ``np.float64``; returns self."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"astype expects a floating-point dtype, got {dtype}")
        for param in self.parameters():
            param.data = param.data.astype(dtype)
            param.grad = param.grad.astype(dtype)
        return self

    # --- printing ----------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        if not self._modules:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"({name}): {_addindent(repr(module))}" for name, module in self._modules.items()]
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"
