"""The chapters on real nbgrader: generate_assignment and autograde, with the solutions, the release and wrong answers.

For each chapter (en): the course directory of tools/student.py (``make student``) gets three submissions of
the chapter's assignment, autograded in quick mode in one run:

- ``solution``: the notebook as committed: every autograded cell gets full marks; the worked answers of the
  conceptual exercises (manually graded answers) wait for a person (``needs_manual_grade``);
- ``release``: the student version nbgrader generated: zero everywhere, the unanswered written answers included;
- ``wrong``: the committed notebook with every coding solution replaced by the plausible wrong answer in exercise_variants/wrong_solutions.yml:
  zero for every coding exercise, and its tests fail on an assertion, not on NotImplementedError.

The release and wrong submissions keep only the Exercises section (``exercises_only``), so that each chapter is
executed once in full (quick mode) and twice from its exercises on.

The zh chapters have the same code cells (tests/test_book_structure.py); for them the test generates the
assignment and autogrades the solution's Exercises section only (full marks), which catches nbgrader trouble in
the Chinese text and the Chinese exercise cells.
"""
from __future__ import annotations

import copy
import re
import sys

import nbformat
import pytest
import yaml

from bookfiles import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import student  # noqa: E402  (tools/student.py)

VARIANTS = yaml.safe_load((ROOT / "tests" / "exercise_variants" / "wrong_solutions.yml").read_text(encoding="utf-8"))
CHAPTERS = sorted((ROOT / "book").glob("*/*.ipynb"))
# autograde executes every cell; quick mode keeps a chapter well under this (seconds per cell)
CELL_TIMEOUT = 600


def nbgrader_cells(nb, **flags):
    return [cell for cell in nb.cells
            if "nbgrader" in cell.metadata and all(cell.metadata.nbgrader.get(k) == v for k, v in flags.items())]


def wrong_version(nb, chapter: str):
    """``nb`` with each coding solution replaced by its plausible wrong answer."""
    wrong = copy.deepcopy(nb)
    variants = VARIANTS.get(chapter, {})
    solutions = [cell for cell in nbgrader_cells(wrong, solution=True) if cell.cell_type == "code"]
    assert sorted(c.metadata.nbgrader.grade_id for c in solutions) == sorted(variants), (
        f"{chapter}: exercise_variants/wrong_solutions.yml must have one wrong answer per coding solution cell")
    for cell in solutions:
        cell.source = variants[cell.metadata.nbgrader.grade_id]["code"]
    return wrong


def exercises_only(nb):
    """``nb`` from its Exercises heading on: a student who deleted the chapter's text and demo cells.

    nbgrader restores only its own cells, so this is a submission it accepts; it spares the test executing the
    whole chapter three times (the solution submission executes all of it).
    """
    start = next(i for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
                 and re.search(r"^## (Exercises|练习)\s*$", cell.source, re.MULTILINE))
    short = copy.deepcopy(nb)
    short.cells = short.cells[start:]
    return short


def autograde(course, name, notebook, submissions: dict):
    """Put each submission in place, autograde them all, return {student: {grade_id: Grade}} and the graded notebooks."""
    from nbgrader.api import Gradebook

    for who, nb in submissions.items():
        folder = course / "submitted" / who / name
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / notebook.name)
    student.nbgrader(course, "autograde", name, "--force", f"--ExecutePreprocessor.timeout={CELL_TIMEOUT}", mode="quick")
    source = nbformat.read(course / "source" / name / notebook.name, as_version=4)
    grades, graded = {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for who in submissions:
            grades[who] = {}
            for cell in nbgrader_cells(source, grade=True):
                grade_id = cell.metadata.nbgrader.grade_id
                g = gradebook.find_grade(grade_id, notebook.stem, name, who)
                grades[who][grade_id] = (cell.cell_type, g.auto_score, g.max_score, g.needs_manual_grade)
            graded[who] = nbformat.read(course / "autograded" / who / name / notebook.name, as_version=4)
    return grades, graded


def error_of(nb, grade_id):
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
    return errors[0].ename if errors else None


@pytest.mark.parametrize("notebook", [p for p in CHAPTERS if p.parent.name == "en"], ids=lambda p: p.stem)
def test_nbgrader_grades_the_solution_full_and_the_release_and_wrong_answers_zero(notebook, tmp_path):
    nb = nbformat.read(notebook, as_version=4)
    assert nbgrader_cells(nb, solution=True), f"{notebook.name}: no nbgrader solution cell"
    (released,) = student.generate([notebook], tmp_path)
    release = nbformat.read(released, as_version=4)
    text = "\n".join(cell.source for cell in release.cells)
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS"):
        assert marker not in text, f"the student version of {notebook.name} still has {marker!r}"
    answers = [c for c in nbgrader_cells(release, solution=True) if c.cell_type == "markdown"]
    assert answers and all(c.source.strip() == "YOUR ANSWER HERE" for c in answers), (
        f"{notebook.name}: the student version must not keep the worked answers")

    name = student.assignment_name(notebook)
    grades, graded = autograde(tmp_path, name, notebook, {
        "solution": nb, "release": exercises_only(release), "wrong": exercises_only(wrong_version(nb, notebook.stem))})

    for grade_id, (kind, score, maximum, manual) in grades["solution"].items():
        if kind == "code":
            assert score == maximum and not manual, f"{notebook.name}, solution: {grade_id} got {score}/{maximum}"
        else:
            assert manual, f"{notebook.name}: the written answer {grade_id} should wait for manual grading"
    for grade_id, (kind, score, maximum, manual) in grades["release"].items():
        assert score == 0 and not manual, f"{notebook.name}, release: {grade_id} got {score}/{maximum}"
    tests = [gid for gid, (kind, _s, maximum, _m) in grades["wrong"].items() if kind == "code" and maximum > 0]
    assert tests, f"{notebook.name}: no autograded test cell with points"
    for grade_id in tests:
        score, maximum = grades["wrong"][grade_id][1:3]
        assert score == 0, f"{notebook.name}: the wrong answer passes {grade_id} ({score}/{maximum})"
        ename = error_of(graded["wrong"], grade_id)
        assert ename not in (None, "NotImplementedError", "NameError"), (
            f"{notebook.name}: {grade_id} should fail on the wrong answer itself, it gave {ename}")


@pytest.mark.parametrize("notebook", [p for p in CHAPTERS if p.parent.name == "zh"], ids=lambda p: p.stem)
def test_nbgrader_generates_and_grades_the_chinese_chapters(notebook, tmp_path):
    (released,) = student.generate([notebook], tmp_path)
    release = nbformat.read(released, as_version=4)
    assert "BEGIN SOLUTION" not in "\n".join(cell.source for cell in release.cells)
    name = student.assignment_name(notebook)
    grades, _graded = autograde(tmp_path, name, notebook, {"solution": exercises_only(nbformat.read(notebook, as_version=4))})
    for grade_id, (kind, score, maximum, manual) in grades["solution"].items():
        assert (manual if kind == "markdown" else score == maximum), f"{notebook.name}: {grade_id} got {score}/{maximum}"
