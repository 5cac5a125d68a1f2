"""The book's own prose as a small text corpus, for the language models of chapter 8.

The files ``companion/data/files/corpus_{en,zh}.txt`` ship with the package (so they load in Colab
after ``pip install``); ``tools/make_corpus.py`` regenerates them from the chapter sources.
"""
from __future__ import annotations

from importlib import resources

from ..book.i18n import LANGUAGES


def load_corpus(lang: str = "en") -> str:
    """The corpus text: ``"en"``, ``"zh"``, or ``"both"`` (English, a blank line, then Chinese)."""
    if lang == "both":
        return "\n".join(load_corpus(code) for code in LANGUAGES)
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES + ('both',)}, got {lang!r}")
    path = resources.files("companion.data").joinpath("files", f"corpus_{lang}.txt")
    return path.read_text(encoding="utf-8")
