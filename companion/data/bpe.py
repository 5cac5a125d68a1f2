"""Byte-level byte-pair encoding (BPE), the tokenizer of GPT-2, from scratch. Taught in chapter 9, section 9.1.

Text becomes its UTF-8 bytes, so the first 256 token ids are the 256 byte values and any Unicode text, Chinese,
emoji or combining marks included, encodes and decodes back exactly; there is no unknown token. Training repeats
one step: count the adjacent pairs of ids, give the most frequent pair a new id, replace it everywhere. Among
pairs of equal count the smallest pair of ids wins, so training is deterministic.

Before counting, the text is cut into chunks by a regular expression (``SPLIT_PATTERN``: words with the space
before them, numbers, runs of punctuation, whitespace; GPT-2's pattern less its English contractions, written
for Python's ``re``), and merges never cross a chunk boundary: no token glues the end of one word to the next.
``pattern=None`` keeps the whole text as one chunk.

``train_bpe`` is the readable loop (it recounts every pair at every merge); ``train_bpe_fast`` learns the same
merges in the same order by updating the counts of the chunks that a merge changes, fast enough for the book's
corpus (465k characters) at a vocabulary of thousands. Both return a ``BPETokenizer``. No special tokens
(such as GPT-2's ``<|endoftext|>``).
"""
from __future__ import annotations

import heapq
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np

from ..nn.checks import positive_int

__all__ = ["SPLIT_PATTERN", "split_text", "get_pair_counts", "merge", "train_bpe", "train_bpe_fast",
           "BPETokenizer"]

# Every character is a letter or underscore ([^\W\d]), a digit (\d), other non-space (punctuation, symbols, marks,
# emoji: [^\s\w]) or whitespace (\s), so the chunks always cover the whole text.
SPLIT_PATTERN = r" ?[^\W\d]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+"


def split_text(text: str, pattern: str | None = SPLIT_PATTERN) -> list[str]:
    """The chunks of ``text`` that merges stay inside; joined, they give ``text`` back."""
    return re.findall(pattern, text) if pattern is not None else [text]


def get_pair_counts(ids, counts=None):
    """How often each adjacent pair occurs in ``ids``, added to ``counts`` if given. Taught in section 9.1."""
    counts = {} if counts is None else counts
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, new_id):
    """``ids`` with every occurrence of ``pair``, read left to right, replaced by ``new_id``. Taught in section 9.1."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(text, vocab_size, pattern=SPLIT_PATTERN):
    """Learn ``vocab_size - 256`` merges from ``text`` (fewer if no pair is left). Taught in section 9.1."""
    check_training(text, vocab_size)
    chunks = [list(chunk.encode("utf-8")) for chunk in split_text(text, pattern)]
    merges = []
    for new_id in range(256, vocab_size):
        counts = {}
        for ids in chunks:
            get_pair_counts(ids, counts)
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))  # the most frequent; among equals the smallest
        chunks = [merge(ids, pair, new_id) for ids in chunks]
        merges.append(pair)
    return BPETokenizer(merges, pattern)


def train_bpe_fast(text: str, vocab_size: int, pattern: str | None = SPLIT_PATTERN) -> "BPETokenizer":
    """The merges of :func:`train_bpe`, in the same order, learned with incremental counts.

    Each distinct chunk is kept once with its frequency; ``where`` remembers which chunks hold a pair, so a merge
    recounts only those; a heap of ``(-count, pair)`` finds the next pair (stale entries are skipped when popped).
    """
    check_training(text, vocab_size)
    freq = Counter(split_text(text, pattern))
    words = [list(chunk.encode("utf-8")) for chunk in freq]
    weights = list(freq.values())
    counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = {}
    for w, ids in enumerate(words):
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + weights[w]
            where.setdefault(pair, set()).add(w)
    heap = [(-n, pair) for pair, n in counts.items()]
    heapq.heapify(heap)
    merges = []
    for new_id in range(256, vocab_size):
        while heap and counts.get(heap[0][1], 0) != -heap[0][0]:
            heapq.heappop(heap)                                       # a count that has changed since
        if not heap:
            break
        pair = heapq.heappop(heap)[1]
        changed = set()
        for w in where.pop(pair):
            old = words[w]
            new = merge(old, pair, new_id)
            for p in zip(old, old[1:]):
                counts[p] -= weights[w]
                changed.add(p)
            for p in zip(new, new[1:]):
                counts[p] = counts.get(p, 0) + weights[w]
                where.setdefault(p, set()).add(w)
                changed.add(p)
            words[w] = new
        for p in changed:
            if counts[p] > 0:
                heapq.heappush(heap, (-counts[p], p))
            else:
                del counts[p]
                where.pop(p, None)
        merges.append(pair)
    return BPETokenizer(merges, pattern)


def check_training(text, vocab_size) -> None:
    if not isinstance(text, str):
        raise TypeError(f"train_bpe: text must be a str, got {type(text).__name__}")
    if positive_int(vocab_size, "vocab_size", "train_bpe") < 256:
        raise ValueError(f"train_bpe: vocab_size must be at least 256 (the byte tokens), got {vocab_size}")


class BPETokenizer:
    """Byte-level BPE: ids 0-255 are bytes, id ``256 + i`` is the ``i``-th merge. Taught in chapter 9, section 9.1.

    ``merges`` is the list of merged pairs in training order; ``vocab[i]`` the bytes of token ``i``.
    """

    def __init__(self, merges, pattern=SPLIT_PATTERN):
        self.merges = []
        self.vocab = [bytes([b]) for b in range(256)]
        for new_id, pair in enumerate(merges, start=256):
            if len(pair) != 2 or not all(isinstance(i, (int, np.integer)) and 0 <= i < new_id for i in pair):
                raise ValueError(f"merge {new_id - 256} must be a pair of ids below {new_id}, got {pair!r}")
            a, b = int(pair[0]), int(pair[1])
            self.merges.append((a, b))
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self.ranks = {pair: rank for rank, pair in enumerate(self.merges)}  # pair -> when it was learned
        self.pattern = pattern

    @property
    def vocab_size(self):
        return len(self.vocab)

    def __len__(self):
        return self.vocab_size

    def __repr__(self):
        return f"BPETokenizer(vocab_size={self.vocab_size})"

    def encode_chunk(self, ids):
        """Apply the merges to one chunk's bytes in training order: always the earliest-learned pair present."""
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: self.ranks.get(p, len(self.ranks)))
            if pair not in self.ranks:
                break                                                 # no learned pair is left in the chunk
            ids = merge(ids, pair, 256 + self.ranks[pair])
        return ids

    def encode(self, text):
        """The token ids of ``text``: its UTF-8 bytes, merged chunk by chunk. Taught in section 9.1."""
        if not isinstance(text, str):
            raise TypeError(f"encode expects a str, got {type(text).__name__}")
        out, seen = [], {}
        for chunk in split_text(text, self.pattern):
            if chunk not in seen:                                     # a repeated word is encoded once
                seen[chunk] = self.encode_chunk(list(chunk.encode("utf-8")))
            out.extend(seen[chunk])
        return out

    def decode(self, ids):
        """The text of ``ids`` (a list, NumPy array or 1-D tensor). A sequence of ids that splits a character's
        bytes (possible with arbitrary ids) gives U+FFFD for the broken bytes instead of an error."""
        if hasattr(ids, "tolist"):  # NumPy arrays and tensors
            ids = ids.tolist()
        ids = list(ids)
        bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, (int, np.integer))
               or not 0 <= i < self.vocab_size]
        if bad:
            raise ValueError(f"id {bad[0]!r} is not in the vocabulary (ids are 0 .. {self.vocab_size - 1}, "
                             f"vocab_size={self.vocab_size})")
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    def save(self, path):
        """Write the merges and the split pattern as JSON."""
        data = {"type": "BPETokenizer", "pattern": self.pattern, "merges": [list(p) for p in self.merges]}
        Path(path).write_text(json.dumps(data), encoding="utf-8")

    @classmethod
    def load(cls, path):
        """Read a tokenizer written by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("type") != "BPETokenizer" or "merges" not in data:
            raise ValueError(f"{path} is not a BPETokenizer file (expected JSON with type 'BPETokenizer')")
        return cls([tuple(p) for p in data["merges"]], data.get("pattern"))
