"""Helpers for the tests that check the book's files (not part of the companion package)."""
from __future__ import annotations

import io
import json
import tokenize
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


def code_without_comments(text: str) -> list[tuple[int, str]]:
    """The tokens of a code cell without comments and blank lines: what must agree between zh and en."""
    # IPython's `!cmd` lines are not Python: compare them as text.
    lines = [f"__shell__({line.strip()[1:]!r})" if line.strip().startswith("!") else line for line in text.split("\n")]
    tokens = tokenize.generate_tokens(io.StringIO("\n".join(lines) + "\n").readline)
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING}
    return [(tok.type, tok.string) for tok in tokens if tok.type not in skip]


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part.get("chapters", [])]
    return files
