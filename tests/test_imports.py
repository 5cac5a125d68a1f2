"""The companion's import rules, checked on every module: statically (every import statement, also inside
functions) and in a fresh process (what ``sys.modules`` holds after importing the module alone).

- ``companion`` and ``companion.book``: no framework (``companion.book.plotting`` alone may import matplotlib);
- the NumPy group (``nn``, ``optim``, ``gradcheck``, ``data``, ``metrics``): never torch, TensorFlow, Keras or
  matplotlib;
- ``companion.torch``: never Keras or TensorFlow; ``companion.keras``: never torch;
- no import cycles between the companion's modules.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from bookfiles import ROOT

PACKAGE = ROOT / "companion"
FRAMEWORKS = {"torch", "tensorflow", "keras", "jax"}


def module_name(path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def forbidden(name: str) -> set[str]:
    """Top-level packages that module ``name`` may never import."""
    group = name.split(".")[1] if "." in name else ""
    if group in ("nn", "optim", "gradcheck", "data", "metrics"):
        return FRAMEWORKS | {"matplotlib"}
    if group == "torch":
        return {"keras", "tensorflow", "jax"}
    if group == "keras":
        return {"torch", "jax"}
    if name == "companion.book.plotting":
        return FRAMEWORKS
    return FRAMEWORKS | {"matplotlib"}  # companion itself and the rest of companion.book


def imports_of(path, name: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in a file, wherever it stands."""
    found = []
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                if node.module is None:  # from . import x: each x may be a module
                    found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
                    continue
            else:
                target = node.module
            found.append((node.lineno, target))
    return found


def test_there_are_modules_in_every_group():
    groups = {name.split(".")[1] for name in MODULES if "." in name}
    assert {"book", "nn", "data", "metrics", "torch", "keras", "optim", "gradcheck"} <= groups, groups


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_forbidden_import_statement(name):
    bad = [(line, target) for line, target in imports_of(MODULES[name], name)
           if target.split(".")[0] in forbidden(name)]
    assert not bad, f"{name} imports {', '.join(f'{t} (line {l})' for l, t in bad)}; its group may not"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_fresh_process_loads_no_forbidden_package(name):
    code = (f"import sys, json, {name}; "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"import {name} failed:\n{result.stderr[-2000:]}"
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert not loaded & forbidden(name), f"import {name} loads {sorted(loaded & forbidden(name))}"


def test_no_import_cycles():
    graph = {}
    for name, path in MODULES.items():
        targets = set()
        for _, target in imports_of(path, name):
            while target and target not in MODULES:  # from .nn.module import X -> companion.nn.module
                target = target.rpartition(".")[0]
            if target and target != name:
                targets.add(target)
        graph[name] = targets
    # A package's __init__ importing its own modules is not a cycle; a module importing its package's
    # __init__ back (or any longer loop) is.
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if node.startswith(nxt + ".") and nxt in MODULES:
                continue  # a module imports through its parent packages by necessity
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_planted_framework_import_is_caught(tmp_path):
    """The static check sees an import hidden inside a function."""
    path = tmp_path / "planted.py"
    path.write_text("import numpy as np\n\ndef f():\n    import torch\n    return torch\n", encoding="utf-8")
    found = [target for _, target in imports_of(path, "companion.nn.planted")]
    assert "torch" in found and "torch" in forbidden("companion.nn.planted")
