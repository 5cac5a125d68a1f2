"""Tests of the convolution layers: the teaching Conv2d (companion.nn.conv, on the page in chapter 6) and its tuned
twin FastConv2d (companion.nn.fast_conv): gradient checks in float64, agreement with torch.nn and with each
other, output sizes, errors, reprs, and the tuned version's reuse of its work arrays."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion import set_seed
from companion.gradcheck import check_functional, check_module
from companion.nn import (AvgPool2d, Conv2d, FastConv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential,
                          conv_output_size)
from companion.nn.conv import conv2d_backward, conv2d_forward, cross_correlate, pair
from companion.nn.fast_conv import folds_on_padded_grid
from twins import (TOL64, assert_backward_checks_order_and_grad_shape, assert_float32_forward_matches,
                   assert_matches_torch, torch_forward_backward)

# (id, Conv2d arguments, input shape): stride 1 and 2 (and mixed), padding 0/1/2 (and mixed), square and
# non-square kernels and inputs, odd sizes, strides that do not divide (rows past the last window), 1 to 4
# channels, with and without bias.
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
    ("k3-s3-p0-rest", dict(in_channels=2, out_channels=2, kernel_size=3, stride=3), (1, 2, 8, 10)),
    ("kernel-fills-input", dict(in_channels=2, out_channels=3, kernel_size=(4, 3)), (2, 2, 4, 3)),
]
CONV_IDS = [case[0] for case in CONV_CASES]
CLASSES = [Conv2d, FastConv2d]


def conv_case(name, cls=Conv2d, seed=0, dtype=np.float64):
    """(numpy layer of class ``cls``, torch twin with the same initial weights, input)."""
    args, shape = next((a, s) for n, a, s in CONV_CASES if n == name)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    twin = torch.nn.Conv2d(**args).double()
    conv = cls(**args, rng=rng, dtype=dtype)
    conv.load_state_dict(twin.state_dict())
    return conv, twin, rng.standard_normal(shape)


# --- the functional core (the cells of section 6.8) ------------------------------------------------------

@pytest.mark.parametrize("name", CONV_IDS)
def test_conv2d_functional_gradients(name):
    conv, _, x = conv_case(name)
    b = np.random.default_rng(1).standard_normal(conv.out_channels)

    def forward(x, w, b):
        return conv2d_forward(x, w, b, conv.stride, conv.padding)

    errors = check_functional(forward, conv2d_backward, x, conv.weight.data.copy(), b)
    assert len(errors) == 3 and max(errors) < 1e-6, errors  # a wrong gradient gives 1e-2 or more


def test_cross_correlate_is_the_formula():
    """The sum of section 6.1, written as loops, against cross_correlate, with and without a stride."""
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2))
    for s, t in ((1, 1), (2, 1), (2, 3)):
        got = cross_correlate(x, w, (s, t))
        ho, wo = (7 - 3) // s + 1, (6 - 2) // t + 1
        assert got.shape == (2, 4, ho, wo)
        for n, o, i, j in itertools.product(range(2), range(4), range(ho), range(wo)):
            expected = np.sum(w[o] * x[n, :, s * i:s * i + 3, t * j:t * j + 2])
            assert abs(got[n, o, i, j] - expected) < 1e-12


def test_conv2d_backward_is_correlation_and_full_convolution():
    """The two statements the chapter derives, checked by hand on one channel with stride 1: dw is the
    correlation of the input with dout, dx the full convolution of dout with the kernel (kernel flipped)."""
    rng = np.random.default_rng(3)
    x, w, dout = rng.standard_normal((1, 1, 6, 5)), rng.standard_normal((1, 1, 3, 2)), rng.standard_normal((1, 1, 4, 4))
    _, cache = conv2d_forward(x, w, None)
    dx, dw, db = conv2d_backward(dout, cache)
    np.testing.assert_allclose(dw[0, 0], cross_correlate(x, dout)[0, 0], **TOL64)
    full = np.zeros((6, 5))
    for i, j, u, v in itertools.product(range(4), range(4), range(3), range(2)):
        full[i + u, j + v] += dout[0, 0, i, j] * w[0, 0, u, v]  # the convolution sum: X index = i + u
    np.testing.assert_allclose(dx[0, 0], full, **TOL64)
    assert db.shape == (1,) and np.isclose(db[0], dout.sum())


def test_conv2d_functional_without_bias_matches_torch():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 3, 3))
    out, _ = conv2d_forward(x, w, None, (2, 1), (1, 2))
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(w), stride=(2, 1), padding=(1, 2)).numpy()
    np.testing.assert_allclose(out, expected, **TOL64)


# --- the layers: gradient checks, torch, each other --------------------------------------------------------

@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", CONV_IDS)
def test_gradcheck_conv2d(name, cls):
    conv, _, x = conv_case(name, cls)
    errors = check_module(conv, x)
    expected = {"input", "weight"} | ({"bias"} if conv.bias is not None else set())
    assert set(errors) == expected
    # The element-wise relative error is largest where a gradient element is near 0 (a few 1e-7 for the
    # padded cases); a wrong backward pass gives 1e-2 or more. Exact agreement with torch is tested below.
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", CONV_IDS)
def test_conv2d_matches_torch_float64(name, cls):
    conv, twin, x = conv_case(name, cls)
    assert_matches_torch(conv, twin, x)


@pytest.mark.parametrize("name", CONV_IDS)
def test_fast_conv2d_equals_the_teaching_conv2d(name):
    """Forward and every gradient of FastConv2d equal Conv2d's in float64 (same weights, two steps, so that
    the kept work arrays and the accumulation into .grad are exercised too)."""
    teaching, _, x = conv_case(name, Conv2d)
    fast, _, _ = conv_case(name, FastConv2d)
    rng = np.random.default_rng(5)
    for step in range(2):
        x_step = x + step
        out, out_fast = teaching(x_step), fast(x_step)
        g = rng.standard_normal(out.shape)
        np.testing.assert_allclose(out_fast, out, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fast.backward(g), teaching.backward(g), rtol=1e-12, atol=1e-12)
        for (n, p), (n_fast, p_fast) in zip(teaching.named_parameters(), fast.named_parameters()):
            assert n == n_fast
            np.testing.assert_allclose(p_fast.grad, p.grad, rtol=1e-12, atol=1e-12, err_msg=n)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", CONV_IDS)
def test_conv2d_matches_torch_float32_forward(name, cls):
    conv, twin, x = conv_case(name, cls, dtype=np.float32)
    assert_float32_forward_matches(conv, twin.float(), x, atol=1e-5)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_conv2d_float32_at_a_realistic_size(cls):
    """A batch of 28x28 images, as in the chapter: forward and all gradients in float32 agree with torch."""
    rng = np.random.default_rng(7)
    twin = torch.nn.Conv2d(8, 16, 3, padding=1)
    conv = cls(8, 16, 3, padding=1, rng=rng)
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


def test_the_cases_exercise_both_fold_grids_of_fast_conv2d():
    """FastConv2d folds stride-1 gradients on the padded grid when little is wasted, else on the output grid;
    the cases above must cover both, or one path would go untested."""
    padded_grid = []
    for _name, args, shape in CONV_CASES:
        (kh, kw), (sh, sw) = pair(args["kernel_size"], "k", "t"), pair(args.get("stride", 1), "s", "t")
        ph, pw = pair(args.get("padding", 0), "p", "t", minimum=0)
        hp, wp = shape[2] + 2 * ph, shape[3] + 2 * pw
        out = (conv_output_size(shape[2], kh, sh, ph), conv_output_size(shape[3], kw, sw, pw))
        padded_grid.append(folds_on_padded_grid((sh, sw), (hp, wp), out))
    assert any(padded_grid) and not all(padded_grid)
    assert folds_on_padded_grid((1, 1), (30, 30), (28, 28)) and not folds_on_padded_grid((2, 2), (30, 30), (14, 14))
    assert not folds_on_padded_grid((1, 1), (10, 10), (2, 2))  # mostly zeros: the output grid is cheaper


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_sequential_cnn_round_trips_state_dict_with_torch(cls):
    nn = torch.nn
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    twin = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4 * 5 * 6, 3)).double()
    model = Sequential(cls(1, 4, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2), Flatten(),
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


def test_gradcheck_small_cnn():
    rng = np.random.default_rng(5)
    model = Sequential(Conv2d(2, 3, 3, padding=1, rng=rng, dtype=np.float64), MaxPool2d(2),
                       FastConv2d(3, 2, (2, 3), stride=(1, 2), rng=rng, dtype=np.float64), AvgPool2d(2, stride=1),
                       Flatten(), Linear(4, 3, rng=rng, dtype=np.float64))
    # The random weights make ties in MaxPool2d's windows (almost surely) impossible.
    # (2, 2, 8, 10) -> conv (3, 8, 10) -> max pool (3, 4, 5) -> conv (2, 3, 2) -> avg pool (2, 2, 1) -> 4
    errors = check_module(model, rng.standard_normal((2, 2, 8, 10)))
    assert set(errors) == {"input", "0.weight", "0.bias", "2.weight", "2.bias", "5.weight", "5.bias"}
    assert max(errors.values()) < 1e-6, errors


# --- conv_output_size --------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", CONV_IDS)
def test_conv2d_output_shape_follows_conv_output_size(name, cls):
    conv, _, x = conv_case(name, cls)
    (kh, kw), (sh, sw), (ph, pw) = conv.kernel_size, conv.stride, conv.padding
    expected = (x.shape[0], conv.out_channels, conv_output_size(x.shape[2], kh, sh, ph),
                conv_output_size(x.shape[3], kw, sw, pw))
    assert conv(x).shape == expected


# --- construction, errors and printing ---------------------------------------------------------------------

@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_conv2d_init_like_torch(cls):
    conv = cls(16, 32, 3, rng=np.random.default_rng(0))
    bound = 1 / np.sqrt(16 * 3 * 3)
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    assert conv.weight.data.dtype == np.float32 and conv.bias.grad.dtype == np.float32
    for p in (conv.weight, conv.bias):
        assert 0.9 * bound < np.abs(p.data).max() <= bound
        assert not p.grad.any()
    assert abs(conv.weight.data.std() - bound / np.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b/sqrt(3)
    torch_weight = torch.nn.Conv2d(16, 32, 3).weight.detach().numpy()  # the same distribution in torch
    assert abs(torch_weight.std() - bound / np.sqrt(3)) < 0.05 * bound
    same = cls(16, 32, 3, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(conv.weight.data, same.weight.data)
    assert cls(2, 3, (2, 5), bias=False).bias is None


def test_set_seed_gives_both_versions_the_same_weights():
    set_seed(0)
    teaching = Conv2d(3, 4, 3)
    set_seed(0)
    fast = FastConv2d(3, 4, 3)
    np.testing.assert_array_equal(teaching.weight.data, fast.weight.data)
    np.testing.assert_array_equal(teaching.bias.data, fast.bias.data)
    assert not np.array_equal(Conv2d(3, 4, 3).weight.data, FastConv2d(3, 4, 3).weight.data)  # the stream moves on


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_conv2d_wrong_input_shapes_name_expected_and_actual(cls):
    conv = cls(3, 8, 3)
    name = cls.__name__
    with pytest.raises(ValueError, match=rf"^{name}\(3, 8, kernel_size=\(3, 3\), stride=\(1, 1\)\) expected input "
                                         r"of shape \(N, 3, H, W\), got \(2, 1, 28, 28\)$"):
        conv(np.zeros((2, 1, 28, 28)))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 3, H, W\), got \(3, 28, 28\)"):
        conv(np.zeros((3, 28, 28)))
    with pytest.raises(ValueError, match=r"too small for the kernel: the padded input is 4x6 \(H x W\), the kernel 5x5"):
        cls(3, 8, 5, padding=(0, 1))(np.zeros((1, 3, 4, 4)))


@pytest.mark.parametrize("make, match", [
    (lambda: Conv2d(0, 8, 3), "in_channels"),
    (lambda: Conv2d(3, True, 3), "out_channels"),
    (lambda: Conv2d(3, 8, 0), "kernel_size"),
    (lambda: Conv2d(3, 8, (3, 3, 3)), "kernel_size"),
    (lambda: Conv2d(3, 8, 3, stride=0), "stride"),
    (lambda: Conv2d(3, 8, 3, padding=-1), "padding"),
    (lambda: Conv2d(3, 8, 3, padding=1.0), "padding"),
    (lambda: FastConv2d(3, 8, (3, 0)), "kernel_size"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_backward_checks_order_and_grad_shape(cls):
    layer, x = cls(2, 3, 3), np.zeros((1, 2, 5, 5))
    assert_backward_checks_order_and_grad_shape(layer, x)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_conv2d_backward_accumulates_like_torch(cls):
    conv = cls(2, 3, 3, rng=np.random.default_rng(0), dtype=np.float64)
    x, g = np.ones((1, 2, 4, 4)), np.ones((1, 3, 2, 2))
    conv(x)
    conv.backward(g)
    once = conv.weight.grad.copy()
    conv.backward(g)
    np.testing.assert_allclose(conv.weight.grad, 2 * once)


@pytest.mark.parametrize("ours, theirs", [
    (Conv2d(16, 32, 3), torch.nn.Conv2d(16, 32, 3)),
    (Conv2d(3, 8, (3, 5), stride=2, padding=1, bias=False), torch.nn.Conv2d(3, 8, (3, 5), 2, 1, bias=False)),
    (Conv2d(3, 8, 3, padding=(1, 2)), torch.nn.Conv2d(3, 8, 3, padding=(1, 2))),
])
def test_repr_matches_torch(ours, theirs):
    assert repr(ours) == repr(theirs)
    fast = FastConv2d(ours.in_channels, ours.out_channels, ours.kernel_size, ours.stride, ours.padding,
                      ours.bias is not None)
    assert repr(fast) == "Fast" + repr(ours)  # same arguments, and its own name


def test_sequential_repr_matches_torch():
    nn = torch.nn
    model = Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(8 * 14 * 14, 10))
    twin = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(8 * 14 * 14, 10))
    assert repr(model) == repr(twin)


def test_fast_conv2d_reuses_its_work_arrays_safely_across_shapes():
    """FastConv2d keeps work arrays between calls; a change of input shape (even one with the same number of
    output positions) must not leave stale values, and results must never alias those arrays."""
    rng = np.random.default_rng(11)
    for args in (dict(kernel_size=3, padding=1), dict(kernel_size=(3, 2), stride=(2, 1), padding=(2, 1))):
        twin = torch.nn.Conv2d(3, 4, **args).double()
        conv = FastConv2d(3, 4, **args, rng=rng, dtype=np.float64)
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
        assert not conv._buffers, "work arrays are scratch, not registered buffers (they would enter state_dict)"
        assert list(conv.state_dict()) == ["weight", "bias"]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_conv2d_casts_the_input_to_the_weight_dtype(cls):
    rng = np.random.default_rng(12)
    twin = torch.nn.Conv2d(2, 3, 3, padding=1).double()
    conv64 = cls(2, 3, 3, padding=1, rng=rng, dtype=np.float64)
    conv32 = cls(2, 3, 3, padding=1, rng=rng, dtype=np.float32)
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
