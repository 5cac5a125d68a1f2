"""Chapter 7's helpers: the long-memory task generator and the torch recurrent models."""
import numpy as np
import pytest
import torch

from companion.data.sequences import remember_first
from companion.torch.gpt import generate
from companion.torch.gpt_train import train
from companion.torch.rnn import CharRNN, CharRNNConfig, SequenceClassifier, generate_stream, set_forget_bias


def test_remember_first_one_hot_and_target():
    x, y = remember_first(50, 7, 5, np.random.default_rng(0))
    assert x.shape == (50, 7, 6) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.all(x[:, 1:].sum(-1) == 1) and np.all(x[:, 0].sum(-1) == 2)   # one symbol per step, + the marker
    assert np.all(x[:, 0, 0] == 1) and np.all(x[:, 1:, 0] == 0)             # the marker only on step 0
    assert np.array_equal(x[:, 0, 1:].argmax(-1), y)                        # step 0 holds the target symbol
    assert set(np.unique(y)) <= set(range(5)) and len(np.unique(y)) > 1
    later = x[:, 1:, 1:].argmax(-1)                                         # distractors: every symbol occurs
    assert set(np.unique(later)) == set(range(5))
    assert np.mean(later == y[:, None]) < 0.4                               # and they are not the target


@pytest.mark.parametrize("kwargs", [dict(n=0, length=3, classes=4), dict(n=2, length=0, classes=4),
                                    dict(n=2, length=3, classes=1), dict(n=2.5, length=3, classes=4)])
def test_remember_first_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        remember_first(rng=np.random.default_rng(0), **kwargs)


def test_set_forget_bias_sets_the_f_rows_only():
    lstm = torch.nn.LSTM(3, 4, num_layers=2)
    set_forget_bias(lstm, 2.0)
    for layer in range(2):
        b_ih, b_hh = getattr(lstm, f"bias_ih_l{layer}"), getattr(lstm, f"bias_hh_l{layer}")
        assert torch.all(b_ih[4:8] == 2.0) and torch.all(b_hh[4:8] == 0.0)
        assert not torch.all(b_ih[:4] == 2.0)
    with pytest.raises(ValueError, match="nn.LSTM or nn.GRU"):
        set_forget_bias(torch.nn.RNN(3, 4))


def test_set_forget_bias_sets_the_gru_update_gate():
    gru = torch.nn.GRU(3, 4)
    set_forget_bias(gru, 3.0)
    assert torch.all(gru.bias_ih_l0[4:8] == 3.0) and torch.all(gru.bias_hh_l0[4:8] == 0.0)
    # with zero input and state, z = sigmoid(3) and n = tanh(b_n): h_1 = (1 - z) * n, most of h_0 = 0 kept
    with torch.no_grad():
        gru.bias_ih_l0[8:] = 1.0
        gru.bias_hh_l0[8:] = 0.0
        gru.bias_ih_l0[:4] = 0.0
        gru.bias_hh_l0[:4] = 0.0
        h1 = gru(torch.zeros(1, 1, 3))[0]
    z = torch.sigmoid(torch.tensor(3.0))
    assert torch.allclose(h1, (1 - z) * torch.tanh(torch.tensor(1.0)) * torch.ones(4))
    assert torch.all(SequenceClassifier(3, 4, 2, cell="gru", forget_bias=2.0).rnn.bias_ih_l0[4:8] == 2.0)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_char_rnn_shapes_loss_and_state(cell):
    torch.manual_seed(0)
    model = CharRNN(CharRNNConfig(vocab_size=11, block_size=8, cell=cell, n_embd=5, hidden_size=7))
    idx = torch.randint(0, 11, (3, 8))
    logits, loss = model(idx, idx)
    assert logits.shape == (3, 8, 11)
    assert torch.isclose(loss, torch.nn.functional.cross_entropy(logits.reshape(-1, 11), idx.reshape(-1)))
    # reading the sequence in two halves with the state carried over gives the same logits
    model.eval()
    first, state = model.step(idx[:, :5])
    second, _state = model.step(idx[:, 5:], state)
    assert torch.allclose(torch.cat([first, second], 1), model(idx)[0], atol=1e-5)
    if cell in ("lstm", "gru"):                  # the gate that keeps the old state starts open (rows H:2H)
        assert torch.all(model.rnn.bias_ih_l0[7:14] == 1.0) and torch.all(model.rnn.bias_hh_l0[7:14] == 0.0)


def test_char_rnn_bad_input_and_config():
    with pytest.raises(ValueError):
        CharRNNConfig(vocab_size=11, block_size=8, cell="transformer")
    with pytest.raises(ValueError):
        CharRNNConfig(vocab_size=0, block_size=8)
    model = CharRNN(CharRNNConfig(vocab_size=11, block_size=8))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(torch.zeros(8, dtype=torch.long))
    with pytest.raises(ValueError, match="targets"):
        model(torch.zeros((2, 8), dtype=torch.long), torch.zeros((2, 7), dtype=torch.long))


def test_generate_stream_equals_rereading_the_whole_text():
    """Carrying the state one token at a time samples the same text as re-reading everything each step."""
    torch.manual_seed(0)
    model = CharRNN(CharRNNConfig(vocab_size=9, block_size=64, cell="lstm", n_embd=4, hidden_size=6))
    idx = torch.tensor([[1, 2, 3]])
    streamed = generate_stream(model, idx, 20, generator=torch.Generator().manual_seed(3))
    reread = generate(model, idx, 20, generator=torch.Generator().manual_seed(3))   # block 64 > 23: whole text
    assert streamed.shape == (1, 23) and torch.equal(streamed, reread)
    with pytest.raises(ValueError):
        generate_stream(model, idx, 2, temperature=0.0)


def test_char_rnn_trains_with_chapter_8s_loop():
    rng = np.random.default_rng(0)
    ids = np.tile(np.arange(5), 200)                        # a periodic text: easy to learn
    model = CharRNN(CharRNNConfig(vocab_size=5, block_size=16, cell="gru", n_embd=8, hidden_size=16))
    history = train(model, ids, ids[rng.integers(0, 5):], steps=60, batch_size=8, lr=1e-2, eval_interval=60,
                    eval_iters=2)
    assert history["val_loss"][-1] < 0.5 * history["val_loss"][0]


def test_sequence_classifier_learns_the_short_memory_task():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = SequenceClassifier(5, 16, 4, cell="lstm", forget_bias=3.0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _step in range(150):
        x, y = remember_first(32, 5, 4, rng)
        loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    x, y = remember_first(200, 5, 4, np.random.default_rng(1))
    with torch.no_grad():
        accuracy = (model(torch.from_numpy(x)).argmax(-1).numpy() == y).mean()
    assert accuracy > 0.9
    with pytest.raises(ValueError, match=r"\(N, T, 5\)"):
        model(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError):
        SequenceClassifier(5, 16, 4, cell="cnn")
