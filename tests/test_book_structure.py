"""The book's files agree with each other: twins, sources and notebooks, table of contents, set-up cells."""
from __future__ import annotations

import re

import jupytext
import pytest

from bookfiles import (LANGS, ROOT, chapter_names, code_cells, code_structure, config, load_notebook,
                  notebooks, source, tags, toc_files)

NAMES = chapter_names()


def test_there_are_chapters():
    assert len(NAMES) >= 3, "expected at least the preface and chapters 02 and 04"


@pytest.mark.parametrize("name", NAMES)
def test_every_chapter_has_both_languages_and_both_forms(name):
    missing = [str(path.relative_to(ROOT)) for lang in LANGS
               for path in (ROOT / "chapters" / lang / f"{name}.md", ROOT / "book" / lang / f"{name}.ipynb")
               if not path.exists()]
    assert not missing, f"chapter {name} lacks {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_zh_and_en_have_the_same_code(name):
    """Same code cells in the same order, same tags, same code but for comments and docstrings (or tagged lang-specific)."""
    en = code_cells(load_notebook(ROOT / "book" / "en" / f"{name}.ipynb"))
    zh = code_cells(load_notebook(ROOT / "book" / "zh" / f"{name}.ipynb"))
    assert len(en) == len(zh), f"{name}: {len(en)} code cells in en, {len(zh)} in zh"
    for number, (cell_en, cell_zh) in enumerate(zip(en, zh), start=1):
        where = f"{name}, code cell {number}"
        assert tags(cell_en) == tags(cell_zh), f"{where}: tags differ: en {tags(cell_en)}, zh {tags(cell_zh)}"
        if "lang-specific" in tags(cell_en):
            continue
        assert code_structure(source(cell_en)) == code_structure(source(cell_zh)), (
            f"{where}: code differs between languages (beyond comments and docstrings):\n--- en\n{source(cell_en)}\n--- zh\n{source(cell_zh)}")


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_in_sync_with_its_source(path):
    lang, name = path.parent.name, path.stem
    md = jupytext.read(ROOT / "chapters" / lang / f"{name}.md")
    nb = load_notebook(path)
    expected = [(c.cell_type, c.source, tags(c)) for c in md.cells]
    actual = [(c["cell_type"], source(c), tags(c)) for c in nb["cells"]]
    assert len(actual) == len(expected), (
        f"book/{lang}/{name}.ipynb has {len(actual)} cells, its source {len(expected)}: run `make notebooks`")
    for number, (want, got) in enumerate(zip(expected, actual), start=1):
        assert got == want, f"book/{lang}/{name}.ipynb cell {number} differs from chapters/{lang}/{name}.md: run `make notebooks`"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_notebook_is_executed_without_errors_or_stderr(path):
    for number, cell in enumerate(code_cells(load_notebook(path)), start=1):
        assert cell.get("execution_count") is not None, f"{path.name} code cell {number} was not executed: run `make notebooks`"
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", f"{path.name} code cell {number} has an error output"
            assert output.get("name") != "stderr", f"{path.name} code cell {number} wrote to stderr: {output.get('text', '')[:300]}"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_cells_link_the_twin_and_set_up_colab(path):
    lang, name = path.parent.name, path.stem
    other = "zh" if lang == "en" else "en"
    nb = load_notebook(path)
    first = nb["cells"][0]
    assert first["cell_type"] == "markdown" and source(first).startswith("# "), f"{path.name}: the first cell must be the title"
    assert f"(../{other}/{name}.ipynb)" in source(first), f"{path.name}: the title cell must link to ../{other}/{name}.ipynb"
    setup, language = code_cells(nb)[:2]
    url = config()["repository"]["url"]
    assert f' @ git+{url}"' in source(setup), f"{path.name}: the setup cell must install companion from {url} (_config.yml)"
    assert 'if "google.colab" in sys.modules:' in source(setup), f"{path.name}: the setup cell installs only inside Colab"
    assert "remove-cell" in tags(setup), f"{path.name}: tag the Colab setup cell remove-cell (kept in the notebook, hidden on the site)"
    assert "lang-specific" in tags(language) and f'set_language("{lang}")' in source(language), (
        f'{path.name}: the second code cell must be set_language("{lang}"), tagged lang-specific')


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_gpu_chapters_open_on_a_colab_gpu(path):
    nb = load_notebook(path)
    uses_gpu = any("get_device(" in source(cell) for cell in code_cells(nb))
    has_metadata = nb["metadata"].get("accelerator") == "GPU"
    assert uses_gpu == has_metadata, f"{path.name}: a notebook with GPU cells (get_device) carries accelerator: GPU metadata, others not"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_chapter_has_exercises_and_a_summary(path):
    text = "\n".join(source(cell) for cell in load_notebook(path)["cells"] if cell["cell_type"] == "markdown")
    heading = {"en": ("## Exercises", "## Summary"), "zh": ("## 练习", "## 小结")}[path.parent.name]
    for title in heading:
        assert re.search(rf"^{re.escape(title)}\s*$", text, re.MULTILINE), f"{path.name} lacks a '{title}' section"


def test_table_of_contents_lists_every_notebook_in_both_parts():
    listed = set(toc_files())
    for path in notebooks():
        entry = str(path.relative_to(ROOT).with_suffix(""))
        assert entry in listed, f"{entry} is not in _toc.yml"
    for entry in listed:
        assert any((ROOT / f"{entry}{suffix}").exists() for suffix in (".ipynb", ".md")), f"_toc.yml lists {entry}, which does not exist"


def test_landing_page_and_prefaces_link_every_chapter():
    """The site's landing page (book/index.md) and both prefaces' chapter tables link every chapter that exists."""
    landing = (ROOT / "book" / "index.md").read_text(encoding="utf-8")
    for name in NAMES:
        for lang in LANGS:
            assert f"({lang}/{lang}/{name}.html)" in landing, f"book/index.md does not link {lang}/{name}"
            if name.startswith("00_"):
                continue
            preface = (ROOT / "chapters" / lang / "00_preface.md").read_text(encoding="utf-8")
            assert f"]({name}.ipynb)" in preface, f"chapters/{lang}/00_preface.md does not link {name}"
