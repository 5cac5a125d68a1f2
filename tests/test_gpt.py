"""The tiny GPT: shapes, causality, attention paths, training, sampling and the n-gram baselines."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from companion.torch.gpt import (  # noqa: E402
    GPT, CausalSelfAttention, GPTConfig, count_parameters, generate, get_batch, train, unigram_bigram_baselines,
)
from companion.data.tokenizer import CharTokenizer, train_val_split  # noqa: E402


def tiny(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=32, **kwargs) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size, block_size, n_layer, n_head, n_embd, **kwargs))


def test_shapes_and_loss():
    model = tiny()
    idx = torch.randint(11, (3, 10))
    logits, loss = model(idx)
    assert logits.shape == (3, 10, 11) and loss is None
    logits, loss = model(idx, torch.randint(11, (3, 10)))
    assert loss.dim() == 0 and torch.isfinite(loss)
    maps = model.attention_weights(idx)
    assert len(maps) == 2 and maps[0].shape == (3, 2, 10, 10)


def test_bad_inputs_are_named():
    model = tiny(block_size=8)
    with pytest.raises(ValueError, match=r"length 9 .*block_size 8"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(batch, time\).*\(5,\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match=r"targets .*\(2, 4\).*\(2, 3\)"):
        model(torch.zeros(2, 4, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=3, n_embd=32)
    with pytest.raises(ValueError, match="n_layer"):
        GPTConfig(vocab_size=10, block_size=8, n_layer=0, n_head=2, n_embd=32)


@pytest.mark.parametrize("bias", [True, False])
def test_parameter_count(bias):
    model = tiny(vocab_size=13, block_size=7, n_layer=3, n_head=4, n_embd=24, bias=bias)
    expected = sum(p.numel() for p in model.parameters())
    assert count_parameters(model) == model.config.num_parameters() == expected
    assert model.lm_head.weight is model.wte.weight  # tied, so counted once


def test_causal_mask_future_tokens_do_not_change_the_past():
    model = tiny().eval()
    idx = torch.randint(11, (2, 12))
    changed = idx.clone()
    changed[:, 7] = (changed[:, 7] + 1) % 11
    before, _ = model(idx)
    after, _ = model(changed)
    torch.testing.assert_close(before[:, :7], after[:, :7], rtol=0, atol=1e-6)
    assert not torch.allclose(before[:, 7:], after[:, 7:])


def test_explicit_attention_equals_fused_attention():
    torch.manual_seed(1)
    attn = CausalSelfAttention(GPTConfig(vocab_size=5, block_size=9, n_layer=1, n_head=4, n_embd=16)).eval()
    x = torch.randn(3, 9, 16)
    fused = attn(x)
    explicit, weights = attn(x, return_attention=True)
    torch.testing.assert_close(explicit, fused, rtol=1e-5, atol=1e-6)
    assert weights.shape == (3, 4, 9, 9)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 9))
    assert torch.all(weights.triu(1) == 0)  # nothing attends to the future


def test_initial_loss_is_about_log_vocab_size():
    model = tiny(vocab_size=64, block_size=32)
    generator = torch.Generator().manual_seed(0)
    idx = torch.randint(64, (16, 32), generator=generator)
    targets = torch.randint(64, (16, 32), generator=generator)
    _, loss = model(idx, targets)
    assert abs(loss.item() - math.log(64)) < 0.1


def test_tiny_model_overfits_a_repeated_string():
    tok = CharTokenizer.from_text("hello, world! ")
    ids = np.array(tok.encode("hello, world! " * 30), dtype=np.int64)
    model = tiny(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32)
    history = train(model, ids, ids, steps=150, batch_size=16, lr=1e-2, eval_interval=150, eval_iters=2,
                    device="cpu", amp=False)
    assert history["train_loss"][0] > 2.0
    assert history["train_loss"][-1] < 0.15


def test_train_returns_the_history_format():
    ids = np.arange(200, dtype=np.int64) % 7
    model = tiny(vocab_size=7, block_size=8, n_layer=1)
    history = train(model, ids[:150], ids[150:], steps=6, batch_size=4, lr=1e-3, eval_interval=4, eval_iters=2,
                    device="cpu", amp=True)  # bf16 autocast on CPU
    assert list(history) == ["step", "train_loss", "val_loss"]
    assert history["step"] == [0, 4, 6]
    assert len(history["train_loss"]) == len(history["val_loss"]) == 3
    assert all(isinstance(v, float) and math.isfinite(v) for v in history["train_loss"] + history["val_loss"])
    again = train(tiny(vocab_size=7, block_size=8, n_layer=1), ids[:150], ids[150:], steps=6, batch_size=4,
                  lr=1e-3, eval_interval=4, eval_iters=2, device="cpu", amp=True)
    assert again == history  # same seed, same run


def test_get_batch_windows_and_targets():
    data = np.arange(100, dtype=np.int64)
    x, y = get_batch(data, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 8) and x.dtype == torch.int64
    torch.testing.assert_close(y, x + 1)  # targets are the next tokens
    torch.testing.assert_close(x[:, 1:] - x[:, :-1], torch.ones(5, 7, dtype=torch.int64))  # contiguous
    x2, _ = get_batch(data, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, x2)
    with pytest.raises(ValueError, match="block_size=8"):
        get_batch(data[:8], block_size=8, batch_size=2)


def test_generate_is_deterministic_under_a_seeded_generator():
    model = tiny(block_size=8)
    start = torch.zeros(2, 1, dtype=torch.long)
    a = generate(model, start, 20, generator=torch.Generator().manual_seed(3))  # longer than block_size
    b = generate(model, start, 20, generator=torch.Generator().manual_seed(3))
    c = generate(model, start, 20, generator=torch.Generator().manual_seed(4))
    assert a.shape == (2, 21) and torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(a[:, :1], start)
    assert model.training  # generate restores the mode it found


def test_generate_samples_only_from_the_top_k():
    model = tiny().eval()
    context = torch.randint(11, (1, 5)).repeat(300, 1)
    last_logits = model(context[:1])[0][0, -1]
    allowed = set(torch.topk(last_logits, 3).indices.tolist())
    out = generate(model, context, 1, temperature=2.0, top_k=3, generator=torch.Generator().manual_seed(0))
    sampled = set(out[:, -1].tolist())
    assert sampled <= allowed and len(sampled) == 3  # hot enough that all three appear
    greedy = generate(model, context[:1], 1, top_k=1)
    assert greedy[0, -1].item() == last_logits.argmax().item()


@pytest.mark.parametrize("temperature", [0.0, -1.0])
def test_generate_rejects_non_positive_temperature(temperature):
    with pytest.raises(ValueError, match="temperature"):
        generate(tiny(), torch.zeros(1, 1, dtype=torch.long), 1, temperature=temperature)


def test_baselines_equal_hand_computed_values():
    # train "abab" = [1, 2, 1, 2], vocab {0, 1, 2}, add-1 smoothing; validation targets [2, 1] after [1, 2].
    result = unigram_bigram_baselines([1, 2, 1, 2], [1, 2, 1], vocab_size=3, smoothing=1.0)
    p_unigram = (2 + 1) / (4 + 3)  # both targets have count 2 out of 4
    assert result["unigram"] == pytest.approx(-math.log(p_unigram))
    p_2_after_1 = (2 + 1) / (2 + 3)  # pairs (1,2) twice; 1 is followed by something twice
    p_1_after_2 = (1 + 1) / (1 + 3)  # pair (2,1) once; 2 is followed by something once
    assert result["bigram"] == pytest.approx(-(math.log(p_2_after_1) + math.log(p_1_after_2)) / 2)
    assert result["uniform"] == pytest.approx(math.log(3))


def test_bigram_beats_unigram_on_structured_text():
    rng = np.random.default_rng(0)
    ids = np.array([1, 2, 3, 4] * 250, dtype=np.int64)
    ids[rng.random(ids.size) < 0.05] = 0  # a little noise, so no probability is exactly 1
    train_ids, val_ids = train_val_split(ids, val_fraction=0.2)
    result = unigram_bigram_baselines(train_ids, val_ids, vocab_size=5)
    assert result["bigram"] < 0.6 * result["unigram"]
    assert result["unigram"] < result["uniform"]
    with pytest.raises(ValueError, match="outside"):
        unigram_bigram_baselines([1, 5], [1, 2], vocab_size=5)
    with pytest.raises(ValueError, match="smoothing"):
        unigram_bigram_baselines([1, 2], [1, 2], vocab_size=5, smoothing=0)
