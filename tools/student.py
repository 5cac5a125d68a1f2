"""Student versions of the chapters with nbgrader: lay out a course directory and run ``generate_assignment``.

    python tools/student.py                       # every book/{en,zh}/*.ipynb -> _build/student (make student)
    python tools/student.py book/en/02_neural_networks_from_scratch.ipynb --course /tmp/course

The course directory is nbgrader's standard layout: ``source/<assignment>/<chapter>.ipynb`` (the committed
notebooks, which carry the nbgrader cell metadata of their sources), and after ``generate_assignment``
``release/<assignment>/<chapter>.ipynb``, the student versions: solutions replaced by
``raise NotImplementedError()``, worked answers by "YOUR ANSWER HERE", hidden tests removed, outputs cleared.
One assignment per chapter and language, named ``<lang>-<chapter>`` (``en-02_neural_networks_from_scratch``).
Grading: put submissions in ``submitted/<student>/<assignment>/`` and run ``nbgrader autograde <assignment>``
from the repository root (its nbgrader_config.py points nbgrader at ``_build/student``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from build_notebooks import kernel_env  # noqa: E402  (the kernels nbgrader starts get the builder's settings)
DEFAULT_COURSE = ROOT / "_build" / "student"


def assignment_name(notebook: Path) -> str:
    """``book/en/02_x.ipynb`` -> ``en-02_x``."""
    return f"{notebook.parent.name}-{notebook.stem}"


def nbgrader_env(mode: str = "full") -> dict:
    """Environment for nbgrader and the kernels it starts (autograde executes the notebooks): the builder's
    kernel environment, plus this interpreter's bin directory on PATH (nbgrader runs ``alembic``, its database
    migrations, from PATH)."""
    env = kernel_env(mode)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def nbgrader(course: Path, *args: str, mode: str = "full", timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` on the course directory ``course``; raises with nbgrader's output if it fails."""
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={course}"]
    result = subprocess.run(command, cwd=ROOT, env=nbgrader_env(mode), capture_output=True, text=True, timeout=timeout)
    # nbgrader reports some failures (an assignment it could not process) in its log and still exits 0
    if result.returncode != 0 or "[ERROR]" in result.stderr or "| ERROR]" in result.stderr:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def layout(notebooks: list[Path], course: Path) -> list[str]:
    """Copy each notebook to ``course/source/<assignment>/``; returns the assignment names."""
    names = []
    for notebook in notebooks:
        if not notebook.is_file():
            raise FileNotFoundError(f"no notebook {notebook}")
        name = assignment_name(notebook)
        target = course / "source" / name
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target / notebook.name)
        names.append(name)
    return names


def generate(notebooks: list[Path], course: Path) -> list[Path]:
    """Lay out ``course`` and run ``nbgrader generate_assignment`` on each notebook; returns the student versions."""
    released = []
    for name, notebook in zip(layout(notebooks, course), notebooks):
        nbgrader(course, "generate_assignment", name, "--force")
        released.append(course / "release" / name / notebook.name)
    return released


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="executed notebooks (default: book/*/*.ipynb)")
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE, help="nbgrader course directory")
    args = parser.parse_args(argv)
    notebooks = [path.resolve() for path in args.notebooks] or sorted((ROOT / "book").glob("*/*.ipynb"))
    if not notebooks:
        print("no notebooks found under book/", file=sys.stderr)
        return 1
    for path in generate(notebooks, args.course.resolve()):
        print(path)
    print(f"{len(notebooks)} assignments in {args.course}: student versions in {args.course / 'release'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
