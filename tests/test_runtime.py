"""Run budget, seeds, languages and progress bars."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from companion import budget, get_language, progress, run_mode, set_language, set_seed


def test_budget_follows_the_mode(monkeypatch):
    monkeypatch.delenv("COMPANION_MODE", raising=False)
    assert run_mode() == "full" and budget(full=10, quick=1) == 10
    monkeypatch.setenv("COMPANION_MODE", "quick")
    assert run_mode() == "quick" and budget(full=10, quick=1) == 1
    monkeypatch.setenv("COMPANION_MODE", " Full ")
    assert budget(full=10, quick=1) == 10


def test_unknown_mode_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("COMPANION_MODE", "fast")
    with pytest.raises(ValueError, match="COMPANION_MODE='fast'.*'full', 'quick'"):
        budget(full=1, quick=0)


def test_set_seed_makes_numpy_and_torch_repeat():
    import torch

    set_seed(3)
    first = np.random.rand(3), torch.rand(3)
    rng = set_seed(3)
    second = np.random.rand(3), torch.rand(3)
    assert np.array_equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert np.array_equal(rng.random(2), np.random.default_rng(3).random(2))
    with pytest.raises(ValueError, match="non-negative integer"):
        set_seed(-1)


def test_importing_companion_imports_no_framework():
    import subprocess

    code = "import sys, companion; print(any(m in sys.modules for m in ('torch', 'tensorflow', 'keras')))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_set_language_checks_the_language():
    try:
        set_language("zh")
        assert get_language() == "zh"
        set_language("en")
        assert get_language() == "en"
        with pytest.raises(ValueError, match="'fr'"):
            set_language("fr")
    finally:
        set_language("en")


def test_progress_writes_to_stdout(capsys):
    assert sum(progress(range(5), desc="epochs", mininterval=0)) == 10
    captured = capsys.readouterr()
    assert "epochs" in captured.out and "5/5" in captured.out and captured.err == ""


def test_device_helper_returns_a_usable_device():
    import torch

    from companion.torch.devices import describe_device, get_device

    device = get_device()
    assert device.type in {"cuda", "mps", "cpu"}
    assert torch.ones(2, device=device).sum().item() == 2
    assert get_device("cpu").type == "cpu" and describe_device("cpu").startswith("cpu")


def test_set_seed_seeds_the_layers_default_generator():
    from companion.book.runtime import default_generator
    from companion.nn import Linear

    set_seed(0)
    first = Linear(3, 2).weight.data.copy(), Linear(3, 2).weight.data.copy()
    set_seed(0)
    second = Linear(3, 2).weight.data.copy()
    assert np.array_equal(first[0], second) and not np.array_equal(first[0], first[1])
    set_seed(5)
    draw = default_generator().random(3)
    assert np.array_equal(draw, np.random.default_rng(5).random(3))


def test_set_seed_seeds_keras_when_it_is_imported():
    import subprocess

    code = ("import keras, companion, numpy as np\n"
            "companion.set_seed(1); a = keras.random.normal((3,)); b = keras.layers.Dense(2); b.build((None, 2))\n"
            "companion.set_seed(1); c = keras.random.normal((3,)); d = keras.layers.Dense(2); d.build((None, 2))\n"
            "print(np.allclose(np.asarray(a), np.asarray(c)) and np.allclose(b.get_weights()[0], d.get_weights()[0]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "True", result.stderr[-2000:]
