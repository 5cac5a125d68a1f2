"""Coding exercises pass with their solutions and fail in the student version."""
from __future__ import annotations

import json

import pytest

from bookfiles import ROOT, load_notebook, notebooks
from companion.book.exercises import (STUB, find_exercises, run_exercise, student_notebook, student_source,
                                 write_student_versions)

EXERCISES = [exercise for path in notebooks()
             for exercise in find_exercises(load_notebook(path), f"{path.parent.name}/{path.name}")]


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_chapter_has_a_checked_exercise_with_hidden_tests(path):
    exercises = find_exercises(load_notebook(path), path.name)
    assert exercises, f"{path.name} has no coding exercise (### BEGIN SOLUTION)"
    assert any(e.has_hidden_tests for e in exercises), f"{path.name}: no exercise has hidden tests"


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"{e.notebook}#{e.index}")
def test_check_passes_on_the_solution(exercise):
    run_exercise(exercise.solution, exercise.check)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: f"{e.notebook}#{e.index}")
def test_check_fails_on_the_student_version(exercise):
    stub = student_source(exercise.solution)
    assert STUB in stub
    with pytest.raises((NotImplementedError, AssertionError)):
        run_exercise(stub, exercise.check)  # with the hidden tests, as an instructor grades it


def test_student_source_replaces_solutions_and_drops_hidden_tests():
    solution = "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
    check = "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(3) == 6\n### END HIDDEN TESTS\nprint('ok')"
    assert student_source(solution) == "def f(x):\n    raise NotImplementedError()\n"
    assert student_source(check) == "assert f(1) == 2\nprint('ok')"
    run_exercise(solution, check)
    with pytest.raises(NotImplementedError):
        run_exercise(student_source(solution), check)


@pytest.mark.parametrize("text, message", [
    ("### BEGIN SOLUTION\nx = 1\n", "never closed"),
    ("x = 1\n### END SOLUTION\n", "without a matching"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "inside an open block"),
])
def test_unbalanced_markers_are_reported(text, message):
    with pytest.raises(ValueError, match=message):
        student_source(text, "nb, cell 3")


def test_student_notebooks_are_written_without_solutions_or_outputs(tmp_path):
    written = write_student_versions(ROOT / "book", tmp_path)
    assert written, "no student notebooks written"
    for path in written:
        nb = json.loads(path.read_text(encoding="utf-8"))
        text = "".join("".join(cell["source"]) for cell in nb["cells"] if cell["cell_type"] == "code")
        assert "### BEGIN SOLUTION" not in text and "### BEGIN HIDDEN TESTS" not in text
        assert all(not cell.get("outputs") for cell in nb["cells"] if cell["cell_type"] == "code")
    nb = student_notebook({"cells": [{"cell_type": "code", "source": "1", "outputs": [1], "execution_count": 3}]})
    assert nb["cells"][0]["outputs"] == [] and nb["cells"][0]["execution_count"] is None
