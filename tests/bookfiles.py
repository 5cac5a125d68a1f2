"""Helpers for the tests that check the book's files (not part of the companion package)."""
from __future__ import annotations

import ast
import json
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("en", "zh")


def chapter_sources() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*/*.md"))


def notebooks() -> list[Path]:
    return sorted((ROOT / "book").glob("*/*.ipynb"))


def chapter_names() -> list[str]:
    return sorted({path.stem for path in chapter_sources()} | {path.stem for path in notebooks()})


def load_notebook(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell) -> str:
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def code_cells(nb) -> list[dict]:
    return [cell for cell in nb["cells"] if cell["cell_type"] == "code"]


def strip_docstrings(tree):
    """Remove the docstring of every module, class and function (in place) and return the tree."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def code_structure(text: str) -> str:
    """What must agree between the zh and en twins of a code cell, and between a page cell and the package:
    the code's syntax tree, without comments, docstrings or layout (they are written in the page's language).
    IPython's ``!cmd`` lines are compared as text."""
    lines = [line[:len(line) - len(line.lstrip())] + f"__shell__({line.strip()[1:]!r})"
             if line.strip().startswith("!") else line for line in text.split("\n")]
    return ast.dump(strip_docstrings(ast.parse("\n".join(lines))))


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files
