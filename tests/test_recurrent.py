"""companion.nn.recurrent: float64 gradient checks of the cell steps and of RNN, LSTM and GRU (input, initial
states, every parameter), equality with torch.nn.RNN/LSTM/GRU on weights copied by name (outputs, final states and
every gradient, with upstream gradients on the output and on the final states), layouts and errors."""
import itertools

import numpy as np
import pytest
import torch

from companion.book.runtime import set_seed
from companion.gradcheck import check_functional, check_module
from companion.nn import GRU, LSTM, RNN
from companion.nn.recurrent import (FastLSTM, gru_cell_backward, gru_cell_forward, lstm_cell_backward, lstm_cell_forward,
                                    rnn_cell_backward, rnn_cell_forward)
from twins import TOL64

TWINS = {RNN: torch.nn.RNN, LSTM: torch.nn.LSTM, GRU: torch.nn.GRU}
I, H = 3, 4
# Finite-difference step: as in test_attention.py, eps = 1e-5 keeps the rounding noise (~1e-16 |f| / eps) of small
# gradient elements (the relative error is taken element by element) well below the threshold; the truncation error
# (~eps^2) stays far below it too. With eps = 1e-6 a few elements of ~1e-4 reach relative errors of ~1e-6.
EPS = 1e-5
# The modules chain up to 3 x 5 steps, whose elements of ~1e-5 still see noise of a few 1e-7: a threshold of 1e-6
# for them (a wrong gradient gives 1e-2 or more; the torch comparison below holds at rtol 1e-10).
MODULE_TOL = 1e-6


def make_pair(cls, num_layers=1, bias=True, batch_first=False, **kwargs):
    """A NumPy layer and its torch twin (float64) with the torch weights copied by name."""
    torch.manual_seed(0)
    twin = TWINS[cls](I, H, num_layers=num_layers, bias=bias, batch_first=batch_first, **kwargs).double()
    layer = cls(I, H, num_layers=num_layers, bias=bias, batch_first=batch_first, dtype=np.float64, **kwargs)
    layer.load_state_dict(twin.state_dict())
    return layer, twin


def inputs(cls, num_layers, batch_first, length, batch=2, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, length, I) if batch_first else (length, batch, I))
    h0 = rng.standard_normal((num_layers, batch, H))
    hx = (h0, rng.standard_normal((num_layers, batch, H))) if cls is LSTM else h0
    return x, hx


# --- the cell steps ---------------------------------------------------------------------------------------

def cell_arrays(gates, bias, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal((5, I)), rng.standard_normal((5, H)),
              rng.standard_normal((gates * H, I)) * 0.5, rng.standard_normal((gates * H, H)) * 0.5]
    biases = [rng.standard_normal(gates * H), rng.standard_normal(gates * H)] if bias else [None, None]
    return arrays, biases


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_cell_gradcheck(bias, nonlinearity):
    (x, h, w_ih, w_hh), biases = cell_arrays(1, bias)
    errors = check_functional(lambda *a: rnn_cell_forward(*a, nonlinearity=nonlinearity), rnn_cell_backward,
                              x, h, w_ih, w_hh, *biases, eps=EPS)
    assert len(errors) == 4 + 2 * bias and max(errors) < 1e-7, errors


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_cell_gradcheck(bias):
    (x, h, w_ih, w_hh), biases = cell_arrays(4, bias)
    c = np.random.default_rng(1).standard_normal((5, H))
    errors = check_functional(lstm_cell_forward, lstm_cell_backward, x, h, c, w_ih, w_hh, *biases, eps=EPS)
    assert len(errors) == 5 + 2 * bias and max(errors) < 1e-7, errors


@pytest.mark.parametrize("bias", [True, False])
def test_gru_cell_gradcheck(bias):
    (x, h, w_ih, w_hh), biases = cell_arrays(3, bias)
    errors = check_functional(gru_cell_forward, gru_cell_backward, x, h, w_ih, w_hh, *biases, eps=EPS)
    assert len(errors) == 4 + 2 * bias and max(errors) < 1e-7, errors


def test_cells_follow_torchs_gate_order():
    """One step equals torch's cell modules (LSTMCell rows i, f, g, o; GRUCell rows r, z, n)."""
    rng = np.random.default_rng(2)
    x, h, c = rng.standard_normal((5, I)), rng.standard_normal((5, H)), rng.standard_normal((5, H))
    for forward, twin_cls in ((rnn_cell_forward, torch.nn.RNNCell), (lstm_cell_forward, torch.nn.LSTMCell),
                              (gru_cell_forward, torch.nn.GRUCell)):
        torch.manual_seed(1)
        twin = twin_cls(I, H).double()
        weights = [p.detach().numpy() for p in (twin.weight_ih, twin.weight_hh, twin.bias_ih, twin.bias_hh)]
        xt, ht, ct = (torch.from_numpy(a) for a in (x, h, c))
        if forward is lstm_cell_forward:
            (h_next, c_next), _cache = forward(x, h, c, *weights)
            h_t, c_t = twin(xt, (ht, ct))
            np.testing.assert_allclose(c_next, c_t.detach().numpy(), **TOL64)
        else:
            h_next, _cache = forward(x, h, *weights)
            h_t = twin(xt, ht)
        np.testing.assert_allclose(h_next, h_t.detach().numpy(), **TOL64)


# --- gradient checks of the modules ----------------------------------------------------------------------

@pytest.mark.parametrize("cls,num_layers,batch_first,length",
                         list(itertools.product([RNN, LSTM, GRU], [1, 2], [False, True], [1, 5])))
def test_module_gradcheck_with_initial_state(cls, num_layers, batch_first, length):
    """Input, initial state(s) and every parameter; the random upstream gradient reaches the output and the final
    state(s). An LSTM's hx is passed as one array of shape (2, layers, N, H) (a pair (h_0, c_0) that gradcheck can
    perturb); its gradient comes back as the pair (dh_0, dc_0)."""
    layer, _twin = make_pair(cls, num_layers, batch_first=batch_first)
    x, hx = inputs(cls, num_layers, batch_first, length)
    hx = np.stack(hx) if cls is LSTM else hx
    errors = check_module(layer, x, hx, seed=3, eps=EPS)
    assert set(errors) == {"input0", "input1"} | set(layer.state_dict())
    assert max(errors.values()) < MODULE_TOL, errors


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_module_gradcheck_without_initial_state_returns_only_dx(cls):
    layer, _twin = make_pair(cls, 2, bias=False)
    x, _hx = inputs(cls, 2, False, 4)
    errors = check_module(layer, x, seed=4, eps=EPS)
    assert set(errors) == {"input", "weight_ih_l0", "weight_hh_l0", "weight_ih_l1", "weight_hh_l1"}
    assert max(errors.values()) < MODULE_TOL, errors


def test_relu_rnn_gradcheck():
    layer, _twin = make_pair(RNN, 2, nonlinearity="relu")
    x, hx = inputs(RNN, 2, False, 4)
    errors = check_module(layer, x, hx, seed=5, eps=EPS)
    assert max(errors.values()) < MODULE_TOL, errors


# --- equality with torch ----------------------------------------------------------------------------------

def torch_run(cls, twin, x, hx, g_out, g_state):
    """torch's outputs and the gradients of sum(out * g_out) + sum(h_n * g_h) [+ sum(c_n * g_c)]."""
    xt = torch.tensor(x, requires_grad=True)
    states = [torch.tensor(a, requires_grad=True) for a in (hx if cls is LSTM else (hx,))]
    out, final = twin(xt, tuple(states) if cls is LSTM else states[0])
    finals = final if cls is LSTM else (final,)
    loss = (out * torch.from_numpy(g_out)).sum()
    for f, g in zip(finals, g_state):
        loss = loss + (f * torch.from_numpy(g)).sum()
    loss.backward()
    grads = {name: p.grad.numpy() for name, p in twin.named_parameters()}
    return (out.detach().numpy(), [f.detach().numpy() for f in finals], xt.grad.numpy(),
            [s.grad.numpy() for s in states], grads)


@pytest.mark.parametrize("cls,num_layers,batch_first,length,bias",
                         [(c, n, b, t, bias) for c in (RNN, LSTM, GRU) for n in (1, 2, 3) for b in (False, True)
                          for t in (1, 2, 6) for bias in (True, False) if bias or (n == 2 and t == 6)])
def test_matches_torch_on_copied_weights(cls, num_layers, batch_first, length, bias):
    layer, twin = make_pair(cls, num_layers, bias=bias, batch_first=batch_first)
    x, hx = inputs(cls, num_layers, batch_first, length, batch=3)
    out, final = layer(x, hx)
    finals = final if cls is LSTM else (final,)
    rng = np.random.default_rng(7)
    g_out, g_state = rng.standard_normal(out.shape), [rng.standard_normal(f.shape) for f in finals]
    dx, dhx = layer.backward(g_out, tuple(g_state) if cls is LSTM else g_state[0])
    out_t, finals_t, dx_t, dstates_t, grads_t = torch_run(cls, twin, x, hx, g_out, g_state)
    np.testing.assert_allclose(out, out_t, **TOL64)
    for f, f_t in zip(finals, finals_t):
        np.testing.assert_allclose(f, f_t, **TOL64)
    np.testing.assert_allclose(dx, dx_t, **TOL64)
    for d, d_t in zip(dhx if cls is LSTM else (dhx,), dstates_t):
        np.testing.assert_allclose(d, d_t, **TOL64)
    params = dict(layer.named_parameters())
    assert set(params) == set(grads_t)
    for name, grad_t in grads_t.items():
        np.testing.assert_allclose(params[name].grad, grad_t, **TOL64, err_msg=name)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_zero_initial_state_and_no_final_state_gradient_match_torch(cls):
    layer, twin = make_pair(cls, 2)
    x, _hx = inputs(cls, 2, False, 5)
    out, _final = layer(x)
    g = np.random.default_rng(8).standard_normal(out.shape)
    dx = layer.backward(g)
    xt = torch.tensor(x, requires_grad=True)
    out_t, _final_t = twin(xt)
    (out_t * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL64)
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(dict(layer.named_parameters())[name].grad, p.grad.numpy(), **TOL64)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_unbatched_input_as_torch(cls):
    layer, twin = make_pair(cls, 2)
    x, hx = inputs(cls, 2, False, 4, batch=1)
    x = x[:, 0]
    hx = tuple(a[:, 0] for a in hx) if cls is LSTM else hx[:, 0]
    out, final = layer(x, hx)
    out_t, final_t = twin(torch.from_numpy(x), tuple(map(torch.from_numpy, hx)) if cls is LSTM
                          else torch.from_numpy(hx))
    assert out.shape == (4, H)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    for f, f_t in zip(final if cls is LSTM else (final,), final_t if cls is LSTM else (final_t,)):
        assert f.shape == (2, H)
        np.testing.assert_allclose(f, f_t.detach().numpy(), **TOL64)
    dx, dhx = layer.backward(np.ones_like(out))
    assert dx.shape == x.shape
    assert all(d.shape == (2, H) for d in (dhx if cls is LSTM else (dhx,)))


def test_relu_rnn_matches_torch():
    layer, twin = make_pair(RNN, 2, batch_first=True, nonlinearity="relu")
    x, hx = inputs(RNN, 2, True, 5)
    out, h_n = layer(x, hx)
    out_t, h_n_t = twin(torch.from_numpy(x), torch.from_numpy(hx))
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL64)
    np.testing.assert_allclose(h_n, h_n_t.detach().numpy(), **TOL64)


# --- parameters, init, dtype, repr ------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_parameter_names_shapes_and_repr_are_torchs(cls):
    for kwargs in ({}, {"num_layers": 2, "bias": False, "batch_first": True}):
        layer, twin = cls(5, 7, **kwargs), TWINS[cls](5, 7, **kwargs)
        assert [(n, p.shape) for n, p in layer.named_parameters()] == \
            [(n, tuple(p.shape)) for n, p in twin.named_parameters()]
        assert repr(layer) == repr(twin)
    assert repr(RNN(2, 3, nonlinearity="relu")) == repr(torch.nn.RNN(2, 3, nonlinearity="relu"))  # torch omits it


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_init_is_uniform_within_torchs_bound_and_seeded(cls):
    set_seed(0)
    a = cls(3, 16, num_layers=2)
    set_seed(0)
    b = cls(3, 16, num_layers=2)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        assert p.data.dtype == np.float32
        assert np.abs(p.data).max() <= 0.25 and np.abs(p.data).max() > 0.2, name  # U(-1/sqrt(16), 1/sqrt(16))


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_float32_stays_float32_and_matches_torch(cls):
    layer = cls(I, H, num_layers=2)
    twin = TWINS[cls](I, H, num_layers=2)
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 2, I)).astype(np.float32)
    out, _final = layer(x)
    assert out.dtype == np.float32 and layer.backward(np.ones_like(out)).dtype == np.float32
    with torch.no_grad():
        np.testing.assert_allclose(out, twin(torch.from_numpy(x))[0].numpy(), rtol=1e-5, atol=1e-6)


def test_parameter_gradients_accumulate_until_zero_grad():
    layer, _twin = make_pair(LSTM, 1)
    x, hx = inputs(LSTM, 1, False, 3)
    out, _final = layer(x, hx)
    layer.backward(np.ones_like(out))
    once = {n: p.grad.copy() for n, p in layer.named_parameters()}
    layer(x, hx)
    layer.backward(np.ones_like(out))
    for n, p in layer.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * once[n], **TOL64)
    layer.zero_grad()
    assert all(np.all(p.grad == 0) for p in layer.parameters())


# --- bad input --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_wrong_input_size_names_the_shapes(cls):
    layer = cls(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"\(L, N, 3\).*got \(5, 2, 6\)"):
        layer(np.zeros((5, 2, 6)))
    with pytest.raises(ValueError, match=r"\(N, L, 3\).*got \(2, 5, 4\)"):
        cls(3, 4, batch_first=True)(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match=r"got \(5,\)"):
        layer(np.zeros(5))


def test_wrong_hx_shape_names_the_shapes():
    with pytest.raises(ValueError, match=r"hx of shape \(2, 3, 4\) for input of batch size 3, got \(2, 2, 4\)"):
        RNN(3, 4, num_layers=2)(np.zeros((5, 3, 3)), np.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match=r"c_0 of shape \(1, 3, 4\).*got \(1, 3, 5\)"):
        LSTM(3, 4)(np.zeros((5, 3, 3)), (np.zeros((1, 3, 4)), np.zeros((1, 3, 5))))
    with pytest.raises(ValueError, match=r"hx = \(h_0, c_0\)"):
        LSTM(3, 4)(np.zeros((5, 3, 3)), (np.zeros((1, 3, 4)),))
    with pytest.raises(ValueError, match=r"hx of shape \(1, 4\).*got \(1, 1, 4\)"):
        GRU(3, 4)(np.zeros((5, 3)), np.zeros((1, 1, 4)))  # unbatched input takes an unbatched state


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_backward_checks_order_and_gradient_shapes(cls):
    layer = cls(3, 4)
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((5, 2, 4)))
    out, _final = layer(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"\(5, 2, 4\).*got \(2, 5, 4\)"):
        layer.backward(np.zeros((2, 5, 4)))
    bad_state = (np.zeros((1, 2, 4)), np.zeros((1, 2, 3))) if cls is LSTM else np.zeros((1, 2, 3))
    with pytest.raises(ValueError, match=r"\(1, 2, 4\).*got \(1, 2, 3\)"):
        layer.backward(np.zeros_like(out), bad_state)


def test_unsupported_options_are_refused_clearly():
    with pytest.raises(ValueError, match="dropout"):
        LSTM(3, 4, num_layers=2, dropout=0.5)
    with pytest.raises(ValueError, match="bidirectional"):
        GRU(3, 4, bidirectional=True)
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        LSTM(3, 0)


# --- the tuned LSTM ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("num_layers,bias,batch_first,length",
                         [(1, True, False, 1), (1, True, False, 6), (2, False, True, 5), (3, True, True, 4)])
def test_fast_lstm_equals_the_teaching_lstm(num_layers, bias, batch_first, length):
    teaching, _twin = make_pair(LSTM, num_layers, bias=bias, batch_first=batch_first)
    fast = FastLSTM(I, H, num_layers=num_layers, bias=bias, batch_first=batch_first, dtype=np.float64)
    fast.load_state_dict(teaching.state_dict())
    x, hx = inputs(LSTM, num_layers, batch_first, length, batch=3)
    results = []
    for layer in (teaching, fast):
        out, (h_n, c_n) = layer(x, hx)
        rng = np.random.default_rng(9)
        dx, (dh0, dc0) = layer.backward(rng.standard_normal(out.shape),
                                        (rng.standard_normal(h_n.shape), rng.standard_normal(c_n.shape)))
        results.append([out, h_n, c_n, dx, dh0, dc0] + [p.grad for p in layer.parameters()])
    assert [n for n, _p in teaching.named_parameters()] == [n for n, _p in fast.named_parameters()]
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, **TOL64)


def test_fast_lstm_gradcheck_and_large_inputs_stay_finite():
    fast = FastLSTM(I, H, num_layers=2, dtype=np.float64)
    x, hx = inputs(LSTM, 2, False, 4)
    errors = check_module(fast, x, np.stack(hx), seed=6, eps=EPS)
    assert max(errors.values()) < MODULE_TOL, errors
    with np.errstate(all="raise"):  # no overflow in the sigmoids
        out, _state = fast(np.full((3, 2, I), 1e4))
        fast.backward(np.ones_like(out))
    assert np.all(np.isfinite(out))
