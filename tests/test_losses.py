"""Tests of the losses (functional cores and Modules): stability, gradient checks, agreement with torch,
the Module contract of their backward, and input validation."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from companion.gradcheck import check_functional, check_loss, check_module
from companion.nn import CrossEntropyLoss, MSELoss
from companion.nn import functional as Fn
from companion.nn.functional import log_softmax, softmax
from twins import TOL64


def ce_data(seed=0, n=6, c=4):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def mse_data(seed=0, shape=(5, 3)):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), rng.standard_normal(shape)


# --- softmax -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_match_torch(axis):
    x = np.random.default_rng(0).standard_normal((3, 4, 5)) * 3
    xt = torch.from_numpy(x)
    np.testing.assert_allclose(softmax(x, axis=axis), torch.softmax(xt, dim=axis).numpy(), **TOL64)
    np.testing.assert_allclose(log_softmax(x, axis=axis), torch.log_softmax(xt, dim=axis).numpy(), **TOL64)
    np.testing.assert_allclose(softmax(x, axis=axis).sum(axis=axis), 1.0, rtol=1e-14)


def test_softmax_is_stable_for_extreme_logits():
    x = np.array([[1000.0, 0.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, logp = softmax(x), log_softmax(x)
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(p, torch.softmax(torch.from_numpy(x), dim=-1).numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(logp, torch.log_softmax(torch.from_numpy(x), dim=-1).numpy(), rtol=1e-15)


# --- gradient checks ---------------------------------------------------------------------------------

def test_gradcheck_cross_entropy():
    logits, target = ce_data()
    assert check_loss(CrossEntropyLoss(), logits, target) < 1e-7
    errors = check_module(CrossEntropyLoss(), logits, target)
    assert set(errors) == {"input0"} and errors["input0"] < 1e-7  # the integer labels are skipped
    [error] = check_functional(Fn.cross_entropy_forward, Fn.cross_entropy_backward, logits, target)
    assert error < 1e-7


def test_gradcheck_mse():
    pred, target = mse_data()
    assert check_loss(MSELoss(), pred, target) < 1e-7
    errors = check_module(MSELoss(), pred, target)
    assert set(errors) == {"input0", "input1"} and max(errors.values()) < 1e-7  # pred and target
    assert max(check_functional(Fn.mse_forward, Fn.mse_backward, pred, target)) < 1e-7


# --- agreement with torch ----------------------------------------------------------------------------

def test_cross_entropy_matches_torch_float64():
    logits, target = ce_data(1)
    loss = CrossEntropyLoss()
    value = loss(logits, target)
    grad, grad_target = loss.backward(0.7)
    lt = torch.tensor(logits, requires_grad=True)
    value_t = F.cross_entropy(lt, torch.from_numpy(target))
    (0.7 * value_t).backward()
    assert isinstance(value, float) and grad_target is None
    assert value == pytest.approx(value_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, lt.grad.numpy(), **TOL64)


def test_mse_matches_torch_float64():
    pred, target = mse_data(1, shape=(4, 3, 2))
    loss = MSELoss()
    value = loss(pred, target)
    grad, grad_target = loss.backward(-1.5)
    pt, tt = torch.tensor(pred, requires_grad=True), torch.tensor(target, requires_grad=True)
    value_t = F.mse_loss(pt, tt)
    (-1.5 * value_t).backward()
    assert isinstance(value, float)
    assert value == pytest.approx(value_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, pt.grad.numpy(), **TOL64)
    np.testing.assert_allclose(grad_target, tt.grad.numpy(), **TOL64)


def test_backward_defaults_to_grad_out_one_and_scales_with_it():
    logits, target = ce_data(3)
    loss = CrossEntropyLoss()
    loss(logits, target)
    one, _none = loss.backward()
    np.testing.assert_allclose(loss.backward(3.0)[0], 3.0 * one, rtol=1e-15)
    with pytest.raises(ValueError, match=r"grad_out of shape \(\).*got \(2,\)"):
        loss.backward(np.ones(2))


def test_losses_match_torch_float32():
    logits, target = ce_data(2)
    logits32 = logits.astype(np.float32)
    loss = CrossEntropyLoss()
    assert loss(logits32, target) == pytest.approx(F.cross_entropy(torch.from_numpy(logits32),
                                                                   torch.from_numpy(target)).item(), rel=1e-6)
    assert loss.backward()[0].dtype == np.float32

    pred, tgt = (a.astype(np.float32) for a in mse_data(2))
    mse = MSELoss()
    assert mse(pred, tgt) == pytest.approx(F.mse_loss(torch.from_numpy(pred), torch.from_numpy(tgt)).item(), rel=1e-6)
    assert mse.backward()[0].dtype == np.float32 and mse.backward()[1].dtype == np.float32


def test_cross_entropy_with_extreme_logits_is_finite():
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    loss = CrossEntropyLoss()
    assert loss(logits, np.array([1, 1])) == pytest.approx(1000.0)
    np.testing.assert_allclose(loss.backward()[0], [[0.5, -0.5], [0.0, 0.0]])


# --- validation --------------------------------------------------------------------------------------

def test_cross_entropy_rejects_bad_shapes_and_labels():
    loss = CrossEntropyLoss()
    with pytest.raises(ValueError, match=r"logits of shape \(N, C\), got \(6,\)"):
        loss(np.zeros(6), np.zeros(6, dtype=int))
    with pytest.raises(ValueError, match=r"target of shape \(6,\) for logits of shape \(6, 4\), got \(5,\)"):
        loss(np.zeros((6, 4)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"got \(6, 1\)"):
        loss(np.zeros((6, 4)), np.zeros((6, 1), dtype=int))
    with pytest.raises(ValueError, match="integer"):
        loss(np.zeros((2, 4)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 4\).*\[-1, 4, 7\]"):
        loss(np.zeros((5, 4)), np.array([0, 4, -1, 7, 4]))


def test_cross_entropy_rejects_an_empty_batch():
    with pytest.raises(ValueError, match="empty batch"):
        CrossEntropyLoss()(np.zeros((0, 3)), np.zeros(0, dtype=int))


def test_mse_rejects_shape_mismatch_without_broadcasting():
    with pytest.raises(ValueError, match=r"\(5, 1\) and \(5,\)"):
        MSELoss()(np.zeros((5, 1)), np.zeros(5))
    with pytest.raises(ValueError, match="empty"):
        MSELoss()(np.zeros((0, 2)), np.zeros((0, 2)))


def test_integer_targets_of_mse_become_the_prediction_dtype():
    loss = MSELoss()
    assert loss(np.array([0.5, 1.5], dtype=np.float32), np.array([0, 2])) == pytest.approx(0.25)
    assert loss.backward()[1].dtype == np.float32


@pytest.mark.parametrize("loss", [CrossEntropyLoss(), MSELoss()])
def test_backward_before_forward_raises(loss):
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()


def test_losses_are_modules_with_torch_reprs():
    assert repr(CrossEntropyLoss()) == repr(torch.nn.CrossEntropyLoss()) == "CrossEntropyLoss()"
    assert repr(MSELoss()) == repr(torch.nn.MSELoss()) == "MSELoss()"
    assert CrossEntropyLoss().state_dict() == {} and MSELoss().parameters() == []
