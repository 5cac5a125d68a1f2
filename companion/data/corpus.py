"""The book's own prose as a small text corpus, for the language models of chapters 7, 8 and 9.

The files ``companion/data/files/corpus_{en,zh}_{train,val}.txt`` ship with the package (so they load in
Colab after ``pip install``); ``tools/make_corpus.py`` regenerates them from the chapter sources. The
validation text is whole held-out sections of every chapter (the same sections in both languages), so a
model is measured on passages of the book it has never read, in the same genre as its training text.
"""
from __future__ import annotations

import re
from importlib import resources

from ..book.i18n import LANGUAGES

SPLITS = ("train", "val", "all")


def load_corpus(lang: str = "en", split: str = "all") -> str:
    """The corpus text of ``lang`` (``"en"``, ``"zh"``, or ``"both"``) and ``split``.

    ``split`` is ``"train"``, ``"val"`` or ``"all"`` (training text, a blank line, validation text). ``"both"``
    is English, a blank line, then Chinese, of the same split.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if lang == "both":
        return "\n".join(load_corpus(code, split) for code in LANGUAGES)
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES + ('both',)}, got {lang!r}")
    if split == "all":
        return load_corpus(lang, "train") + "\n" + load_corpus(lang, "val")
    path = resources.files("companion.data").joinpath("files", f"corpus_{lang}_{split}.txt")
    return path.read_text(encoding="utf-8")


SECTION_HEADING = re.compile(r"^(\d+)\.\d+ \S")  # "2.4 Forward pass, ..." / "2.4 前向传播……"
SENTENCE_END = {"en": re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])"), "zh": re.compile(r"(?<=[。！？])")}
MIN_SENTENCE_CHARS = {"en": 40, "zh": 15}


def chapter_sentences(lang: str = "en", split: str = "train") -> list[tuple[str, int]]:
    """Sentences of the corpus, each with the number of the chapter it comes from: a labelled data set that
    costs no annotation, for fine-tuning (chapter 9).

    The label is read from the book's structure: a line that is a numbered section heading ("2.4 ...", short,
    with no sentence in it) sets the chapter for the lines after it, up to the end of its passage (a blank line).
    Passages with no such heading (the preface, the glossary, the errata page, the text after a held-out
    section that begins with "Summary") give no sentences. Sentences shorter than 40 characters (English) or 15
    (Chinese), such as headings, are left out.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    out: list[tuple[str, int]] = []
    for passage in load_corpus(lang, split).split("\n\n"):
        chapter = None
        for line in passage.split("\n"):
            heading = SECTION_HEADING.match(line)
            if heading and len(line) <= 80 and not re.search(r"[.。!?！？]\s|[。！？]$", line):
                chapter = int(heading.group(1))
                continue
            if chapter is None:
                continue
            for sentence in SENTENCE_END[lang].split(line):
                sentence = sentence.strip()
                if len(sentence) >= MIN_SENTENCE_CHARS[lang]:
                    out.append((sentence, chapter))
    return out


GLOSSARY_COLUMNS = {"en": (0, 2), "zh": (1, 3)}  # (term, definition) columns of files/glossary.txt


def glossary_pairs(lang: str = "en") -> list[tuple[str, str]]:
    """The book's glossary as ``(term, definition)`` pairs in ``lang`` (``"en"`` or ``"zh"``), alphabetical by
    English term: instruction-style data for supervised fine-tuning (chapter 9).

    The pairs are read from ``files/glossary.txt``, one row of ``book/glossary.md`` per line, tab-separated
    (English term, Chinese term, English definition, Chinese definition) after a header line, with the inline
    markup turned into plain text as in the corpus. Row ``i`` is the same term in both languages, so
    ``glossary_pairs("en")[i]`` and ``glossary_pairs("zh")[i]`` translate each other. The whole glossary is part
    of the *training* split of the corpus: a model pretrained on it has read every definition.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {LANGUAGES}, got {lang!r}")
    path = resources.files("companion.data").joinpath("files", "glossary.txt")
    lines = path.read_text(encoding="utf-8").splitlines()[1:]  # the first line is the header
    term, definition = GLOSSARY_COLUMNS[lang]
    return [(cells[term], cells[definition]) for cells in (line.split("\t") for line in lines if line)]
