"""PyTorch code of the book: devices, the GPT, training loops, what attention costs. Imports torch, never Keras.

Import the modules themselves (``from companion.torch.gpt import GPT``); this file imports nothing, but where
PyTorch is not installed it stops with an install hint instead of a bare ``ModuleNotFoundError`` later.
"""
import importlib.util as _util

if _util.find_spec("torch") is None:
    raise ModuleNotFoundError(
        "companion.torch needs PyTorch, which is not installed: pip install 'companion[torch]' "
        "(Colab has it; on a machine without a GPU install torch's CPU build first, see the README)", name="torch")
del _util
