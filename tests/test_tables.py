"""companion.book.tables.Table: an HTML table in a notebook, format_table's aligned text elsewhere."""
import html.parser

import pytest

from companion import format_table
from companion.book.tables import Table


class _Cells(html.parser.HTMLParser):
    """Collects (tag, style, text) of every th/td cell of an HTML table."""

    def __init__(self):
        super().__init__()
        self.cells, self._open = [], None

    def handle_starttag(self, tag, attrs):
        if tag in ("th", "td"):
            self._open = [tag, dict(attrs).get("style"), ""]

    def handle_data(self, data):
        if self._open is not None:
            self._open[2] += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._open is not None:
            self.cells.append(tuple(self._open))
            self._open = None


def parse(table):
    parser = _Cells()
    parser.feed(table._repr_html_())
    return parser.cells


def test_html_has_headers_then_rows_with_their_alignment():
    table = Table([["NumPy", "0.8825"], ["Keras", "0.8711"]], headers=["框架", "test accuracy"], align="<>")
    assert parse(table) == [
        ("th", "text-align: left", "框架"), ("th", "text-align: right", "test accuracy"),
        ("td", "text-align: left", "NumPy"), ("td", "text-align: right", "0.8825"),
        ("td", "text-align: left", "Keras"), ("td", "text-align: right", "0.8711"),
    ]


def test_cells_are_escaped():
    cells = parse(Table([["<b>&</b>", 1]], headers=["a<b", "n"]))
    assert [text for _tag, _style, text in cells] == ["a<b", "n", "<b>&</b>", "1"]
    assert "<b>" not in Table([["<b>x</b>"]], headers=["h"])._repr_html_()


def test_text_is_format_table():
    rows, headers = [["PyTorch", 0.5], ["NumPy", 12.25]], ["framework", "seconds"]
    assert str(Table(rows, headers)) == format_table(rows, headers=headers, align="<>")
    assert repr(Table(rows, headers, align="<<")) == format_table(rows, headers=headers, align="<<")


def test_default_alignment_follows_the_first_row():
    assert Table([["a", 1, 2.5]], headers=["x", "y", "z"]).align == "<>>"
    assert Table([], headers=["x", "y"]).align == "<<"


@pytest.mark.parametrize("rows, align, message", [
    ([["a", "b", "c"]], None, "every row needs 2 cells"),
    ([["a"]], None, "every row needs 2 cells"),
    ([["a", "b"]], "<", "align needs one of"),
    ([["a", "b"]], "<|", "align needs one of"),
])
def test_bad_shapes_and_alignment_are_named(rows, align, message):
    with pytest.raises(ValueError, match=message):
        Table(rows, headers=["h1", "h2"], align=align)
