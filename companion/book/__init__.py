"""The book's machinery: run mode and seeds, language and messages, progress bars, plots.

Import plotting from ``companion.book.plotting`` (it imports matplotlib); the rest needs only NumPy and tqdm.
"""
from .i18n import _, format_table, get_language, pad, set_language
from .progress import progress
from .runtime import budget, run_mode, set_seed

__all__ = ["budget", "run_mode", "set_seed", "set_language", "get_language", "_", "pad", "format_table", "progress"]
