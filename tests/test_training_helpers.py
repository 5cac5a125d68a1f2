"""Shared training helpers: minibatches, the PyTorch classifier loop with its mixed-precision helpers, the Keras
history callback. All on small synthetic data that a correct loop learns in a few epochs."""
from __future__ import annotations

import numpy as np
import pytest

from companion.data.batches import minibatches


def test_minibatches_cover_every_index_once_in_random_order():
    batches = list(minibatches(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    assert np.concatenate(batches).tolist() != list(range(10))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        list(minibatches(10, 0, np.random.default_rng(0)))


def blobs(n=400, seed=0):
    """Two well-separated Gaussian classes in 2-D (float32 features, int64 labels)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = (rng.standard_normal((n, 2)) + 3.0 * y[:, None]).astype(np.float32)
    return x, y.astype(np.int64)


def test_train_classifier_learns_and_returns_the_history_format():
    torch = pytest.importorskip("torch")
    from companion.torch.train import predict, train_classifier

    x, y = blobs()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    history = train_classifier(model, x, y, epochs=3, batch_size=32, lr=0.05, device="cpu", x_eval=x, y_eval=y,
                               cosine=True, generator=torch.Generator().manual_seed(0))
    assert list(history) == ["epoch", "train_loss", "test_acc", "seconds"] and history["epoch"] == [1, 2, 3]
    assert history["train_loss"][-1] < history["train_loss"][0] and history["test_acc"][-1] > 0.9
    assert predict(model, x[:7], "cpu").shape == (7, 2) and not model.training


def test_train_classifier_is_repeatable_with_a_generator():
    torch = pytest.importorskip("torch")
    from companion.torch.train import train_classifier

    x, y = blobs()
    losses = []
    for _run in range(2):
        torch.manual_seed(0)
        model = torch.nn.Linear(2, 2)
        history = train_classifier(model, x, y, epochs=2, batch_size=50, lr=0.1, device="cpu", x_eval=x,
                                   y_eval=y, generator=torch.Generator().manual_seed(1))
        losses.append(history["train_loss"])
    assert losses[0] == losses[1]


def test_mixed_precision_helpers():
    torch = pytest.importorskip("torch")
    from companion.torch.train import autocast, default_amp_dtype, grad_scaler, train_classifier

    assert default_amp_dtype("cpu") == torch.bfloat16
    assert grad_scaler("cpu", torch.float16).is_enabled() and not grad_scaler("cpu", torch.bfloat16).is_enabled()
    layer = torch.nn.Linear(4, 4)
    with autocast("cpu", torch.bfloat16):
        assert layer(torch.ones(2, 4)).dtype == torch.bfloat16
    with autocast("cpu", None):
        assert layer(torch.ones(2, 4)).dtype == torch.float32
    x, y = blobs()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    history = train_classifier(model, x, y, epochs=2, batch_size=32, lr=0.05, device="cpu", x_eval=x, y_eval=y,
                               amp_dtype=torch.bfloat16)
    assert history["test_acc"][-1] > 0.9 and model[0].weight.dtype == torch.float32  # weights stay float32


def small_keras_model(keras):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_keras_epoch_logger_records_the_same_format(capsys):
    keras = pytest.importorskip("keras")
    from companion.keras.callbacks import EpochLogger

    x, y = blobs()
    model = small_keras_model(keras)
    logger = EpochLogger("Keras", x, y)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[logger])
    assert list(logger.history) == ["epoch", "train_loss", "test_acc", "seconds"] and logger.history["epoch"] == [1, 2]
    assert logger.history["test_acc"][-1] > 0.9
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and printed[0].startswith("Keras epoch 1: loss ")


def test_predict_in_batches_equals_one_forward_pass_in_eval_mode():
    torch = pytest.importorskip("torch")
    from companion.torch.train import predict

    x, _y = blobs(n=23)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 3))
    logits = predict(model, x, "cpu", batch_size=5)  # 5 batches, the last of 3 rows; dropout off in eval mode
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert logits.dtype == np.float32 and logits.shape == (23, 3)
    np.testing.assert_allclose(logits, expected, rtol=1e-6, atol=1e-6)


def test_keras_epoch_logger_prints_in_the_chosen_language(capsys):
    keras = pytest.importorskip("keras")
    from companion.book.i18n import set_language
    from companion.keras.callbacks import EpochLogger

    x, y = blobs(n=64)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    try:
        set_language("zh")
        model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[EpochLogger("Keras", x, y)])
    finally:
        set_language("en")
    assert capsys.readouterr().out.startswith("Keras 第 1 轮：损失 ")


def test_train_classifier_records_a_validation_set_as_val_acc(capsys):
    torch = pytest.importorskip("torch")
    from companion.torch.train import train_classifier

    x, y = blobs()
    x_val, y_val = blobs(n=100, seed=1)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    history = train_classifier(model, x, y, epochs=2, batch_size=32, lr=0.05, device="cpu", x_eval=x_val,
                               y_eval=y_val, eval_name="val", desc="CNN")
    assert list(history) == ["epoch", "train_loss", "val_acc", "seconds"] and history["val_acc"][-1] > 0.9
    bar = capsys.readouterr().out.replace("\r", "\n").splitlines()[-1]
    assert "val_acc=" in bar and "test_acc" not in bar and bar.rstrip().endswith("]")


def test_progress_bar_of_a_long_run_keeps_its_postfix_whole(capsys):
    from companion.book.progress import progress

    bar = progress(range(1, 13), desc="autocast torch.bfloat16")
    for _epoch in bar:
        bar.set_postfix({"loss": "0.2345", "val_acc": "0.9127"})
    bar.close()
    last = capsys.readouterr().out.replace("\r", "\n").splitlines()[-1]
    assert last.rstrip().endswith("val_acc=0.9127]"), last


def test_keras_epoch_logger_on_a_validation_set(capsys):
    keras = pytest.importorskip("keras")
    from companion.keras.callbacks import EpochLogger

    x, y = blobs()
    model = small_keras_model(keras)
    logger = EpochLogger("Keras", x[:100], y[:100], eval_name="val")
    model.fit(x[100:], y[100:], epochs=1, batch_size=16, verbose=0, callbacks=[logger])
    assert list(logger.history) == ["epoch", "train_loss", "val_acc", "seconds"]
    assert "validation accuracy" in capsys.readouterr().out
    with pytest.raises(ValueError, match="eval_name must be 'test' or 'val', got 'dev'"):
        EpochLogger("Keras", x, y, eval_name="dev")
