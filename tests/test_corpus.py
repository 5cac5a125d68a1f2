"""The shipped text corpus is prose of the book's chapter sources, with no code or markup in it."""
from __future__ import annotations

import re
import sys
import textwrap

import pytest

from bookfiles import ROOT
from companion.data.corpus import load_corpus

sys.path.insert(0, str(ROOT / "tools"))
from make_corpus import OUT_DIR, build_corpus, language_of, latex_to_text, markdown_blocks  # noqa: E402

# Strings that only code, MyST or HTML would put in the text.
LEAKS = ["```", ":::", "{code-cell}", "{admonition}", ":tags:", ":class:", "def ", "$$", "\\boldsymbol",
         "](", "<div", "<br", "</", "|---", "+++", "jupytext:", "kernelspec:", "set_language(\"en\")\nfrom"]


# code that leaked is a line that starts like Python; prose may say "later chapters import it"
CODE_LINE = re.compile(r"^\s*(?:import \w|from [\w.]+ import|print\()", re.MULTILINE)


def _lines(blocks):
    return [" ".join(segment for segment in block if segment) for block in blocks]


def test_make_corpus_writes_both_languages_from_the_book():
    # The shipped corpus is a snapshot (chapter 08's committed outputs depend on it, so it is regenerated only
    # together with that chapter); what make_corpus would write today must still be a corpus of the same kind.
    built = build_corpus(ROOT)
    assert set(built) == {"en", "zh"}
    for lang, text in built.items():
        assert language_of(text) == lang and len(text) > 10_000
        for leak in LEAKS:
            assert leak not in text, f"{leak!r} would leak into corpus_{lang}.txt"
        assert not CODE_LINE.search(text), CODE_LINE.search(text).group(0)
        shipped = (OUT_DIR / f"corpus_{lang}.txt").read_text(encoding="utf-8")
        # the snapshot starts with the same document (the preface, by its title) as the book does today;
        # its prose may have changed since (a snapshot is regenerated together with chapter 08 only)
        assert shipped.split("\n")[0] == text.split("\n")[0]


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
    with pytest.raises(ValueError, match="'fr'"):
        load_corpus("fr")


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
    assert corpus["en"] == "English chapter.\n\nGlossary\nEnglish Definition\nepoch One full pass over the training set.\n"
    assert corpus["zh"] == "中文章节。\n\n术语表\n中文 定义\n轮次 把整个训练集完整遍历一遍。\n"
