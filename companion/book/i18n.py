"""One code path, two languages: a chapter picks its language once; messages come from a catalog.

The zh and en notebooks of a chapter share every code cell; the one cell that differs calls
``set_language("zh")`` or ``set_language("en")`` (tagged ``lang-specific``). A code cell then writes each
message once, in English, as gettext does: ``print(_("test accuracy {acc:.4f}").format(acc=acc))``. In English
``_`` returns the message itself; in Chinese it looks the message up in the catalog, the ``.po`` files under
``companion/book/locale/zh/`` (one per chapter, and ``companion.po`` for the package's own labels), which a
translator edits without touching code. A test checks that every message of every chapter has a translation
with the same ``{placeholders}``.

Printed tables line up in both languages with :func:`pad` and :func:`format_table`, which count a Chinese
character as two columns, as a terminal and a notebook draw it.
"""
from __future__ import annotations

import ast
import unicodedata
from importlib import resources

__all__ = ["LANGUAGES", "set_language", "get_language", "gettext", "_", "read_po", "catalog",
           "display_width", "pad", "format_table"]

LANGUAGES = ("en", "zh")
_current = "en"
_catalogs: dict[str, dict[str, str]] = {}


def set_language(lang: str) -> None:
    """Set the language of messages and labels (``"en"`` or ``"zh"``)."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {lang!r}")
    _current = lang


def get_language() -> str:
    """The language set by :func:`set_language` (``"en"`` by default)."""
    return _current


def read_po(text: str, where: str = "catalog") -> dict[str, str]:
    """``{msgid: msgstr}`` from the text of a gettext ``.po`` file (no plurals or contexts; empty msgstr skipped)."""
    entries, key, field = {}, None, None
    values = {"msgid": [], "msgstr": []}

    def finish():
        if field is not None:
            msgid, msgstr = "".join(values["msgid"]), "".join(values["msgstr"])
            if msgid and msgstr:
                if msgid in entries and entries[msgid] != msgstr:
                    raise ValueError(f"{where}: {msgid!r} is translated twice, differently")
                entries[msgid] = msgstr

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _sep, rest = line.partition(" ")
        if head in ("msgid", "msgstr"):
            if head == "msgid":
                finish()
                values = {"msgid": [], "msgstr": []}
            field, line = head, rest.strip()
        if field is None or not (line.startswith('"') and line.endswith('"') and len(line) >= 2):
            raise ValueError(f"{where}, line {number}: expected msgid, msgstr or a quoted string, got {raw!r}")
        values[field].append(ast.literal_eval(line))  # the C escapes of .po files are Python's
    finish()
    return entries


def catalog(lang: str) -> dict[str, str]:
    """Every translation into ``lang`` shipped with the package (read once, then cached)."""
    if lang not in _catalogs:
        merged: dict[str, str] = {}
        folder = resources.files("companion.book").joinpath("locale", lang)
        files = sorted((p for p in folder.iterdir() if p.name.endswith(".po")), key=lambda p: p.name) \
            if folder.is_dir() else []
        for path in files:
            for msgid, msgstr in read_po(path.read_text(encoding="utf-8"), f"locale/{lang}/{path.name}").items():
                if merged.get(msgid, msgstr) != msgstr:
                    raise ValueError(f"locale/{lang}: {msgid!r} has two different translations ({path.name})")
                merged[msgid] = msgstr
        _catalogs[lang] = merged
    return _catalogs[lang]


def gettext(message: str) -> str:
    """``message`` in the current language: itself in English, its catalog translation in Chinese."""
    if _current == "en":
        return message
    return catalog(_current).get(message, message)


_ = gettext


def display_width(text: str) -> int:
    """Columns that ``text`` takes in a terminal: wide (East Asian) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 0 if unicodedata.combining(ch) else 1
               for ch in str(text))


def pad(text, width: int, align: str = "<") -> str:
    """``text`` padded with spaces to ``width`` display columns: ``"<"`` left, ``">"`` right, ``"^"`` centred."""
    text = str(text)
    fill = max(width - display_width(text), 0)
    if align == "<":
        return text + " " * fill
    if align == ">":
        return " " * fill + text
    if align == "^":
        return " " * (fill // 2) + text + " " * (fill - fill // 2)
    raise ValueError(f"align must be '<', '>' or '^', got {align!r}")


def format_table(rows, headers=None, align=None) -> str:
    """Rows of cells (already formatted strings or numbers) as aligned text columns, Chinese included.

    ``align`` is one character per column (``"<"`` or ``">"``); by default text is left- and numbers right-aligned.
    """
    rows = [list(row) for row in rows]
    table = ([list(headers)] if headers is not None else []) + rows
    if not table:
        return ""
    columns = max(len(row) for row in table)
    if any(len(row) != columns for row in table):
        raise ValueError(f"format_table: every row needs {columns} cells, got lengths {[len(r) for r in table]}")
    if align is None:
        sample = rows[0] if rows else table[0]
        align = "".join(">" if isinstance(cell, (int, float)) else "<" for cell in sample)
    if len(align) != columns:
        raise ValueError(f"format_table: align needs one character per column ({columns}), got {align!r}")
    cells = [[str(cell) for cell in row] for row in table]
    widths = [max(display_width(row[i]) for row in cells) for i in range(columns)]
    lines = ["  ".join(pad(cell, w, a) for cell, w, a in zip(row, widths, align)).rstrip() for row in cells]
    if headers is not None:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
