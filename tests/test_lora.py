"""LoRA of companion.torch.lora: no change at the start, merged weights equal to the unmerged layer, only A and B
trained, the parameter count r * (in + out), on the GPT of chapter 8, and equal outputs to Hugging Face peft."""
from __future__ import annotations

import copy
import math

import pytest

torch = pytest.importorskip("torch")
import torch.nn as nn  # noqa: E402

from companion.torch.gpt import GPT, GPTConfig  # noqa: E402
from companion.torch.lora import LoRALinear, add_lora, count_trainable, mark_only_lora_trainable, merge_lora  # noqa: E402

TARGETS = ("c_attn", "c_proj", "c_fc")


def tiny_gpt(dtype=torch.float32, bias=True) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, block_size=16, n_layer=2, n_head=2, n_embd=32, bias=bias)).to(dtype)


def randomise_b(model, seed=1):
    """B starts at zero; give it values so that LoRA changes something."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, LoRALinear):
                m.lora_B.copy_(torch.randn(m.lora_B.shape, generator=g, dtype=m.lora_B.dtype) * 0.1)


def test_zero_b_gives_the_base_outputs_exactly():
    torch.manual_seed(0)
    base = nn.Linear(20, 7)
    layer = LoRALinear(base, r=4, alpha=8)
    x = torch.randn(3, 5, 20)
    assert torch.equal(layer.lora_B, torch.zeros(7, 4))
    assert torch.equal(layer(x), base(x))
    assert layer.scaling == 2.0 and layer.lora_A.shape == (4, 20) and layer.lora_B.shape == (7, 4)
    bound = 1 / math.sqrt(20)                    # Kaiming uniform with a = sqrt(5): U(-1/sqrt(in), 1/sqrt(in))
    assert layer.lora_A.abs().max() <= bound and layer.lora_A.std() > bound / 3


@pytest.mark.parametrize("bias", [True, False])
def test_merged_linear_equals_the_lora_layer(bias):
    torch.manual_seed(0)
    base = nn.Linear(20, 7, bias=bias, dtype=torch.float64)
    layer = LoRALinear(base, r=3, alpha=6)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(4, 20, dtype=torch.float64)
    expected = base(x) + 2.0 * (x @ layer.lora_A.T) @ layer.lora_B.T   # the formula, written out
    merged = layer.merged_linear()
    assert type(merged) is nn.Linear and merged.weight.dtype == torch.float64
    torch.testing.assert_close(layer(x), expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(merged(x), expected, rtol=1e-12, atol=1e-12)
    assert not torch.allclose(merged(x), base(x))                      # the update did change the outputs
    assert torch.linalg.matrix_rank(merged.weight - base.weight) == 3  # a rank-r update of W


def test_only_a_and_b_require_grad_and_their_count():
    base = nn.Linear(20, 7)
    layer = LoRALinear(base, r=4, alpha=4)
    trainable = {name for name, p in layer.named_parameters() if p.requires_grad}
    assert trainable == {"lora_A", "lora_B"}
    assert count_trainable(layer) == (4 * (20 + 7), 20 * 7 + 7 + 4 * (20 + 7))


def test_dropout_acts_on_the_lora_branch_only_in_training():
    torch.manual_seed(0)
    layer = LoRALinear(nn.Linear(16, 16), r=2, alpha=2, dropout=0.5)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(8, 16)
    layer.eval()
    torch.testing.assert_close(layer(x), layer.merged_linear()(x))
    layer.train()
    assert not torch.allclose(layer(x), layer.merged_linear()(x))


def test_gpt_with_lora_on_every_projection():
    model = tiny_gpt()
    x = torch.randint(11, (2, 10))
    before = model(x)[0]
    n_total_before = count_trainable(model)[1]
    replaced = add_lora(model, TARGETS, r=4, alpha=8)
    mark_only_lora_trainable(model)
    assert replaced == [f"blocks.{i}.{name}" for i in range(2)
                        for name in ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")]
    C, r = 32, 4
    per_block = r * (C + 3 * C) + r * (C + C) + r * (C + 4 * C) + r * (4 * C + C)   # r * (in + out) each
    trainable, total = count_trainable(model)
    assert trainable == 2 * per_block and total == n_total_before + trainable
    assert all(("lora_A" in n or "lora_B" in n) == p.requires_grad for n, p in model.named_parameters())
    torch.testing.assert_close(model(x)[0], before, rtol=0, atol=0)     # B = 0: the same model


def test_a_training_step_changes_only_lora_parameters():
    model = tiny_gpt()
    add_lora(model, TARGETS, r=4, alpha=8)
    mark_only_lora_trainable(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2, weight_decay=0.0)
    x, y = torch.randint(11, (4, 12)), torch.randint(11, (4, 12))
    for _step in range(2):                 # step 1 moves B away from 0; step 2 then moves A too
        opt.zero_grad()
        model(x, y)[1].backward()
        opt.step()
    for name, p in model.named_parameters():
        moved = not torch.equal(p, before[name])
        assert moved == ("lora_A" in name or "lora_B" in name), name
        if not p.requires_grad:
            assert p.grad is None, name


def test_merge_lora_gives_the_same_gpt_outputs_in_float64():
    model = tiny_gpt(torch.float64)
    add_lora(model, TARGETS, r=4, alpha=8)
    randomise_b(model)
    x = torch.randint(11, (2, 10))
    lora_logits = model(x)[0]
    merge_lora(model)
    assert not any(isinstance(m, LoRALinear) for m in model.modules())
    assert type(model.blocks[0].attn.c_attn) is nn.Linear
    torch.testing.assert_close(model(x)[0], lora_logits, rtol=1e-10, atol=1e-12)


def test_bias_free_gpt_and_predicate_targets():
    model = tiny_gpt(bias=False)
    replaced = add_lora(model, lambda name, m: name.endswith("attn.c_attn"), r=2, alpha=2)
    assert replaced == ["blocks.0.attn.c_attn", "blocks.1.attn.c_attn"]
    assert model.blocks[0].attn.c_attn.base.bias is None
    assert model.blocks[0].attn.c_attn.merged_linear().bias is None


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="wraps an nn.Linear, got Conv1d"):
        LoRALinear(nn.Conv1d(3, 3, 1), r=2, alpha=2)
    with pytest.raises(ValueError, match="r must be a positive integer, got 0"):
        LoRALinear(nn.Linear(3, 3), r=0, alpha=2)
    with pytest.raises(ValueError, match="alpha must be > 0"):
        LoRALinear(nn.Linear(3, 3), r=1, alpha=0)
    with pytest.raises(ValueError, match="dropout"):
        LoRALinear(nn.Linear(3, 3), r=1, alpha=1, dropout=1.0)
    model = tiny_gpt()
    with pytest.raises(ValueError, match="no module of GPT matches"):
        add_lora(model, ["q_proj"], r=2, alpha=2)
    with pytest.raises(ValueError, match="ln_1 is a LayerNorm, not an nn.Linear"):
        add_lora(model, ["ln_1"], r=2, alpha=2)
    add_lora(model, ["c_attn"], r=2, alpha=2)
    with pytest.raises(ValueError, match="c_attn is a LoRALinear, not an nn.Linear"):
        add_lora(model, ["c_attn"], r=2, alpha=2)


def test_equal_outputs_to_peft_lora():
    pytest.importorskip("peft", reason="Hugging Face peft is not installed: pip install 'companion[hf]'")
    from peft import LoraConfig, inject_adapter_in_model

    ours = tiny_gpt(torch.float64)
    theirs = copy.deepcopy(ours)
    x = torch.randint(11, (2, 10))
    base_logits = ours(x)[0]
    add_lora(ours, TARGETS, r=4, alpha=8)
    randomise_b(ours)
    theirs = inject_adapter_in_model(LoraConfig(r=4, lora_alpha=8, target_modules=list(TARGETS), lora_dropout=0.0),
                                     theirs)
    n_copied = 0
    with torch.no_grad():
        for name, module in ours.named_modules():
            if isinstance(module, LoRALinear):
                other = theirs.get_submodule(name)
                assert other.scaling["default"] == module.scaling
                assert other.lora_A["default"].weight.shape == module.lora_A.shape
                other.lora_A["default"].weight.copy_(module.lora_A)
                other.lora_B["default"].weight.copy_(module.lora_B)
                n_copied += 1
    assert n_copied == 8
    theirs_trainable = sum(p.numel() for n, p in theirs.named_parameters() if "lora_" in n)
    assert theirs_trainable == count_trainable(mark_only_lora_trainable(ours))[0]
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], rtol=1e-12, atol=1e-12)
    assert not torch.allclose(ours(x)[0], base_logits)            # the copied update does change the model
