"""Chapter 9's pretraining helpers: the warm-up + cosine schedule and best-validation checkpoint of gpt_train.train,
the neural bigram, exact per-token losses, BERT masking and the bidirectional encoder, the classifier on a
pretrained body, and the labelled sentences of the corpus."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from companion.data.corpus import chapter_sentences, load_corpus  # noqa: E402
from companion.metrics.language import unigram_bigram_baselines  # noqa: E402
from companion.torch.gpt import GPT, GPTConfig  # noqa: E402
from companion.torch.gpt_train import estimate_loss, train, warmup_cosine  # noqa: E402
from companion.torch.pretrain import (IGNORE_INDEX, BigramLM, GPTClassifier, MaskedLM, hidden_states,  # noqa: E402
                                      mask_tokens, masked_batches, pad_batch, token_losses)


def tiny(cls=GPT, vocab_size=11, block_size=16, **kwargs):
    torch.manual_seed(0)
    return cls(GPTConfig(vocab_size, block_size, n_layer=2, n_head=2, n_embd=32, **kwargs))


def periodic_ids(n=3000, vocab=11, seed=0):
    """A text with structure a model can learn: a repeating pattern with some noise."""
    rng = np.random.default_rng(seed)
    ids = np.tile(np.arange(vocab), n // vocab + 1)[:n]
    noise = rng.random(n) < 0.1
    ids[noise] = rng.integers(vocab, size=noise.sum())
    return ids.astype(np.int64)


def test_warmup_cosine_rises_then_decays_to_the_floor():
    values = [warmup_cosine(step, warmup=10, total=110, min_ratio=0.1) for step in range(0, 131)]
    assert values[0] == 0.0 and values[5] == pytest.approx(0.5) and values[10] == pytest.approx(1.0)
    assert values[60] == pytest.approx(0.1 + 0.9 * 0.5)  # halfway through the decay
    assert values[110] == pytest.approx(0.1) and values[130] == pytest.approx(0.1)  # stays at the floor
    assert all(a >= b for a, b in zip(values[10:], values[11:]))
    assert warmup_cosine(0, warmup=0, total=10) == pytest.approx(1.0)


def test_train_follows_the_schedule_and_keeps_the_best_checkpoint():
    ids = periodic_ids()
    model = tiny()
    history = train(model, ids[:2500], ids[2500:], steps=40, batch_size=8, lr=1e-2, eval_interval=10,
                    eval_iters=2, warmup=10, min_ratio=0.1, keep_best=True)
    assert history["step"] == [0, 10, 20, 30, 40]
    assert history["lr"][0] == 0.0 and history["lr"][1] == pytest.approx(1e-2)
    assert history["lr"][-1] == pytest.approx(1e-3)
    best = int(np.argmin(history["val_loss"]))
    assert history["best_step"] == history["step"][best]
    # the model holds the best weights: its validation loss on the same batches is the best recorded one
    again = estimate_loss(model, ids[2500:], batch_size=8, eval_iters=2, seed=1)
    assert again == pytest.approx(history["val_loss"][best], rel=1e-5)
    with pytest.raises(ValueError, match="warmup"):
        train(tiny(), ids, ids, steps=5, batch_size=2, lr=1e-3, eval_interval=5, eval_iters=1, warmup=6)


def test_constant_learning_rate_without_warmup():
    ids = periodic_ids(600)
    history = train(tiny(), ids[:500], ids[500:], steps=6, batch_size=4, lr=3e-3, eval_interval=3, eval_iters=1)
    assert history["lr"] == [3e-3] * 3 and "best_step" not in history


def test_neural_bigram_learns_what_the_counted_bigram_knows():
    ids = periodic_ids(4000)
    model = BigramLM(11, block_size=32)
    assert model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))[1].item() == \
        pytest.approx(math.log(11))
    train(model, ids[:3500], ids[3500:], steps=300, batch_size=16, lr=0.1, eval_interval=300, eval_iters=1,
          weight_decay=0.0)
    counted = unigram_bigram_baselines(ids[:3500], ids[3500:], 11, smoothing=0.1)["bigram"]
    neural = float(token_losses(model, ids[3500:]).mean())
    assert neural == pytest.approx(counted, abs=0.05)


def test_token_losses_score_every_target_once_with_full_context_when_it_fits():
    model = tiny(block_size=16)
    ids = periodic_ids(12)
    direct = torch.nn.functional.cross_entropy(model(torch.as_tensor(ids[None, :-1]))[0][0],
                                               torch.as_tensor(ids[1:]), reduction="none")
    np.testing.assert_allclose(token_losses(model, ids), direct.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("stride", [1, 5, 8, 16])
def test_token_losses_with_sliding_windows(stride):
    model = tiny(block_size=16)
    ids = periodic_ids(61)
    out = token_losses(model, ids, stride=stride, batch_size=3)
    assert out.shape == (60,) and np.all(np.isfinite(out))
    # target j scored by the first window that reaches it; check a few against a direct computation
    for j in (0, 15, 16, 33, 59):
        start = 0 if j < 16 else min(((j - 16) // stride + 1) * stride, 60 - 16)
        x = torch.as_tensor(ids[start:start + 16][None])
        logp = torch.log_softmax(model(x)[0][0, j - start], dim=-1)[ids[j + 1]]
        assert out[j] == pytest.approx(-logp.item(), rel=1e-5)
    with pytest.raises(ValueError, match="stride"):
        token_losses(model, ids, stride=17)
    with pytest.raises(ValueError, match="at least 2"):
        token_losses(model, ids[:1])


def test_mask_tokens_follows_bert():
    g = torch.Generator().manual_seed(0)
    x = torch.randint(1, 50, (400, 64), generator=g)
    inputs, targets = mask_tokens(x, mask_id=0, vocab_size=50, p=0.15, generator=g)
    chosen = targets != IGNORE_INDEX
    assert chosen.any(dim=1).all()  # every row has something to predict
    assert chosen.float().mean().item() == pytest.approx(0.15, abs=0.01)
    assert torch.equal(targets[chosen], x[chosen]) and torch.equal(inputs[~chosen], x[~chosen])
    masked = (inputs == 0) & chosen
    kept = (inputs == x) & chosen
    assert masked.sum() / chosen.sum() == pytest.approx(0.8, abs=0.02)
    assert kept.sum() / chosen.sum() == pytest.approx(0.1 + 0.1 / 50, abs=0.02)  # 10 % kept, plus random hits
    with pytest.raises(ValueError, match="p must"):
        mask_tokens(x, mask_id=0, vocab_size=50, p=0.0)
    with pytest.raises(ValueError, match="mask_id"):
        mask_tokens(x, mask_id=50, vocab_size=50)


def test_masked_lm_sees_both_sides_and_gpt_only_the_past():
    x = torch.randint(1, 11, (1, 10))
    later = x.clone()
    later[0, 7] = (later[0, 7] % 10) + 1
    for cls, sees_future in ((GPT, False), (MaskedLM, True)):
        model = tiny(cls).eval()
        changed = not torch.allclose(model(x)[0][0, 2], model(later)[0][0, 2])
        assert changed == sees_future, cls.__name__


def test_masked_lm_loss_is_over_the_masked_positions_only():
    ids = periodic_ids(3000, vocab=11)
    model = tiny(MaskedLM, vocab_size=12).eval()  # id 11 is the mask
    batch_fn = masked_batches(mask_id=11, vocab_size=12)
    x, y = batch_fn(ids, 16, 4, torch.Generator().manual_seed(0))
    assert ((y == IGNORE_INDEX) | (y < 11)).all() and (y != IGNORE_INDEX).any() and (x == 11).any()
    logits, loss = model(x, y)
    chosen = y != IGNORE_INDEX
    manual = torch.nn.functional.cross_entropy(logits[chosen], y[chosen])
    torch.testing.assert_close(loss, manual)
    # the loss is what train() minimises: trained on it, the encoder fills the blanks of the pattern from the
    # neighbours (from ln 12 = 2.48 nats at the start to below 1.2; the 10 % noise keeps it above zero)
    history = train(model, ids[:2500], ids[2500:], steps=300, batch_size=16, lr=3e-3, eval_interval=300,
                    eval_iters=4, batch_fn=batch_fn)
    assert history["val_loss"][0] > 2.3 and history["val_loss"][-1] < 1.2


def test_hidden_states_are_what_the_head_reads():
    model = tiny().eval()
    idx = torch.randint(11, (2, 9))
    torch.testing.assert_close(model.lm_head(hidden_states(model, idx)), model(idx)[0])


def test_pad_batch_and_the_classifier_ignore_the_pads():
    idx, lengths = pad_batch([[1, 2, 3], [4, 5], [i % 11 for i in range(20)]], pad_id=0, block_size=16)
    assert idx.shape == (3, 16) and lengths.tolist() == [3, 2, 16]
    assert idx[1].tolist()[:3] == [4, 5, 0] and idx[2, 0].item() == 4  # cut to the last 16 tokens
    for body_cls, pool in ((GPT, "last"), (MaskedLM, "mean")):
        clf = GPTClassifier(tiny(body_cls), num_classes=3, pool=pool).eval()
        torch.nn.init.normal_(clf.head.weight)
        other_pads = idx.clone()
        other_pads[1, 2:] = 7
        if pool == "last":  # a causal body: the real tokens never see the pads
            torch.testing.assert_close(clf(idx, lengths)[0], clf(other_pads, lengths)[0])
        logits, loss = clf(idx, lengths, torch.tensor([0, 1, 2]))
        assert logits.shape == (3, 3) and torch.isfinite(loss)
    assert GPTClassifier(tiny(), 4)(idx, lengths)[1] is None
    with pytest.raises(ValueError, match="pool"):
        GPTClassifier(tiny(), 3, pool="max")
    with pytest.raises(ValueError, match="num_classes"):
        GPTClassifier(tiny(), 1)
    with pytest.raises(ValueError, match="at least one token"):
        pad_batch([[1], []], pad_id=0, block_size=4)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_chapter_sentences_are_labelled_by_their_chapter(lang):
    train_set, val_set = chapter_sentences(lang, "train"), chapter_sentences(lang, "val")
    assert len(train_set) > 800 and len(val_set) > 100
    chapters = {chapter for _text, chapter in train_set}
    assert chapters == {chapter for _text, chapter in val_set} == set(range(2, 9))
    train_text, val_text = load_corpus(lang, "train"), load_corpus(lang, "val")
    assert all(text in train_text for text, _c in train_set[:200]) and all(text in val_text for text, _c in val_set)
    assert not {text for text, _c in val_set} & {text for text, _c in train_set}
    # a sentence of section 7.4 (held out) carries label 7
    heading = next(line for line in val_text.split("\n") if line.startswith("7.4 "))
    after = val_text.split(heading, 1)[1]
    first = next(text for text, chapter in val_set if text in after[:2000])
    assert dict(val_set)[first] == 7
    with pytest.raises(ValueError, match="lang"):
        chapter_sentences("both")
