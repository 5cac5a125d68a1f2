"""The shipped text corpus is prose of the book's chapter sources, with no code or markup in it."""
from __future__ import annotations

import re
import sys
import textwrap

import pytest

from bookfiles import ROOT
from companion.data.corpus import load_corpus

sys.path.insert(0, str(ROOT / "tools"))
from make_corpus import (OUT_DIR, build_corpus, is_held_out, language_of, latex_to_text,  # noqa: E402
                         markdown_blocks, split_sections)

# Strings that only code, MyST or HTML would put in the text.
LEAKS = ["```", ":::", "{code-cell}", "{admonition}", ":tags:", ":class:", "def ", "$$", "\\boldsymbol",
         "](", "<div", "<br", "</", "|---", "+++", "jupytext:", "kernelspec:", "set_language(\"en\")\nfrom"]


# code that leaked is a line that starts like Python; prose may say "later chapters import it"
CODE_LINE = re.compile(r"^\s*(?:import \w|from [\w.]+ import|print\()", re.MULTILINE)


def _lines(blocks):
    return [" ".join(segment for segment in block if segment) for block in blocks]


def test_make_corpus_writes_both_languages_and_splits_from_the_book():
    # The shipped corpus is a snapshot (chapters 07-09's committed outputs depend on it, so it is regenerated
    # only together with them); what make_corpus would write today must still be a corpus of the same kind.
    built = build_corpus(ROOT)
    assert set(built) == {"en_train", "en_val", "zh_train", "zh_val"}
    for name, text in built.items():
        lang = name.split("_")[0]
        assert language_of(text) == lang and len(text) > 10_000
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} would leak into corpus_{name}.txt"
        assert not CODE_LINE.search(text), CODE_LINE.search(text).group(0)
        shipped = (OUT_DIR / f"corpus_{name}.txt").read_text(encoding="utf-8")
        # the snapshot starts with the same passage (the preface by its title, or its first held-out section)
        # as the book does today; its prose may have changed since
        assert shipped.split("\n")[0] == text.split("\n")[0]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_validation_is_about_a_tenth_of_the_text_and_held_out_whole(lang):
    train, val = load_corpus(lang, "train"), load_corpus(lang, "val")
    assert 0.08 < len(val) / (len(train) + len(val)) < 0.2
    passages = [passage for passage in val.split("\n\n") if passage.strip()]
    assert len(passages) >= 8  # a section from (nearly) every chapter
    for passage in passages:
        assert passage not in train  # no held-out section is also training text
    assert load_corpus(lang) == train + "\n" + val


def test_held_out_sections_are_the_same_in_both_languages():
    # the twins hold out the same numbered sections, so the validation texts are translations of each other
    en, zh = (load_corpus(lang, "val").split("\n\n") for lang in ("en", "zh"))
    assert len(en) == len(zh)
    assert en[1].split("\n")[0].startswith("2.4 ") and zh[1].split("\n")[0].startswith("2.4 ")


def test_sections_are_cut_at_level_two_headings_outside_code():
    text = "# Title\nintro\n## 1.1 A\none\n```{code-cell} ipython3\n## not a heading\n```\n## 1.2 B\ntwo\n"
    parts = split_sections(text)
    assert [part.split("\n")[0] for part in parts] == ["# Title", "## 1.1 A", "## 1.2 B"]
    assert "## not a heading" in parts[1]
    assert [is_held_out(k) for k in range(12)] == [k in (4, 11) for k in range(12)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_corpus_has_no_code_or_markup(lang):
    text = load_corpus(lang)
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} leaked into corpus_{lang}.txt"
    assert not CODE_LINE.search(text)
    assert "\r" not in text and "\t" not in text and "  " not in text


def test_load_corpus_languages():
    en, zh, both = load_corpus("en"), load_corpus("zh"), load_corpus("both")
    assert len(en) > 1000 and len(zh) > 1000
    assert language_of(en) == "en" and language_of(zh) == "zh"
    assert both == en + "\n" + zh
    assert load_corpus("both", "val") == load_corpus("en", "val") + "\n" + load_corpus("zh", "val")
    with pytest.raises(ValueError, match="'fr'"):
        load_corpus("fr")
    with pytest.raises(ValueError, match="'test'"):
        load_corpus("en", "test")


DOC = textwrap.dedent("""\
    ---
    jupytext:
      text_representation:
        format_name: myst
    ---

    # 2 Title

    [中文版](../zh/02_x.ipynb)

    A **bold** claim with *emphasis*, `set_seed(0)` and a [link](https://example.org/page).
    It wraps onto a second line.

    ```{code-cell} ipython3
    :tags: [remove-cell]

    import numpy as np
    ```

    ````{admonition} Answer
    :class: dropdown

    Kept answer text.

    ```python
    import torch
    ```
    ````

    $$
    \\ell = \\tfrac12 (y - \\hat{y})^2
    $$

    | name | value |
    |---|---|
    | ReLU | $\\max(0, z)$ |

    - item one
    - item two

    (label-target)=
    <div class="x">html</div>
    +++
    本段是中文，
    换行后不应出现空格。
    """)


def test_markdown_blocks_keep_prose_and_drop_the_rest():
    lines = _lines(markdown_blocks(DOC))
    assert lines == [
        "2 Title",
        "中文版",
        "A bold claim with emphasis, set_seed(0) and a link. It wraps onto a second line.",
        "Answer",
        "Kept answer text.",
        "name value",
        "ReLU max(0, z)",
        "item one",
        "item two",
        "html",
        "本段是中文，换行后不应出现空格。",
    ]


def test_latex_becomes_readable_text():
    assert latex_to_text(r"\boldsymbol{W} \in \mathbb{R}^{m \times n}") == "W ∈ ℝ^(m × n)"
    assert latex_to_text(r"\sigma(z) = \dfrac{1}{1 + e^{-z}}") == "σ(z) = 1/(1 + e^(-z))"
    assert latex_to_text(r"\tfrac12 \lVert\boldsymbol{W}\rVert^2") == "1/2 ‖W‖^2"
    assert latex_to_text(r"\hat{y}") == "y\u0302"


def test_bilingual_pages_are_split_by_language(tmp_path):
    (tmp_path / "chapters" / "en").mkdir(parents=True)
    (tmp_path / "chapters" / "zh").mkdir(parents=True)
    (tmp_path / "chapters" / "en" / "01_a.md").write_text("English chapter.\n", encoding="utf-8")
    (tmp_path / "chapters" / "zh" / "01_a.md").write_text("中文章节。\n", encoding="utf-8")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "glossary.md").write_text(
        "# Glossary · 术语表\n\n| English | 中文 | Definition | 定义 |\n|---|---|---|---|\n"
        "| epoch | 轮次 | One full pass over the training set. | 把整个训练集完整遍历一遍。 |\n", encoding="utf-8")
    corpus = build_corpus(tmp_path)
    assert corpus["en_train"] == "English chapter.\n\nGlossary\nEnglish Definition\nepoch One full pass over the training set.\n"
    assert corpus["zh_train"] == "中文章节。\n\n术语表\n中文 定义\n轮次 把整个训练集完整遍历一遍。\n"


def test_held_out_section_is_cut_from_the_training_text(tmp_path):
    (tmp_path / "chapters" / "en").mkdir(parents=True)
    sections = "".join(f"## 1.{k} S{k}\n\nText {k}.\n\n" for k in range(1, 7))
    (tmp_path / "chapters" / "en" / "01_a.md").write_text(f"---\nk: v\n---\n# 1 A\n\nIntro.\n\n{sections}", encoding="utf-8")
    corpus = build_corpus(tmp_path)
    assert corpus["en_val"] == "1.4 S4\nText 4.\n"
    assert corpus["en_train"] == ("1 A\nIntro.\n1.1 S1\nText 1.\n1.2 S2\nText 2.\n1.3 S3\nText 3.\n\n"
                                  "1.5 S5\nText 5.\n1.6 S6\nText 6.\n")
