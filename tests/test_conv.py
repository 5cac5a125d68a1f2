"""Tests of companion.nn: gradient checks, agreement with torch.nn, output sizes, errors and reprs."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.nn import AvgPool2d, Conv2d, Flatten, MaxPool2d, conv_output_size
from companion.gradcheck import check_module
from companion.nn import Linear, ReLU, Sequential
from twins import TOL64, assert_float32_forward_matches, assert_matches_torch, torch_forward_backward


# (id, Conv2d arguments, input shape): stride 1 and 2 (and mixed), padding 0/1/2 (and mixed), square and
# non-square kernels and inputs, odd sizes, 1 to 4 channels, with and without bias.
CONV_CASES = [
    ("k3-s1-p0", dict(in_channels=2, out_channels=3, kernel_size=3), (2, 2, 6, 7)),
    ("k3-s1-p1-nobias", dict(in_channels=3, out_channels=4, kernel_size=3, padding=1, bias=False), (2, 3, 5, 5)),
    ("k3-s1-p1-wide", dict(in_channels=3, out_channels=2, kernel_size=3, padding=1), (2, 3, 10, 11)),
    ("k3x2-s2-p1", dict(in_channels=2, out_channels=3, kernel_size=(3, 2), stride=2, padding=1), (2, 2, 7, 6)),
    ("k2x3-s21-p21", dict(in_channels=3, out_channels=2, kernel_size=(2, 3), stride=(2, 1), padding=(2, 1)),
     (1, 3, 5, 8)),
    ("k1x1", dict(in_channels=4, out_channels=2, kernel_size=1), (2, 4, 3, 5)),
    ("k5-s2-p2", dict(in_channels=1, out_channels=3, kernel_size=5, stride=2, padding=2), (3, 1, 9, 7)),
    ("k3-s12-p2-nobias", dict(in_channels=2, out_channels=2, kernel_size=3, stride=(1, 2), padding=2, bias=False),
     (2, 2, 4, 5)),
    ("kernel-fills-input", dict(in_channels=2, out_channels=3, kernel_size=(4, 3)), (2, 2, 4, 3)),
]

# (id, class, arguments, input shape)
POOL_CASES = [
    ("max-k2", MaxPool2d, dict(kernel_size=2), (2, 3, 6, 8)),
    ("max-k3-s2-p1", MaxPool2d, dict(kernel_size=3, stride=2, padding=1), (2, 2, 7, 9)),
    ("max-k2x3-s12", MaxPool2d, dict(kernel_size=(2, 3), stride=(1, 2)), (1, 3, 5, 7)),
    ("max-k3-s1-p1", MaxPool2d, dict(kernel_size=3, stride=1, padding=1), (2, 2, 5, 5)),
    ("avg-k2", AvgPool2d, dict(kernel_size=2), (2, 3, 6, 8)),
    ("avg-k3-s2-p1", AvgPool2d, dict(kernel_size=3, stride=2, padding=1), (2, 2, 7, 9)),
    ("avg-k2x3-s12-p11", AvgPool2d, dict(kernel_size=(2, 3), stride=(1, 2), padding=(1, 1)), (1, 3, 5, 7)),
    ("avg-k3-s1", AvgPool2d, dict(kernel_size=3, stride=1), (2, 2, 5, 6)),
]

FLATTEN_CASES = [
    ("flatten", dict(), (2, 3, 4, 5)),
    ("flatten-from-2", dict(start_dim=2), (2, 3, 4, 5)),
    ("flatten-1-to-2", dict(start_dim=1, end_dim=2), (2, 3, 4, 5)),
]

TORCH_POOLS = {MaxPool2d: torch.nn.MaxPool2d, AvgPool2d: torch.nn.AvgPool2d}


def distinct_values(rng, shape, gap=0.01):
    """Values at least `gap` apart (a shuffled grid around 0): no ties in a max, even after a 1e-6 nudge."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) * gap).reshape(shape)


def conv_case(name, seed=0, dtype=np.float64):
    """(numpy Conv2d, torch twin with the same initial weights, input)."""
    args, shape = next((a, s) for n, a, s in CONV_CASES if n == name)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    twin = torch.nn.Conv2d(**args).double()
    conv = Conv2d(**args, rng=rng, dtype=dtype)
    conv.load_state_dict(twin.state_dict())
    return conv, twin, rng.standard_normal(shape)


def pool_case(name, seed=0):
    cls, args, shape = next((c, a, s) for n, c, a, s in POOL_CASES if n == name)
    rng = np.random.default_rng(seed)
    x = distinct_values(rng, shape) if cls is MaxPool2d else rng.standard_normal(shape)
    return cls(**args), TORCH_POOLS[cls](**args), x


# --- gradient checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [c[0] for c in CONV_CASES])
def test_gradcheck_conv2d(name):
    conv, _, x = conv_case(name)
    errors = check_module(conv, x)
    expected = {"input", "weight"} | ({"bias"} if conv.bias is not None else set())
    assert set(errors) == expected
    # The element-wise relative error is largest where a gradient element is near 0 (a few 1e-7 for the
    # padded cases); a wrong backward pass gives 1e-2 or more. Exact agreement with torch is tested below.
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("name", [c[0] for c in POOL_CASES])
def test_gradcheck_pool(name):
    pool, _, x = pool_case(name)
    errors = check_module(pool, x)
    assert set(errors) == {"input"} and errors["input"] < 1e-6, errors


@pytest.mark.parametrize("args, shape", [c[1:] for c in FLATTEN_CASES], ids=[c[0] for c in FLATTEN_CASES])
def test_gradcheck_flatten(args, shape):
    errors = check_module(Flatten(**args), np.random.default_rng(0).standard_normal(shape))
    assert errors["input"] < 1e-7, errors


def test_gradcheck_small_cnn():
    rng = np.random.default_rng(5)
    model = Sequential(Conv2d(2, 3, 3, padding=1, rng=rng, dtype=np.float64), MaxPool2d(2),
                       Conv2d(3, 2, (2, 3), stride=(1, 2), rng=rng, dtype=np.float64), AvgPool2d(2, stride=1),
                       Flatten(), Linear(4, 3, rng=rng, dtype=np.float64))
    # The random weights make ties in MaxPool2d's windows (almost surely) impossible.
    # (2, 2, 8, 10) -> conv (3, 8, 10) -> max pool (3, 4, 5) -> conv (2, 3, 2) -> avg pool (2, 2, 1) -> 4
    errors = check_module(model, rng.standard_normal((2, 2, 8, 10)))
    assert set(errors) == {"input", "0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"}
    assert max(errors.values()) < 1e-6, errors


# --- agreement with torch ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", [c[0] for c in CONV_CASES])
def test_conv2d_matches_torch_float64(name):
    conv, twin, x = conv_case(name)
    assert_matches_torch(conv, twin, x)
    # the functional form too, with the weights passed explicitly
    bias = None if conv.bias is None else torch.from_numpy(conv.bias.data)
    out_f = F.conv2d(torch.from_numpy(x), torch.from_numpy(conv.weight.data), bias, stride=conv.stride,
                     padding=conv.padding)
    np.testing.assert_allclose(conv(x), out_f.numpy(), **TOL64)


@pytest.mark.parametrize("name", [c[0] for c in POOL_CASES])
def test_pool_matches_torch_float64(name):
    pool, twin, x = pool_case(name)
    assert_matches_torch(pool, twin, x)


@pytest.mark.parametrize("args, shape", [c[1:] for c in FLATTEN_CASES], ids=[c[0] for c in FLATTEN_CASES])
def test_flatten_matches_torch(args, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    assert_matches_torch(Flatten(**args), torch.nn.Flatten(**args), x)


@pytest.mark.parametrize("name", [c[0] for c in CONV_CASES])
def test_conv2d_matches_torch_float32_forward(name):
    conv, twin, x = conv_case(name, dtype=np.float32)
    assert_float32_forward_matches(conv, twin.float(), x, atol=1e-5)


def test_conv2d_float32_at_a_realistic_size():
    """A batch of 28x28 images, as in the chapter: forward and all gradients in float32 agree with torch."""
    rng = np.random.default_rng(7)
    twin = torch.nn.Conv2d(8, 16, 3, padding=1)
    conv = Conv2d(8, 16, 3, padding=1, rng=rng)
    conv.load_state_dict(twin.state_dict())
    x = rng.standard_normal((4, 8, 28, 28)).astype(np.float32)
    g = rng.standard_normal((4, 16, 28, 28)).astype(np.float32)
    out, dx = conv(x), conv.backward(g)
    assert out.dtype == dx.dtype == conv.weight.grad.dtype == np.float32
    xt = torch.from_numpy(x).requires_grad_(True)
    out_t = twin(xt)
    out_t.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out, out_t.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(conv.weight.grad, twin.weight.grad.numpy(), rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(conv.bias.grad, twin.bias.grad.numpy(), rtol=1e-4, atol=1e-3)


def test_both_compute_grids_are_exercised():
    """Conv2d computes stride-1 layers on the padded grid when little is wasted, else on the output grid."""
    flat = []
    for name, args, shape in CONV_CASES:
        conv, _, x = conv_case(name)
        geometry = conv._geometry(x)
        flat.append((geometry["hg"], geometry["wg"]) != (geometry["ho"], geometry["wo"]))
    assert any(flat) and not all(flat)


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_like_torch():
    x = np.array([[[[1.0, 3.0, 3.0, 0.0],
                    [3.0, 2.0, 5.0, 5.0],
                    [0.0, 0.0, 4.0, 4.0],
                    [0.0, 0.0, 4.0, 4.0]]]])
    pool = MaxPool2d(2)
    np.testing.assert_array_equal(pool(x), [[[[3.0, 5.0], [0.0, 4.0]]]])
    dx = pool.backward(np.ones((1, 1, 2, 2)))
    xt = torch.tensor(x, requires_grad=True)
    torch.nn.MaxPool2d(2)(xt).sum().backward()
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    assert dx.sum() == 4 and dx[0, 0, 0, 1] == 1 and dx[0, 0, 1, 2] == 1 and dx[0, 0, 2, 0] == 1


def test_sequential_cnn_round_trips_state_dict_with_torch():
    nn = torch.nn
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    twin = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 5 * 6, 3)).double()
    model = Sequential(Conv2d(1, 4, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(),
                       Linear(4 * 5 * 6, 3, rng=rng)).astype(np.float64)
    assert list(model.state_dict()) == list(twin.state_dict()) == ["0.weight", "0.bias", "4.weight", "4.bias"]
    model.load_state_dict(twin.state_dict())  # torch -> numpy
    twin2 = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(4 * 5 * 6, 3)).double()
    twin2.load_state_dict({k: torch.from_numpy(v) for k, v in model.state_dict().items()})  # numpy -> torch

    x = rng.standard_normal((3, 1, 10, 12))
    for torch_model in (twin, twin2):
        model.zero_grad()
        assert_matches_torch(model, torch_model, x)


# --- conv_output_size --------------------------------------------------------------------------------

def test_conv_output_size_agrees_with_torch():
    checked = rejected = 0
    for n, k, s, p in itertools.product(range(1, 10), range(1, 6), range(1, 4), range(0, 3)):
        x = torch.zeros(1, 1, n, 3)
        w = torch.zeros(1, 1, k, 1)
        if n + 2 * p >= k:
            expected = F.conv2d(x, w, stride=(s, 1), padding=(p, 0)).shape[2]
            assert conv_output_size(n, k, s, p) == expected, (n, k, s, p)
            checked += 1
        else:
            with pytest.raises(RuntimeError):
                F.conv2d(x, w, stride=(s, 1), padding=(p, 0))
            with pytest.raises(ValueError, match="larger than the padded input"):
                conv_output_size(n, k, s, p)
            rejected += 1
    assert checked > 300 and rejected > 10


def test_conv_output_size_examples_and_bad_arguments():
    assert conv_output_size(28, 3, 1, 1) == 28
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(7, 3, 2, 1) == 4
    assert conv_output_size(4, 4) == 1
    with pytest.raises(ValueError, match=r"kernel_size=5 is larger than the padded input 3 \+ 2\*0 = 3"):
        conv_output_size(3, 5)
    for bad in (dict(kernel_size=0), dict(stride=0), dict(padding=-1), dict(stride=1.5)):
        with pytest.raises(ValueError, match=next(iter(bad))):
            conv_output_size(**{"n": 8, "kernel_size": 3, **bad})


@pytest.mark.parametrize("name", [c[0] for c in CONV_CASES])
def test_conv2d_output_shape_follows_conv_output_size(name):
    conv, _, x = conv_case(name)
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    expected = (x.shape[0], conv.out_channels, conv_output_size(x.shape[2], kh, sh, ph),
                conv_output_size(x.shape[3], kw, sw, pw))
    assert conv(x).shape == expected


# --- construction, errors and printing ---------------------------------------------------------------

def test_conv2d_init_like_torch():
    conv = Conv2d(16, 32, 3, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(16 * 3 * 3)
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    assert conv.weight.data.dtype == np.float32 and conv.bias.grad.dtype == np.float32
    for p in (conv.weight, conv.bias):
        assert 0.9 * bound < np.abs(p.data).max() <= bound
        assert not p.grad.any()
    assert abs(conv.weight.data.std() - bound / np.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b/sqrt(3)
    torch_weight = torch.nn.Conv2d(16, 32, 3).weight.detach().numpy()  # the same distribution in torch
    assert abs(torch_weight.std() - bound / np.sqrt(3)) < 0.05 * bound
    same = Conv2d(16, 32, 3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(conv.weight.data, same.weight.data)
    assert Conv2d(2, 3, (2, 5), bias=False).bias is None


def test_conv2d_wrong_input_shapes_name_expected_and_actual():
    conv = Conv2d(3, 8, 3)
    with pytest.raises(ValueError, match=r"^Conv2d\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\) expected input "
                                         r"of shape \(N, 3, H, W\), got \(2, 1, 28, 28\)$"):
        conv(np.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\), got \(3, 28, 28\)"):
        conv(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match=r"too small for the kernel: the padded input is 4x6 \(H x W\), the kernel 5x5"):
        Conv2d(3, 8, 5, padding=(0, 1))(np.zeros((1, 3, 4, 4)))


def test_pool_and_flatten_wrong_shapes():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2, .*\) expected input of shape \(N, C, H, W\), "
                                         r"got \(4, 4\)"):
        MaxPool2d(2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"AvgPool2d\(kernel_size=5, stride=5, padding=0\): input of shape "
                                         r"\(1, 2, 3, 3\) is too small for the kernel"):
        AvgPool2d(5)(np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"at least 2 axes, got shape \(3,\)"):
        Flatten()(np.zeros(3))


@pytest.mark.parametrize("make, match", [
    (lambda: Conv2d(0, 8, 3), "in_channels"),
    (lambda: Conv2d(3, 8, 0), "kernel_size"),
    (lambda: Conv2d(3, 8, (3, 3, 3)), "kernel_size"),
    (lambda: Conv2d(3, 8, 3, stride=0), "stride"),
    (lambda: Conv2d(3, 8, 3, padding=-1), "padding"),
    (lambda: MaxPool2d(2, padding=2), "at most half the kernel size"),
    (lambda: AvgPool2d((3, 2), padding=(1, 2)), "at most half the kernel size"),
    (lambda: MaxPool2d(2, stride=0), "stride"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("layer, x", [
    (Conv2d(2, 3, 3), np.zeros((1, 2, 5, 5))),
    (MaxPool2d(2), np.zeros((1, 2, 4, 4))),
    (AvgPool2d(2), np.zeros((1, 2, 4, 4))),
    (Flatten(), np.zeros((1, 2, 4, 4))),
], ids=["conv", "maxpool", "avgpool", "flatten"])
def test_backward_checks_order_and_grad_shape(layer, x):
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 1)))
    out = layer(x)
    with pytest.raises(ValueError) as info:
        layer.backward(np.ones(out.shape + (1,)))
    assert str(out.shape) in str(info.value) and str(out.shape + (1,)) in str(info.value)


def test_conv2d_backward_accumulates_like_torch():
    conv = Conv2d(2, 3, 3, rng=np.random.default_rng(0), dtype=np.float64)
    x, g = np.ones((1, 2, 4, 4)), np.ones((1, 3, 2, 2))
    conv(x)
    conv.backward(g)
    once = conv.weight.grad.copy()
    conv.backward(g)
    np.testing.assert_allclose(conv.weight.grad, 2 * once)


def test_outputs_are_new_arrays():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    out = Flatten()(x)
    x[...] = 0  # changing the input must not change an earlier output
    np.testing.assert_array_equal(out, np.arange(24.0).reshape(1, 24))


@pytest.mark.parametrize("ours, theirs", [
    (Conv2d(16, 32, 3), torch.nn.Conv2d(16, 32, 3)),
    (Conv2d(3, 8, (3, 5), stride=2, padding=1, bias=False), torch.nn.Conv2d(3, 8, (3, 5), 2, 1, bias=False)),
    (Conv2d(3, 8, 3, padding=(1, 2)), torch.nn.Conv2d(3, 8, 3, padding=(1, 2))),
    (MaxPool2d(2), torch.nn.MaxPool2d(2)),
    (MaxPool2d((2, 3), stride=1, padding=1), torch.nn.MaxPool2d((2, 3), stride=1, padding=1)),
    (AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
    (Flatten(), torch.nn.Flatten()),
    (Flatten(2, 3), torch.nn.Flatten(2, 3)),
])
def test_repr_matches_torch(ours, theirs):
    assert repr(ours) == repr(theirs)


def test_sequential_repr_matches_torch():
    nn = torch.nn
    model = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 14 * 14, 10))
    twin = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 14 * 14, 10))
    assert repr(model) == repr(twin)


def test_conv2d_reuses_its_work_buffers_safely_across_shapes():
    """Conv2d keeps work arrays between calls; a change of input shape (even one with the same number of
    output positions, or of dtype) must not leave stale values, and results must never alias those arrays."""
    rng = np.random.default_rng(11)
    for args in (dict(kernel_size=3, padding=1), dict(kernel_size=(3, 2), stride=(2, 1), padding=(2, 1))):
        twin = torch.nn.Conv2d(3, 4, **args).double()
        conv = Conv2d(3, 4, **args, rng=rng, dtype=np.float64)
        conv.load_state_dict(twin.state_dict())
        # (2, 6, 4) and (2, 4, 6) and (3, 4, 4)-like shapes give equal N*Ho*Wo for some of these layers.
        shapes = [(2, 3, 6, 4), (2, 3, 4, 6), (3, 3, 4, 4), (2, 3, 6, 4), (1, 3, 9, 7), (2, 3, 6, 4)]
        previous = None
        for shape in shapes:
            x = rng.standard_normal(shape)
            conv.zero_grad()
            for p in twin.parameters():
                p.grad = None
            out = conv(x)
            g = rng.standard_normal(out.shape)
            dx = conv.backward(g)
            out_t, dx_t, grads_t = torch_forward_backward(twin, x, g)
            np.testing.assert_allclose(out, out_t, **TOL64)
            np.testing.assert_allclose(dx, dx_t, **TOL64)
            np.testing.assert_allclose(conv.weight.grad, grads_t["weight"], **TOL64)
            np.testing.assert_allclose(conv.bias.grad, grads_t["bias"], **TOL64)
            if previous is not None:  # the last call's results are untouched by this one
                np.testing.assert_array_equal(previous[0], previous[1])
                np.testing.assert_array_equal(previous[2], previous[3])
            previous = (out, out.copy(), dx, dx.copy())


def test_conv2d_casts_the_input_to_the_weight_dtype():
    rng = np.random.default_rng(12)
    twin = torch.nn.Conv2d(2, 3, 3, padding=1).double()
    conv64 = Conv2d(2, 3, 3, padding=1, rng=rng, dtype=np.float64)
    conv32 = Conv2d(2, 3, 3, padding=1, rng=rng, dtype=np.float32)
    conv64.load_state_dict(twin.state_dict())
    conv32.load_state_dict(twin.state_dict())
    x = rng.standard_normal((2, 2, 5, 6))
    g = rng.standard_normal((2, 3, 5, 6))
    out_t, dx_t, _ = torch_forward_backward(twin, x, g)
    out, dx = conv64(x.astype(np.float32)), conv64.backward(g.astype(np.float32))
    assert out.dtype == dx.dtype == np.float64
    np.testing.assert_array_equal(out, conv64(x.astype(np.float32).astype(np.float64)))  # widened exactly
    out, dx = conv32(x), conv32.backward(g)
    assert out.dtype == dx.dtype == conv32.weight.grad.dtype == np.float32
    np.testing.assert_allclose(out, out_t, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dx, dx_t, rtol=1e-5, atol=1e-5)
