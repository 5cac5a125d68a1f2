"""The embedding table in NumPy (``torch.nn.Embedding``): token ids in, one learned vector per id out.

Taught in chapter 8, section 8.1.
"""
from __future__ import annotations

import numpy as np

from ..book.runtime import default_generator
from .checks import positive_int
from .module import Module, Parameter

__all__ = ["Embedding"]


def check_indices(indices, num_embeddings: int, owner: str) -> np.ndarray:
    """``indices`` as an integer array with every id in [0, num_embeddings); else an error naming the bad id."""
    indices = np.asarray(indices)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{owner} expects integer indices, got dtype {indices.dtype}")
    bad = indices[(indices < 0) | (indices >= num_embeddings)]
    if bad.size:
        raise ValueError(f"{owner}: index {bad.flat[0]} is out of range [0, {num_embeddings})")
    return indices


class Embedding(Module):
    """A table ``weight`` (num_embeddings, embedding_dim); row i is the vector of token id i. Initialised N(0, 1)
    as ``torch.nn.Embedding``. ``forward(indices)`` takes ids of any shape and returns ``indices.shape + (dim,)``;
    ``backward`` adds into ``weight.grad`` and returns None: integer ids have no gradient.

    Taught in chapter 8, section 8.1.
    """

    def __init__(self, num_embeddings, embedding_dim, *, rng=None, dtype=np.float32):
        super().__init__()
        self.num_embeddings = positive_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = positive_int(embedding_dim, "embedding_dim", "Embedding")
        rng = default_generator() if rng is None else rng
        self.weight = Parameter(rng.standard_normal((self.num_embeddings, self.embedding_dim)).astype(dtype))

    def forward(self, indices):
        self._indices = check_indices(indices, self.num_embeddings, repr(self))
        return self.weight.data[self._indices]  # row lookup: one-hot(indices) @ weight, without the zeros

    def backward(self, grad_out):
        indices = self._cached("_indices")
        grad_out = self._check_grad_shape(grad_out, indices.shape + (self.embedding_dim,))
        # np.add.at adds once per occurrence: a token used twice gets both gradients (+= would keep one).
        np.add.at(self.weight.grad, indices.reshape(-1), grad_out.reshape(-1, self.embedding_dim))
        return None

    def extra_repr(self):
        return f"{self.num_embeddings}, {self.embedding_dim}"
