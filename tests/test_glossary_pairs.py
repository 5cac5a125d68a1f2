"""The glossary as (term, definition) pairs, for chapter 9's supervised fine-tuning."""
import pytest

from companion.data.corpus import glossary_pairs, load_corpus


def test_pairs_are_aligned_and_non_empty():
    en, zh = glossary_pairs("en"), glossary_pairs("zh")
    assert len(en) == len(zh) > 150
    assert all(term and definition for term, definition in en + zh)
    assert dict(en)["accuracy"] == "The fraction of predictions that are correct."
    assert dict(zh)["准确率"] == "预测正确的样本所占的比例。"
    index = [term for term, _definition in en].index("accuracy")
    assert zh[index][0] == "准确率"  # row i is the same term in both languages


def test_english_terms_sorted_and_unique():
    terms = [term for term, _definition in glossary_pairs("en")]
    assert len(set(terms)) == len(terms)
    assert terms == sorted(terms, key=str.lower)


def test_no_markup_left():
    for lang in ("en", "zh"):
        for term, definition in glossary_pairs(lang):
            for text in (term, definition):
                assert "\t" not in text and "\n" not in text
                assert not any(mark in text for mark in ("$", "`", "**", "](", "\\")), text


def test_definitions_are_in_the_training_corpus():
    # The shipped glossary file and the corpus come from the same book/glossary.md: every definition is
    # training text (the glossary page has no level-2 sections, so none of it is held out). The corpus splits
    # cells at " · " and sorts pieces by script (the Chinese ReLU definition lands in the English text), so
    # the test looks for the first 20 characters (before any " · ") of each definition in the training text of
    # both languages.
    train = load_corpus("both", "train")
    val = load_corpus("both", "val")
    for lang in ("en", "zh"):
        for term, definition in glossary_pairs(lang):
            assert definition.split(" · ")[0][:20] in train, term
            assert definition.split(" · ")[0][:20] not in val, term


def test_bad_lang():
    with pytest.raises(ValueError, match="lang must be one of"):
        glossary_pairs("fr")


def test_make_corpus_writes_the_glossary_file_from_the_book():
    # files/glossary.txt is a snapshot taken with the corpus (chapter 9's outputs depend on it); what
    # make_corpus would write today has the same header and form, and the shipped rows are rows of the book
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "tools"))
    from make_corpus import GLOSSARY_HEADER, OUT_DIR, build_glossary

    built = build_glossary(root).splitlines(keepends=True)
    shipped = (OUT_DIR / "glossary.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    assert built[0] == shipped[0] == GLOSSARY_HEADER
    assert all(line.count("\t") == 3 for line in built[1:])
    assert len(set(shipped[1:]) & set(built[1:])) > 0.9 * len(shipped[1:])
