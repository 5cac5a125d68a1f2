"""nbgrader's cell metadata lives in the chapter sources, survives jupytext and JupyterLab, and is in book/.

The failure mode this guards against (issue 8): metadata only in book/*.ipynb, stripped by ``jupytext --sync``
or a save in JupyterLab, after which nbgrader refuses the notebook ("Solution region detected in a
non-solution cell"). Also: the builder leaves each notebook no newer than its source, so JupyterLab opens it.
"""
from __future__ import annotations

import os
import shutil
import sys
import time

import jupytext
import nbformat
import pytest
from jupytext.config import load_jupytext_configuration_file

from bookfiles import ROOT, chapter_sources

sys.path.insert(0, str(ROOT / "tools"))
import build_notebooks  # noqa: E402

CONFIG = load_jupytext_configuration_file(str(ROOT / "jupytext.toml"))
MARKERS = {"solution": ("BEGIN SOLUTION", "END SOLUTION"), "grade": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")}


def nbgrader_metadata(nb):
    return [(i, cell.cell_type, cell.metadata["nbgrader"]) for i, cell in enumerate(nb.cells) if "nbgrader" in cell.metadata]


@pytest.mark.parametrize("path", chapter_sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_nbgrader_metadata_survives_a_jupytext_round_trip(path):
    """md -> ipynb -> md, the second step with the repository's jupytext.toml (what --sync and JupyterLab do)."""
    text = path.read_text(encoding="utf-8")
    nb = jupytext.reads(text, fmt="md:myst")
    assert nbgrader_metadata(nb), f"{path.name}: no nbgrader cell metadata in the source"
    ipynb = nbformat.reads(jupytext.writes(nb, fmt="ipynb"), as_version=4)
    back = jupytext.writes(ipynb, fmt="md:myst", config=CONFIG)
    again = jupytext.reads(back, fmt="md:myst")
    assert nbgrader_metadata(again) == nbgrader_metadata(nb), f"{path.name}: jupytext dropped nbgrader metadata"
    assert [c.source for c in again.cells] == [c.source for c in nb.cells]


def test_the_jupytext_configuration_keeps_nbgrader_metadata():
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {"solution": True, "grade_id": "a"}, "other": 1})
    nb.cells = [cell]
    text = jupytext.writes(nb, fmt="md:myst", config=CONFIG)
    assert "grade_id: a" in text and "other" not in text   # nbgrader kept, everything else still filtered


@pytest.mark.parametrize("path", chapter_sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_marked_cell_has_its_nbgrader_metadata_in_the_source_and_in_book(path):
    source = jupytext.read(path)
    target = build_notebooks.target_of(path)
    book = nbformat.read(target, as_version=4)
    for where, nb in ((path.relative_to(ROOT), source), (target.relative_to(ROOT), book)):
        build_notebooks.check_nbgrader_metadata(nb, str(where))   # what nbgrader would refuse
        for index, cell in enumerate(nb.cells):
            for flag, markers in MARKERS.items():
                if any(m in cell.source for m in markers):
                    assert cell.metadata.get("nbgrader", {}).get(flag), f"{where}, cell {index}: needs nbgrader {flag}"
    assert nbgrader_metadata(book) == nbgrader_metadata(source), (
        f"{target.name}: its nbgrader metadata differs from {path.name}; rebuild it (tools/build_notebooks.py)")
    hidden = [c for c in book.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
              and "BEGIN HIDDEN TESTS" in c.source]
    assert hidden and all("remove-cell" in c.metadata.get("tags", []) for c in hidden), (
        f"{target.name}: hidden tests must sit in cells tagged remove-cell (not on the site)")


def test_check_nbgrader_metadata_names_the_cell_nbgrader_would_refuse():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")]
    with pytest.raises(ValueError, match=r"cell 1: it contains '### BEGIN SOLUTION'.*solution: true"):
        build_notebooks.check_nbgrader_metadata(nb, "x.md")
    nb.cells[1].metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "a"}
    build_notebooks.check_nbgrader_metadata(nb, "x.md")
    nb.cells[0].metadata["nbgrader"] = {"solution": True, "grade": True, "grade_id": "a", "points": 1}
    with pytest.raises(ValueError, match="not unique"):
        build_notebooks.check_nbgrader_metadata(nb, "x.md")


def test_the_builder_leaves_the_notebook_no_newer_than_its_source_so_jupyterlab_opens_it(tmp_path, monkeypatch):
    from jupytext import TextFileContentsManager

    (tmp_path / "chapters" / "en").mkdir(parents=True)
    (tmp_path / "book" / "en").mkdir(parents=True)
    shutil.copyfile(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    monkeypatch.setattr(build_notebooks, "ROOT", tmp_path)
    source = tmp_path / "chapters" / "en" / "01_x.md"
    target = tmp_path / "book" / "en" / "01_x.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("old prose"), nbformat.v4.new_code_cell("print(1)")]
    target.write_text(jupytext.writes(nb, fmt="ipynb"), encoding="utf-8")
    jupytext.write(jupytext.reads("# new prose\n\n```{code-cell} ipython3\nprint(1)\n```\n", fmt="md:myst"), source,
                   fmt="md:myst")
    old = time.time() - 3600   # a source last edited an hour ago; the notebook is written now
    os.utime(source, (old, old))
    build_notebooks.update_prose(source)
    assert target.stat().st_mtime <= source.stat().st_mtime + 1e-3, "the notebook is newer than its source"

    manager = TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get("book/en/01_x.ipynb")   # raises "... is more recent than ..." when the mtimes are wrong
    assert model["content"].cells[0].source == "# new prose"
    os.utime(target, (old + 60, old + 60))       # and the check is real: a notebook a minute newer is refused
    with pytest.raises(Exception, match="more recent"):
        manager.get("book/en/01_x.ipynb")


def test_prose_only_carries_the_nbgrader_metadata_of_the_source(tmp_path, monkeypatch):
    (tmp_path / "chapters" / "en").mkdir(parents=True)
    (tmp_path / "book" / "en").mkdir(parents=True)
    monkeypatch.setattr(build_notebooks, "ROOT", tmp_path)
    source = tmp_path / "chapters" / "en" / "01_x.md"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("answer"), nbformat.v4.new_code_cell("x = 1")]
    (tmp_path / "book" / "en" / "01_x.ipynb").write_text(jupytext.writes(nb, fmt="ipynb"), encoding="utf-8")
    answer = {"grade": True, "grade_id": "exercise-1-answer", "locked": False, "points": 1, "schema_version": 3,
              "solution": True, "task": False}
    source.write_text('+++ {"nbgrader": ' + __import__("json").dumps(answer) + '}\n\nanswer\n\n+++\n\n'
                      "```{code-cell} ipython3\nx = 1\n```\n", encoding="utf-8")
    updated = nbformat.read(build_notebooks.update_prose(source), as_version=4)
    assert updated.cells[0].metadata["nbgrader"] == answer and "nbgrader" not in updated.cells[1].metadata


def test_a_notebook_saved_by_jupyterlab_keeps_the_nbgrader_metadata_in_its_source(tmp_path):
    """Open and save a chapter through jupytext's contents manager (what JupyterLab does with paired notebooks)."""
    from jupytext import TextFileContentsManager

    source = ROOT / "chapters" / "en" / "00_preface.md"
    (tmp_path / "chapters" / "en").mkdir(parents=True)
    (tmp_path / "book" / "en").mkdir(parents=True)
    shutil.copyfile(ROOT / "jupytext.toml", tmp_path / "jupytext.toml")
    md = tmp_path / "chapters" / "en" / source.name
    md.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    ipynb = tmp_path / "book" / "en" / (source.stem + ".ipynb")
    ipynb.write_text(jupytext.writes(jupytext.read(source), fmt="ipynb"), encoding="utf-8")
    os.utime(ipynb, ns=(md.stat().st_mtime_ns, md.stat().st_mtime_ns))
    manager = TextFileContentsManager(root_dir=str(tmp_path))
    model = manager.get(f"book/en/{ipynb.name}")
    model["content"].cells[0].source += "\n\nAn edit in JupyterLab."
    manager.save(model, f"book/en/{ipynb.name}")
    saved = jupytext.read(md)
    assert "An edit in JupyterLab." in saved.cells[0].source   # the save did rewrite the source
    assert nbgrader_metadata(saved) == nbgrader_metadata(jupytext.read(source))
    assert nbgrader_metadata(nbformat.read(ipynb, as_version=4)) == nbgrader_metadata(saved)
