"""Companion package of the book *Foundation Models: Innovation and Responsibility*.

Importing ``companion`` imports neither PyTorch nor TensorFlow: framework code lives in its own
modules (``companion.devices``, ``companion.torch_utils``, ``companion.keras_utils``) and is imported
only by the cells that use it.
"""
from .i18n import get_language, set_language, tr
from .progress import progress
from .runtime import budget, run_mode, set_seed

__version__ = "0.1.0"
__all__ = ["budget", "run_mode", "set_seed", "set_language", "get_language", "tr", "progress", "__version__"]
