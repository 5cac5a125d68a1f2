"""nbgrader's settings for the book's course directory (``make student`` lays it out in _build/student).

Run nbgrader from the repository root: ``nbgrader autograde en-02_neural_networks_from_scratch``. Each chapter
and language is one assignment, ``<lang>-<chapter>``; see tools/student.py.
"""
from pathlib import Path

c = get_config()  # noqa: F821 (nbgrader provides it)
c.CourseDirectory.root = str(Path(__file__).resolve().parent / "_build" / "student")
# autograde executes every cell of a chapter: the full-mode training cells take minutes
c.ExecutePreprocessor.timeout = 3600
