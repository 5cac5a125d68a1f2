"""Byte-level BPE of companion.data.bpe: the Wikipedia example by hand, merges applied in training order, the
round trip of any Unicode text, the readable and the fast trainer equal, and a comparison with Hugging Face
``tokenizers`` trained on the same corpus."""
from __future__ import annotations

import random

import numpy as np
import pytest

from companion.data.bpe import (BPETokenizer, SPLIT_PATTERN, get_pair_counts, merge, split_text, train_bpe,
                                train_bpe_fast)
from companion.data.corpus import load_corpus

MIXED = "Attention 注意力机制，GPU！🙂 émoji e\u0301 ＡＢＣ 👩‍👩‍👧 \n\t“引号” x²  3.14 don't"


@pytest.fixture(scope="module")
def corpus_tokenizer():
    return train_bpe_fast(load_corpus("both"), 1000)


def random_unicode(rng: random.Random, n: int) -> str:
    """Characters from ASCII, Latin with combining marks, CJK, emoji and anywhere in the code space (no lone
    surrogates: they are not text and have no UTF-8 encoding)."""
    ranges = [(0x20, 0x7E), (0x09, 0x0D), (0xC0, 0x24F), (0x300, 0x36F), (0x4E00, 0x9FFF), (0x3000, 0x303F),
              (0x1F300, 0x1FAFF), (0x200D, 0x200D), (0x0, 0x10FFFF)]
    out = []
    while len(out) < n:
        c = rng.randint(*rng.choice(ranges))
        if not 0xD800 <= c <= 0xDFFF:
            out.append(chr(c))
    return "".join(out)


def test_pair_counts_and_merge_on_a_small_list():
    assert get_pair_counts([1, 2, 3, 1, 2]) == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    assert get_pair_counts([7]) == {} and get_pair_counts([]) == {}
    assert merge([1, 2, 3, 1, 2], (1, 2), 99) == [99, 3, 99]
    assert merge([5, 5, 5], (5, 5), 9) == [9, 5]          # left to right: occurrences do not overlap
    assert merge([5, 5, 5, 5], (5, 5), 9) == [9, 9]


@pytest.mark.parametrize("trainer", [train_bpe, train_bpe_fast])
def test_wikipedia_example_by_hand(trainer):
    # "aaabdaaabac": aa (4 times) -> Z, then ab and Za tie at 2 and the smaller pair (97, 98) = ab wins -> Y,
    # then ZY -> X, leaving "XdXac" (the example of Wikipedia's article on byte-pair encoding).
    a, b, c, d = map(ord, "abcd")
    tok = trainer("aaabdaaabac", 259)
    assert tok.merges == [(a, a), (a, b), (256, 257)]
    assert tok.vocab[256:] == [b"aa", b"ab", b"aaab"]
    assert tok.encode("aaabdaaabac") == [258, d, 258, a, c]
    assert tok.decode([258, d, 258, a, c]) == "aaabdaaabac"
    assert tok.vocab_size == len(tok) == 259


def test_training_stops_when_no_pair_is_left():
    assert train_bpe("ab", 300).merges == [(97, 98)]
    assert train_bpe_fast("ab", 300).merges == [(97, 98)]
    assert train_bpe_fast("", 300).vocab_size == 256


def test_merges_stay_inside_chunks():
    text = "ab ab ab ab"
    assert split_text(text) == ["ab", " ab", " ab", " ab"]
    tok = train_bpe_fast(text, 300)
    assert all(b" " not in t[1:] for t in tok.vocab)     # a space only ever starts a token
    whole = train_bpe_fast(text, 300, pattern=None)
    assert whole.vocab[-1] == text.encode()               # without the split, one token is the whole text


@pytest.mark.parametrize("text", [MIXED, "", "   \n\n  x  ", random_unicode(random.Random(1), 300)])
def test_chunks_cover_the_text(text):
    assert "".join(split_text(text)) == text
    assert split_text(text, pattern=None) == [text]


def test_readable_and_fast_trainers_learn_the_same_merges():
    text = load_corpus("en")[:4000] + load_corpus("zh")[:1500] + MIXED
    for pattern in (SPLIT_PATTERN, None):
        slow, fast = train_bpe(text, 500, pattern), train_bpe_fast(text, 500, pattern)
        assert slow.vocab_size == 500
        assert slow.merges == fast.merges


def test_vocabulary_size_is_reached_on_the_corpus(corpus_tokenizer):
    assert corpus_tokenizer.vocab_size == 1000 and len(corpus_tokenizer.merges) == 744
    assert len(set(corpus_tokenizer.vocab)) == 1000       # every merge makes a new string of bytes


def test_encode_applies_the_merges_in_training_order(corpus_tokenizer):
    """The encoder's 'earliest-learned pair first' gives what replaying every merge in order gives."""
    tok = corpus_tokenizer
    for text in ["the attention weights", "注意力机制的权重", " 1234567", MIXED]:
        replayed = []
        for chunk in split_text(text):
            ids = list(chunk.encode("utf-8"))
            for new_id, pair in enumerate(tok.merges, start=256):
                ids = merge(ids, pair, new_id)
            replayed += ids
        assert tok.encode(text) == replayed
    # and encoding stops only when no learned pair is left inside any chunk
    for chunk in split_text(load_corpus("en")[:3000]):
        ids = tok.encode(chunk)
        assert not set(zip(ids, ids[1:])) & set(tok.ranks)


@pytest.mark.parametrize("seed", range(5))
def test_round_trip_of_random_unicode(corpus_tokenizer, seed):
    text = random_unicode(random.Random(seed), 400)
    ids = corpus_tokenizer.encode(text)
    assert all(0 <= i < 1000 for i in ids)
    assert corpus_tokenizer.decode(ids) == text


@pytest.mark.parametrize("text", ["", MIXED, "e\u0301\u0301", "🙂" * 5, "\x00\n\r\t", "注意力"])
def test_round_trip_of_hard_cases(corpus_tokenizer, text):
    assert corpus_tokenizer.decode(corpus_tokenizer.encode(text)) == text
    assert corpus_tokenizer.decode(np.array(corpus_tokenizer.encode(text), dtype=np.int64)) == text


def test_chinese_text_shrinks_below_its_bytes(corpus_tokenizer):
    text = "注意力机制"
    assert len(text.encode("utf-8")) == 15                # 3 bytes a character
    assert len(corpus_tokenizer.encode(text)) < 15


def test_decode_of_arbitrary_ids_never_raises(corpus_tokenizer):
    rng = np.random.default_rng(0)
    for _ in range(200):
        ids = rng.integers(0, 1000, size=rng.integers(0, 20)).tolist()
        assert isinstance(corpus_tokenizer.decode(ids), str)
    assert corpus_tokenizer.decode([0xE6]) == "\ufffd"     # the first byte of a 3-byte character alone


def test_bad_input_is_named(corpus_tokenizer):
    with pytest.raises(ValueError, match=r"id 1000 is not in the vocabulary .*0 \.\. 999"):
        corpus_tokenizer.decode([1, 1000])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        corpus_tokenizer.decode([-1])
    with pytest.raises(ValueError, match="not in the vocabulary"):
        corpus_tokenizer.decode([True])
    with pytest.raises(TypeError, match="str"):
        corpus_tokenizer.encode(b"bytes")
    with pytest.raises(ValueError, match="at least 256"):
        train_bpe("abc", 255)
    with pytest.raises(ValueError, match="positive integer"):
        train_bpe_fast("abc", 300.0)
    with pytest.raises(ValueError, match="merge 0 must be a pair of ids below 256"):
        BPETokenizer([(256, 1)])
    with pytest.raises(UnicodeEncodeError):                # a lone surrogate is not text
        corpus_tokenizer.encode("\ud800")


def test_save_and_load(tmp_path, corpus_tokenizer):
    path = tmp_path / "bpe.json"
    corpus_tokenizer.save(path)
    loaded = BPETokenizer.load(path)
    assert loaded.merges == corpus_tokenizer.merges and loaded.pattern == corpus_tokenizer.pattern
    assert loaded.encode(MIXED) == corpus_tokenizer.encode(MIXED)
    (tmp_path / "other.json").write_text('{"type": "CharTokenizer", "chars": []}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a BPETokenizer file"):
        BPETokenizer.load(tmp_path / "other.json")


def tokens_per_char(tok, text: str) -> float:
    return len(tok.encode(text)) / len(text)


def test_chinese_costs_more_tokens_per_character_than_english(corpus_tokenizer):
    en, zh = load_corpus("en"), load_corpus("zh")
    en_rate, zh_rate = tokens_per_char(corpus_tokenizer, en), tokens_per_char(corpus_tokenizer, zh)
    print(f"tokens per character at vocab 1000: en {en_rate:.3f}, zh {zh_rate:.3f}")
    assert zh_rate > 1.5 * en_rate                        # a Chinese character is 3 bytes and carries more
    assert en_rate < 0.5 and zh_rate < 1.0                # both well below one token per byte


@pytest.mark.parametrize("vocab_size", [1000, 2000])
def test_close_to_hugging_face_byte_level_bpe(vocab_size):
    tokenizers = pytest.importorskip(
        "tokenizers", reason="Hugging Face tokenizers is not installed: pip install 'companion[hf]'")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    text = load_corpus("both")
    hf = tokenizers.Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    hf.train_from_iterator([text], trainer=trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=1, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=[], show_progress=False))
    ours = train_bpe_fast(text, vocab_size)
    assert hf.get_vocab_size() == ours.vocab_size == vocab_size
    for lang in ("en", "zh"):
        part = load_corpus(lang)
        hf_rate, our_rate = len(hf.encode(part).ids) / len(part), tokens_per_char(ours, part)
        print(f"vocab {vocab_size}, {lang}: tokens per character ours {our_rate:.4f}, Hugging Face {hf_rate:.4f}")
        assert our_rate == pytest.approx(hf_rate, rel=0.05)
        assert hf.decode(hf.encode(part).ids) == part
