"""The base of every NumPy layer: ``Parameter`` and ``Module`` (taught in chapter 2, section 2.4).

The contract every layer of ``companion.nn`` keeps:

- Names, shapes and layouts follow ``torch.nn`` (a linear layer's ``weight`` is ``(out, in)``), so weights copy
  between a NumPy model and its PyTorch twin by name: ``np_model.load_state_dict(torch_model.state_dict())``.
- ``module(*args, **kwargs)`` calls ``forward``. ``backward(grad_out, ...)`` takes the gradient of the loss with
  respect to each output, returns the gradients with respect to the inputs in argument order (one array for one
  input, a tuple for several; ``None`` for an integer input such as class labels or token ids), and *adds* the
  parameter gradients to ``param.grad``, as torch accumulates them; call ``zero_grad()`` between steps.
- The math sits in a functional core with explicit caches (``out, cache = f_forward(...)``,
  ``grads = f_backward(dout, cache)``, cs231n's convention); a Module keeps the cache of its last forward.
- Running statistics are buffers (``register_buffer``) and go into ``state_dict``; ``repr`` is torch's.
- Random initial weights come from :func:`companion.book.runtime.default_generator`, which ``set_seed`` seeds,
  unless a layer is given its own ``rng``.
- Wrong input raises ``ValueError`` naming the expected and the actual shape (helpers below and in ``checks``).
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Iterator

import numpy as np

__all__ = ["Parameter", "Module"]


class Parameter:
    """A trainable array ``data`` and its gradient ``grad`` (same shape and dtype, zeros at first).

    Taught in chapter 2, section 2.4.
    """

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


def to_numpy(value) -> np.ndarray:
    """An ndarray from anything ``np.asarray`` takes, torch tensors included (even ones that require grad)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _addindent(text: str, spaces: int = 2) -> str:
    """Indent every line but the first (how torch nests the repr of child modules)."""
    lines = text.split("\n")
    return "\n".join(lines[:1] + [" " * spaces + line for line in lines[1:]])


class Module:
    """Base class: parameters, buffers and child modules assigned as attributes are registered by name.

    Taught in chapter 2, section 2.4.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"call super().__init__() in {type(self).__name__}.__init__ before assigning attributes"
            )
        if name in self._buffers:  # assigning to a buffer replaces its array, and keeps it registered
            self._buffers[name] = None if value is None else np.asarray(value)
            object.__setattr__(self, name, self._buffers[name])
            return
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def register_buffer(self, name: str, array) -> None:
        """Register state that is not trained but belongs to the model (BatchNorm's running mean, say).

        Buffers go into ``state_dict`` beside the parameters, as in torch, and have no gradient.
        """
        if name in self._parameters or name in self._modules:
            raise KeyError(f"{type(self).__name__} already has a parameter or module named {name!r}")
        self._buffers[name] = None if array is None else np.asarray(array)
        object.__setattr__(self, name, self._buffers[name])

    # --- computation -------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward")

    def backward(self, grad_out, *grad_outs):
        raise NotImplementedError(f"{type(self).__name__} does not define backward")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _cached(self, name: str):
        """Return what forward cached under ``name``; fail clearly if forward has not run."""
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward: run forward first")
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

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        """Yield ``(name, array)`` for every registered buffer that is not None, with dotted names."""
        for name, array in self._buffers.items():
            if array is not None:
                yield prefix + name, array
        for name, module in self._modules.items():
            yield from module.named_buffers(prefix + name + ".")

    def parameters(self) -> list[Parameter]:
        return [param for _, param in self.named_parameters()]

    def children(self) -> list["Module"]:
        return list(self._modules.values())

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.grad.fill(0)

    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Name -> a copy of each parameter's and buffer's array (changing it does not change the model)."""
        state = OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())
        state.update((name, array.copy()) for name, array in self.named_buffers())
        return state

    def _state_arrays(self) -> "OrderedDict[str, np.ndarray]":
        """Name -> the live array of each parameter and buffer (what load_state_dict writes into)."""
        arrays = OrderedDict((name, param.data) for name, param in self.named_parameters())
        arrays.update(self.named_buffers())
        return arrays

    def load_state_dict(self, state_dict) -> None:
        """Copy arrays (or torch tensors) into the parameters and buffers by name; keys and shapes must match.

        Torch's ``num_batches_tracked`` counters are accepted and ignored when the model has no such buffer.
        """
        targets = self._state_arrays()
        missing = [name for name in targets if name not in state_dict]
        unexpected = [name for name in state_dict if name not in targets and not name.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(
                f"load_state_dict into {type(self).__name__}: missing keys {missing}, unexpected keys {unexpected}"
            )
        arrays = {name: to_numpy(state_dict[name]) for name in targets}
        for name, target in targets.items():  # check everything before changing anything
            if arrays[name].shape != target.shape:
                raise ValueError(
                    f"load_state_dict: shape mismatch for {name!r}: the model has {target.shape}, "
                    f"the state dict has {arrays[name].shape}"
                )
        for name, target in targets.items():
            target[...] = arrays[name]  # casts to the model's dtype, as torch's copy_ does

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
        """torch's layout: ``Name(extra)`` for a leaf, else the extra lines and then ``(name): child`` lines."""
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({name}): {_addindent(repr(module))}" for name, module in self._modules.items()]
        if len(lines) == 1 and not children:
            return f"{type(self).__name__}({lines[0]})"
        if not lines and not children:
            return f"{type(self).__name__}()"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines + children) + "\n)"
