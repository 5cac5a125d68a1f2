"""A Keras callback that records the book's history format and prints one line per epoch (chapters 4 and 6)."""
from __future__ import annotations

import time

import keras

from ..book.i18n import _
from ..metrics.classification import accuracy

__all__ = ["EpochLogger"]


class EpochLogger(keras.callbacks.Callback):
    """Records train loss, test accuracy on ``(x_eval, y_eval)`` and training seconds of each epoch, in the
    history format of ``companion.torch.train`` (``epoch``, ``train_loss``, ``test_acc``, ``seconds``), and prints
    one line per epoch (``fit`` itself stays silent with ``verbose=0``). With ``eval_name="val"`` the data is a
    validation set and the accuracy is recorded as ``val_acc``.

    Taught in chapter 4, section 4.5 (``eval_name`` in chapter 6, section 6.9).
    """

    def __init__(self, name: str, x_eval, y_eval, eval_name: str = "test"):
        super().__init__()
        if eval_name not in ("test", "val"):
            raise ValueError(f"EpochLogger: eval_name must be 'test' or 'val', got {eval_name!r}")
        self.name, self.x_eval, self.y_eval, self.eval_name = name, x_eval, y_eval, eval_name
        self.history = {"epoch": [], "train_loss": [], f"{eval_name}_acc": [], "seconds": []}

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self.start  # training time only: evaluation comes after
        eval_acc = accuracy(self.y_eval, self.model.predict(self.x_eval, batch_size=1000, verbose=0))
        for key, value in zip(self.history, (epoch + 1, logs["loss"], eval_acc, seconds)):
            self.history[key].append(value)
        line = (_("{name} epoch {epoch}: loss {loss:.4f}, test accuracy {acc:.4f}, {seconds:.1f} s")
                if self.eval_name == "test" else
                _("{name} epoch {epoch}: loss {loss:.4f}, validation accuracy {acc:.4f}, {seconds:.1f} s"))
        print(line.format(name=self.name, epoch=epoch + 1, loss=logs["loss"], acc=eval_acc, seconds=seconds))
