"""The notebook builder keeps the final frame of redrawn lines (progress bars) and updates prose alone on request."""
from __future__ import annotations

import sys

from bookfiles import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import nbformat  # noqa: E402
import build_notebooks  # noqa: E402
import jupytext  # noqa: E402
import pytest  # noqa: E402
from build_notebooks import clean_outputs, collapse_carriage_returns, target_of, update_prose  # noqa: E402


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


def test_prose_only_copies_markdown_and_refuses_changed_code(tmp_path, monkeypatch):
    (tmp_path / "chapters" / "en").mkdir(parents=True)
    (tmp_path / "book" / "en").mkdir(parents=True)
    monkeypatch.setattr(build_notebooks, "ROOT", tmp_path)
    source = tmp_path / "chapters" / "en" / "01_x.md"
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("print(1)")
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells = [nbformat.v4.new_markdown_cell("old prose"), code]
    (tmp_path / "book" / "en" / "01_x.ipynb").write_text(jupytext.writes(nb, fmt="ipynb"), encoding="utf-8")

    jupytext.write(jupytext.reads("# new prose\n\n```{code-cell} ipython3\nprint(1)\n```\n", fmt="md:myst"), source,
                   fmt="md:myst")
    updated = nbformat.read(update_prose(source), as_version=4)
    assert updated.cells[0].source == "# new prose"
    assert updated.cells[1].outputs[0]["text"] == "1\n"  # outputs kept, nothing executed

    jupytext.write(jupytext.reads("# new prose\n\n```{code-cell} ipython3\nprint(2)\n```\n", fmt="md:myst"), source,
                   fmt="md:myst")
    with pytest.raises(SystemExit, match="re-execute"):
        update_prose(source)
