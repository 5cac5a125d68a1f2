"""Neural-network layers from scratch in NumPy, with explicit forward and backward passes.

Names, shapes and layouts follow ``torch.nn`` (a linear layer's ``weight`` is ``(out, in)``), so weights
copy between a NumPy model and its PyTorch twin by name::

    np_model.load_state_dict(torch_model.state_dict())

Each module caches in ``forward`` what ``backward`` needs. ``backward(grad_out)`` returns the gradient of
the loss with respect to the module's input and *adds* the parameter gradients to ``param.grad``, as
PyTorch does; call ``zero_grad()`` between steps.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterator

import numpy as np

__all__ = ["Parameter", "Module", "Linear", "ReLU", "Sigmoid", "Tanh", "Sequential"]


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


class Linear(Module):
    """Affine map ``y = x W^T + b`` on the last axis; ``weight`` is ``(out, in)`` as in ``torch.nn.Linear``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, rng=None, dtype=np.float32):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        rng = np.random.default_rng() if rng is None else rng
        bound = 1.0 / math.sqrt(self.in_features)  # torch.nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in))
        self.weight = Parameter(rng.uniform(-bound, bound, size=(self.out_features, self.in_features)).astype(dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, size=self.out_features).astype(dtype)) if bias else None
        self._x = None

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}) expected input of shape "
                f"(..., {self.in_features}), got {x.shape}"
            )
        x = x.astype(self.weight.data.dtype, copy=False)  # compute in the parameters' dtype, like torch
        self._x = x
        y = x @ self.weight.data.T
        if self.bias is not None:
            y = y + self.bias.data
        return y

    def backward(self, grad_out):
        x = self._cached("_x")
        grad_out = self._check_grad_shape(grad_out, x.shape[:-1] + (self.out_features,))
        # Flatten the leading axes: each row is one example; parameter gradients sum over examples.
        g2 = grad_out.reshape(-1, self.out_features)
        x2 = x.reshape(-1, self.in_features)
        self.weight.grad += g2.T @ x2  # dl/dW = g^T x
        if self.bias is not None:
            self.bias.grad += g2.sum(axis=0)  # dl/db = sum of g over examples
        return grad_out @ self.weight.data  # dl/dx = g W

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class ReLU(Module):
    """``relu(x) = max(x, 0)``; its derivative at 0 is taken as 0, as in torch."""

    def __init__(self):
        super().__init__()
        self._mask = None

    def forward(self, x):
        x = np.asarray(x)
        self._mask = x > 0
        return np.where(self._mask, x, 0).astype(x.dtype, copy=False)

    def backward(self, grad_out):
        mask = self._cached("_mask")
        grad_out = self._check_grad_shape(grad_out, mask.shape)
        return grad_out * mask  # dl/dx = g * 1[x > 0]


class Sigmoid(Module):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        x = np.asarray(x)
        # exp(-|x|) lies in (0, 1], so it never overflows; pick the form that is exact on each side.
        e = np.exp(-np.abs(x))
        self._y = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return self._y

    def backward(self, grad_out):
        y = self._cached("_y")
        grad_out = self._check_grad_shape(grad_out, y.shape)
        return grad_out * y * (1.0 - y)  # dl/dx = g * s * (1 - s)


class Tanh(Module):
    """``tanh(x)``; its derivative is ``1 - tanh(x)^2``."""

    def __init__(self):
        super().__init__()
        self._y = None

    def forward(self, x):
        self._y = np.tanh(np.asarray(x))
        return self._y

    def backward(self, grad_out):
        y = self._cached("_y")
        grad_out = self._check_grad_shape(grad_out, y.shape)
        return grad_out * (1.0 - y * y)  # dl/dx = g * (1 - y^2)


class Sequential(Module):
    """Modules applied in order; named ``"0"``, ``"1"``, ... as in ``torch.nn.Sequential``."""

    def __init__(self, *modules: Module):
        super().__init__()
        for index, module in enumerate(modules):
            self._append(str(index), module)

    def _append(self, name: str, module: Module) -> None:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Module instances, got {type(module).__name__} at position {name}")
        setattr(self, name, module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad_out):
        # The chain rule, applied from the last module back to the first.
        for module in reversed(self._modules.values()):
            grad_out = module.backward(grad_out)
        return grad_out

    def __getitem__(self, index):
        items = list(self._modules.items())
        if isinstance(index, slice):
            new = Sequential()
            for name, module in items[index]:  # keep the original names, as torch does
                new._append(name, module)
            return new
        return items[index][1]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
