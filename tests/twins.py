"""Checks shared by the layer tests: a NumPy layer equals its torch twin; backward refuses misuse (not part of the
companion package)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

TOL64 = dict(rtol=1e-10, atol=1e-12)


def torch_forward_backward(twin, x, g):
    """Output, input gradient and parameter gradients of torch's sum(twin(x) * g)."""
    xt = torch.tensor(x, requires_grad=True)
    out = twin(xt)
    (out * torch.from_numpy(g)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), {n: p.grad.numpy() for n, p in twin.named_parameters()}


def assert_matches_torch(layer, twin, x, seed=1):
    """float64 forward, input gradient and every parameter gradient of ``layer`` equal its torch ``twin``'s."""
    out = layer(x)
    g = np.random.default_rng(seed).standard_normal(out.shape)
    dx = layer.backward(g)
    out_t, dx_t, grads_t = torch_forward_backward(twin, x, g)
    assert out.shape == out_t.shape and dx.shape == np.shape(x)
    assert out.dtype == np.float64 and dx.dtype == np.float64
    np.testing.assert_allclose(out, out_t, **TOL64)
    np.testing.assert_allclose(dx, dx_t, **TOL64)
    params = dict(layer.named_parameters())
    assert set(params) == set(grads_t)
    for n, grad_t in grads_t.items():
        np.testing.assert_allclose(params[n].grad, grad_t, **TOL64, err_msg=n)


def assert_float32_forward_matches(layer, twin, x, *, atol: float) -> None:
    """``layer`` (float32 weights) and ``twin`` (same weights) give the same float32 output for ``x``."""
    x32 = np.asarray(x).astype(np.float32)
    out = layer(x32)
    assert out.dtype == np.float32
    with torch.no_grad():
        out_t = twin(torch.from_numpy(x32)).numpy()
    np.testing.assert_allclose(out, out_t, rtol=1e-5, atol=atol)


def assert_backward_checks_order_and_grad_shape(layer, x) -> None:
    """``backward`` before ``forward`` is a RuntimeError; a gradient of the wrong shape is a ValueError that
    names both the output's shape and the shape it got."""
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((1, 1)))
    out = layer(x)
    with pytest.raises(ValueError) as info:
        layer.backward(np.ones(out.shape + (1,)))
    assert str(out.shape) in str(info.value) and str(out.shape + (1,)) in str(info.value)
