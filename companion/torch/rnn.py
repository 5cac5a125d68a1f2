"""Recurrent models in PyTorch for chapter 7 (sections 7.7 to 7.10).

``CharRNN`` is a character-level language model with the interface of ``companion.torch.gpt.GPT``
(``config.block_size``, ``forward(idx, targets) -> (logits, loss)``), so that ``companion.torch.gpt_train.train``
trains it with the same loop as chapter 8's GPT; ``generate_stream`` samples from it one character at a time,
carrying only the recurrent state. ``SequenceClassifier`` reads a sequence of vectors (the rows of an image, or
the one-hot symbols of a long-memory task) and classifies it from the last hidden state.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["CELLS", "CharRNNConfig", "CharRNN", "SequenceClassifier", "generate_stream", "set_forget_bias"]

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")


def set_forget_bias(rnn: nn.LSTM | nn.GRU, value: float = 1.0) -> None:
    """Start every gate that keeps the old state open: its bias ``value`` (Gers et al., 2000; Jozefowicz et al.,
    2015; Keras' ``unit_forget_bias``). For an LSTM that is the forget gate (torch's gate order i, f, g, o); for
    a GRU the update gate z of ``h = (1 - z) * n + z * h_prev`` (order r, z, n). Both are rows ``H:2H``; the value
    goes into ``bias_ih`` and ``bias_hh`` is zeroed there, so the sum of the two biases is ``value``."""
    if not isinstance(rnn, (nn.LSTM, nn.GRU)):
        raise ValueError(f"set_forget_bias needs an nn.LSTM or nn.GRU, got {type(rnn).__name__}")
    H = rnn.hidden_size
    with torch.no_grad():
        for name, p in rnn.named_parameters():
            if name.startswith("bias_ih"):
                p[H:2 * H] = value
            elif name.startswith("bias_hh"):
                p[H:2 * H] = 0.0


@dataclass
class CharRNNConfig:
    vocab_size: int          # characters in the vocabulary: rows of the embedding, logits at each position
    block_size: int          # length of the training windows (the recurrence itself has no length limit)
    cell: str = "lstm"       # "rnn" (tanh), "lstm" or "gru"
    n_embd: int = 64         # width of the character embedding, the input x_t of the recurrence
    hidden_size: int = 256   # width H of the hidden state h_t (and of the LSTM's cell state c_t)
    n_layer: int = 1         # recurrent layers stacked on each other
    dropout: float = 0.0     # dropout on the embeddings and on the last layer's outputs

    def __post_init__(self):
        _check_cell(self.cell)
        for name in ("vocab_size", "block_size", "n_embd", "hidden_size", "n_layer"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")


class CharRNN(nn.Module):
    """Embedding, a recurrent network and a linear layer to the logits of the next character (section 7.8). An
    LSTM's forget gates and a GRU's update gates start at ``sigmoid(1)`` (``set_forget_bias``), as Keras' LSTM."""

    def __init__(self, config: CharRNNConfig):
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.rnn = CELLS[config.cell](config.n_embd, config.hidden_size, num_layers=config.n_layer,
                                      batch_first=True)
        if config.cell in ("lstm", "gru"):
            set_forget_bias(self.rnn)
        self.drop = nn.Dropout(config.dropout)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size)

    def forward(self, idx, targets=None, state=None):
        """Logits ``(B, T, vocab_size)`` and the mean cross-entropy against ``targets`` (None without targets).
        ``state`` is the recurrent state to start from (zeros if None); ``step`` returns the state at the end."""
        logits, _state = self.step(idx, state)
        loss = None
        if targets is not None:
            if targets.shape != idx.shape:
                raise ValueError(f"targets must have the shape of idx {tuple(idx.shape)}, got {tuple(targets.shape)}")
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)).float(), targets.reshape(-1))
        return logits, loss

    def step(self, idx, state=None):
        """Logits for ``idx`` ``(B, T)`` and the recurrent state after its last position."""
        if idx.dim() != 2:
            raise ValueError(f"idx must have shape (B, T), got {tuple(idx.shape)}")
        out, state = self.rnn(self.drop(self.wte(idx)), state)    # (B, T, H)
        return self.lm_head(self.drop(out)), state


@torch.no_grad()
def generate_stream(model: CharRNN, idx, max_new_tokens: int, temperature: float = 1.0, generator=None):
    """Sample ``max_new_tokens`` characters after the prompt ``idx`` ``(B, T)``: the prompt is read once, then each
    new character is fed alone with the state, so every step costs the same time and memory (section 7.10)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    was_training = model.training
    model.eval()
    logits, state = model.step(idx)                                   # read the prompt, keep the state
    out = [idx]
    for _step in range(max_new_tokens):
        probs = F.softmax(logits[:, -1, :].float() / temperature, dim=-1)
        if generator is not None:
            probs = probs.to(generator.device)
        next_id = torch.multinomial(probs, num_samples=1, generator=generator).to(idx.device)   # (B, 1)
        out.append(next_id)
        logits, state = model.step(next_id, state)                    # one step: the state is all it remembers
    model.train(was_training)
    return torch.cat(out, dim=1)


class SequenceClassifier(nn.Module):
    """A recurrent network that reads ``(N, T, input_size)`` and classifies the sequence from its last hidden
    state (sections 7.7 and 7.9). An LSTM's forget gates and a GRU's update gates start at
    ``sigmoid(forget_bias)``: open, keeping the old state (``set_forget_bias``)."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int, cell: str = "lstm",
                 num_layers: int = 1, forget_bias: float = 1.0):
        super().__init__()
        _check_cell(cell)
        self.rnn = CELLS[cell](input_size, hidden_size, num_layers=num_layers, batch_first=True)
        if cell in ("lstm", "gru"):
            set_forget_bias(self.rnn, forget_bias)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        if x.dim() != 3 or x.size(-1) != self.rnn.input_size:
            raise ValueError(f"x must have shape (N, T, {self.rnn.input_size}), got {tuple(x.shape)}")
        out = self.rnn(x)[0]              # (N, T, H): the hidden state of the last layer at every step
        return self.head(out[:, -1])      # logits from the last step
