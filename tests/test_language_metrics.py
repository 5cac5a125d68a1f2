"""companion.metrics.language: the n-gram baselines a language model must beat, checked by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from companion.data.tokenizer import train_val_split
from companion.metrics.language import unigram_bigram_baselines


def test_baselines_equal_hand_computed_values():
    # train "abab" = [1, 2, 1, 2], vocab {0, 1, 2}, add-1 smoothing; validation targets [2, 1] after [1, 2].
    result = unigram_bigram_baselines([1, 2, 1, 2], [1, 2, 1], vocab_size=3, smoothing=1.0)
    p_unigram = (2 + 1) / (4 + 3)  # both targets have count 2 out of 4
    assert result["unigram"] == pytest.approx(-math.log(p_unigram))
    p_2_after_1 = (2 + 1) / (2 + 3)  # pairs (1,2) twice; 1 is followed by something twice
    p_1_after_2 = (1 + 1) / (1 + 3)  # pair (2,1) once; 2 is followed by something once
    assert result["bigram"] == pytest.approx(-(math.log(p_2_after_1) + math.log(p_1_after_2)) / 2)
    assert result["uniform"] == pytest.approx(math.log(3))


def test_an_unseen_pair_gets_the_smoothed_probability():
    result = unigram_bigram_baselines([0, 1, 0, 1], [1, 1], vocab_size=2, smoothing=0.5)
    assert result["bigram"] == pytest.approx(-math.log((0 + 0.5) / (1 + 0.5 * 2)))  # "1 1" unseen; 1 has 1 successor


def test_bigram_beats_unigram_on_structured_text():
    rng = np.random.default_rng(0)
    ids = np.array([1, 2, 3, 4] * 250, dtype=np.int64)
    ids[rng.random(ids.size) < 0.05] = 0  # a little noise, so no probability is exactly 1
    train_ids, val_ids = train_val_split(ids, val_fraction=0.2)
    result = unigram_bigram_baselines(train_ids, val_ids, vocab_size=5)
    assert result["bigram"] < 0.6 * result["unigram"]
    assert result["unigram"] < result["uniform"]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="outside"):
        unigram_bigram_baselines([1, 5], [1, 2], vocab_size=5)
    with pytest.raises(ValueError, match="smoothing"):
        unigram_bigram_baselines([1, 2], [1, 2], vocab_size=5, smoothing=0)
    with pytest.raises(ValueError, match="integer token ids"):
        unigram_bigram_baselines([1.0, 2.0], [1, 2], vocab_size=5)
    with pytest.raises(ValueError, match="at least 2"):
        unigram_bigram_baselines([1, 2], [1], vocab_size=5)
