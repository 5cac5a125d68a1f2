"""The split of the book into two editions (site/build.py, site/bilingual.py); needs no built site."""
from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "site"))

import bilingual  # noqa: E402
import build  # noqa: E402


def test_each_edition_has_its_own_chapters_then_the_shared_appendices():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    editions = build.load_editions()
    seen = []
    for name, settings in editions.items():
        edition = build.edition_toc(toc, settings["part"])
        files = [edition["root"]] + [c["file"] for part in edition["parts"] for c in part["chapters"]]
        own = [f for f in files if f.startswith(f"{name}/")]
        assert edition["root"] == f"{name}/00_preface", edition["root"]
        assert not [f for f in files if "/" in f and not f.startswith(f"{name}/")], f"{name}: pages of another language"
        assert files[-2:] == ["glossary", "errata"], files
        assert sorted(Path(f).name for f in own) == sorted(p.stem for p in (ROOT / "book" / name).glob("*.ipynb"))
        seen += own
    assert len(seen) == len(set(seen))


def test_a_toc_part_missing_or_outside_book_is_an_error():
    toc = {"parts": [{"caption": "English", "chapters": [{"file": "chapters/en/00_preface"}]}]}
    with pytest.raises(ValueError, match="not under book/"):
        build.edition_toc(toc, "English")
    with pytest.raises(ValueError, match="exactly one part with caption '中文'"):
        build.edition_toc(toc, "中文")


def test_twin_pages_and_urls_across_the_two_builds():
    assert bilingual.twin_docname("en/06_convolutional_networks", "en", "zh") == "zh/06_convolutional_networks"
    assert bilingual.twin_docname("glossary", "en", "zh") == "glossary"
    app = SimpleNamespace(builder=SimpleNamespace(out_suffix=".html"))
    assert bilingual.edition_url(app, "en/06_x", "zh", "zh/06_x") == "../../zh/zh/06_x.html"
    assert bilingual.edition_url(app, "glossary", "en", "en/02_y", "sec") == "../en/en/02_y.html#sec"


def test_zh_edition_is_chinese():
    config = build.load_editions()["zh"]["sphinx"]["config"]
    assert config["language"] == "zh_CN" and config["html_search_language"] == "zh"
    assert bilingual.HTML_LANG[config["language"]] == "zh-CN"


def test_the_site_serves_notebooks_without_their_hidden_tests(tmp_path):
    import nbformat

    source = ROOT / "book" / "en" / "02_neural_networks_from_scratch.ipynb"
    nb = nbformat.read(source, as_version=4)
    hidden = [cell for cell in nb.cells if build.is_hidden_test(cell)]
    assert hidden, "chapter 02 has exercises with hidden tests"
    served = tmp_path / source.name
    served.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    assert build.without_hidden_tests(served) == len(hidden)
    left = nbformat.read(served, as_version=4)
    assert len(left.cells) == len(nb.cells) - len(hidden)
    assert not any(build.is_hidden_test(cell) for cell in left.cells)
    # the solution and the visible check stay: the site shows them, and the setup cell (remove-cell) stays
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in left.cells]
    assert "exercise-4-solution" in ids and "exercise-4-check" in ids and "exercise-4-tests" not in ids
    assert "remove-cell" in left.cells[[c.cell_type for c in left.cells].index("code")].metadata.get("tags", [])
