"""A table of results that a notebook shows as a real table and a terminal as aligned text.

``display(Table(rows, headers))`` in a notebook renders an HTML table (so does the book's website, which
renders the notebooks' HTML outputs); ``print(table)`` gives ``format_table``'s aligned columns, which count a
Chinese character as two. Used by chapter 4 for its tables of measured results.
"""
from __future__ import annotations

import html

from .i18n import format_table

__all__ = ["Table"]

_HTML_ALIGN = {"<": "left", ">": "right", "^": "center"}


class Table:
    """Rows of cells (strings or numbers, already formatted as they should appear) under one row of headers.

    ``align`` is one character per column, ``"<"`` (left), ``">"`` (right) or ``"^"`` (centred); by default
    text is left- and numbers right-aligned, as in ``format_table``. Wrong shapes or alignment characters raise
    a ``ValueError`` that names them.
    """

    def __init__(self, rows, headers, align: str | None = None):
        self.headers = [str(header) for header in headers]
        self.rows = [list(row) for row in rows]
        columns = len(self.headers)
        lengths = [len(row) for row in self.rows]
        if any(length != columns for length in lengths):
            raise ValueError(f"Table: every row needs {columns} cells (one per header), got lengths {lengths}")
        if align is None:
            sample = self.rows[0] if self.rows else self.headers
            align = "".join(">" if isinstance(cell, (int, float)) else "<" for cell in sample)
        if len(align) != columns or any(char not in _HTML_ALIGN for char in align):
            raise ValueError(f"Table: align needs one of '<', '>', '^' per column ({columns}), got {align!r}")
        self.align = align

    def __str__(self) -> str:
        return format_table(self.rows, headers=self.headers, align=self.align)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        """The HTML that Jupyter (and the book's site) shows for this table; every cell is escaped."""
        def cells(tag, row):
            return "".join(f'<{tag} style="text-align: {_HTML_ALIGN[a]}">{html.escape(str(cell))}</{tag}>'
                           for cell, a in zip(row, self.align))

        body = "".join(f"<tr>{cells('td', row)}</tr>" for row in self.rows)
        return f"<table><thead><tr>{cells('th', self.headers)}</tr></thead><tbody>{body}</tbody></table>"
