"""Keras code of the book: weight converters and Keras twins of the NumPy blocks. Imports Keras, never torch.

Import the modules themselves (``from companion.keras.convert import load_linear_state_dict``). This file imports
nothing, but where Keras 3 or its TensorFlow backend is not installed it stops with an install hint instead of a
bare ``ModuleNotFoundError`` later.
"""
import importlib.util as _util
import os as _os

_missing = [name for name in ("keras", "tensorflow")
            if (name == "keras" or _os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow")
            and _util.find_spec(name) is None]
if _missing:
    raise ModuleNotFoundError(
        f"companion.keras needs Keras 3 with TensorFlow, and {' and '.join(_missing)} is not installed: "
        "pip install 'companion[tensorflow]' (Colab has both)", name=_missing[0])
del _util, _os, _missing
