"""Companion package of the book *Foundation Models: Innovation and Responsibility*.

Subpackages, grouped by what they need at import time (a test checks these rules in a fresh process):

- ``companion.book``: run mode (``budget``), seeds, language and messages, progress, plotting
  (stdlib and NumPy; plotting and progress also matplotlib and tqdm);
- ``companion.nn``, ``companion.optim``, ``companion.gradcheck``: the NumPy layers, losses, optimizers and
  gradient checks the chapters build from scratch (stdlib and NumPy only);
- ``companion.data``: downloading and caching, vision data sets, the book's text corpus, tokenizers;
- ``companion.metrics``: classification metrics;
- ``companion.torch``: PyTorch code (devices, the GPT, training loops, attention cost); never Keras;
- ``companion.keras``: Keras code (weight converters, Keras twins of NumPy blocks); never torch.

``import companion`` imports neither PyTorch nor TensorFlow/Keras, nor matplotlib.
"""
from .book.i18n import _, format_table, get_language, pad, set_language
from .book.progress import progress
from .book.runtime import budget, run_mode, set_seed

__version__ = "0.1.0"
__all__ = ["budget", "run_mode", "set_seed", "set_language", "get_language", "_", "pad", "format_table", "progress",
           "__version__"]
