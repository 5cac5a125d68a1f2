"""DP-SGD from scratch (companion.torch.privacy) against autograd and Opacus."""
import warnings

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from companion.torch.privacy import clip_per_example, dp_sgd_step, per_example_gradients  # noqa: E402


def model_and_batch(seed=0, n=16):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double()
    return model, torch.randn(n, 6, dtype=torch.float64), torch.randint(0, 3, (n,))


def test_per_example_gradients_equal_a_loop_of_backward_passes():
    model, x, y = model_and_batch()
    grads = per_example_gradients(model, nn.functional.cross_entropy, x, y)
    for i in range(len(x)):
        model.zero_grad()
        nn.functional.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        for name, p in model.named_parameters():
            assert torch.allclose(grads[name][i], p.grad, atol=1e-12), (i, name)


def test_clipping_bounds_every_norm_and_leaves_small_ones():
    model, x, y = model_and_batch(1)
    grads = per_example_gradients(model, nn.functional.cross_entropy, x, y)
    clipped, norms = clip_per_example(grads, 0.1)
    new_norms = torch.stack([g.flatten(1).norm(dim=1) for g in clipped.values()], dim=1).norm(dim=1)
    assert (new_norms <= 0.1 + 1e-9).all()
    big = clip_per_example(grads, 1e6)[0]
    assert all(torch.allclose(big[k], grads[k]) for k in grads)
    with pytest.raises(ValueError, match="max_norm must be > 0"):
        clip_per_example(grads, 0)


@pytest.mark.parametrize("max_norm", [0.05, 1.0])
def test_one_step_equals_opacus_with_the_noise_off(max_norm):
    opacus = pytest.importorskip("opacus")
    ours, x, y = model_and_batch(2)
    theirs, _x, _y = model_and_batch(2)
    dp_sgd_step(ours, nn.functional.cross_entropy, x, y, lr=0.5, max_norm=max_norm, noise_multiplier=0.0)
    optimizer = torch.optim.SGD(theirs.parameters(), lr=0.5)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=len(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                         # Opacus warns about secure RNG and the accountant
        engine = opacus.PrivacyEngine()
        module, optimizer, loader = engine.make_private(module=theirs, optimizer=optimizer, data_loader=loader,
                                                        noise_multiplier=0.0, max_grad_norm=max_norm,
                                                        poisson_sampling=False)
        optimizer.zero_grad()
        nn.functional.cross_entropy(module(x), y).backward()
        optimizer.step()
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.allclose(p, q, atol=1e-12), name


def test_noise_has_the_stated_size():
    model, x, y = model_and_batch(3, n=8)
    before = [p.detach().clone() for p in model.parameters()]
    generator = torch.Generator().manual_seed(0)
    dp_sgd_step(model, nn.functional.cross_entropy, x, y, lr=1.0, max_norm=1e-9, noise_multiplier=1000.0,
                generator=generator)
    # with C tiny the update is almost all noise: std sigma * C / B = 1000 * 1e-9 / 8
    step = torch.cat([(b - p.detach()).flatten() for b, p in zip(before, model.parameters())])
    assert step.std().item() == pytest.approx(1000 * 1e-9 / 8, rel=0.3)
    with pytest.raises(ValueError, match="noise_multiplier must be >= 0"):
        dp_sgd_step(model, nn.functional.cross_entropy, x, y, lr=1.0, max_norm=1.0, noise_multiplier=-1)
