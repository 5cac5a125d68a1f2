"""Tests of companion.optim: the same updates as torch.optim, validation, and a small training run."""
import numpy as np
import pytest
import torch

from companion.nn import Linear, Parameter, ReLU, Sequential, Tanh
from companion.nn import CrossEntropyLoss, MSELoss
from companion.optim import SGD, Adam, AdamW, RMSprop

SHAPES = [(3, 4), (4,)]


def run_both(make_ours, make_theirs, steps=5, seed=0):
    """Apply the same random gradients for `steps` steps with our optimizer and torch's; return both params."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s) for s in SHAPES]
    ours = [Parameter(a) for a in init]
    theirs = [torch.tensor(a, requires_grad=True) for a in init]
    opt, opt_t = make_ours(ours), make_theirs(theirs)
    for _ in range(steps):
        grads = [rng.standard_normal(s) for s in SHAPES]
        opt.zero_grad()
        opt_t.zero_grad()
        for p, pt, g in zip(ours, theirs, grads):
            p.grad += g
            pt.grad = torch.from_numpy(g.copy())
        opt.step()
        opt_t.step()
    return [p.data for p in ours], [pt.detach().numpy() for pt in theirs], init


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, weight_decay=0.01),
    dict(lr=0.05, momentum=0.8, weight_decay=0.1),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.02, momentum=0.7, weight_decay=0.05, nesterov=True),
])
def test_sgd_matches_torch(kwargs):
    ours, theirs, init = run_both(lambda p: SGD(p, **kwargs), lambda p: torch.optim.SGD(p, **kwargs))
    for a, b, a0 in zip(ours, theirs, init):
        assert not np.allclose(a, a0)  # the parameters moved
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.01, betas=(0.8, 0.99)),
    dict(lr=0.01, eps=1e-3, weight_decay=0.1),
])
def test_adam_matches_torch(kwargs):
    ours, theirs, init = run_both(lambda p: Adam(p, **kwargs), lambda p: torch.optim.Adam(p, **kwargs))
    for a, b, a0 in zip(ours, theirs, init):
        assert not np.allclose(a, a0)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.03, momentum=0.5, weight_decay=0.02),
])
def test_sgd_matches_torch_over_many_steps(kwargs):
    ours, theirs, _init = run_both(lambda p: SGD(p, **kwargs), lambda p: torch.optim.SGD(p, **kwargs), steps=100)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_nesterov_differs_from_plain_momentum():
    plain, _t, init = run_both(lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: torch.optim.SGD(p, lr=0.1), steps=3)
    nesterov, _t, _i = run_both(lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                                lambda p: torch.optim.SGD(p, lr=0.1), steps=3)
    assert not np.allclose(plain[0], nesterov[0])


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.001, alpha=0.9, eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.005, momentum=0.9),
    dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.01),
])
def test_rmsprop_matches_torch(kwargs):
    ours, theirs, init = run_both(lambda p: RMSprop(p, **kwargs), lambda p: torch.optim.RMSprop(p, **kwargs),
                                  steps=100)
    for a, b, a0 in zip(ours, theirs, init):
        assert not np.allclose(a, a0)
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.01, weight_decay=0.0),
    dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1),
    dict(lr=0.05, eps=1e-4, weight_decay=0.5),
])
def test_adamw_matches_torch(kwargs):
    ours, theirs, init = run_both(lambda p: AdamW(p, **kwargs), lambda p: torch.optim.AdamW(p, **kwargs), steps=100)
    for a, b, a0 in zip(ours, theirs, init):
        assert not np.allclose(a, a0)
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_adam_matches_torch_over_many_steps():
    kwargs = dict(lr=0.01, weight_decay=0.1)
    ours, theirs, _init = run_both(lambda p: Adam(p, **kwargs), lambda p: torch.optim.Adam(p, **kwargs), steps=100)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_adamw_differs_from_adam_with_l2_and_equals_it_without_decay():
    adamw, _t, _i = run_both(lambda p: AdamW(p, lr=0.01, weight_decay=0.1), lambda p: torch.optim.SGD(p, lr=0.1),
                             steps=50)
    adam_l2, _t, _i = run_both(lambda p: Adam(p, lr=0.01, weight_decay=0.1), lambda p: torch.optim.SGD(p, lr=0.1),
                               steps=50)
    assert np.abs(adamw[0] - adam_l2[0]).max() > 1e-3
    adamw0, _t, _i = run_both(lambda p: AdamW(p, lr=0.01, weight_decay=0.0), lambda p: torch.optim.SGD(p, lr=0.1),
                              steps=50)
    adam0, _t, _i = run_both(lambda p: Adam(p, lr=0.01), lambda p: torch.optim.SGD(p, lr=0.1), steps=50)
    for a, b in zip(adamw0, adam0):
        np.testing.assert_array_equal(a, b)


def test_adamw_decay_alone_shrinks_every_weight_by_the_same_factor():
    p = Parameter(np.array([1.0, -3.0, 10.0]))
    opt = AdamW([p], lr=0.1, weight_decay=0.5)
    opt.step()  # a zero gradient: Adam's step is 0 / (0 + eps) = 0, only the decay acts
    np.testing.assert_allclose(p.data, np.array([1.0, -3.0, 10.0]) * (1 - 0.1 * 0.5), rtol=1e-15)


def test_updates_are_in_place_and_keep_dtype():
    p = Parameter(np.ones(3, dtype=np.float32))
    data = p.data
    p.grad[...] = 1.0
    for opt in (SGD([p], lr=0.1, momentum=0.9), SGD([p], lr=0.1, momentum=0.9, nesterov=True), Adam([p], lr=0.1),
                RMSprop([p], momentum=0.5, centered=True), AdamW([p], lr=0.1)):
        opt.step()
    assert p.data is data and p.data.dtype == np.float32
    opt.zero_grad()
    assert not p.grad.any()


@pytest.mark.parametrize("make, match", [
    (lambda p: SGD(p, lr=0.0), "lr"),
    (lambda p: SGD(p, lr=-1.0), "lr"),
    (lambda p: SGD(p, lr=float("nan")), "lr"),
    (lambda p: SGD(p, lr=0.1, momentum=-0.5), "momentum"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1e-4), "weight_decay"),
    (lambda p: Adam(p, lr=0.0), "lr"),
    (lambda p: Adam(p, betas=(1.0, 0.999)), "beta1"),
    (lambda p: Adam(p, betas=(0.9, -0.1)), "beta2"),
    (lambda p: Adam(p, betas=(0.9,)), "betas"),
    (lambda p: Adam(p, eps=-1e-8), "eps"),
    (lambda p: Adam(p, weight_decay=-1.0), "weight_decay"),
    (lambda p: SGD(p, lr=0.1, nesterov=True), "nesterov"),
    (lambda p: RMSprop(p, lr=-0.1), "lr"),
    (lambda p: RMSprop(p, alpha=1.0), "alpha"),
    (lambda p: RMSprop(p, eps=-1.0), "eps"),
    (lambda p: RMSprop(p, momentum=-0.9), "momentum"),
    (lambda p: RMSprop(p, weight_decay=-0.1), "weight_decay"),
    (lambda p: AdamW(p, weight_decay=-0.1), "weight_decay"),
    (lambda p: AdamW(p, betas=(0.9, 1.5)), "beta2"),
])
def test_invalid_hyperparameters_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make([Parameter(np.zeros(2))])


def test_params_must_be_parameters():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="Parameter"):
        SGD([np.zeros(3)], lr=0.1)
    model = Sequential(Linear(2, 2), ReLU())
    assert len(SGD(model.parameters(), lr=0.1).params) == 2


def test_tiny_mlp_learns_xor_with_sgd():
    """Regression test: layers, loss and optimizer together fit XOR-like clusters."""
    rng = np.random.default_rng(0)
    centers = np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]])
    x = np.repeat(centers, 16, axis=0) + 0.15 * rng.standard_normal((64, 2))
    y = np.repeat([0, 1, 1, 0], 16)  # XOR: not linearly separable, so the hidden layer must work
    model = Sequential(Linear(2, 16, rng=rng), Tanh(), Linear(16, 2, rng=rng))
    loss_fn, opt = CrossEntropyLoss(), SGD(model.parameters(), lr=0.5, momentum=0.9)
    losses = []
    for _ in range(150):
        opt.zero_grad()
        losses.append(loss_fn(model(x), y))
        model.backward(loss_fn.backward()[0])
        opt.step()
    assert losses[0] > 0.5  # it starts near chance (ln 2 = 0.69)
    assert losses[-1] < 0.01 * losses[0], (losses[0], losses[-1])  # measured: about 3e-5 of the start
    assert np.mean(model(x).argmax(axis=1) == y) == 1.0


def test_regression_with_adam_and_mse():
    rng = np.random.default_rng(1)
    x = np.linspace(-2, 2, 64, dtype=np.float32)[:, None]
    y = np.sin(2 * x)
    model = Sequential(Linear(1, 32, rng=rng), Tanh(), Linear(32, 1, rng=rng))
    loss_fn, opt = MSELoss(), Adam(model.parameters(), lr=0.02)
    first = None
    for _ in range(300):
        opt.zero_grad()
        value = loss_fn(model(x), y)
        first = value if first is None else first
        model.backward(loss_fn.backward()[0])
        opt.step()
    assert value < 0.01 * first, (first, value)  # measured: about 2e-4 of the start
