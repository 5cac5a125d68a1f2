"""companion.metrics.ngram: interpolated Kneser-Ney sums to 1 for seen and unseen contexts, order 1 is the
discounted unigram, tuning sees only training ids, and the model beats the add-k bigram on the book corpus."""
import inspect
import math

import numpy as np
import pytest

from companion.data.corpus import load_corpus
from companion.data.tokenizer import CharTokenizer
from companion.metrics.language import unigram_bigram_baselines
from companion.metrics.ngram import NGramLM, tune_ngram


def toy_ids(seed=0, n=400, vocab=7):
    """A Markov chain, so that context helps; token 6 never occurs (an unseen token)."""
    rng = np.random.default_rng(seed)
    ids = [0]
    for _step in range(n - 1):
        ids.append((ids[-1] + rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])) % 6)
    return np.array(ids)


@pytest.mark.parametrize("order", [1, 2, 3, 5])
@pytest.mark.parametrize("discount", [0.1, 0.75, 0.99])
def test_distribution_sums_to_one_for_seen_and_unseen_contexts(order, discount):
    model = NGramLM(order, 7, discount).fit(toy_ids())
    contexts = [(), (0,), (0, 1, 2, 3), (1, 3, 5, 0), (6, 6, 6, 6), (0, 6), (5, 4, 3, 2, 1)]  # seen and unseen
    for context in contexts:
        p = model.distribution(context)
        assert p.shape == (7,) and np.all(p > 0), context
        np.testing.assert_allclose(p.sum(), 1.0, rtol=1e-12, err_msg=str(context))


def test_an_unseen_context_gets_the_lower_order_distribution():
    model = NGramLM(3, 7).fit(toy_ids())
    np.testing.assert_allclose(model.distribution((6, 6)), model.distribution(()), rtol=1e-12)  # nothing seen
    np.testing.assert_allclose(model.distribution((6, 2)), model.distribution((2,)), rtol=1e-12)


def test_order_one_is_the_discounted_unigram():
    ids, V, D = toy_ids(), 7, 0.6
    model = NGramLM(1, V, D).fit(ids)
    counts = np.bincount(ids, minlength=V)
    expected = (np.maximum(counts - D, 0) + D * np.count_nonzero(counts) / V) / counts.sum()
    np.testing.assert_allclose(model.distribution(()), expected, rtol=1e-12)
    val = toy_ids(seed=1)
    np.testing.assert_allclose(model.cross_entropy(val), -np.log(expected[val[1:]]).mean(), rtol=1e-12)


def test_lower_orders_use_continuation_counts():
    """'a b' occurs many times but 'b' follows only 'a': in a bigram model's unigram level, b counts once."""
    ids = np.array([0, 1] * 20 + [2, 3, 4, 2, 5, 2, 3])
    model = NGramLM(2, 6).fit(ids)
    assert model.counts[0][()][1] == 1  # after 'a' only
    assert model.counts[0][()][2] == 3  # after 1 (once), 4 and 5
    assert model.counts[1][(0,)][1] == 20  # the highest order counts occurrences


def test_log_probs_score_every_token_after_the_first_and_match_prob():
    ids = toy_ids()
    model = NGramLM(3, 7).fit(ids)
    val = toy_ids(seed=2, n=30)
    lp = model.log_probs(val)
    assert lp.shape == (29,)
    assert math.isclose(lp[0], math.log(model.prob(val[1], val[:1])))
    assert math.isclose(lp[10], math.log(model.prob(val[11], val[9:11])))
    assert math.isclose(model.cross_entropy(val), -lp.mean())


def test_context_helps_on_a_markov_chain():
    train, val = toy_ids(0, 3000), toy_ids(1, 500)
    losses = [NGramLM(order, 7).fit(train).cross_entropy(val) for order in (1, 2)]
    assert losses[1] < losses[0] - 0.3, losses


def test_segments_are_counted_apart():
    model = NGramLM(2, 7).fit([np.array([0, 1, 2]), np.array([3, 4])])
    assert (2,) not in model.counts[1]  # no bigram (2, 3) across the join
    assert len(model.log_probs([np.array([0, 1, 2]), np.array([3, 4])])) == 3


def test_tune_ngram_takes_only_training_ids_and_picks_the_dev_minimum():
    params = list(inspect.signature(tune_ngram).parameters)
    assert params[:2] == ["train_ids", "vocab_size"] and not any("val" in p for p in params)
    train = toy_ids(0, 2000)
    model, settings = tune_ngram(train, 7, orders=(1, 2, 3), discounts=(0.3, 0.9))
    assert set(settings["table"]) == {(o, d) for o in (1, 2, 3) for d in (0.3, 0.9)}
    best = min(settings["table"], key=settings["table"].get)
    assert (settings["order"], settings["discount"]) == best and settings["dev_loss"] == settings["table"][best]
    assert settings["order"] >= 2  # context helps on this chain
    # the dev loss is measured on the last 10% of the training ids, with a model fitted on the first 90%
    fitted = NGramLM(best[0], 7, best[1]).fit(train[:1800])
    assert math.isclose(settings["dev_loss"], fitted.cross_entropy(train[1800:]))
    # the returned model is refitted on all the training ids
    refit = NGramLM(best[0], 7, best[1]).fit(train)
    val = toy_ids(5, 300)
    assert math.isclose(model.cross_entropy(val), refit.cross_entropy(val))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="order"):
        NGramLM(0, 5)
    with pytest.raises(ValueError, match="discount"):
        NGramLM(2, 5, discount=1.0)
    with pytest.raises(ValueError, match=r"0 \.\. 4"):
        NGramLM(2, 5).fit(np.array([0, 1, 5]))
    with pytest.raises(ValueError, match="integer"):
        NGramLM(2, 5).fit(np.array([0.0, 1.0]))
    with pytest.raises(RuntimeError, match="fit"):
        NGramLM(2, 5).prob(0, ())


def test_beats_the_add_k_bigram_on_the_book_corpus():
    """As chapter 8 splits the corpus; the bigram's k is the best of chapter 8's grid on the validation text itself,
    the n-gram's settings come from a dev split of the training text."""
    tokenizer = CharTokenizer.from_text(load_corpus("both"))
    splits = {lang: [np.array(tokenizer.encode(load_corpus(lang, split)), dtype=np.int64) for split in ("train", "val")]
              for lang in ("en", "zh")}  # held-out sections of every chapter are the validation text
    train_ids = np.concatenate([splits["en"][0], splits["zh"][0]])
    val_ids = np.concatenate([splits["en"][1], splits["zh"][1]])
    bigram = min(unigram_bigram_baselines(train_ids, val_ids, tokenizer.vocab_size, smoothing=k)["bigram"]
                 for k in (1.0, 0.3, 0.1, 0.03, 0.01))
    model, settings = tune_ngram([splits["en"][0], splits["zh"][0]], tokenizer.vocab_size, orders=(2, 3, 4, 5))
    assert settings["order"] >= 3
    assert model.cross_entropy(val_ids) < bigram - 0.5, (model.cross_entropy(val_ids), bigram)
