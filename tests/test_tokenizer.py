"""Character tokenizer and the contiguous train/validation split."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from companion.data.tokenizer import CharTokenizer, train_val_split

MIXED = "Attention 注意力机制，GPU！🙂 émoji e\u0301 ＡＢＣ\n\t“引号”"


def test_vocabulary_is_sorted_with_unk_first():
    tok = CharTokenizer.from_text("banana")
    assert tok.itos == ["<unk>", "a", "b", "n"]
    assert tok.vocab_size == len(tok) == 4
    assert tok.encode("banana") == [2, 1, 3, 1, 3, 1]
    assert CharTokenizer.from_text("nab" * 3).itos == tok.itos  # order of the text does not matter


def test_min_count_drops_rare_characters():
    tok = CharTokenizer.from_text("aaabbc", min_count=2)
    assert tok.itos == ["<unk>", "a", "b"]
    assert tok.encode("abc") == [1, 2, 0]
    with pytest.raises(ValueError, match="min_count"):
        CharTokenizer.from_text("abc", min_count=0)


def test_round_trip_chinese_english_emoji_and_full_width():
    tok = CharTokenizer.from_text(MIXED)
    ids = tok.encode(MIXED)
    assert len(ids) == len(MIXED)  # one id per code point: the combining accent is its own token
    assert 0 not in ids
    assert tok.decode(ids) == MIXED
    assert tok.decode(np.array(ids)) == MIXED
    assert tok.encode("注意") == [tok.stoi["注"], tok.stoi["意"]]


def test_unknown_characters_and_ids():
    tok = CharTokenizer.from_text("abc")
    assert tok.encode("abz") == [1, 2, 0]
    assert tok.decode([1, 0, 3]) == "a<unk>c"
    with pytest.raises(ValueError, match=r"id 4 .*vocab_size=4"):
        tok.decode([1, 4])
    with pytest.raises(ValueError, match=r"id -1"):
        tok.decode([-1])
    with pytest.raises(TypeError):
        tok.encode(["a"])


def test_save_and_load(tmp_path):
    tok = CharTokenizer.from_text(MIXED)
    path = tmp_path / "vocab.json"
    tok.save(path)
    assert "注" in path.read_text(encoding="utf-8")  # readable UTF-8, not \\u escapes
    loaded = CharTokenizer.load(path)
    assert loaded.itos == tok.itos
    assert loaded.encode(MIXED) == tok.encode(MIXED)
    path.write_text(json.dumps({"chars": ["a"]}), encoding="utf-8")
    with pytest.raises(ValueError, match="not a CharTokenizer file"):
        CharTokenizer.load(path)


def test_train_val_split_is_contiguous_int64():
    train, val = train_val_split(list(range(100)), val_fraction=0.1)
    assert train.dtype == val.dtype == np.int64
    np.testing.assert_array_equal(train, np.arange(90))
    np.testing.assert_array_equal(val, np.arange(90, 100))
    train, val = train_val_split(np.arange(10, dtype=np.int32), val_fraction=0.25)
    assert (len(train), len(val)) == (8, 2) and train.dtype == np.int64


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_train_val_split_rejects_bad_fractions(fraction):
    with pytest.raises(ValueError, match="val_fraction"):
        train_val_split(list(range(100)), val_fraction=fraction)


def test_train_val_split_rejects_short_or_bad_input():
    with pytest.raises(ValueError, match="too few"):
        train_val_split([1, 2, 3], val_fraction=0.1)
    with pytest.raises(ValueError, match="1-D"):
        train_val_split(np.zeros((4, 4), dtype=np.int64))


def test_text_modules_do_not_import_torch():
    code = "import sys, companion, companion.data.corpus, companion.data.tokenizer; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
