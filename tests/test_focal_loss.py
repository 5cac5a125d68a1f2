"""companion.torch.losses.focal_loss: the cross-entropy at gamma = 0 (with and without class weights), a value
computed by hand, its gradient, and bad input."""
from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install 'companion[torch]'")
import torch.nn.functional as F  # noqa: E402

from companion.torch.losses import focal_loss  # noqa: E402


def _batch(seed=0, n=64, c=5):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g, dtype=torch.float64) * 2, torch.randint(0, c, (n,), generator=g)


def test_gamma_zero_is_cross_entropy():
    logits, y = _batch()
    weight = torch.rand(5, generator=torch.Generator().manual_seed(1), dtype=torch.float64) + 0.1
    assert torch.allclose(focal_loss(logits, y, gamma=0), F.cross_entropy(logits, y))
    assert torch.allclose(focal_loss(logits, y, gamma=0, weight=weight), F.cross_entropy(logits, y, weight=weight))


def test_hand_computed_value_and_down_weighting():
    logits = torch.tensor([[math.log(9.0), 0.0], [0.0, 0.0]], dtype=torch.float64)  # p_y = 0.9 and 0.5
    y = torch.tensor([0, 0])
    expected = (-(0.1 ** 2) * math.log(0.9) - (0.5 ** 2) * math.log(0.5)) / 2
    assert focal_loss(logits, y, gamma=2).item() == pytest.approx(expected, rel=1e-12)
    # an easy example loses more of its loss than a hard one
    easy, hard = focal_loss(logits[:1], y[:1]) / F.cross_entropy(logits[:1], y[:1]), \
        focal_loss(logits[1:], y[1:]) / F.cross_entropy(logits[1:], y[1:])
    assert easy < hard


def test_gradient_is_finite_and_checks():
    logits, y = _batch(2, n=8, c=3)
    logits.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda z: focal_loss(z, y, gamma=1.5), (logits,))


def test_bad_input():
    logits, y = _batch()
    with pytest.raises(ValueError, match=r"\(N, C\)"):
        focal_loss(logits[0], y)
    with pytest.raises(ValueError, match="integer labels"):
        focal_loss(logits, y[:3])
    with pytest.raises(ValueError, match="outside"):
        focal_loss(logits, y + 5)
    with pytest.raises(ValueError, match="one entry per class"):
        focal_loss(logits, y, weight=torch.ones(3))
    with pytest.raises(ValueError, match="gamma"):
        focal_loss(logits, y, gamma=-1)
