"""companion.nn.Dropout against torch.nn.Dropout: torch's mask cannot be drawn from NumPy's generator, so the
tests give both the same mask (the scaling and the backward pass), check evaluation mode, the keep fraction with
a fixed seed, the seeding, p = 0 and p = 1, and the errors."""
import numpy as np
import pytest
import torch

from companion import set_seed
from companion.gradcheck import check_functional
from companion.nn import Dropout, Linear, Sequential
from companion.nn.dropout import dropout_backward, dropout_forward
from twins import TOL64, assert_backward_checks_order_and_grad_shape


def torch_mask_and_grad(p, x, g, seed=0):
    """torch's Dropout output and input gradient, and the mask it drew (where the output is not zero)."""
    torch.manual_seed(seed)
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.Dropout(p)(xt)
    (out * torch.from_numpy(g)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), out.detach().numpy() != 0


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_same_mask_gives_torchs_output_and_gradient(p):
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 2.0, (50, 40))  # no zeros: the mask is where torch's output is non-zero
    g = rng.standard_normal(x.shape)
    out_t, dx_t, keep = torch_mask_and_grad(p, x, g)
    out, cache = dropout_forward(x, keep, p)
    np.testing.assert_allclose(out, out_t, **TOL64)
    np.testing.assert_allclose(dropout_backward(g, cache), dx_t, **TOL64)
    np.testing.assert_allclose(out[keep], x[keep] / (1 - p), **TOL64)  # inverted dropout: survivors scaled up


def test_module_uses_the_mask_it_draws_and_backward_uses_it_too():
    set_seed(0)
    layer = Dropout(0.5)
    x = np.random.default_rng(1).uniform(0.5, 2.0, (8, 9))
    out = layer(x)
    assert layer.mask.shape == x.shape and layer.mask.dtype == bool
    np.testing.assert_allclose(out, np.where(layer.mask, 2 * x, 0.0), **TOL64)
    g = np.random.default_rng(2).standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(g), np.where(layer.mask, 2 * g, 0.0), **TOL64)


def test_evaluation_mode_is_the_identity_as_in_torch():
    x = np.random.default_rng(0).standard_normal((6, 5))
    layer, twin = Dropout(0.7).eval(), torch.nn.Dropout(0.7).eval()
    np.testing.assert_array_equal(layer(x), twin(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(layer(x), x)
    g = np.ones_like(x) * 3
    np.testing.assert_array_equal(layer.backward(g), g)
    assert layer.mask is None


def test_keep_fraction_and_mean_with_a_fixed_seed():
    set_seed(123)
    x = np.ones((400, 500), dtype=np.float32)
    for p in (0.2, 0.5):
        out = Dropout(p)(x)
        assert out.dtype == np.float32
        keep = (out != 0).mean()
        # 200,000 Bernoulli draws: the standard error of the fraction is below 0.0012; 5 of them is 0.006
        assert abs(keep - (1 - p)) < 0.006, keep
        assert abs(out.mean() - 1.0) < 0.012  # the expected value is kept


def test_seeding_repeats_masks_and_two_layers_differ():
    x = np.ones((20, 20))
    set_seed(7)
    a, b = Dropout(0.5)(x), Dropout(0.5)(x)
    set_seed(7)
    np.testing.assert_array_equal(Dropout(0.5)(x), a)
    assert not np.array_equal(a, b)
    own = Dropout(0.5, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(own(x), Dropout(0.5, rng=np.random.default_rng(3))(x))


def test_p_zero_and_p_one_as_torch():
    x = np.random.default_rng(0).standard_normal((4, 5))
    np.testing.assert_array_equal(Dropout(0.0)(x), x)
    np.testing.assert_array_equal(Dropout(1.0)(x), torch.nn.Dropout(1.0)(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(Dropout(1.0)(x), np.zeros_like(x))


def test_gradcheck_given_a_mask():
    rng = np.random.default_rng(4)
    keep = rng.random((5, 6)) >= 0.4
    errors = check_functional(lambda x: dropout_forward(x, keep, 0.4), dropout_backward, rng.standard_normal((5, 6)))
    assert max(errors) < 1e-8


def test_in_a_network_train_and_eval():
    set_seed(0)
    net = Sequential(Linear(4, 8), Dropout(0.5), Linear(8, 2))
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    net.eval()
    a = net(x)
    np.testing.assert_array_equal(net(x), a)  # deterministic in evaluation mode
    net.train()
    out = net(x)
    assert net.backward(np.ones_like(out)).shape == x.shape
    assert repr(net[1]) == repr(torch.nn.Dropout(0.5)) == "Dropout(p=0.5, inplace=False)"


def test_errors():
    with pytest.raises(ValueError, match="Dropout: invalid p"):
        Dropout(1.5)
    with pytest.raises(ValueError, match="Dropout: invalid p"):
        Dropout(-0.1)
    assert_backward_checks_order_and_grad_shape(Dropout(0.5), np.ones((3, 4)))
