"""A character-level tokenizer (one token per Unicode code point) and a train/validation split.

Characters work the same for English and Chinese: "a", "模" and "，" are each one token. Characters
not seen when the vocabulary was built map to the special token ``<unk>`` (id 0).
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

__all__ = ["CharTokenizer", "train_val_split"]

UNK = "<unk>"


class CharTokenizer:
    """Maps each character to an integer id; id 0 is ``<unk>``, the others follow in sorted order."""

    def __init__(self, chars: Iterable[str]):
        chars = list(chars)
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad:
            raise ValueError(f"vocabulary entries must be single characters, got {bad[:5]!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("vocabulary has repeated characters")
        self.itos: list[str] = [UNK, *chars]
        self.stoi: dict[str, int] = {c: i for i, c in enumerate(chars, start=1)}

    @classmethod
    def from_text(cls, text: str, min_count: int = 1) -> "CharTokenizer":
        """Vocabulary of the characters that occur at least ``min_count`` times in ``text``, sorted."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
        counts = Counter(text)
        return cls(sorted(c for c, n in counts.items() if n >= min_count))

    @property
    def unk_id(self) -> int:
        return 0

    @property
    def vocab_size(self) -> int:
        """Number of ids, ``<unk>`` included."""
        return len(self.itos)

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"CharTokenizer(vocab_size={self.vocab_size})"

    def encode(self, text: str) -> list[int]:
        """One id per character; unknown characters become ``<unk>`` (0)."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        return [self.stoi.get(c, 0) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids`` (a list, NumPy array or 1-D tensor); id 0 is written as ``<unk>``."""
        if hasattr(ids, "tolist"):  # NumPy arrays and tensors
            ids = ids.tolist()
        out = []
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.vocab_size:
                raise ValueError(f"id {i!r} is not in the vocabulary (ids are 0 .. {self.vocab_size - 1}, "
                                 f"vocab_size={self.vocab_size})")
            out.append(self.itos[i])
        return "".join(out)

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as UTF-8 JSON."""
        data = {"type": "CharTokenizer", "unk": UNK, "chars": self.itos[1:]}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "CharTokenizer":
        """Read a vocabulary written by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("type") != "CharTokenizer" or "chars" not in data:
            raise ValueError(f"{path} is not a CharTokenizer file (expected JSON with type 'CharTokenizer')")
        return cls(data["chars"])


def train_val_split(ids: Sequence[int] | np.ndarray, val_fraction: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Split a token sequence into ``(train, val)`` int64 arrays: the last ``val_fraction`` is validation.

    The split is contiguous, not shuffled: validation text is a passage the model never saw, rather
    than windows that overlap training windows.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be 1-D, got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be integers, got dtype {ids.dtype}")
    n_val = int(round(len(ids) * val_fraction))
    if n_val < 2 or len(ids) - n_val < 2:  # each part needs at least one (input, target) pair
        raise ValueError(f"{len(ids)} ids are too few to split with val_fraction={val_fraction}: "
                         f"each part needs at least 2 ids (got {len(ids) - n_val} train, {n_val} val)")
    ids = ids.astype(np.int64)
    return ids[:-n_val].copy(), ids[-n_val:].copy()
