"""One code path, two languages: chapters pick their language once, labels come from ``tr``.

The zh and en notebooks of a chapter share every code cell; the one cell that differs calls
``set_language("zh")`` or ``set_language("en")`` (tagged ``lang-specific``). Plot labels and
printed messages then use ``tr("English", "中文")``.
"""
from __future__ import annotations

LANGUAGES = ("en", "zh")
_current = "en"


def set_language(lang: str) -> None:
    """Set the language of labels produced by :func:`tr` (``"en"`` or ``"zh"``)."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    _current = lang


def get_language() -> str:
    """The language set by :func:`set_language` (``"en"`` by default)."""
    return _current


def tr(en: str, zh: str) -> str:
    """Return ``en`` or ``zh`` by the current language."""
    return zh if _current == "zh" else en
