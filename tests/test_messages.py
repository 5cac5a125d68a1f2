"""The message catalog: every message a chapter or the package prints has a Chinese translation with the same
placeholders, no translation is left unused, tables align by display width, and no code cell rebinds ``_``."""
from __future__ import annotations

import ast
import string

import pytest

from bookfiles import ROOT, code_cells, load_notebook, source
from companion.book import i18n
from companion.book.i18n import _, display_width, format_table, pad, read_po, set_language


def cell_tree(text: str):
    """The AST of a code cell, with IPython's ``!shell`` and ``%magic`` lines blanked out."""
    lines = [line[:len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("!", "%")) else line
             for line in text.splitlines()]
    return ast.parse("\n".join(lines))


def messages_in(tree) -> list[tuple[int, str]]:
    """(line, message) of every ``_("literal")`` call."""
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"
                and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value))
    return found


def chapter_messages() -> dict[str, list[str]]:
    """message -> where it is used, over the English notebooks (the zh ones have the same code) and the package."""
    used: dict[str, list[str]] = {}
    for path in sorted((ROOT / "book" / "en").glob("*.ipynb")):
        for number, cell in enumerate(code_cells(load_notebook(path)), start=1):
            for _line, message in messages_in(cell_tree(source(cell))):
                used.setdefault(message, []).append(f"{path.stem}, code cell {number}")
    for path in sorted((ROOT / "companion").rglob("*.py")):
        for line, message in messages_in(ast.parse(path.read_text(encoding="utf-8"))):
            used.setdefault(message, []).append(f"{path.relative_to(ROOT)}:{line}")
    return used


def placeholders(text: str) -> set[str]:
    return {field for _lit, field, _spec, _conv in string.Formatter().parse(text) if field is not None}


def test_every_message_has_a_translation_with_the_same_placeholders():
    zh = i18n.catalog("zh")
    used = chapter_messages()
    missing = {m: where[0] for m, where in used.items() if m not in zh}
    assert not missing, "messages without a Chinese translation in companion/book/locale/zh/*.po: " + "; ".join(
        f"{m!r} ({w})" for m, w in sorted(missing.items()))
    mismatched = [m for m in used if placeholders(m) != placeholders(zh[m])]
    assert not mismatched, f"translations whose {{placeholders}} differ from the message: {mismatched}"


def test_no_translation_is_unused():
    unused = sorted(set(i18n.catalog("zh")) - set(chapter_messages()))
    assert not unused, f"translations no chapter or module uses (remove them from the .po files): {unused}"


def global_bindings(tree) -> list[tuple[int, str]]:
    """(line, name) of every name a cell binds in its global scope (not inside functions, classes, comprehensions)."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, (ast.Lambda, ast.GeneratorExp, ast.ListComp, ast.SetComp, ast.DictComp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.alias):
            found.append((0, (node.asname or node.name).split(".")[0]))
        todo.extend(ast.iter_child_nodes(node))
    return found


@pytest.mark.parametrize("path", sorted((ROOT / "book" / "en").glob("*.ipynb")), ids=lambda p: p.stem)
def test_no_code_cell_rebinds_underscore(path):
    """``for _ in ...`` at a cell's top level would replace the message function for the cells after it."""
    cells = code_cells(load_notebook(path))
    if not any(messages_in(cell_tree(source(cell))) for cell in cells):
        return  # a notebook that prints no message may use `_` as a throwaway name
    for number, cell in enumerate(cells, start=1):
        bound = [line for line, name in global_bindings(cell_tree(source(cell))) if name == "_" and line]
        assert not bound, (f"{path.stem}, code cell {number}, line {bound[0]}: `_` is the message function "
                           "(companion's gettext); use another throwaway name")


@pytest.mark.parametrize("path", sorted((ROOT / "companion").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_that_prints_messages_binds_underscore(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if not messages_in(tree):
        return
    bound = [node.lineno for node in ast.walk(tree) if isinstance(node, ast.Name) and node.id == "_"
             and isinstance(node.ctx, ast.Store)]
    assert not bound, f"{path.relative_to(ROOT)} line {bound[0]}: `_` is the message function; use another name"


def test_the_underscore_check_sees_a_loop():
    assert (1, "_") in global_bindings(ast.parse("for _ in range(3):\n    pass"))
    assert not [n for _l, n in global_bindings(ast.parse("xs = [1 for _ in range(3)]")) if n == "_"]


def test_gettext_translates_in_chinese_only():
    try:
        set_language("zh")
        assert _("Epoch") == "轮次" and _("a message nobody translated") == "a message nobody translated"
        set_language("en")
        assert _("Epoch") == "Epoch"
    finally:
        set_language("en")


def test_read_po_handles_continuations_escapes_and_errors():
    text = 'msgid ""\nmsgstr "header"\n\n# comment\nmsgid "a {x}\\n"\n"b"\nmsgstr "甲 {x}\\n"\n"乙"\n\nmsgid "empty"\nmsgstr ""\n'
    assert read_po(text) == {"a {x}\nb": "甲 {x}\n乙"}
    with pytest.raises(ValueError, match="line 1"):
        read_po("msgid unquoted\n")
    with pytest.raises(ValueError, match="translated twice"):
        read_po('msgid "a"\nmsgstr "x"\nmsgid "a"\nmsgstr "y"\n')


def test_tables_align_chinese_by_display_width():
    assert display_width("损失") == 4 and display_width("loss") == 4 and display_width("T恤") == 3
    assert pad("损失", 6) == "损失  " and pad("7", 3, ">") == "  7" and pad("ab", 4, "^") == " ab "
    table = format_table([["训练损失", 0.5], ["loss", 12.25]], headers=["名称", "值"]).splitlines()
    assert len({display_width(line.rstrip()) for line in table[2:]}) == 1  # rows end in the same column
    assert table[1].split() == ["-" * 8, "-" * 5]
    with pytest.raises(ValueError, match="every row"):
        format_table([[1, 2], [3]])
