"""The from-scratch code on the page is the package's code: a code cell tagged with the dotted name of a
companion object (``companion.nn.linear.Linear``) defines exactly that object, with the same code as the
package's source (comments, docstrings and layout may differ: they are in the page's language)."""
from __future__ import annotations

import ast
import importlib
import inspect
import textwrap

import pytest

from bookfiles import ROOT, code_cells, code_structure, load_notebook, notebooks, source, tags

PREFIX = "companion."


def tagged_cells():
    found = []
    for path in notebooks():
        for number, cell in enumerate(code_cells(load_notebook(path)), start=1):
            names = [tag for tag in tags(cell) if tag.startswith(PREFIX)]
            if names:
                found.append((path, number, names, source(cell)))
    return found


CELLS = tagged_cells()


def resolve(dotted: str):
    """The object named by ``companion.pkg.module.Name`` (the longest importable prefix is the module)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ImportError(f"no module in {dotted!r}")


def package_source(names: list[str]) -> str:
    return "\n\n".join(textwrap.dedent(inspect.getsource(resolve(name))) for name in names)


def without_imports(text: str) -> str:
    """The cell without its top-level imports: a tagged cell may import what its object needs before defining it
    (the package module imports it at its top), and only the definitions are compared with the package."""
    tree = ast.parse(text)
    lines = text.split("\n")
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        kept.append("\n".join(lines[first - 1:node.end_lineno]))
    return "\n\n".join(kept)


def defined_names(text: str) -> list[str]:
    return [node.name for node in ast.parse(text).body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def test_every_chapter_that_teaches_from_scratch_code_tags_it():
    taught = {path.stem for path, *_ in CELLS}
    for chapter in ("02_neural_networks_from_scratch", "03_gradient_descent_and_training", "04_multilayer_perceptron",
                    "05_generalization_and_regularization", "06_convolutional_networks", "07_recurrent_networks_and_lstm",
                    "08_attention_and_transformer", "09_pretraining_and_fine_tuning",
                    "10_evaluation_and_data_problems", "11_efficiency_and_scale"):
        assert chapter in taught, f"{chapter} shows no package code on the page (no cell tagged companion.*)"


@pytest.mark.parametrize("path,number,names,text", CELLS,
                         ids=[f"{p.parent.name}/{p.stem}:{n}" for p, n, *_ in CELLS])
def test_page_cell_equals_package_source(path, number, names, text):
    where = f"book/{path.parent.name}/{path.name}, code cell {number}"
    objects = [name.rsplit(".", 1)[1] for name in names]
    assert defined_names(text) == objects, (
        f"{where} is tagged {names}, so it must define exactly {objects} (in that order) and nothing else at its "
        f"top level; it defines {defined_names(text)}")
    assert code_structure(without_imports(text)) == code_structure(package_source(names)), (
        f"{where} differs from the package source of {', '.join(names)}: copy the cell into the package (or the "
        "package into the cell) so that page and package are the same code")


def test_the_comparison_ignores_comments_and_docstrings_but_not_code():
    a = 'def f(x):\n    """Doc."""\n    return x + 1  # one\n'
    b = 'def f(x):\n    """文档。"""\n    # 加一\n    return x + 1\n'
    assert code_structure(a) == code_structure(b)
    assert code_structure(a) != code_structure(a.replace("x + 1", "x + 2"))


def test_a_tagged_cell_may_import_first_but_its_code_must_still_match():
    package = 'def f(x):\n    return x + 1\n'
    cell = 'import math\nfrom companion import _\n\n\ndef f(x):\n    """Doc."""\n    return x + 1\n'
    assert code_structure(without_imports(cell)) == code_structure(package)
    assert code_structure(without_imports(cell.replace("x + 1", "x + 2"))) != code_structure(package)
    decorated = 'import torch\n\n\n@torch.no_grad()\ndef g():\n    pass\n'
    assert without_imports(decorated).startswith("@torch.no_grad()")
    assert code_structure(without_imports('x = 1\ndef f(x):\n    return x + 1\n')) != code_structure(package)
