"""Tests of companion.nn.init (the distributions of torch.nn.init: same fans, gains, bounds and standard
deviations; sample statistics of large draws) and of companion.nn.utils.clip_grad_norm_ (equal to torch's)."""
import math

import numpy as np
import pytest
import torch

import companion.nn.init as init
from companion import set_seed
from companion.nn import Linear, Parameter
from companion.nn.utils import clip_grad_norm_

SHAPES = [(300, 200), (64, 16, 3, 3), (10, 1000), (128, 3, 5)]


@pytest.mark.parametrize("nonlinearity, param", [
    ("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None),
])
def test_gain_equals_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_gain_rejects_unknown():
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_equal_torch(shape):
    assert init.calculate_fan_in_and_fan_out(np.zeros(shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))


def test_fans_need_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.calculate_fan_in_and_fan_out(np.zeros(5))


def expected(name, shape, **kw):
    """(kind, bound or std) of torch's distribution, from torch's own fans and gains."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(shape))
    if name.startswith("xavier"):
        std = kw.get("gain", 1.0) * math.sqrt(2.0 / (fan_in + fan_out))
    else:
        fan = fan_in if kw.get("mode", "fan_in") == "fan_in" else fan_out
        std = torch.nn.init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0)) / math.sqrt(fan)
    return ("uniform", math.sqrt(3.0) * std) if name.endswith("uniform_") else ("normal", std)


CASES = [
    ("xavier_uniform_", {}), ("xavier_uniform_", dict(gain=5 / 3)), ("xavier_normal_", {}),
    ("xavier_normal_", dict(gain=2.0)), ("kaiming_uniform_", {}), ("kaiming_uniform_", dict(nonlinearity="relu")),
    ("kaiming_uniform_", dict(a=math.sqrt(5))),  # torch's default for Linear and Conv weights
    ("kaiming_normal_", dict(nonlinearity="relu")), ("kaiming_normal_", dict(mode="fan_out", nonlinearity="relu")),
    ("kaiming_normal_", dict(nonlinearity="tanh")),
]


@pytest.mark.parametrize("name, kw", CASES)
@pytest.mark.parametrize("shape", SHAPES)
def test_same_distribution_as_torch(name, kw, shape):
    kind, scale = expected(name, shape, **kw)
    ours = getattr(init, name)(np.empty(shape), rng=np.random.default_rng(0), **kw)
    torch.manual_seed(0)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape, dtype=torch.float64), **kw).numpy()
    n = ours.size
    for sample in (ours, theirs):
        if kind == "uniform":
            assert np.abs(sample).max() <= scale
            assert np.abs(sample).max() > scale * (1 - 20 / n)  # the bound is reached, nearly
            std = scale / math.sqrt(3.0)
        else:
            std = scale
        # Sample mean and std of n independent draws: within 6 standard errors.
        assert abs(sample.mean()) < 6 * std / math.sqrt(n)
        assert abs(sample.std() - std) < 6 * std * math.sqrt(0.5 / n)


def test_fixed_seed_sample_statistics():
    w = init.kaiming_normal_(np.empty((512, 256)), nonlinearity="relu", rng=np.random.default_rng(0))
    assert round(float(w.std() / math.sqrt(2 / 256)), 2) == 1.00
    set_seed(0)
    a = init.xavier_uniform_(Parameter(np.empty((100, 50))))
    set_seed(0)
    b = init.xavier_uniform_(Parameter(np.empty((100, 50))))
    np.testing.assert_array_equal(a.data, b.data)  # the default generator, seeded by set_seed


def test_in_place_on_parameters_and_arrays():
    layer = Linear(8, 4)
    weight, bias = layer.weight.data, layer.bias.data
    assert init.kaiming_normal_(layer.weight, nonlinearity="relu") is layer.weight
    assert init.zeros_(layer.bias) is layer.bias
    assert layer.weight.data is weight and weight.dtype == np.float32 and layer.bias.data is bias
    assert not bias.any()
    arr = np.empty((3, 3))
    assert init.normal_(arr, 1.0, 0.0, rng=np.random.default_rng(0)) is arr
    np.testing.assert_array_equal(arr, np.ones((3, 3)))
    assert init.uniform_(arr, 2.0, 3.0).min() >= 2.0


def test_init_rejects_non_float():
    with pytest.raises(TypeError, match="floating"):
        init.zeros_(np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match="floating"):
        init.xavier_normal_([[1.0, 2.0]])
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(np.empty((3, 3)), mode="fan_avg")


# Gradient clipping.

def clip_both(scale, max_norm, norm_type=2.0, seed=0):
    rng = np.random.default_rng(seed)
    grads = [scale * rng.standard_normal(s) for s in [(5, 3), (3,), (2, 2, 2)]]
    ours = [Parameter(np.zeros(g.shape)) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, pt, g in zip(ours, theirs, grads):
        p.grad[...] = g
        pt.grad = torch.from_numpy(g.copy())
    total = clip_grad_norm_(ours, max_norm, norm_type)
    total_t = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    return total, float(total_t), [p.grad for p in ours], [pt.grad.numpy() for pt in theirs], grads


@pytest.mark.parametrize("scale, max_norm, norm_type", [
    (10.0, 1.0, 2.0), (0.01, 1.0, 2.0), (1.0, 0.5, 1.0), (3.0, 0.5, math.inf), (3.0, 2.0, 3.0),
])
def test_clip_grad_norm_equals_torch(scale, max_norm, norm_type):
    total, total_t, ours, theirs, grads = clip_both(scale, max_norm, norm_type)
    assert math.isclose(total, total_t, rel_tol=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    flat = np.concatenate([g.ravel() for g in ours])
    if total > max_norm:  # clipped: the new norm is max_norm (up to the 1e-6)
        assert math.isclose(np.linalg.norm(flat, ord=norm_type), max_norm, rel_tol=1e-5)
    else:  # below max_norm: the gradients are left as they were
        for a, g in zip(ours, grads):
            np.testing.assert_array_equal(a, g)


def test_clip_grad_norm_returns_the_norm_before_clipping():
    total, _t, ours, _th, grads = clip_both(10.0, 1.0)
    assert math.isclose(total, np.linalg.norm(np.concatenate([g.ravel() for g in grads])), rel_tol=1e-12)
    p = Parameter(np.array([3.0, 4.0]))
    p.grad[...] = [3.0, 4.0]
    assert clip_grad_norm_(p, 1.0) == 5.0  # a single Parameter works too
    np.testing.assert_allclose(p.grad, [0.6, 0.8], rtol=1e-6)
    with pytest.raises(TypeError, match="Parameter"):
        clip_grad_norm_([np.zeros(2)], 1.0)
