"""A smoothed n-gram language model in NumPy and plain dicts: interpolated Kneser-Ney (used in chapter 7 as the
classical baseline of the table of validation losses). Taught in chapter 7, section 7.8.

:class:`NGramLM` predicts the next token from the ``order - 1`` tokens before it. Every order mixes its discounted
counts with the next lower order, down to the uniform distribution (Chen and Goodman, 1998, "An empirical study
of smoothing techniques for language modeling", interpolated Kneser-Ney):

    p_k(w | u) = max(c_k(u, w) - D, 0) / c_k(u)  +  D * t_k(u) / c_k(u) * p_{k-1}(w | u without its first token)

where ``u`` is a context of ``k`` tokens, ``c_k(u, w)`` counts ``w`` after ``u``, ``c_k(u)`` is their sum and
``t_k(u)`` the number of distinct tokens seen after ``u`` (the mass the discount ``D`` frees goes to the lower
order). At the highest order ``c`` counts occurrences; at lower orders it counts *distinct tokens seen before*
``(u, w)`` (Kneser-Ney's continuation counts: a token that follows many contexts is a good guess in a new one). A
context never seen falls back to the lower order, so every context gets a distribution that sums to 1 over the
vocabulary. :func:`tune_ngram` picks the order and ``D`` on a dev split carved from the training text.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

__all__ = ["NGramLM", "tune_ngram"]


def _segments(ids) -> list[np.ndarray]:
    """``ids`` as a list of 1-D integer arrays: one array, or several (e.g. one per language) that are counted
    and scored separately, so that no n-gram spans the join."""
    several = isinstance(ids, (list, tuple)) and len(ids) > 0 and not np.isscalar(ids[0])
    parts = list(ids) if several else [ids]
    arrays = [np.asarray(p) for p in parts]
    for a in arrays:
        if a.ndim != 1 or a.dtype.kind not in "iu":
            raise ValueError(f"expected 1-D integer token ids, got shape {a.shape} and dtype {a.dtype}")
    return arrays


class NGramLM:
    """Interpolated Kneser-Ney n-gram model of ``order`` (1 = unigram) over ``vocab_size`` tokens, with one
    ``discount`` D in (0, 1) for every order. Taught in chapter 7.
    """

    def __init__(self, order: int, vocab_size: int, discount: float = 0.75):
        if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
            raise ValueError(f"NGramLM: order must be a positive integer, got {order!r}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ValueError(f"NGramLM: vocab_size must be a positive integer, got {vocab_size!r}")
        if not 0 < discount < 1:
            raise ValueError(f"NGramLM: discount must lie in (0, 1), got {discount!r}")
        self.order, self.vocab_size, self.discount = int(order), int(vocab_size), float(discount)
        self.counts = None

    def fit(self, ids) -> "NGramLM":
        """Count the n-grams of ``ids`` (one array of token ids, or a list of arrays counted separately)."""
        n = self.order
        occurrences = Counter()  # n-gram -> how often it occurs
        distinct = [set() for _ in range(n + 1)]  # distinct[m]: the m-grams that occur
        for seq in _segments(ids):
            self._check_range(seq)
            seq = seq.tolist()
            for m in range(2, n + 1):
                distinct[m].update(zip(*(seq[i:] for i in range(m))))  # all runs of m tokens
            occurrences.update(zip(*(seq[i:] for i in range(n))))
        # counts[k][u][w] for contexts u of k tokens: occurrences at the highest order, and below it Kneser-Ney's
        # continuation counts, the number of distinct tokens v seen before (u, w)
        self.counts = [defaultdict(Counter) for _ in range(n)]
        for gram, count in occurrences.items():
            self.counts[n - 1][gram[:-1]][gram[-1]] = count
        for k in range(n - 1):
            for gram in distinct[k + 2]:  # gram = (v, u, w)
                self.counts[k][gram[1:-1]][gram[-1]] += 1
        self.totals = [{u: sum(c.values()) for u, c in level.items()} for level in self.counts]
        self.types = [{u: len(c) for u, c in level.items()} for level in self.counts]
        return self

    def _check_range(self, seq) -> None:
        if len(seq) and (seq.min() < 0 or seq.max() >= self.vocab_size):
            raise ValueError(f"NGramLM: token ids must lie in 0 .. {self.vocab_size - 1}, "
                             f"got {seq.min()} .. {seq.max()}")

    def prob(self, w: int, context) -> float:
        """``p(w | context)``: the last ``order - 1`` tokens of ``context`` are used (fewer if it is shorter)."""
        if self.counts is None:
            raise RuntimeError("NGramLM: call fit before prob")
        context = tuple(context)[-(self.order - 1):] if self.order > 1 else ()
        p = 1.0 / self.vocab_size  # order "0": uniform
        for k in range(len(context) + 1):  # from the unigram up to the longest context
            u = context[len(context) - k:]
            total = self.totals[k].get(u, 0)
            if total == 0:  # an unseen context: keep the lower order's distribution
                continue
            c = self.counts[k][u].get(w, 0)
            p = max(c - self.discount, 0) / total + self.discount * self.types[k][u] / total * p
        return p

    def distribution(self, context) -> np.ndarray:
        """``p(w | context)`` for every token ``w`` of the vocabulary (sums to 1)."""
        return np.array([self.prob(w, context) for w in range(self.vocab_size)])

    def log_probs(self, ids) -> np.ndarray:
        """``ln p(ids[t] | ids[:t])`` for ``t = 1 .. len(ids) - 1`` of each segment, concatenated."""
        out = []
        for seq in _segments(ids):
            self._check_range(seq)
            seq = seq.tolist()
            out += [math.log(self.prob(seq[t], seq[max(0, t - self.order + 1):t])) for t in range(1, len(seq))]
        return np.array(out)

    def cross_entropy(self, ids) -> float:
        """Mean negative log-likelihood in nats per token of ``ids[1:]`` (the targets of
        :func:`companion.metrics.language.unigram_bigram_baselines`)."""
        return float(-self.log_probs(ids).mean())


def _carve_dev(train_ids, dev_fraction: float):
    """The first ``1 - dev_fraction`` of each training segment to fit on, and the rest as the dev split."""
    fit_parts, dev_parts = [], []
    for seq in _segments(train_ids):
        n_dev = int(round(len(seq) * dev_fraction))
        if n_dev < 2 or len(seq) - n_dev < 2:
            raise ValueError(f"tune_ngram: {len(seq)} ids are too few for dev_fraction={dev_fraction}")
        fit_parts.append(seq[:-n_dev])
        dev_parts.append(seq[-n_dev:])
    return fit_parts, dev_parts


def tune_ngram(train_ids, vocab_size: int, dev_fraction: float = 0.1, orders=(1, 2, 3, 4, 5, 6, 7, 8),
               discounts=(0.5, 0.6, 0.7, 0.8, 0.9, 0.95)):
    """Choose the order and the discount on a dev split carved from the *training* ids, then refit on all of them.

    ``train_ids`` is one array or a list of arrays (say, one per language): the last ``dev_fraction`` of each is
    the dev split. Only training ids go in, so the validation text cannot leak into the choice. Returns
    ``(model, settings)``: the model refitted on all of ``train_ids`` with the chosen settings, and a dict with
    ``order``, ``discount``, ``dev_loss`` (nats per token) and ``table`` ({(order, discount): dev loss}).
    """
    fit_parts, dev_parts = _carve_dev(train_ids, dev_fraction)
    table = {}
    for order in orders:
        model = NGramLM(order, vocab_size).fit(fit_parts)
        for discount in discounts:
            model.discount = float(discount)  # the counts do not depend on the discount
            table[(order, discount)] = model.cross_entropy(dev_parts)
    (order, discount), dev_loss = min(table.items(), key=lambda item: item[1])
    model = NGramLM(order, vocab_size, discount).fit(_segments(train_ids))
    return model, {"order": order, "discount": discount, "dev_loss": dev_loss, "table": table}
