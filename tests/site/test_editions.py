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
