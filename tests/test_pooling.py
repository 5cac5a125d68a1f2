"""Tests of the pooling layers (companion.nn.pooling, on the page in chapter 6) and Flatten (companion.nn.flatten):
functional cores and Modules, float64 gradient checks, agreement with torch.nn, gradient routing, errors, reprs."""
import numpy as np
import pytest
import torch

from companion.gradcheck import check_functional, check_module
from companion.nn import AvgPool2d, Flatten, MaxPool2d
from companion.nn.pooling import (avg_pool2d_backward, avg_pool2d_forward, fold_windows, max_pool2d_backward,
                                  max_pool2d_forward, pool_windows)
from twins import assert_backward_checks_order_and_grad_shape, assert_matches_torch

# (id, class, arguments, input shape): overlapping and non-overlapping windows, padding, non-square windows and
# strides, sizes the stride does not divide.
POOL_CASES = [
    ("max-k2", MaxPool2d, dict(kernel_size=2), (2, 3, 6, 8)),
    ("max-k3-s2-p1", MaxPool2d, dict(kernel_size=3, stride=2, padding=1), (2, 2, 7, 9)),
    ("max-k2x3-s12", MaxPool2d, dict(kernel_size=(2, 3), stride=(1, 2)), (1, 3, 5, 7)),
    ("max-k3-s1-p1", MaxPool2d, dict(kernel_size=3, stride=1, padding=1), (2, 2, 5, 5)),
    ("max-k2-odd", MaxPool2d, dict(kernel_size=2), (1, 2, 7, 5)),
    ("avg-k2", AvgPool2d, dict(kernel_size=2), (2, 3, 6, 8)),
    ("avg-k3-s2-p1", AvgPool2d, dict(kernel_size=3, stride=2, padding=1), (2, 2, 7, 9)),
    ("avg-k3-s1", AvgPool2d, dict(kernel_size=3, stride=1), (2, 2, 5, 6)),
    ("avg-k2x3-s21-p11", AvgPool2d, dict(kernel_size=(2, 3), stride=(2, 1), padding=1), (1, 2, 5, 6)),
]
POOL_IDS = [case[0] for case in POOL_CASES]
TORCH_POOLS = {MaxPool2d: torch.nn.MaxPool2d, AvgPool2d: torch.nn.AvgPool2d}
FUNCTIONAL = {MaxPool2d: (max_pool2d_forward, max_pool2d_backward), AvgPool2d: (avg_pool2d_forward, avg_pool2d_backward)}

FLATTEN_CASES = [
    ("flatten", dict(), (2, 3, 4, 5)),
    ("flatten-from-2", dict(start_dim=2), (2, 3, 4, 5)),
    ("flatten-1-to-2", dict(start_dim=1, end_dim=2), (2, 3, 4, 5)),
]


def distinct_values(rng, shape, gap=0.01):
    """Values at least `gap` apart (a shuffled grid around 0): no ties in a max, even after a 1e-6 nudge."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2) * gap).reshape(shape)


def pool_case(name, seed=0):
    cls, args, shape = next((c, a, s) for n, c, a, s in POOL_CASES if n == name)
    rng = np.random.default_rng(seed)
    x = distinct_values(rng, shape) if cls is MaxPool2d else rng.standard_normal(shape)
    return cls(**args), TORCH_POOLS[cls](**args), x


# --- functional cores ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", POOL_IDS)
def test_pool_functional_gradients(name):
    pool, _, x = pool_case(name)
    forward, backward = FUNCTIONAL[type(pool)]
    [error] = check_functional(lambda x: forward(x, pool._k, pool._s, pool._p), backward, x)
    assert error < 1e-6, error


def test_pool_windows_are_the_windows_of_the_padded_input():
    x = np.arange(2 * 1 * 5 * 6, dtype=float).reshape(2, 1, 5, 6)
    windows = pool_windows(x, (3, 2), (2, 2), (1, 1), fill=-1.0)
    assert windows.shape == (2, 1, 3, 4, 3, 2)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-1.0)
    for i in range(3):
        for j in range(4):
            np.testing.assert_array_equal(windows[:, :, i, j], padded[:, :, 2 * i:2 * i + 3, 2 * j:2 * j + 2])


def test_fold_windows_is_the_adjoint_of_pool_windows():
    """<windows(x), d> = <x, fold(d)> for any x and d: folding is the transpose of taking windows (padding 0,
    so that the padding's gradient, which fold drops, does not enter)."""
    rng = np.random.default_rng(1)
    for kernel, stride in (((2, 2), (2, 2)), ((3, 3), (1, 1)), ((3, 2), (2, 1))):
        x = rng.standard_normal((2, 3, 7, 6))
        windows = pool_windows(x, kernel, stride, (0, 0), fill=0.0)
        d = rng.standard_normal(windows.shape)
        assert np.isclose(np.sum(windows * d), np.sum(x * fold_windows(d, x.shape, stride, (0, 0))))


def test_max_pool_routes_each_window_gradient_to_its_maximum():
    """Non-overlapping windows: the input gradient is dout at each window's argmax and 0 elsewhere."""
    rng = np.random.default_rng(2)
    x = distinct_values(rng, (2, 3, 6, 4))
    out, cache = max_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    dout = rng.standard_normal(out.shape)
    dx = max_pool2d_backward(dout, cache)
    assert np.count_nonzero(dx) == dout.size
    for n, c, i, j in np.ndindex(out.shape):
        window = x[n, c, 2 * i:2 * i + 2, 2 * j:2 * j + 2]
        u, v = np.unravel_index(window.argmax(), window.shape)
        assert dx[n, c, 2 * i + u, 2 * j + v] == dout[n, c, i, j] and window[u, v] == out[n, c, i, j]


def test_overlapping_max_windows_add_their_gradients():
    """A value that is the maximum of several overlapping windows gets the sum of their gradients."""
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the maximum of all four 2x2 windows (stride 1)
    out, cache = max_pool2d_forward(x, (2, 2), (1, 1), (0, 0))
    dx = max_pool2d_backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    assert np.all(out == 5.0) and dx[0, 0, 1, 1] == 10.0 and np.count_nonzero(dx) == 1


def test_avg_pool_shares_each_window_gradient_equally():
    x = np.random.default_rng(3).standard_normal((1, 2, 4, 4))
    out, cache = avg_pool2d_forward(x, (2, 2), (2, 2), (0, 0))
    dx = avg_pool2d_backward(np.ones(out.shape), cache)
    np.testing.assert_array_equal(dx, np.full(x.shape, 0.25))


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


# --- the layers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", POOL_IDS)
def test_gradcheck_pool(name):
    pool, _, x = pool_case(name)
    errors = check_module(pool, x)
    assert set(errors) == {"input"} and errors["input"] < 1e-6, errors


@pytest.mark.parametrize("name", POOL_IDS)
def test_pool_matches_torch_float64(name):
    pool, twin, x = pool_case(name)
    assert_matches_torch(pool, twin, x)


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d], ids=lambda c: c.__name__)
def test_pool_keeps_a_float_dtype_and_makes_integers_float32(cls):
    assert cls(2)(np.ones((1, 1, 4, 4), np.float64)).dtype == np.float64
    assert cls(2)(np.ones((1, 1, 4, 4), np.float32)).dtype == np.float32
    assert cls(2)(np.ones((1, 1, 4, 4), np.int64)).dtype == np.float32


@pytest.mark.parametrize("args, shape", [c[1:] for c in FLATTEN_CASES], ids=[c[0] for c in FLATTEN_CASES])
def test_gradcheck_flatten(args, shape):
    errors = check_module(Flatten(**args), np.random.default_rng(0).standard_normal(shape))
    assert errors["input"] < 1e-7, errors


@pytest.mark.parametrize("args, shape", [c[1:] for c in FLATTEN_CASES], ids=[c[0] for c in FLATTEN_CASES])
def test_flatten_matches_torch(args, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    assert_matches_torch(Flatten(**args), torch.nn.Flatten(**args), x)


def test_flatten_output_is_a_new_array():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    out = Flatten()(x)
    x[...] = 0  # changing the input must not change an earlier output
    np.testing.assert_array_equal(out, np.arange(24.0).reshape(1, 24))


def test_pool_and_flatten_wrong_shapes():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2, .*\) expected input of shape \(N, C, H, W\), "
                                         r"got \(4, 4\)"):
        MaxPool2d(2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"AvgPool2d\(kernel_size=5, stride=5, padding=0\): input of shape "
                                         r"\(1, 2, 3, 3\) is too small for the kernel"):
        AvgPool2d(5)(np.zeros((1, 2, 3, 3)))
    with pytest.raises(ValueError, match=r"at least 2 axes, got shape \(3,\)"):
        Flatten()(np.zeros(3))
    with pytest.raises(ValueError, match=r"start_dim comes after end_dim"):
        Flatten(2, 1)(np.zeros((2, 3, 4)))


@pytest.mark.parametrize("make, match", [
    (lambda: MaxPool2d(2, padding=2), "at most half the kernel size"),
    (lambda: AvgPool2d((3, 2), padding=(1, 2)), "at most half the kernel size"),
    (lambda: MaxPool2d(2, stride=0), "stride"),
    (lambda: AvgPool2d(0), "kernel_size"),
    (lambda: MaxPool2d(2, padding=-1), "padding"),
])
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("layer, x", [
    (MaxPool2d(2), np.zeros((1, 2, 4, 4))),
    (AvgPool2d(2), np.zeros((1, 2, 4, 4))),
    (Flatten(), np.zeros((1, 2, 4, 4))),
], ids=["maxpool", "avgpool", "flatten"])
def test_backward_checks_order_and_grad_shape(layer, x):
    assert_backward_checks_order_and_grad_shape(layer, x)


@pytest.mark.parametrize("ours, theirs", [
    (MaxPool2d(2), torch.nn.MaxPool2d(2)),
    (MaxPool2d((2, 3), stride=1, padding=1), torch.nn.MaxPool2d((2, 3), stride=1, padding=1)),
    (AvgPool2d(3, 2, 1), torch.nn.AvgPool2d(3, 2, 1)),
    (Flatten(), torch.nn.Flatten()),
    (Flatten(2, 3), torch.nn.Flatten(2, 3)),
])
def test_repr_matches_torch(ours, theirs):
    assert repr(ours) == repr(theirs)
