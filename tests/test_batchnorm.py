"""companion.nn.BatchNorm1d / BatchNorm2d against torch.nn.BatchNorm1d / BatchNorm2d in float64: forward and
backward in training and evaluation mode, the running averages after several steps, state_dict with torch's names,
gradient checks of the functional core and the Module, and the errors."""
import numpy as np
import pytest
import torch

from companion.gradcheck import check_functional, check_module
from companion.nn import BatchNorm1d, BatchNorm2d, Linear, ReLU, Sequential
from companion.nn.normalization import batch_norm_backward, batch_norm_forward
from twins import TOL64, assert_backward_checks_order_and_grad_shape

CASES = [  # (numpy class, torch class, input shape)
    (BatchNorm1d, torch.nn.BatchNorm1d, (8, 3)),
    (BatchNorm1d, torch.nn.BatchNorm1d, (5, 3, 4)),
    (BatchNorm2d, torch.nn.BatchNorm2d, (4, 3, 2, 5)),
]
IDS = ["1d-NC", "1d-NCL", "2d-NCHW"]


def make_pair(cls, tcls, rng, **kwargs):
    """A NumPy layer with random affine parameters and its torch twin with the same state."""
    bn = cls(3, dtype=np.float64, **kwargs)
    twin = tcls(3, **kwargs).double()
    if bn.weight is not None:
        bn.weight.data[:] = rng.uniform(0.5, 2.0, 3)
        bn.bias.data[:] = rng.standard_normal(3)
    twin.load_state_dict({k: torch.tensor(v) for k, v in bn.state_dict().items()}, strict=False)
    return bn, twin


def step_both(bn, twin, x, g):
    out = bn(x)
    dx = bn.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    out_t = twin(xt)
    (out_t * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL64)
    for name, param in twin.named_parameters():
        np.testing.assert_allclose(dict(bn.named_parameters())[name].grad, param.grad.numpy(), **TOL64, err_msg=name)


@pytest.mark.parametrize("cls,tcls,shape", CASES, ids=IDS)
@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_training_steps_and_running_statistics_equal_torch(cls, tcls, shape, momentum):
    rng = np.random.default_rng(0)
    bn, twin = make_pair(cls, tcls, rng, momentum=momentum)
    for step in range(5):  # several steps: the running averages accumulate
        x = 3.0 * rng.standard_normal(shape) + rng.standard_normal(shape[1]).reshape((1, -1) + (1,) * (len(shape) - 2))
        step_both(bn, twin, x, rng.standard_normal(shape))
        state_t = twin.state_dict()
        assert list(bn.state_dict()) == list(state_t)  # torch's names, in torch's order
        for name, value in bn.state_dict().items():
            np.testing.assert_allclose(value, state_t[name].numpy(), **TOL64, err_msg=name)
    assert int(bn.num_batches_tracked) == 5 and bn.num_batches_tracked.dtype == np.int64
    bn.eval(), twin.eval()
    x = rng.standard_normal(shape)
    step_both(bn, twin, x, rng.standard_normal(shape))  # evaluation: the running averages, left unchanged
    np.testing.assert_allclose(bn.running_mean, twin.running_mean.numpy(), **TOL64)
    assert int(bn.num_batches_tracked) == 5


def test_running_variance_is_unbiased_and_normalization_biased():
    x = np.array([[0.0], [2.0]])  # mean 1, biased variance 1, unbiased 2
    bn = BatchNorm1d(1, momentum=1.0, eps=0.0 + 1e-12, dtype=np.float64)
    out = bn(x)
    np.testing.assert_allclose(out[:, 0], [-1.0, 1.0], rtol=1e-9)  # divided by the biased std, 1
    np.testing.assert_allclose(bn.running_var, [2.0])
    np.testing.assert_allclose(bn.running_mean, [1.0])


@pytest.mark.parametrize("cls,tcls,shape", CASES, ids=IDS)
@pytest.mark.parametrize("affine,track", [(False, True), (True, False), (False, False)])
def test_options_equal_torch(cls, tcls, shape, affine, track):
    rng = np.random.default_rng(1)
    bn, twin = make_pair(cls, tcls, rng, affine=affine, track_running_stats=track)
    assert list(bn.state_dict()) == list(twin.state_dict())
    for mode in (True, False, True):
        bn.train(mode), twin.train(mode)
        step_both(bn, twin, rng.standard_normal(shape), rng.standard_normal(shape))
    assert repr(bn) == repr(twin)


@pytest.mark.parametrize("cls,tcls,shape", CASES, ids=IDS)
def test_gradcheck_module_in_both_modes(cls, tcls, shape):
    rng = np.random.default_rng(2)
    bn, _twin = make_pair(cls, tcls, rng)
    x = rng.standard_normal(shape)
    assert max(check_module(bn, x).values()) < 1e-6  # training mode: batch statistics
    bn.running_mean[:] = rng.standard_normal(3)
    bn.running_var[:] = rng.uniform(0.5, 2.0, 3)
    bn.eval()
    assert max(check_module(bn, x).values()) < 1e-7


def test_gradcheck_functional_core():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((6, 4, 3)), rng.uniform(0.5, 2, 4), rng.standard_normal(4)
    assert max(check_functional(lambda x, w, b: batch_norm_forward(x, w, b),
                                lambda dout, cache: batch_norm_backward(dout, cache), x, w, b)) < 1e-6
    mean, var = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    assert max(check_functional(lambda x, w, b: batch_norm_forward(x, w, b, mean, var),
                                lambda dout, cache: batch_norm_backward(dout, cache), x, w, b)) < 1e-7


def test_state_dict_round_trip_with_torch():
    rng = np.random.default_rng(4)
    twin = torch.nn.BatchNorm2d(3).double()
    with torch.no_grad():
        twin(torch.randn(6, 3, 4, 4, dtype=torch.float64) * 2 + 1)  # moves torch's running averages
        twin.weight.uniform_(0.5, 2.0)
    bn = BatchNorm2d(3, dtype=np.float64)
    bn.load_state_dict(twin.state_dict())
    assert int(bn.num_batches_tracked) == 1
    bn.eval(), twin.eval()
    x = rng.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(bn(x), twin(torch.from_numpy(x)).detach().numpy(), **TOL64)
    back = torch.nn.BatchNorm2d(3).double()
    back.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in bn.state_dict().items()})
    for name, value in back.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), twin.state_dict()[name].numpy())


def test_in_a_network_and_float32():
    rng = np.random.default_rng(5)
    net = Sequential(Linear(4, 6, rng=rng), BatchNorm1d(6), ReLU(), Linear(6, 2, rng=rng))
    out = net(rng.standard_normal((10, 4)).astype(np.float32))
    assert out.dtype == np.float32 and net[1].running_mean.dtype == np.float32
    dx = net.backward(np.ones_like(out))
    assert dx.shape == (10, 4) and dx.dtype == np.float32
    assert net.state_dict()["1.num_batches_tracked"] == 1
    bn = BatchNorm1d(3).astype(np.float64)
    assert bn.running_var.dtype == np.float64 and bn.weight.data.dtype == np.float64


def test_errors():
    bn = BatchNorm2d(3)
    with pytest.raises(ValueError, match=r"BatchNorm2d expected input of shape \(N, 3, H, W\), got \(2, 3, 4\)"):
        bn(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(N, 4\) or \(N, 4, L\), got \(2, 3\)"):
        BatchNorm1d(4)(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(np.zeros((1, 3)))
    BatchNorm1d(3).eval()(np.zeros((1, 3)))  # evaluation mode takes one example
    with pytest.raises(ValueError, match="more than 1 value per channel"):  # no running statistics: torch refuses
        BatchNorm1d(3, track_running_stats=False).eval()(np.zeros((1, 3)))
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(3, track_running_stats=False).eval()(torch.zeros(1, 3))
    BatchNorm2d(3)(np.random.default_rng(0).standard_normal((1, 3, 2, 2)))  # one image has H*W values per channel
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        BatchNorm1d(3, momentum=-0.1)
    assert_backward_checks_order_and_grad_shape(BatchNorm1d(3, dtype=np.float64), np.random.default_rng(0).standard_normal((4, 3)))
