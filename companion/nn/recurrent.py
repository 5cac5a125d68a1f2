"""Recurrent layers in NumPy, forward and backpropagation through time (taught in chapter 7).

- Cell steps as cs231n pairs, with torch's equations and gate order: :func:`rnn_cell_forward` /
  :func:`rnn_cell_backward` (``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``), :func:`lstm_cell_forward` /
  :func:`lstm_cell_backward` (rows of the weights: gates i, f, g, o) and :func:`gru_cell_forward` /
  :func:`gru_cell_backward` (rows r, z, n, with ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``).
- :func:`layer_forward` / :func:`layer_backward`: one layer over a whole sequence, the cell step in a loop, and
  the loop run backwards (backpropagation through time).
- :class:`RNN`, :class:`LSTM`, :class:`GRU`: the twins of ``torch.nn.RNN``, ``LSTM`` and ``GRU`` (constructor
  arguments, parameter names ``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, ..., layouts,
  ``batch_first``, initial states and return values), so ``lstm.load_state_dict(torch_lstm.state_dict())`` works.

A cell step returns ``(h_next, cache)`` (LSTM: ``((h_next, c_next), cache)``); its backward takes the gradient
with respect to each output and the cache and returns the gradients with respect to every input in argument order:
``dx, dh[, dc], dw_ih, dw_hh, db_ih, db_hh`` (``None`` for the biases when there are none).
"""
from __future__ import annotations

import math

import numpy as np

from ..book.runtime import default_generator
from .checks import positive_int
from .module import Module, Parameter

__all__ = ["rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward", "gru_cell_forward",
           "gru_cell_backward", "layer_forward", "layer_backward", "RNN", "LSTM", "GRU", "fast_lstm_layer_forward",
           "fast_lstm_layer_backward", "FastLSTM"]


def sigmoid(a):
    """The logistic function ``1 / (1 + exp(-a))``, written so that no ``exp`` overflows."""
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def affine(x, w, b):
    """``x W^T + b`` (``b`` may be None)."""
    return x @ w.T if b is None else x @ w.T + b


def affine_grads(d_in, d_hid, x, h, w_ih, w_hh, has_bias):
    """Gradients of ``x W_ih^T + b_ih`` (upstream ``d_in``) and ``h W_hh^T + b_hh`` (upstream ``d_hid``):
    ``dx, dh, dw_ih, dw_hh, db_ih, db_hh``."""
    db_ih, db_hh = (d_in.sum(0), d_hid.sum(0)) if has_bias else (None, None)
    return d_in @ w_ih, d_hid @ w_hh, d_in.T @ x, d_hid.T @ h, db_ih, db_hh


# --- the cell steps ---------------------------------------------------------------------------------------

def rnn_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """One step of an Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)`` (or ReLU).

    ``x`` (N, I), ``h`` (N, H), ``w_ih`` (H, I), ``w_hh`` (H, H), biases (H,). Taught in chapter 7, section 7.2.
    """
    a = affine(x, w_ih, b_ih) + affine(h, w_hh, b_hh)
    h_next = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
    return h_next, (x, h, w_ih, w_hh, b_ih is not None, nonlinearity, h_next)


def rnn_cell_backward(dh_next, cache):
    """Gradients of one RNN step: ``dx, dh, dw_ih, dw_hh, db_ih, db_hh``. Taught in chapter 7, section 7.3."""
    x, h, w_ih, w_hh, has_bias, nonlinearity, h_next = cache
    da = dh_next * (1 - h_next ** 2) if nonlinearity == "tanh" else dh_next * (h_next > 0)
    return affine_grads(da, da, x, h, w_ih, w_hh, has_bias)


def lstm_cell_forward(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """One LSTM step as in ``torch.nn.LSTM``: the rows of ``w_ih`` (4H, I) and ``w_hh`` (4H, H) are the input
    gate i, the forget gate f, the candidate g and the output gate o.

    ``c' = f * c + i * g`` and ``h' = o * tanh(c')``. Returns ``((h_next, c_next), cache)``.
    Taught in chapter 7, section 7.5.
    """
    a = affine(x, w_ih, b_ih) + affine(h, w_hh, b_hh)
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=-1)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), np.tanh(a_g), sigmoid(a_o)
    c_next = f * c + i * g
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c
    return (h_next, c_next), (x, h, c, w_ih, w_hh, b_ih is not None, i, f, g, o, tanh_c)


def lstm_cell_backward(dh_next, dc_next, cache):
    """Gradients of one LSTM step: ``dx, dh, dc, dw_ih, dw_hh, db_ih, db_hh``. Taught in chapter 7, section 7.5."""
    x, h, c, w_ih, w_hh, has_bias, i, f, g, o, tanh_c = cache
    do = dh_next * tanh_c
    dc_total = dc_next + dh_next * o * (1 - tanh_c ** 2)  # c' reaches the loss directly and through h'
    di, df, dg = dc_total * g, dc_total * c, dc_total * i
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g ** 2), do * o * (1 - o)], axis=-1)
    dx, dh, dw_ih, dw_hh, db_ih, db_hh = affine_grads(da, da, x, h, w_ih, w_hh, has_bias)
    return dx, dh, dc_total * f, dw_ih, dw_hh, db_ih, db_hh


def gru_cell_forward(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """One GRU step as in ``torch.nn.GRU``: rows r (reset), z (update), n (candidate) of ``w_ih`` (3H, I) and
    ``w_hh`` (3H, H); ``n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))`` and ``h' = (1 - z) * n + z * h``.

    Taught in chapter 7, section 7.6.
    """
    x_r, x_z, x_n = np.split(affine(x, w_ih, b_ih), 3, axis=-1)
    h_r, h_z, h_n = np.split(affine(h, w_hh, b_hh), 3, axis=-1)
    r, z = sigmoid(x_r + h_r), sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    h_next = (1 - z) * n + z * h
    return h_next, (x, h, w_ih, w_hh, b_ih is not None, r, z, n, h_n)


def gru_cell_backward(dh_next, cache):
    """Gradients of one GRU step: ``dx, dh, dw_ih, dw_hh, db_ih, db_hh``. Taught in chapter 7, section 7.6."""
    x, h, w_ih, w_hh, has_bias, r, z, n, h_n = cache
    da_n = dh_next * (1 - z) * (1 - n ** 2)
    da_z = dh_next * (h - n) * z * (1 - z)
    da_r = da_n * h_n * r * (1 - r)
    d_in = np.concatenate([da_r, da_z, da_n], axis=-1)  # the gradient of x W_ih^T + b_ih
    d_hid = np.concatenate([da_r, da_z, da_n * r], axis=-1)  # and of h W_hh^T + b_hh
    dx, dh, dw_ih, dw_hh, db_ih, db_hh = affine_grads(d_in, d_hid, x, h, w_ih, w_hh, has_bias)
    return dx, dh + dh_next * z, dw_ih, dw_hh, db_ih, db_hh


# --- one layer over a sequence ----------------------------------------------------------------------------

def layer_forward(cell_forward, xs, state, weights):
    """Run ``cell_forward`` over the time steps of ``xs`` (L, N, I) from ``state`` (a tuple: ``(h,)``, or
    ``(h, c)`` for an LSTM). Returns the outputs ``hs`` (L, N, H), the last state and one cache per step.

    Taught in chapter 7, section 7.2.
    """
    hs, caches = [], []
    for x in xs:
        out, cache = cell_forward(x, *state, *weights)
        state = out if isinstance(out, tuple) else (out,)
        hs.append(state[0])
        caches.append(cache)
    return np.stack(hs), state, caches


def layer_backward(cell_backward, dhs, dstate, caches):
    """Backpropagation through time: the steps in reverse, each adding the gradient that reaches ``h_t`` from
    the output ``dhs[t]`` to the one from step ``t + 1``. ``dstate`` is the gradient of the last state.

    Returns ``dxs`` (L, N, I), the gradient of the initial state (a tuple) and the summed weight gradients.
    Taught in chapter 7, section 7.3.
    """
    dxs, dweights = [], None
    for t in reversed(range(len(caches))):
        dh, *drest = dstate
        grads = cell_backward(dh + dhs[t], *drest, caches[t])
        dxs.append(grads[0])
        dstate = grads[1:1 + len(dstate)]
        step = grads[1 + len(dstate):]
        dweights = step if dweights is None else [None if a is None else a + b for a, b in zip(dweights, step)]
    return np.stack(dxs[::-1]), tuple(dstate), dweights


# --- the modules ------------------------------------------------------------------------------------------

class _RNNBase(Module):
    """What RNN, LSTM and GRU share: the parameters of every layer, the checks, the layouts and the layer loop."""

    gates = 1  # blocks of rows in each weight: 1 (RNN), 4 (LSTM), 3 (GRU)
    states = 1  # (h,) or (h, c)

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, *, rng=None, dtype=np.float32):
        super().__init__()
        name = type(self).__name__
        if dropout:
            raise ValueError(f"{name}: dropout between layers is not implemented in NumPy, got dropout={dropout}")
        if bidirectional:
            raise ValueError(f"{name}: bidirectional=True is not implemented in NumPy")
        self.input_size = positive_int(input_size, "input_size", name)
        self.hidden_size = positive_int(hidden_size, "hidden_size", name)
        self.num_layers = positive_int(num_layers, "num_layers", name)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        rng = default_generator() if rng is None else rng
        bound = 1.0 / math.sqrt(self.hidden_size)  # torch's default for every parameter: U(-1/sqrt(H), 1/sqrt(H))
        rows = self.gates * self.hidden_size
        for layer in range(self.num_layers):
            shapes = {"weight_ih": (rows, self.input_size if layer == 0 else self.hidden_size),
                      "weight_hh": (rows, self.hidden_size)}
            if self.bias:
                shapes.update(bias_ih=(rows,), bias_hh=(rows,))
            for kind, shape in shapes.items():
                setattr(self, f"{kind}_l{layer}", Parameter(rng.uniform(-bound, bound, shape).astype(dtype)))

    def _weights(self, layer):
        kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh") if self.bias else ("weight_ih", "weight_hh")
        return [getattr(self, f"{kind}_l{layer}") for kind in kinds]

    def _cell(self):
        """The (forward, backward) pair of one step."""
        raise NotImplementedError

    def _layer_forward(self, xs, state, weights):
        return layer_forward(self._cell()[0], xs, state, weights)

    def _layer_backward(self, dhs, dstate, caches):
        return layer_backward(self._cell()[1], dhs, dstate, caches)

    def _describe(self) -> str:
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}, num_layers={self.num_layers})"

    def _check_input(self, x):
        layout = "(N, L, {i})" if self.batch_first else "(L, N, {i})"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size or 0 in x.shape:
            raise ValueError(f"{self._describe()} expected input of shape {layout.format(i=self.input_size)} or "
                             f"unbatched (L, {self.input_size}), got {x.shape}")

    def _check_state(self, array, name, batch, batched):
        expected = (self.num_layers, batch, self.hidden_size) if batched else (self.num_layers, self.hidden_size)
        array = np.asarray(array, dtype=self.weight_ih_l0.data.dtype)
        if array.shape != expected:
            raise ValueError(f"{self._describe()} expected {name} of shape {expected} for input of batch size "
                             f"{batch}, got {array.shape}")
        return array if batched else array[:, None]

    def _initial_state(self, hx, batch, batched):
        """The initial state as a tuple of (num_layers, N, H) arrays (zeros when ``hx`` is None)."""
        shape = (self.num_layers, batch, self.hidden_size)
        dtype = self.weight_ih_l0.data.dtype
        if hx is None:
            return tuple(np.zeros(shape, dtype) for _ in range(self.states))
        if self.states == 1:
            return (self._check_state(hx, "hx", batch, batched),)
        if len(hx) != 2:
            raise ValueError(f"{self._describe()} expected hx = (h_0, c_0), got {len(hx)} arrays")
        return tuple(self._check_state(a, name, batch, batched) for a, name in zip(hx, ("h_0", "c_0")))

    def _pack(self, states):
        """The final states in torch's return form: ``h_n`` or ``(h_n, c_n)``."""
        return states[0] if self.states == 1 else tuple(states)

    def forward(self, input, hx=None):
        """``(output, h_n)``, or ``(output, (h_n, c_n))`` for an LSTM, as torch returns them."""
        x = np.asarray(input, dtype=self.weight_ih_l0.data.dtype)
        self._check_input(x)
        batched = x.ndim == 3
        if not batched:
            x = x[:, None]  # (L, 1, I)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)  # (L, N, I): time first inside
        state0 = self._initial_state(hx, x.shape[1], batched)
        finals, caches = [], []
        for layer in range(self.num_layers):
            weights = [p.data for p in self._weights(layer)]
            x, state, layer_caches = self._layer_forward(x, tuple(s[layer] for s in state0), weights)
            finals.append(state)
            caches.append(layer_caches)
        states = tuple(np.stack(s) for s in zip(*finals))  # each (num_layers, N, H)
        self._cache = (caches, batched, hx is not None, x.shape)
        if not batched:
            return x[:, 0], self._pack(tuple(s[:, 0] for s in states))
        return (x.transpose(1, 0, 2) if self.batch_first else x), self._pack(states)

    def backward(self, grad_output, grad_hn=None):
        """Gradients with respect to ``input`` and, if ``forward`` was given ``hx``, with respect to ``hx`` (for an
        LSTM the pair ``(dh_0, dc_0)``); adds every parameter's gradient.

        ``grad_hn`` is the gradient of the final state (for an LSTM the pair ``(grad_h_n, grad_c_n)``, either may be
        None); None means the loss does not use it.
        """
        caches, batched, has_hx, (length, batch, hidden) = self._cached("_cache")
        out_shape = (length, batch, hidden) if batched else (length, hidden)
        if batched and self.batch_first:
            out_shape = (batch, length, hidden)
        dhs = self._check_grad_shape(grad_output, out_shape)
        dhs = dhs[:, None] if not batched else (dhs.transpose(1, 0, 2) if self.batch_first else dhs)
        dstate = self._final_state_grads(grad_hn, batch, batched)
        dstate0 = [None] * self.num_layers
        for layer in reversed(range(self.num_layers)):
            dhs, dstate0[layer], dweights = self._layer_backward(dhs, tuple(d[layer] for d in dstate), caches[layer])
            for param, grad in zip(self._weights(layer), dweights):
                param.grad += grad
        dx = dhs if not batched else (dhs.transpose(1, 0, 2) if self.batch_first else dhs)
        dx = dx if batched else dx[:, 0]
        if not has_hx:
            return dx
        dhx = tuple(np.stack(d) if batched else np.stack(d)[:, 0] for d in zip(*dstate0))
        return dx, self._pack(dhx)

    def _final_state_grads(self, grad_hn, batch, batched):
        """The gradient of the final state as a tuple of (num_layers, N, H) arrays (zeros for None)."""
        dtype = self.weight_ih_l0.data.dtype
        grads = [None] * self.states if grad_hn is None else (
            [grad_hn] if self.states == 1 else list(grad_hn))
        if len(grads) != self.states:
            raise ValueError(f"{self._describe()}.backward expected grad_hn = (grad_h_n, grad_c_n), "
                             f"got {len(grads)} arrays")
        names = ("grad_hn",) if self.states == 1 else ("grad_h_n", "grad_c_n")
        return tuple(np.zeros((self.num_layers, batch, self.hidden_size), dtype) if g is None
                     else self._check_state(g, name, batch, batched) for g, name in zip(grads, names))

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if not self.bias:
            text += ", bias=False"
        if self.batch_first:
            text += ", batch_first=True"
        return text


class RNN(_RNNBase):
    """Elman RNN, the twin of ``torch.nn.RNN`` (``nonlinearity`` "tanh" or "relu"). Taught in chapter 7, section 7.6."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, rng=None, dtype=np.float32):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity {nonlinearity!r} (expected 'tanh' or 'relu')")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         rng=rng, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _cell(self):
        def forward(x, h, *weights):
            return rnn_cell_forward(x, h, *weights, nonlinearity=self.nonlinearity)
        return forward, rnn_cell_backward


class LSTM(_RNNBase):
    """Long short-term memory, the twin of ``torch.nn.LSTM`` (gate rows i, f, g, o).
    Taught in chapter 7, section 7.6."""

    gates, states = 4, 2

    def _cell(self):
        return lstm_cell_forward, lstm_cell_backward


class GRU(_RNNBase):
    """Gated recurrent unit, the twin of ``torch.nn.GRU`` (gate rows r, z, n). Taught in chapter 7, section 7.6."""

    gates = 3

    def _cell(self):
        return gru_cell_forward, gru_cell_backward


# --- a tuned LSTM, tested equal to the teaching one -------------------------------------------------------

def fast_lstm_layer_forward(xs, state, weights):
    """:func:`layer_forward` with :func:`lstm_cell_forward`, tuned: the input projections of all time steps in one
    matrix product before the loop, and arrays preallocated for the whole sequence. Same arguments and results
    (the cache is the tuned backward's)."""
    w_ih, w_hh, *biases = weights
    h, c = state
    length, batch, _ = xs.shape
    hidden = w_hh.shape[1]
    a_x = xs @ w_ih.T + (biases[0] + biases[1] if biases else 0)  # (L, N, 4H), one product for all steps
    gates = np.empty_like(a_x)  # the activated gates i, f, g, o of every step
    hs = np.empty((length, batch, hidden), dtype=a_x.dtype)
    cs = np.empty((length + 1, batch, hidden), dtype=a_x.dtype)  # c_0 .. c_L
    tanh_cs = np.empty_like(hs)
    cs[0] = c
    for t in range(length):
        a = a_x[t] + h @ w_hh.T
        gate = gates[t]
        np.tanh(a, out=gate)
        gate[:, :2 * hidden] = 0.5 * (1 + np.tanh(0.5 * a[:, :2 * hidden]))  # sigmoid(a) = (1 + tanh(a / 2)) / 2
        gate[:, 3 * hidden:] = 0.5 * (1 + np.tanh(0.5 * a[:, 3 * hidden:]))
        i, f, g, o = gate[:, :hidden], gate[:, hidden:2 * hidden], gate[:, 2 * hidden:3 * hidden], gate[:, 3 * hidden:]
        cs[t + 1] = f * cs[t] + i * g
        np.tanh(cs[t + 1], out=tanh_cs[t])
        h = hs[t] = o * tanh_cs[t]
    return hs, (hs[-1], cs[-1]), (xs, state[0], w_ih, w_hh, bool(biases), gates, cs, tanh_cs, hs)


def fast_lstm_layer_backward(dhs, dstate, cache):
    """:func:`layer_backward` for :func:`fast_lstm_layer_forward`: the loop computes only the gradients that flow
    back in time; the input gradient and the weight gradients are one matrix product each after the loop."""
    xs, h0, w_ih, w_hh, has_bias, gates, cs, tanh_cs, hs = cache
    hidden = w_hh.shape[1]
    dh, dc = dstate
    da = np.empty_like(gates)  # the gradient of every step's pre-activations
    for t in reversed(range(len(xs))):
        dh = dh + dhs[t]
        gate = gates[t]
        i, f, g, o = gate[:, :hidden], gate[:, hidden:2 * hidden], gate[:, 2 * hidden:3 * hidden], gate[:, 3 * hidden:]
        dc = dc + dh * o * (1 - tanh_cs[t] ** 2)
        da[t, :, :hidden] = dc * g * i * (1 - i)
        da[t, :, hidden:2 * hidden] = dc * cs[t] * f * (1 - f)
        da[t, :, 2 * hidden:3 * hidden] = dc * i * (1 - g ** 2)
        da[t, :, 3 * hidden:] = dh * tanh_cs[t] * o * (1 - o)
        dh = da[t] @ w_hh
        dc = dc * f
    h_prev = np.concatenate([h0[None], hs[:-1]])  # the h that each step read
    flat_da = da.reshape(-1, da.shape[-1])
    dw_ih = flat_da.T @ xs.reshape(-1, xs.shape[-1])
    dw_hh = flat_da.T @ h_prev.reshape(-1, hidden)
    db = flat_da.sum(0) if has_bias else None
    return da @ w_ih, (dh, dc), [dw_ih, dw_hh, db, None if db is None else db.copy()]


class FastLSTM(LSTM):
    """:class:`LSTM` with the tuned layer loop (:func:`fast_lstm_layer_forward`); same arguments, parameters and
    results, tested equal to :class:`LSTM`. Not on the page: it is the model that ``benchmarks/bench_lstm.py``
    times against ``torch.nn.LSTM`` (chapter 7 teaches :class:`LSTM`)."""

    def _layer_forward(self, xs, state, weights):
        return fast_lstm_layer_forward(xs, state, weights)

    def _layer_backward(self, dhs, dstate, caches):
        return fast_lstm_layer_backward(dhs, dstate, caches)
