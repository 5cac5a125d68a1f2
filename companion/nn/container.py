"""``Sequential``: modules applied in order, and the chain rule applied in reverse."""
from __future__ import annotations

from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Modules applied in order; named ``"0"``, ``"1"``, ... as in ``torch.nn.Sequential``.

    Taught in chapter 2, section 2.4.
    """

    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            self._append(str(index), module)

    def _append(self, name, module):
        if not isinstance(module, Module):
            raise TypeError(f"Sequential takes Module instances, got {type(module).__name__} at position {name}")
        setattr(self, name, module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def backward(self, grad_out):
        for module in reversed(self._modules.values()):  # the chain rule, from the last module back
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

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())
