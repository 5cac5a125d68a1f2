"""Language-model metrics: the cross-entropy that counting characters already reaches (used in chapter 8, section
8.9; a model that reads its context must do better), perplexity and bits per character from a loss in nats, and
BLEU and chrF for generated text (chapter 10), written out so that they equal sacrebleu's defaults."""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import NamedTuple

import numpy as np

__all__ = ["unigram_bigram_baselines", "perplexity", "bits_per_char", "tokenize_13a", "BleuScore", "bleu", "chrf"]


def _check_ids(name: str, ids, vocab_size: int) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer token ids, got dtype {ids.dtype}")
    if ids.ndim != 1 or len(ids) < 2:
        raise ValueError(f"{name} must be 1-D with at least 2 ids, got shape {ids.shape}")
    if ids.min() < 0 or ids.max() >= vocab_size:
        raise ValueError(f"{name} has ids outside 0 .. {vocab_size - 1} (vocab_size={vocab_size})")
    return ids.astype(np.int64)


def unigram_bigram_baselines(train_ids, val_ids, vocab_size: int, smoothing: float = 1.0) -> dict[str, float]:
    """Validation cross-entropy (nats per token) of three models that know no context or one token of it:
    ``"uniform"`` (every token equally likely: ln V), ``"unigram"`` (token frequencies of the training ids) and
    ``"bigram"`` (the next token given the previous one, counted in the training ids), both with add-``smoothing``.

    All are scored on the same targets ``val_ids[1:]`` (every token that has a predecessor).
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive integer, got {vocab_size!r}")
    if not smoothing > 0:
        raise ValueError(f"smoothing must be > 0 (else unseen tokens get probability 0), got {smoothing!r}")
    V = int(vocab_size)
    train_ids, val_ids = _check_ids("train_ids", train_ids, V), _check_ids("val_ids", val_ids, V)
    prev, target = val_ids[:-1], val_ids[1:]

    counts = np.bincount(train_ids, minlength=V)
    p_unigram = (counts[target] + smoothing) / (counts.sum() + smoothing * V)

    # Count only the pairs that occur, not a V x V table (V is in the thousands with Chinese).
    pair_codes, pair_counts = np.unique(train_ids[:-1] * V + train_ids[1:], return_counts=True)
    wanted = prev * V + target
    where = np.clip(np.searchsorted(pair_codes, wanted), 0, len(pair_codes) - 1)
    n_pair = np.where(pair_codes[where] == wanted, pair_counts[where], 0)
    n_prev = np.bincount(train_ids[:-1], minlength=V)[prev]
    p_bigram = (n_pair + smoothing) / (n_prev + smoothing * V)

    return {"uniform": math.log(V), "unigram": float(-np.log(p_unigram).mean()),
            "bigram": float(-np.log(p_bigram).mean())}


# ---------------------------------------------------------------------------------------------------------------
# From a loss in nats to perplexity and bits.
# ---------------------------------------------------------------------------------------------------------------


def _mean_nats(nats) -> float:
    nats = np.asarray(nats, dtype=float)
    if nats.size == 0 or not np.all(np.isfinite(nats)) or np.any(nats < 0):
        raise ValueError(f"expected a cross-entropy in nats (finite, >= 0; a number or per-token losses), got {nats}")
    return float(nats.mean())


def perplexity(nats) -> float:
    """exp(cross-entropy): the number of equally likely tokens the model is as unsure as. ``nats`` is the mean
    cross-entropy per token in nats (natural log, what ``log_loss`` and the book's losses give) or an array of
    per-token losses (averaged first). A uniform guess over V tokens has perplexity V. Taught in chapter 10."""
    return math.exp(_mean_nats(nats))


def bits_per_char(nats, chars_per_token: float = 1.0) -> float:
    """Cross-entropy in bits per character: nats / ln 2, divided by the characters each token covers on average.

    For a character-level model ``chars_per_token`` is 1; for a subword model pass (number of characters) /
    (number of tokens) of the scored text, so that models with different tokenizers compare on one scale.
    Taught in chapter 10."""
    if not chars_per_token > 0:
        raise ValueError(f"chars_per_token must be > 0, got {chars_per_token!r}")
    return _mean_nats(nats) / math.log(2) / chars_per_token


# ---------------------------------------------------------------------------------------------------------------
# BLEU (Papineni et al., 2002) and chrF (Popovic, 2015), as sacrebleu computes them by default.
# ---------------------------------------------------------------------------------------------------------------

# mteval-v13a's tokenization, as in sacrebleu's tokenizers/tokenizer_13a.py and tokenizer_re.py: split off ASCII
# punctuation and symbols, periods and commas unless between digits, and a dash after a digit. Other scripts
# (Chinese) are not split: a Chinese sentence without spaces is one "word" for BLEU; use chrF for it.
_13A_RULES = [
    # { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # . and , unless after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # . and , unless before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # - after a digit
]


def tokenize_13a(line: str) -> str:
    """Tokenize one line as sacrebleu's default ``13a`` tokenizer (mteval-v13a, used by WMT): tokens joined by
    single spaces."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return " ".join(line.split())


def _check_texts(hypotheses, references) -> tuple[list[str], list[list[str]]]:
    """Hypotheses (N strings) and reference streams (R lists of N strings, sacrebleu's layout; one list of N
    strings is taken as one stream); returns the references per sentence, ``refs[i]`` = the R references of i."""
    if isinstance(hypotheses, str):
        raise ValueError("hypotheses must be a list of strings, one per sentence, not one string")
    hypotheses = list(hypotheses)
    if not all(isinstance(h, str) for h in hypotheses):
        raise ValueError("hypotheses must be a list of strings, one per sentence")
    if isinstance(references, str):
        raise ValueError("references must be a list of reference streams (lists of strings), not one string")
    references = list(references)
    if references and all(isinstance(r, str) for r in references):
        references = [references]  # a single stream
    if not references or not hypotheses:
        raise ValueError(f"need at least one sentence and one reference stream, got {len(hypotheses)} "
                         f"hypotheses and {len(references)} streams")
    for k, stream in enumerate(references):
        if isinstance(stream, str) or not all(isinstance(r, str) for r in stream):
            raise ValueError(f"reference stream {k} must be a list of strings")
        if len(stream) != len(hypotheses):
            raise ValueError(f"reference stream {k} has {len(stream)} sentences, the hypotheses have "
                             f"{len(hypotheses)}; streams are parallel to the hypotheses")
    return hypotheses, [list(refs) for refs in zip(*references)]


def _word_ngrams(tokens: list[str], max_order: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for n in range(1, max_order + 1) for i in range(len(tokens) - n + 1))


class BleuScore(NamedTuple):
    """BLEU on a 0-100 scale with its parts: n-gram ``precisions`` (percent, n = 1..4, smoothed where an order
    has no match), ``brevity_penalty``, and the total hypothesis and reference lengths in tokens. When the
    score is 0 the precisions are the plain ratios (sacrebleu then reports zeros for some orders)."""

    score: float
    precisions: list[float]
    brevity_penalty: float
    hyp_len: int
    ref_len: int


def bleu(hypotheses, references, max_order: int = 4) -> BleuScore:
    """Corpus BLEU with sacrebleu's defaults (``sacrebleu.corpus_bleu``: 13a tokenization, case-sensitive,
    ``exp`` smoothing). Taught in chapter 10.

    Counts are summed over the corpus before dividing, not averaged per sentence. For each order n, the clipped
    precision p_n = (hypothesis n-grams also in a reference, each counted at most as often as in the reference
    that has it most) / (hypothesis n-grams). Then

        BLEU = BP * exp(mean_n ln p_n),    BP = exp(1 - r / c) if c < r else 1,

    with c the hypothesis length and r the sum over sentences of the reference length closest to the
    hypothesis's (the shorter on a tie). An order with no match gets p_n = 1 / (2^k * total_n), k counting such
    orders (mteval's "exp" smoothing); no match at all gives 0, and so does a corpus too short to have any n-gram
    of the highest order. ``references`` is a list of reference streams, each a list parallel to the
    hypotheses (or one such list). Equals sacrebleu's score.
    """
    hypotheses, references = _check_texts(hypotheses, references)
    matches, totals = [0] * max_order, [0] * max_order
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references):
        hyp_tokens = tokenize_13a(hyp.rstrip()).split()
        ref_tokens = [tokenize_13a(r.rstrip()).split() for r in refs]
        best_ref = Counter()  # each n-gram at the largest count any one reference has
        for tokens in ref_tokens:
            best_ref |= _word_ngrams(tokens, max_order)
        lengths = [len(t) for t in ref_tokens]
        ref_len += min(lengths, key=lambda r: (abs(len(hyp_tokens) - r), r))
        hyp_len += len(hyp_tokens)
        for gram, count in _word_ngrams(hyp_tokens, max_order).items():
            totals[len(gram) - 1] += count
            matches[len(gram) - 1] += min(count, best_ref[gram])

    brevity = 1.0 if hyp_len >= ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0)
    precisions = [0.0] * max_order
    if not any(matches) or not all(totals):
        return BleuScore(0.0, [100.0 * m / t if t else 0.0 for m, t in zip(matches, totals)],
                         brevity, hyp_len, ref_len)
    halvings = 1
    for n in range(max_order):
        if matches[n] == 0:
            halvings *= 2
            precisions[n] = 100.0 / (halvings * totals[n])
        else:
            precisions[n] = 100.0 * matches[n] / totals[n]
    score = brevity * math.exp(sum(math.log(p) for p in precisions) / max_order)
    return BleuScore(score, precisions, brevity, hyp_len, ref_len)


def _char_ngram_stats(hyp: str, ref: str, order: int) -> list[tuple[int, int, int]]:
    """Per n = 1..order: (hypothesis n-grams, reference n-grams, matches) of the characters, spaces removed."""
    hyp, ref = "".join(hyp.split()), "".join(ref.split())
    stats = []
    for n in range(1, order + 1):
        h = Counter(hyp[i:i + n] for i in range(len(hyp) - n + 1))
        r = Counter(ref[i:i + n] for i in range(len(ref) - n + 1))
        match = sum(min(c, r[g]) for g, c in h.items())
        stats.append((sum(h.values()) if r else 0, sum(r.values()), match))
    return stats


def _chrf_from_stats(stats, beta: float) -> float:
    """F_beta (0-100) of the precision and recall averaged over the orders that both sides have."""
    precisions, recalls = [], []
    for n_hyp, n_ref, n_match in stats:
        if n_hyp > 0 and n_ref > 0:
            precisions.append(n_match / n_hyp)
            recalls.append(n_match / n_ref)
    if not precisions:
        return 0.0
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if p + r == 0:
        return 0.0
    score = (1 + beta ** 2) * p * r
    score /= beta ** 2 * p + r  # in sacrebleu's order of operations, so that the floats agree to the last bit
    return 100 * score


def chrf(hypotheses, references, order: int = 6, beta: float = 2.0) -> float:
    """Corpus chrF (Popovic, 2015) with sacrebleu's defaults (``sacrebleu.corpus_chrf``: character n-grams up to 6,
    spaces removed, beta = 2, case-sensitive, no word n-grams). Taught in chapter 10.

    For each n, character n-gram precision P_n and recall R_n from counts summed over the corpus; P and R are
    their means over the orders present on both sides, and chrF = (1 + beta^2) P R / (beta^2 P + R) on a 0-100
    scale, so recall weighs beta^2 = 4 times as much as precision. Works on any script, Chinese included (no
    tokenizer). With several references, each sentence counts the reference it scores best against. Equals
    sacrebleu's score.
    """
    hypotheses, references = _check_texts(hypotheses, references)
    totals = np.zeros((order, 3), dtype=np.int64)
    for hyp, refs in zip(hypotheses, references):
        best, best_f = None, -1.0
        for ref in refs:
            stats = _char_ngram_stats(hyp, ref, order)
            f = _chrf_from_stats(stats, beta)
            if f > best_f:
                best, best_f = stats, f
        totals += np.array(best, dtype=np.int64)
    return _chrf_from_stats(totals.tolist(), beta)
