"""The GPT of companion.torch.gpt and its training loop in companion.torch.gpt_train: shapes, causality, the
initialisation, dropout only in training, the optimizer groups, clipping, the RNG left alone, sampling."""
from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from companion.data.tokenizer import CharTokenizer  # noqa: E402
from companion.torch.attention_cost import naive_attention  # noqa: E402
from companion.torch.gpt import GPT, Block, CausalSelfAttention, GPTConfig, count_parameters, generate  # noqa: E402
from companion.torch.gpt_train import configure_optimizers, estimate_loss, get_batch, train  # noqa: E402


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
    with pytest.raises(ValueError, match="dropout"):
        GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=32, dropout=1.0)
    with pytest.raises(ValueError, match="init_std"):
        GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=32, init_std=0.0)


@pytest.mark.parametrize("bias", [True, False])
def test_parameter_count_follows_the_formula(bias):
    V, T, n_layer, C = 13, 7, 3, 24
    model = tiny(vocab_size=V, block_size=T, n_layer=n_layer, n_head=4, n_embd=C, bias=bias)
    # Per block: attention 4C^2 (+ 4C biases), MLP 8C^2 (+ 5C), two LayerNorms 2C (+ 2C); embeddings VC + TC
    # (the head is tied to the token embedding) and the final LayerNorm C (+ C).
    block = 12 * C * C + 2 * C + bias * (4 * C + 5 * C + 2 * C)
    assert count_parameters(model) == V * C + T * C + n_layer * block + C + bias * C
    assert model.lm_head.weight is model.wte.weight  # tied, so counted once


@pytest.mark.parametrize("init_std", [0.02, 0.05])
def test_gpt2_scaled_init_of_the_residual_projections(init_std):
    model = tiny(vocab_size=50, n_layer=8, n_embd=64, init_std=init_std)
    for name, p in model.named_parameters():
        if name.endswith("c_proj.weight"):  # attn.c_proj and mlp.c_proj: what a block adds to the residual stream
            assert p.std().item() == pytest.approx(init_std / math.sqrt(2 * 8), rel=0.1), name
        elif name.endswith("weight") and p.dim() == 2:
            assert p.std().item() == pytest.approx(init_std, rel=0.1), name
        elif name.endswith("bias") and "ln" not in name:
            assert torch.all(p == 0), name


def test_causal_mask_future_tokens_do_not_change_the_past():
    model = tiny().eval()
    idx = torch.randint(11, (2, 12))
    changed = idx.clone()
    changed[:, 7] = (changed[:, 7] + 1) % 11
    before, _ = model(idx)
    after, _ = model(changed)
    torch.testing.assert_close(before[:, :7], after[:, :7], rtol=0, atol=1e-6)
    assert not torch.allclose(before[:, 7:], after[:, 7:])


def test_fused_attention_equals_the_formula_spelled_out():
    torch.manual_seed(1)
    attn = CausalSelfAttention(GPTConfig(vocab_size=5, block_size=9, n_layer=1, n_head=4, n_embd=16)).eval()
    x = torch.randn(3, 9, 16)
    q, k, v = attn.heads(x)
    assert q.shape == (3, 4, 9, 4)
    spelled_out = attn.c_proj(naive_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(3, 9, 16))
    torch.testing.assert_close(attn(x), spelled_out, rtol=1e-5, atol=1e-6)


def test_dropout_only_in_training_mode():
    model = tiny(dropout=0.5)
    idx = torch.randint(11, (2, 10))
    model.train()
    assert not torch.equal(model(idx)[0], model(idx)[0])  # dropout draws new masks
    model.eval()
    torch.testing.assert_close(model(idx)[0], model(idx)[0], rtol=0, atol=0)
    no_dropout = tiny(dropout=0.0).eval()  # same seed, same weights: eval mode is the model without dropout
    torch.testing.assert_close(model(idx)[0], no_dropout(idx)[0], rtol=0, atol=0)


def test_attention_weights_are_computed_in_eval_mode_and_leave_the_mode_alone():
    model = tiny(dropout=0.5).train()
    idx = torch.randint(11, (2, 10))
    maps = model.attention_weights(idx)
    assert model.training  # restored
    model.eval()
    for a, b in zip(maps, model.attention_weights(idx)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for weights in maps:
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 2, 10))  # rows of probabilities: no dropout
        assert torch.all(weights.triu(1) == 0)  # nothing attends to the future


def test_the_torch_block_has_the_numpy_block_names():
    names = list(Block(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=8)).state_dict())
    assert names == ["ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                     "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                     "mlp.c_proj.weight", "mlp.c_proj.bias"]


def test_initial_loss_is_about_log_vocab_size():
    model = tiny(vocab_size=64, block_size=32)
    generator = torch.Generator().manual_seed(0)
    idx = torch.randint(64, (16, 32), generator=generator)
    targets = torch.randint(64, (16, 32), generator=generator)
    _, loss = model(idx, targets)
    assert abs(loss.item() - math.log(64)) < 0.1


# --- training ------------------------------------------------------------------------------------------------

def test_weight_decay_on_matrices_and_embeddings_only():
    model = tiny()
    optimizer = configure_optimizers(model, lr=1e-3, weight_decay=0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    decayed = {names[id(p)] for g in optimizer.param_groups if g["weight_decay"] > 0 for p in g["params"]}
    free = {names[id(p)] for g in optimizer.param_groups if g["weight_decay"] == 0 for p in g["params"]}
    assert decayed == {n for n, p in model.named_parameters() if p.dim() == 2}
    assert "wte.weight" in decayed and "blocks.0.attn.c_attn.weight" in decayed
    assert {"blocks.0.ln_1.weight", "blocks.0.ln_1.bias", "blocks.0.attn.c_attn.bias", "ln_f.weight"} <= free
    assert not decayed & free and len(decayed | free) == len(list(model.parameters()))


def test_estimate_loss_runs_in_eval_mode_and_restores_the_mode():
    ids = np.arange(300) % 11
    model = tiny(dropout=0.5).train()
    a = estimate_loss(model, ids, batch_size=4, eval_iters=3)
    assert model.training
    b = estimate_loss(model.eval(), ids, batch_size=4, eval_iters=3)
    assert not model.training
    assert a == b  # no dropout: the same batches give the same loss in either mode


def one_step_change(grad_clip):
    """How far one training step with a plain gradient (no weight decay) moves the parameters."""
    ids = np.arange(400) % 11
    model = tiny()
    before = [p.detach().clone() for p in model.parameters()]
    train(model, ids, ids, steps=1, batch_size=4, lr=1e-2, eval_interval=1, eval_iters=1, weight_decay=0.0,
          grad_clip=grad_clip)
    return max((p.detach() - b).abs().max().item() for p, b in zip(model.parameters(), before))


def test_gradient_clipping_caps_the_gradient():
    # Adam divides by the gradient's size, so clipping shows only once it makes the gradient smaller than Adam's
    # eps (1e-8): then the first step is ~lr * g / eps instead of ~lr.
    assert one_step_change(None) == pytest.approx(1e-2, rel=0.01)
    assert one_step_change(1e-12) < 1e-4


def test_train_leaves_the_global_random_state_alone_and_is_reproducible():
    ids = np.arange(200, dtype=np.int64) % 7
    models = [tiny(vocab_size=7, block_size=8, n_layer=1, dropout=0.1) for _ in range(3)]  # the same weights

    def run(model, seed=0):
        return train(model, ids[:150], ids[150:], steps=6, batch_size=4, lr=1e-3, eval_interval=4, eval_iters=2,
                     amp_dtype=torch.bfloat16, seed=seed)  # bfloat16 autocast on the CPU

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    history = run(models[0])
    torch.testing.assert_close(torch.rand(3), expected, rtol=0, atol=0)  # as if train had not run
    assert list(history) == ["step", "train_loss", "val_loss", "lr"] and history["step"] == [0, 4, 6]
    assert all(isinstance(v, float) and math.isfinite(v) for v in history["train_loss"] + history["val_loss"])
    assert run(models[1]) == history  # same seed, same run (batches and dropout masks)
    assert run(models[2], seed=1) != history


def test_tiny_model_overfits_a_repeated_string():
    tok = CharTokenizer.from_text("hello, world! ")
    ids = np.array(tok.encode("hello, world! " * 30), dtype=np.int64)
    model = tiny(vocab_size=tok.vocab_size, block_size=16, n_layer=1, n_head=2, n_embd=32)
    history = train(model, ids, ids, steps=150, batch_size=16, lr=1e-2, eval_interval=150, eval_iters=2)
    assert history["train_loss"][0] > 2.0
    assert history["train_loss"][-1] < 0.15
    assert not model.training  # left in evaluation mode


def test_train_rejects_bad_counts():
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train(tiny(), np.arange(100) % 11, np.arange(100) % 11, steps=0, batch_size=2, lr=1e-3, eval_interval=1,
              eval_iters=1)


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


# --- sampling ------------------------------------------------------------------------------------------------

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


def test_plot_history_draws_a_step_history_against_the_step():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from companion.book.plotting import plot_history

    ax = plot_history({"step": [0, 100, 200], "train_loss": [3.0, 2.5, 2.2], "val_loss": [3.1, 2.7, 2.6]})
    assert ax.get_xlabel() == "Step" and [line.get_label() for line in ax.get_lines()] == ["train_loss", "val_loss"]
    assert list(ax.get_lines()[0].get_xdata()) == [0, 100, 200]
