"""The cells of a coding exercise, found by their nbgrader metadata, and a way to run them outside nbgrader."""
from __future__ import annotations


def _source(cell) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def exercise_cells(nb: dict, number: int) -> tuple[str, list[str]]:
    """Exercise ``number``'s solution source and its test sources (visible check, then hidden tests)."""
    by_id = {cell["metadata"]["nbgrader"]["grade_id"]: _source(cell)
             for cell in nb["cells"] if "nbgrader" in cell.get("metadata", {})}
    prefix = f"exercise-{number}-"
    if prefix + "solution" not in by_id:
        raise KeyError(f"no nbgrader cell {prefix}solution; the notebook has {sorted(by_id)}")
    return by_id[prefix + "solution"], [by_id[prefix + kind] for kind in ("check", "tests") if prefix + kind in by_id]


def run_exercise(solution: str, *checks: str) -> None:
    """Run a solution and its test cells in one fresh namespace; raises whatever they raise."""
    namespace: dict = {"__name__": "__exercise__"}
    for name, code in [("solution", solution)] + [(f"check {i}", c) for i, c in enumerate(checks, 1)]:
        exec(compile(code, f"<{name} cell>", "exec"), namespace)
