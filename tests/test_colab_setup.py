"""The Colab setup cell of each chapter installs companion with the extras the chapter's code needs."""
from __future__ import annotations

import ast
import re

import jupytext
import pytest

from bookfiles import chapter_sources

# the extra of pyproject.toml that provides each framework or reference library the chapters import
EXTRA_OF = {"torch": "torch", "keras": "tensorflow", "tensorflow": "tensorflow",
            "tokenizers": "hf", "peft": "hf", "sklearn": "eval", "sacrebleu": "eval", "scipy": "eval"}


def imported_frameworks(code: str) -> set[str]:
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith(("!", "%")))
    found = set()
    for node in ast.walk(ast.parse(code)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
        for name in names:
            parts = name.split(".")
            top = parts[1] if parts[0] == "companion" and len(parts) > 1 else parts[0]
            if top in EXTRA_OF:
                found.add(EXTRA_OF[top])
    return found


@pytest.mark.parametrize("path", chapter_sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_setup_cell_names_the_extras_the_chapter_imports(path):
    cells = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
    setup = cells[0].source
    match = re.search(r"^\s*needs = (\{.*\})\s*$", setup, re.MULTILINE)
    assert match, f"{path.name}: the setup cell must list the extras it may install (needs = {{extra: [modules]}})"
    needs = ast.literal_eval(match.group(1))
    used = set().union(*(imported_frameworks(c.source) for c in cells[1:]))
    assert set(needs) == used, f"{path.name}: the chapter imports frameworks of the extras {sorted(used)}, the setup cell installs {sorted(needs)}"
    assert 'requirement = f"companion[{' in setup and '!pip install -q "{requirement} @ git+' in setup, path.name
