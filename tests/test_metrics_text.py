"""companion.metrics.language: perplexity and bits per character from nats, and BLEU and chrF equal to
sacrebleu's corpus_bleu and corpus_chrf (default settings) on English and Chinese sentence sets."""
from __future__ import annotations

import math

import numpy as np
import pytest

from companion.metrics import bits_per_char, bleu, chrf, perplexity, tokenize_13a

# ---- perplexity, bits per character -------------------------------------------------------------------------


def test_perplexity_and_bits_per_char_from_nats():
    assert perplexity(math.log(50)) == pytest.approx(50)  # uniform over 50 tokens
    assert perplexity([1.0, 2.0, 3.0]) == pytest.approx(math.exp(2.0))  # per-token losses averaged first
    assert perplexity(0.0) == 1.0
    assert bits_per_char(math.log(2)) == pytest.approx(1.0)
    assert bits_per_char(math.log(256)) == pytest.approx(8.0)
    # a subword model: 2.0 nats per token, each token 4 characters long on average
    assert bits_per_char(2.0, chars_per_token=4.0) == pytest.approx(2.0 / math.log(2) / 4)
    # perplexity and bits agree: 2 ** bits = perplexity (one token = one character)
    assert 2 ** bits_per_char(1.7) == pytest.approx(perplexity(1.7))


def test_perplexity_bad_input():
    for bad in ([], [-1.0], [np.nan], [np.inf]):
        with pytest.raises(ValueError, match="nats"):
            perplexity(bad)
    with pytest.raises(ValueError, match="chars_per_token"):
        bits_per_char(1.0, chars_per_token=0)


# ---- BLEU, chrF against sacrebleu ------------------------------------------------------------------------------

ENGLISH = {
    "one reference": (
        ["The cat sat on the mat.", "It's raining, isn't it?", "He paid $3.50 for 2-3 apples (on sale)!",
         "Machine translation is hard.", "A B C D E F"],
        [["The cat is sitting on the mat.", "It is raining, isn't it?", "He paid $3.50 for two or three apples.",
          "Machine translation is really hard.", "A B C D E F"]],
    ),
    "two references": (
        ["the quick brown fox jumps over the lazy dog", "we evaluate models on held-out data",
         "a short one", "Numbers like 1,000.5 and 3-4 stay together; commas, periods. split"],
        [["the fast brown fox jumped over the lazy dog", "models are evaluated on held-out data",
          "a short sentence here", "Numbers like 1,000.5 and 3-4 stay together; commas, periods. split"],
         ["a quick brown fox leaps over a lazy dog", "we evaluate the models on data held out",
          "just a short one", "numbers such as 1,000.5 and 3-4 stay together"]],
    ),
    "no 4-gram match (smoothing)": (
        ["cat the mat on sat", "dog a barked"],
        [["the cat sat on the mat", "a dog barked loudly"]],
    ),
    "longer than the references": (
        ["this hypothesis is considerably longer than its reference sentence is", "&quot;quoted&quot; &amp; escaped"],
        [["this hypothesis is longer", "\"quoted\" & escaped"]],
    ),
    "nothing matches": (["xyz"], [["abc def"]]),
    "too short for 4-grams": (["a b"], [["a b"]]),
}

CHINESE = {
    "one reference": (
        ["我们在测试集上评估模型。", "今天天气很好，我们去公园散步。", "机器翻译很难。"],
        [["我们在测试集上评价模型。", "今天天气不错，我们去公园走走。", "机器翻译非常难。"]],
    ),
    "two references, mixed scripts": (
        ["模型的 BLEU 分数是 25.3。", "深度学习需要大量数据"],
        [["这个模型的 BLEU 分数为 25.3。", "深度学习需要很多数据"],
         ["模型 BLEU 得分 25.3", "深度学习要大量的数据"]],
    ),
}


@pytest.mark.parametrize("name", sorted(ENGLISH))
def test_bleu_equals_sacrebleu(name, sacrebleu):
    hyps, refs = ENGLISH[name]
    ours, theirs = bleu(hyps, refs), sacrebleu.corpus_bleu(hyps, refs)
    assert ours.score == theirs.score
    assert ours.brevity_penalty == pytest.approx(theirs.bp)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    if ours.score > 0:
        assert ours.precisions == pytest.approx(theirs.precisions)


@pytest.mark.parametrize("name", sorted(CHINESE))
def test_bleu_equals_sacrebleu_13a_on_chinese(name, sacrebleu):
    # 13a does not split Chinese: a run of Chinese characters is one word (hence chrF, or sacrebleu's "zh")
    hyps, refs = CHINESE[name]
    assert bleu(hyps, refs).score == sacrebleu.corpus_bleu(hyps, refs).score


@pytest.mark.parametrize("name", sorted(ENGLISH) + [f"zh: {n}" for n in sorted(CHINESE)])
def test_chrf_equals_sacrebleu(name, sacrebleu):
    hyps, refs = CHINESE[name[4:]] if name.startswith("zh: ") else ENGLISH[name]
    assert chrf(hyps, refs) == sacrebleu.corpus_chrf(hyps, refs).score


def test_bleu_and_chrf_on_random_sentences_equal_sacrebleu(sacrebleu):
    rng = np.random.default_rng(0)
    words = "the a cat dog sat ran on under mat table , . ! 3.5 10-20 it's (yes)".split()
    def sentence():
        return " ".join(rng.choice(words, size=rng.integers(1, 15)))
    for _ in range(10):
        hyps = [sentence() for _ in range(8)]
        refs = [[sentence() for _ in range(8)] for _ in range(int(rng.integers(1, 4)))]
        assert bleu(hyps, refs).score == sacrebleu.corpus_bleu(hyps, refs).score
        assert chrf(hyps, refs) == sacrebleu.corpus_chrf(hyps, refs).score


def test_tokenize_13a_equals_sacrebleu_tokenizer(sacrebleu):
    from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
    theirs = Tokenizer13a()
    lines = ["Hello, world!", "3.14 and 1,000 but end.", "e-mail 2-3 a-b", "<skipped>x", "line-\nbreak",
             "&quot;hi&quot; &lt;b&gt; &amp;", "tabs\tand   spaces", "", "ünïcödé — “quotes” 中文，标点。"]
    rng = np.random.default_rng(1)
    alphabet = list("ab1. ,-&;{|}~[]^_`!\"#$%()*+:<=>?@/\\'\n\t") + ["&amp;", "-\n", "中"]
    lines += ["".join(rng.choice(alphabet, size=30)) for _ in range(300)]
    for line in lines:
        assert tokenize_13a(line) == theirs(line), repr(line)


def test_perfect_and_disjoint_translations():
    hyps = ["the cat sat on the mat today"]
    assert bleu(hyps, [hyps]).score == pytest.approx(100.0)
    assert chrf(hyps, [hyps]) == pytest.approx(100.0)
    assert bleu(["xyz"], [["abc"]]).score == 0.0 and chrf(["xyz"], [["abc"]]) == 0.0


def test_single_stream_may_be_a_flat_list():
    hyps, refs = ENGLISH["one reference"]
    assert bleu(hyps, refs[0]).score == bleu(hyps, refs).score
    assert chrf(hyps, refs[0]) == chrf(hyps, refs)
    assert bleu((h for h in hyps), refs).score == bleu(hyps, refs).score  # any iterable of strings


def test_text_metrics_bad_input():
    with pytest.raises(ValueError, match="stream 0 has 1 sentences, the hypotheses have 2"):
        bleu(["a b", "c d"], [["a b"]])
    with pytest.raises(ValueError, match="list of strings"):
        chrf("a single string", [["a"]])
    with pytest.raises(ValueError, match="one per sentence"):
        bleu(["a", 3], [["a", "b"]])
    with pytest.raises(ValueError, match="stream 1 must be a list of strings"):
        bleu(["a"], [["a"], [None]])
    with pytest.raises(ValueError, match="not one string"):
        bleu(["a"], "a")
    with pytest.raises(ValueError, match="at least one sentence"):
        chrf([], [[]])
