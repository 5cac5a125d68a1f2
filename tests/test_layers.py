"""Tests of companion.nn: the functional cores and the layers over them (gradient checks, agreement with
torch.nn), the Module API (registration, buffers, state_dict, repr, seeding) and its errors."""
import warnings

import numpy as np
import pytest
import torch

from companion import set_seed
from companion.gradcheck import check_functional, check_module
from companion.nn import Linear, Module, Parameter, ReLU, Sequential, Sigmoid, Tanh
from companion.nn import functional as F
from companion.nn.checks import as_float, check_last_dim, number_in_range, positive_int
from twins import TOL64, assert_float32_forward_matches, assert_matches_torch, torch_forward_backward


def make_mlp(rng, dtype=np.float64):
    return Sequential(Linear(4, 8, rng=rng, dtype=dtype), ReLU(), Linear(8, 6, rng=rng, dtype=dtype), Tanh(),
                      Linear(6, 3, rng=rng, dtype=dtype))


def torch_mlp():
    nn = torch.nn
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 6), nn.Tanh(), nn.Linear(6, 3)).double()


def away_from_zero(x, margin=0.1):
    """ReLU's kink at 0 breaks finite differences; push inputs at least `margin` away from it."""
    return np.where(np.abs(x) < margin, np.copysign(margin, x), x)


def layer_cases(rng):
    """(name, numpy layer in float64, float64 input, torch twin or None)."""
    return [
        ("linear", Linear(4, 3, rng=rng, dtype=np.float64), rng.standard_normal((5, 4)), torch.nn.Linear(4, 3)),
        ("linear-3d-input", Linear(4, 3, rng=rng, dtype=np.float64), rng.standard_normal((2, 3, 4)),
         torch.nn.Linear(4, 3)),
        ("linear-no-bias", Linear(4, 3, bias=False, rng=rng, dtype=np.float64), rng.standard_normal((5, 4)),
         torch.nn.Linear(4, 3, bias=False)),
        ("relu", ReLU(), away_from_zero(rng.standard_normal((4, 5))), torch.nn.ReLU()),
        ("sigmoid", Sigmoid(), 2 * rng.standard_normal((4, 5)), torch.nn.Sigmoid()),
        ("tanh", Tanh(), rng.standard_normal((4, 5)), torch.nn.Tanh()),
    ]


CASE_NAMES = [name for name, *_ in layer_cases(np.random.default_rng(0))]


def get_case(name, seed=0):
    torch.manual_seed(seed)  # the torch twins' initial weights
    for case in layer_cases(np.random.default_rng(seed)):
        if case[0] == name:
            return case[1:]
    raise KeyError(name)


# --- gradient checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CASE_NAMES)
def test_gradcheck_layer(name):
    layer, x, _ = get_case(name)
    errors = check_module(layer, x)
    assert set(errors) == {"input"} | {n for n, _ in layer.named_parameters()}
    assert max(errors.values()) < 1e-7, errors


def test_gradcheck_sequential():
    rng = np.random.default_rng(1)
    model = make_mlp(rng)
    errors = check_module(model, rng.standard_normal((5, 4)))
    assert set(errors) == {"input", "0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}
    assert max(errors.values()) < 1e-7, errors


# --- the functional cores ----------------------------------------------------------------------------

FUNCTIONAL = {
    "relu": (F.relu_forward, F.relu_backward, torch.relu),
    "sigmoid": (F.sigmoid_forward, F.sigmoid_backward, torch.sigmoid),
    "tanh": (F.tanh_forward, F.tanh_backward, torch.tanh),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONAL))
def test_activation_cores_gradcheck_and_match_torch(name):
    forward, backward, torch_fn = FUNCTIONAL[name]
    rng = np.random.default_rng(0)
    x = away_from_zero(2 * rng.standard_normal((4, 5)))
    [error] = check_functional(forward, backward, x)
    assert error < 1e-7
    out, cache = forward(x)
    g = rng.standard_normal(out.shape)
    xt = torch.tensor(x, requires_grad=True)
    out_t = torch_fn(xt)
    (out_t * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(backward(g, cache), xt.grad.numpy(), **TOL64)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_core_gradcheck_and_match_torch(bias):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((2, 5, 4)), rng.standard_normal((3, 4))
    b = rng.standard_normal(3) if bias else None
    errors = check_functional(F.linear_forward, F.linear_backward, x, w, b)
    assert len(errors) == (3 if bias else 2) and max(errors) < 1e-7, errors
    out, cache = F.linear_forward(x, w, b)
    g = rng.standard_normal(out.shape)
    dx, dw, db = F.linear_backward(g, cache)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True) if bias else None
    out_t = torch.nn.functional.linear(xt, wt, bt)
    (out_t * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL64)
    np.testing.assert_allclose(dw, wt.grad.numpy(), **TOL64)
    if bias:
        np.testing.assert_allclose(db, bt.grad.numpy(), **TOL64)
    else:
        assert db is None


def test_layers_are_their_functional_cores():
    """A Module adds nothing to the math: same output and gradients as the functional pair it wraps."""
    rng = np.random.default_rng(2)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer = Linear(4, 3, rng=rng, dtype=np.float64)
    out, cache = F.linear_forward(x, layer.weight.data, layer.bias.data)
    np.testing.assert_array_equal(layer(x), out)
    dx, dw, db = F.linear_backward(g, cache)
    np.testing.assert_array_equal(layer.backward(g), dx)
    np.testing.assert_array_equal(layer.weight.grad, dw)
    np.testing.assert_array_equal(layer.bias.grad, db)
    for module, (forward, backward, _) in ((ReLU(), FUNCTIONAL["relu"]), (Sigmoid(), FUNCTIONAL["sigmoid"]),
                                           (Tanh(), FUNCTIONAL["tanh"])):
        out, cache = forward(x)
        np.testing.assert_array_equal(module(x), out)
        np.testing.assert_array_equal(module.backward(x), backward(x, cache))


def test_activation_cores_keep_float_dtypes_and_promote_integers():
    for forward in (F.relu_forward, F.sigmoid_forward, F.tanh_forward):
        assert forward(np.ones(3, dtype=np.float32))[0].dtype == np.float32
        assert forward(np.ones(3, dtype=np.float64))[0].dtype == np.float64
        assert forward(np.arange(3))[0].dtype == np.float32  # the one dtype rule: checks.as_float


def test_a_cache_per_call_lets_one_core_serve_several_steps():
    """The functional cores keep no state: two forwards, then the two backwards in reverse order."""
    rng = np.random.default_rng(3)
    x1, x2 = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    (y1, c1), (y2, c2) = F.tanh_forward(x1), F.tanh_forward(x2)
    np.testing.assert_allclose(F.tanh_backward(np.ones(3), c2), 1 - np.tanh(x2) ** 2)
    np.testing.assert_allclose(F.tanh_backward(np.ones(3), c1), 1 - np.tanh(x1) ** 2)


# --- agreement with torch ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", CASE_NAMES)
def test_matches_torch_float64(name):
    layer, x, twin = get_case(name)
    twin = twin.double()
    layer.load_state_dict(twin.state_dict())
    assert_matches_torch(layer, twin, x, seed=2)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_matches_torch_float32_forward(name):
    layer, x, twin = get_case(name)
    layer.astype(np.float32)
    layer.load_state_dict(twin.state_dict())
    assert_float32_forward_matches(layer, twin, x, atol=1e-6)


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    sigmoid = Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in exp would be a RuntimeWarning
        y = sigmoid(x)
        dx = sigmoid.backward(np.ones_like(x))
    np.testing.assert_allclose(y, torch.sigmoid(torch.from_numpy(x)).numpy(), rtol=1e-15, atol=0)
    assert np.all(np.isfinite(dx)) and dx[0] == 0.0 and dx[-1] == 0.0 and dx[2] == 0.25


def test_relu_derivative_at_zero_is_zero_like_torch():
    x = np.array([-1.0, 0.0, 2.0])
    relu = ReLU()
    relu(x)
    dx = relu.backward(np.ones(3))
    xt = torch.tensor(x, requires_grad=True)
    torch.relu(xt).sum().backward()
    np.testing.assert_array_equal(dx, [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(dx, xt.grad.numpy())


def test_sequential_round_trips_with_torch_both_ways():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 4))
    g = rng.standard_normal((7, 3))

    # torch -> numpy
    torch.manual_seed(0)
    twin = torch_mlp()
    model = make_mlp(np.random.default_rng(99))
    model.load_state_dict(twin.state_dict())
    # numpy -> torch: a fresh torch model gets the numpy weights back
    twin2 = torch_mlp()
    twin2.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})
    assert list(model.state_dict()) == list(twin.state_dict())

    out, dx = model(x), model.backward(g)
    for torch_model in (twin, twin2):
        out_t, dx_t, grads_t = torch_forward_backward(torch_model, x, g)
        np.testing.assert_allclose(out, out_t, **TOL64)
        np.testing.assert_allclose(dx, dx_t, **TOL64)
        for n, p in model.named_parameters():
            np.testing.assert_allclose(p.grad, grads_t[n], **TOL64, err_msg=n)


def test_load_state_dict_accepts_parameters_that_require_grad():
    twin = torch.nn.Linear(3, 2)
    layer = Linear(3, 2)
    layer.load_state_dict(dict(twin.named_parameters()))
    np.testing.assert_array_equal(layer.weight.data, twin.weight.detach().numpy())
    assert layer.weight.data.dtype == np.float32


# --- Linear ------------------------------------------------------------------------------------------

def test_linear_init_like_torch():
    layer = Linear(100, 50, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(100)
    assert layer.weight.shape == (50, 100) and layer.bias.shape == (50,)
    assert layer.weight.data.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    for p in (layer.weight, layer.bias):
        assert np.abs(p.data).max() <= bound and np.abs(p.data).max() > 0.9 * bound
        np.testing.assert_array_equal(p.grad, 0)
    # uniform on [-b, b] has standard deviation b / sqrt(3)
    assert abs(layer.weight.data.std() - bound / np.sqrt(3)) < 0.05 * bound
    same = Linear(100, 50, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(layer.weight.data, same.weight.data)


def test_linear_output_dtype_follows_parameters():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    assert layer(np.ones((4, 3))).dtype == np.float32  # float64 input, float32 parameters
    assert layer(np.ones((4, 3), dtype=np.uint8)).dtype == np.float32
    assert layer.astype(np.float64)(np.ones((4, 3), dtype=np.float32)).dtype == np.float64


def test_linear_wrong_input_shape_message():
    with pytest.raises(ValueError, match=r"Linear\(3, 4\) expected input of shape \(\.\.\., 3\), got \(5, 2\)"):
        Linear(3, 4)(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"got \(\)"):
        Linear(3, 4)(np.float64(1.0))


def test_linear_rejects_bad_sizes():
    with pytest.raises(ValueError, match="in_features must be a positive integer, got 0"):
        Linear(0, 4)
    with pytest.raises(ValueError, match="out_features must be a positive integer, got 2.5"):
        Linear(3, 2.5)
    with pytest.raises(ValueError, match="got True"):
        Linear(True, 2)
    assert Linear(np.int64(3), 2).in_features == 3 and type(Linear(np.int64(3), 2).in_features) is int


def test_named_checks():
    assert positive_int(np.int32(4), "size", "Thing") == 4
    for bad in (0, -1, 2.0, True, np.bool_(True), "3", None):
        with pytest.raises(ValueError, match=r"Thing: size must be a positive integer"):
            positive_int(bad, "size", "Thing")
    assert number_in_range(np.float32(0.5), "beta", "Thing", low=0.0, high=1.0) == 0.5
    with pytest.raises(ValueError, match=r"Thing: invalid lr: 0.0 \(expected 0.0 < lr\)"):
        number_in_range(0, "lr", "Thing", low=0.0, low_inclusive=False)
    for bad in (1.0, -0.1, float("nan")):
        with pytest.raises(ValueError, match=r"expected 0.0 <= beta < 1.0"):
            number_in_range(bad, "beta", "Thing", low=0.0, high=1.0)
    assert as_float(np.ones(2, dtype=np.float16)).dtype == np.float16
    assert as_float([1, 2]).dtype == np.float32 and as_float([True], np.float64).dtype == np.float64
    check_last_dim(np.zeros((2, 3)), 3, "Thing")
    with pytest.raises(ValueError, match=r"Thing expected input of shape \(N, 4\), got \(2, 3\)"):
        check_last_dim(np.zeros((2, 3)), 4, "Thing", layout="(N, {size})")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_backward_checks_grad_shape(name):
    layer, x, _ = get_case(name)
    out = layer(x)
    with pytest.raises(ValueError) as info:
        layer.backward(np.ones(out.shape + (1,)))
    assert str(out.shape) in str(info.value) and str(out.shape + (1,)) in str(info.value)


@pytest.mark.parametrize("make", [lambda: Linear(3, 2), ReLU, Sigmoid, Tanh, lambda: Sequential(Linear(3, 2), ReLU())])
def test_backward_before_forward_raises(make):
    with pytest.raises(RuntimeError, match="before forward"):
        make().backward(np.ones((1, 2)))


# --- the Module API ----------------------------------------------------------------------------------

def test_parameter_basics():
    p = Parameter(np.ones((2, 3), dtype=np.float32))
    assert p.shape == (2, 3) and p.grad.shape == (2, 3) and p.grad.dtype == np.float32
    assert not p.grad.any()
    with pytest.raises(TypeError, match="floating"):
        Parameter(np.ones(3, dtype=np.int64))


def test_named_parameters_and_parameters():
    model = make_mlp(np.random.default_rng(0))
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert [p.shape for p in model.parameters()] == [(8, 4), (8,), (6, 8), (6,), (3, 6), (3,)]
    assert model.parameters()[0] is model[0].weight


def test_backward_accumulates_and_zero_grad_clears():
    rng = np.random.default_rng(0)
    model, x, g = make_mlp(rng), rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    model(x)
    model.backward(g)
    once = [p.grad.copy() for p in model.parameters()]
    model.backward(g)  # the cache from forward is still there: gradients add up, as in torch
    for p, first in zip(model.parameters(), once):
        np.testing.assert_allclose(p.grad, 2 * first)
    model.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


def test_state_dict_is_a_copy():
    model = make_mlp(np.random.default_rng(0))
    state = model.state_dict()
    state["0.weight"][...] = 7.0
    assert not np.any(model[0].weight.data == 7.0)


def test_load_state_dict_errors_name_the_problem():
    model = make_mlp(np.random.default_rng(0))
    state = model.state_dict()
    before = model.state_dict()

    missing = dict(state)
    del missing["2.bias"]
    with pytest.raises(ValueError, match=r"missing keys \['2.bias'\]"):
        model.load_state_dict(missing)

    with pytest.raises(ValueError, match=r"unexpected keys \['5.weight'\]"):
        model.load_state_dict({**state, "5.weight": np.zeros(3)})

    wrong = {k: v + 1.0 for k, v in state.items()}
    wrong["4.weight"] = np.zeros((6, 3))
    with pytest.raises(ValueError, match=r"'4.weight'.*\(3, 6\).*\(6, 3\)"):
        model.load_state_dict(wrong)
    for k, v in model.state_dict().items():  # a failed load changes nothing
        np.testing.assert_array_equal(v, before[k])


def test_train_eval_and_astype():
    model = make_mlp(np.random.default_rng(0), dtype=np.float32)
    assert model.training and model[1].training
    assert model.eval() is model and not model.training and not model[2].training
    assert model.train() is model and model[4].training
    assert model.astype(np.float64) is model
    assert all(p.data.dtype == np.float64 and p.grad.dtype == np.float64 for p in model.parameters())
    with pytest.raises(TypeError, match="floating"):
        model.astype(np.int32)


def test_repr_matches_torch():
    nn = torch.nn
    model = Sequential(Linear(784, 128), ReLU(), Sequential(Linear(128, 10, bias=False), Sigmoid()), Tanh())
    twin = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Sequential(nn.Linear(128, 10, bias=False), nn.Sigmoid()),
                         nn.Tanh())
    assert repr(model) == repr(twin)
    assert repr(Linear(784, 128)) == "Linear(in_features=784, out_features=128, bias=True)"


def numpy_block():
    class Block(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(4, 2)
            self.act = Tanh()

        def extra_repr(self):
            return "scale=0.5"

    return Block()


def torch_block():
    class Block(torch.nn.Module):  # the same class name, so that the reprs can be equal
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 2)
            self.act = torch.nn.Tanh()

        def extra_repr(self):
            return "scale=0.5"

    return Block()


def test_repr_of_a_module_with_extra_repr_and_children_matches_torch():
    assert repr(numpy_block()) == repr(torch_block())
    assert repr(Sequential(numpy_block(), ReLU())) == repr(torch.nn.Sequential(torch_block(), torch.nn.ReLU()))
    assert "scale=0.5" in repr(numpy_block()) and "(fc): Linear(in_features=4" in repr(numpy_block())


def test_set_seed_makes_layers_reproducible():
    set_seed(0)
    first, second = Linear(3, 2), Linear(3, 2)
    set_seed(0)
    again = Linear(3, 2)
    np.testing.assert_array_equal(first.weight.data, again.weight.data)
    np.testing.assert_array_equal(first.bias.data, again.bias.data)
    assert not np.array_equal(first.weight.data, second.weight.data)  # consecutive layers differ
    own = Linear(3, 2, rng=np.random.default_rng(5)).weight.data
    np.testing.assert_array_equal(own, Linear(3, 2, rng=np.random.default_rng(5)).weight.data)


class Normalizer(Module):
    """A module with a parameter and a buffer, as BatchNorm has (running statistics)."""

    def __init__(self):
        super().__init__()
        self.scale = Parameter(np.ones(3))
        self.register_buffer("running_mean", np.zeros(3))
        self.register_buffer("unused", None)

    def forward(self, x):
        self.running_mean = 0.9 * self.running_mean + 0.1 * x.mean(axis=0)  # stays registered
        return (x - self.running_mean) * self.scale.data


def test_buffers_go_into_state_dict_and_load_state_dict():
    model = Sequential(Normalizer(), Linear(3, 2, dtype=np.float64))
    model(np.ones((4, 3)))
    state = model.state_dict()
    assert list(state) == ["0.scale", "1.weight", "1.bias", "0.running_mean"]  # parameters, then buffers; None left out
    np.testing.assert_allclose(state["0.running_mean"], 0.1)
    assert [n for n, _ in model.named_parameters()] == ["0.scale", "1.weight", "1.bias"]  # no gradient for buffers

    fresh = Sequential(Normalizer(), Linear(3, 2, dtype=np.float64))
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh[0].running_mean, state["0.running_mean"])
    assert fresh[0]._buffers["running_mean"] is fresh[0].running_mean  # loaded into the registered array
    with pytest.raises(ValueError, match=r"missing keys \['0.running_mean'\]"):
        fresh.load_state_dict({k: v for k, v in state.items() if k != "0.running_mean"})
    with pytest.raises(KeyError, match="scale"):
        fresh[0].register_buffer("scale", np.zeros(3))


def test_sequential_container():
    a, b, c = Linear(2, 3), ReLU(), Linear(3, 1)
    model = Sequential(a, b, c)
    assert len(model) == 3 and list(model) == [a, b, c]
    assert model[0] is a and model[-1] is c
    tail = model[1:]
    assert isinstance(tail, Sequential) and list(tail) == [b, c]
    assert [n for n, _ in tail.named_parameters()] == ["2.weight", "2.bias"]  # names kept, as in torch
    with pytest.raises(TypeError, match="Module"):
        Sequential(a, np.tanh)


def test_custom_module_registers_attributes():
    class Block(Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(2, 2)
            self.scale = Parameter(np.ones(2))

        def forward(self, x):
            return self.fc(x) * self.scale.data

    assert [n for n, _ in Block().named_parameters()] == ["scale", "fc.weight", "fc.bias"]

    class Forgetful(Module):
        def __init__(self):
            self.fc = Linear(2, 2)

    with pytest.raises(AttributeError, match="super"):
        Forgetful()
