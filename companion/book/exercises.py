"""Student versions of the book's notebooks (nbgrader's markers).

A coding exercise is a solution cell followed by a check cell. The solution sits between
``### BEGIN SOLUTION`` and ``### END SOLUTION``; instructor-only checks sit between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``. The student version replaces each solution with
``raise NotImplementedError()``, removes hidden tests and clears outputs, as nbgrader's generate step does,
so instructors can also use nbgrader on the notebooks directly.

    companion-student book/ _build/student/      # or: python -m companion.book.exercises book/ _build/student/
"""
from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = "raise NotImplementedError()"


def _source(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def _replace_blocks(source: str, begin: str, end: str, stub: str | None, where: str) -> str:
    """Replace every begin..end block (marker lines included) by ``stub`` at the marker's indent, or drop it."""
    out, inside, indent = [], False, ""
    for number, line in enumerate(source.split("\n"), start=1):
        stripped = line.strip()
        if stripped == begin:
            if inside:
                raise ValueError(f"{where}, line {number}: {begin!r} inside an open block; close it with {end!r} first")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            if stub is not None:
                out.append(indent + stub)
        elif stripped == end:
            if not inside:
                raise ValueError(f"{where}, line {number}: {end!r} without a matching {begin!r}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{where}: {begin!r} is never closed by {end!r}")
    return "\n".join(out)


def student_source(source: str, where: str = "cell") -> str:
    """The student version of one code cell's source."""
    source = _replace_blocks(source, BEGIN_SOLUTION, END_SOLUTION, STUB, where)
    return _replace_blocks(source, BEGIN_HIDDEN, END_HIDDEN, None, where)


def student_notebook(nb: dict, name: str = "notebook") -> dict:
    """A copy of ``nb`` (nbformat JSON as a dict) with solutions stubbed, hidden tests removed, outputs cleared."""
    nb = copy.deepcopy(nb)
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        cell["source"] = student_source(_source(cell), f"{name}, cell {index}")
        cell["outputs"] = []
        cell["execution_count"] = None
    return nb


@dataclass
class Exercise:
    """A checked coding exercise: the solution cell and the check cell that follows it."""

    notebook: str
    index: int
    solution: str
    check: str

    @property
    def has_hidden_tests(self) -> bool:
        return BEGIN_HIDDEN in self.check


def find_exercises(nb: dict, name: str = "notebook") -> list[Exercise]:
    """Every solution cell of ``nb`` paired with the next code cell, its check."""
    cells = nb["cells"]
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "code" or BEGIN_SOLUTION not in _source(cell):
            continue
        following = [c for c in cells[index + 1:] if c["cell_type"] == "code"]
        if not following or not re.search(r"^\s*assert\b", _source(following[0]), re.MULTILINE):
            raise ValueError(f"{name}, cell {index}: a solution cell must be followed by a check cell with asserts")
        found.append(Exercise(name, index, _source(cell), _source(following[0])))
    return found


def run_exercise(solution: str, check: str) -> None:
    """Run a solution cell and its check cell in a fresh namespace; raises whatever they raise."""
    namespace: dict = {"__name__": "__exercise__"}
    exec(compile(solution, "<solution cell>", "exec"), namespace)
    exec(compile(check, "<check cell>", "exec"), namespace)


def write_student_versions(source_dir: Path, target_dir: Path) -> list[Path]:
    """Write the student version of every notebook under ``source_dir`` to the same place under ``target_dir``."""
    written = []
    for path in sorted(Path(source_dir).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        if not find_exercises(nb, str(path)):
            continue
        target = Path(target_dir) / path.relative_to(source_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(student_notebook(nb, str(path)), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(target)
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write student versions of the book's notebooks.")
    parser.add_argument("source", type=Path, help="folder of notebooks, e.g. book/")
    parser.add_argument("target", type=Path, help="folder for the student versions, e.g. _build/student/")
    args = parser.parse_args(argv)
    if not args.source.is_dir():
        parser.error(f"{args.source} is not a folder of notebooks")
    written = write_student_versions(args.source, args.target)
    for path in written:
        print(path)
    print(f"{len(written)} student notebooks written to {args.target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
