"""The notebook builder keeps the final frame of redrawn lines (progress bars)."""
from __future__ import annotations

import sys

from bookfiles import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import nbformat  # noqa: E402
from build_notebooks import clean_outputs, collapse_carriage_returns, target_of  # noqa: E402


def test_collapse_carriage_returns_keeps_what_a_terminal_shows():
    text = "epoch:   0%|   | 0/3\repoch:  33%|#  | 1/3\repoch: 100%|###| 3/3\nloss 0.5\n"
    assert collapse_carriage_returns(text) == "epoch: 100%|###| 3/3\nloss 0.5\n"
    assert collapse_carriage_returns("done\r\n") == "done\n"


def test_target_of_maps_sources_to_book():
    assert target_of(ROOT / "chapters" / "zh" / "02_x.md") == ROOT / "book" / "zh" / "02_x.ipynb"


def test_clean_outputs_merges_flushes_of_one_bar():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("...")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=t) for t in ("\r  0%", "\r 66%", "\r100%\n")]
    cell.outputs.append(nbformat.v4.new_output("display_data", data={"text/plain": "fig"}))
    cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text="after\n"))
    nb.cells.append(cell)
    clean_outputs(nb)
    assert [o.get("text") for o in nb.cells[0].outputs] == ["100%\n", None, "after\n"]
