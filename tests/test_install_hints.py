"""Without PyTorch or TensorFlow/Keras, companion.torch and companion.keras say what to install (Colab, Binder)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from bookfiles import ROOT


def run_without(hidden: list[str], module: str) -> subprocess.CompletedProcess:
    """Import ``module`` in a fresh interpreter in which the modules ``hidden`` cannot be imported."""
    code = ("import sys\n"
            + "".join(f"sys.modules[{name!r}] = None\n" for name in hidden)
            + f"import {module}\n")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("hidden, module, hint", [
    (["torch"], "companion.torch.gpt", "pip install 'companion[torch]'"),
    (["torch"], "companion.torch.devices", "pip install 'companion[torch]'"),
    (["keras"], "companion.keras.blocks", "pip install 'companion[tensorflow]'"),
    (["tensorflow"], "companion.keras.convert", "pip install 'companion[tensorflow]'"),
])
def test_a_missing_framework_gives_an_install_hint(hidden, module, hint):
    result = run_without(hidden, module)
    assert result.returncode != 0, f"import {module} without {hidden} should fail"
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ModuleNotFoundError") and hint in last, result.stderr
    assert f"{hidden[0]} is not installed" in last or "PyTorch, which is not installed" in last, last


@pytest.mark.parametrize("hidden, module", [(["keras", "tensorflow"], "companion.torch.devices"),
                                            (["torch"], "companion.keras.convert"),
                                            (["torch", "keras", "tensorflow"], "companion.nn")])
def test_other_parts_import_without_the_other_framework(hidden, module):
    result = run_without(hidden, module)
    assert result.returncode == 0, result.stderr
