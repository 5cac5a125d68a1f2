"""Knowledge distillation's loss and magnitude pruning from scratch (companion.nn.distill, companion.nn.prune)
against torch: the loss and its gradient equal the torch formula and autograd; the masks equal
torch.nn.utils.prune's."""
import numpy as np
import pytest

from companion.gradcheck import numerical_gradient
from companion.nn.distill import DistillationLoss, distillation_backward, distillation_forward
from companion.nn.prune import channel_mask, magnitude_mask, sparsity

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.utils import prune  # noqa: E402

from companion.torch.losses import distillation_loss  # noqa: E402


def batch(seed=0, n=6, c=5):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, c)) * 2, rng.normal(size=(n, c)) * 3, rng.integers(0, c, n)


@pytest.mark.parametrize("temperature, alpha", [(1.0, 0.5), (4.0, 0.9), (2.5, 0.0), (8.0, 1.0)])
def test_distillation_loss_and_gradient_equal_torch(temperature, alpha):
    s, t, y = batch()
    loss, cache = distillation_forward(s, t, y, temperature, alpha)
    ds, dt, dy = distillation_backward(1.0, cache)
    assert dt is None and dy is None
    st = torch.tensor(s, requires_grad=True)
    reference = distillation_loss(st, torch.tensor(t), torch.tensor(y), temperature, alpha)
    # the same formula as written in most code: KL on probabilities, times T^2, plus the hard loss
    textbook = (alpha * temperature ** 2 * F.kl_div(F.log_softmax(st / temperature, 1),
                                                    F.softmax(torch.tensor(t) / temperature, 1), reduction="batchmean")
                + (1 - alpha) * F.cross_entropy(st, torch.tensor(y)))
    assert loss == pytest.approx(reference.item(), rel=1e-12, abs=1e-12)
    assert loss == pytest.approx(textbook.item(), rel=1e-12, abs=1e-12)
    reference.backward()
    np.testing.assert_allclose(ds, st.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_distillation_gradient_check_and_module():
    s, t, y = batch(1)
    loss_fn = DistillationLoss(temperature=3.0, alpha=0.7)
    loss_fn(s, t, y)
    analytic = loss_fn.backward()[0]
    z = s.copy()
    numeric = numerical_gradient(lambda: distillation_forward(z, t, y, 3.0, 0.7)[0], z)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)
    assert repr(loss_fn) == "DistillationLoss(temperature=3.0, alpha=0.7)"


def test_distillation_soft_term_vanishes_when_the_student_copies_the_teacher():
    s, _t, y = batch(2)
    loss, cache = distillation_forward(s, s, y, 4.0, 1.0)
    assert loss == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(distillation_backward(1.0, cache)[0], 0.0, atol=1e-12)


def test_distillation_bad_input():
    s, t, y = batch()
    with pytest.raises(ValueError, match="temperature must be > 0"):
        distillation_forward(s, t, y, 0.0, 0.5)
    with pytest.raises(ValueError, match=r"alpha .* must be in \[0, 1\]"):
        DistillationLoss(alpha=1.5)
    with pytest.raises(ValueError, match="student and teacher logits of the same shape"):
        distillation_forward(s, t[:, :3], y)
    with pytest.raises(ValueError, match="same shape"):
        distillation_loss(torch.tensor(s), torch.tensor(t[:, :3]), torch.tensor(y))


@pytest.mark.parametrize("amount", [0.0, 0.3, 0.5, 0.9, 1.0, 7])
def test_unstructured_mask_equals_l1_unstructured(amount):
    torch.manual_seed(0)
    layer = nn.Linear(12, 8)
    mask = magnitude_mask(layer.weight.detach().numpy(), amount)
    prune.l1_unstructured(layer, "weight", amount=amount)
    np.testing.assert_array_equal(mask, layer.weight_mask.numpy())


@pytest.mark.parametrize("amount, dim, norm", [(0.25, 0, 2), (0.5, 0, 1), (3, 1, 2), (0.5, 1, 1)])
def test_structured_mask_equals_ln_structured(amount, dim, norm):
    torch.manual_seed(1)
    conv = nn.Conv2d(4, 8, 3)
    mask = channel_mask(conv.weight.detach().numpy(), amount, dim=dim, norm=norm)
    prune.ln_structured(conv, "weight", amount=amount, n=norm, dim=dim)
    np.testing.assert_array_equal(mask, conv.weight_mask.numpy())
    kept = mask.sum(axis=tuple(a for a in range(4) if a != dim)) > 0
    assert kept.sum() == conv.weight.shape[dim] - (round(amount * conv.weight.shape[dim]) if isinstance(amount, float)
                                                    else amount)


def test_sparsity_and_bad_amounts():
    w = np.arange(1, 11, dtype=np.float32)
    assert sparsity(magnitude_mask(w, 0.3)) == pytest.approx(0.3)
    np.testing.assert_array_equal(magnitude_mask(w, 3)[:3], 0)
    with pytest.raises(ValueError, match="fractional amount must lie in"):
        magnitude_mask(w, 1.5)
    with pytest.raises(ValueError, match="cannot prune 11 of 10"):
        magnitude_mask(w, 11)
    with pytest.raises(TypeError, match="amount must be"):
        magnitude_mask(w, "half")
    with pytest.raises(ValueError, match="at least 2 axes"):
        channel_mask(w, 0.5)
    with pytest.raises(ValueError, match="empty"):
        sparsity(np.zeros(0))
