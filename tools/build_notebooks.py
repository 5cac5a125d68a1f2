"""Execute chapter sources and write their executed twins into book/.

    python tools/build_notebooks.py                 # every chapters/*/*.md, full mode
    python tools/build_notebooks.py chapters/en/02_neural_networks_from_scratch.md --mode quick
    python tools/build_notebooks.py chapters/en/04_multilayer_perceptron.md --prose-only

Each MyST source ``chapters/LANG/NAME.md`` is read with jupytext, executed with nbclient in
``book/LANG/`` (so relative links and paths work as they do for a reader), and written to
``book/LANG/NAME.ipynb``. Stream outputs keep only the final state of each carriage-return-redrawn
line, so a progress bar shows as its last frame.

``--prose-only`` copies the markdown cells of a source into its executed notebook without running anything:
for a prose edit of a long chapter. It also carries the cells' nbgrader metadata. It refuses when a code cell, a tag or the cell
count differs (then the chapter must be re-executed).

The nbgrader metadata of the exercise cells lives in the sources (``cell_metadata_filter`` in jupytext.toml keeps
it); the builder checks it is consistent with nbgrader's markers and refuses a notebook nbgrader would refuse.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def collapse_carriage_returns(text: str) -> str:
    """Keep what a terminal would show: for each line, the text after its last carriage return."""
    lines = []
    for line in text.split("\n"):
        frames = [frame for frame in line.split("\r") if frame]
        lines.append(frames[-1] if frames else "")
    return "\n".join(lines)


def clean_outputs(nb) -> None:
    """Merge consecutive stream outputs of the same stream, then keep each redrawn line's last frame."""
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (output.get("output_type") == "stream" and previous is not None
                    and previous.get("output_type") == "stream" and previous["name"] == output["name"]):
                previous["text"] += output["text"]
            else:
                merged.append(output)
        for output in merged:
            if output.get("output_type") == "stream":
                output["text"] = collapse_carriage_returns(output["text"])
        cell["outputs"] = merged


def stable_ids(nb) -> None:
    """Cell ids from their position, so that rebuilding a notebook does not churn every id."""
    for index, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{index}"


NBGRADER_MARKERS = {"solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
                    "grade": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")}


def check_nbgrader_metadata(nb, where: str) -> None:
    """Refuse a notebook nbgrader would refuse: the sources carry the nbgrader cell metadata (jupytext.toml keeps it).

    A cell with solution markers must be a solution cell, a cell with hidden-test markers a grade cell, every
    nbgrader cell has a unique ``grade_id``, and a grade cell has ``points``.
    """
    seen = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader")
        for flag, markers in NBGRADER_MARKERS.items():
            if any(marker in cell.source for marker in markers) and not (meta or {}).get(flag):
                raise ValueError(f"{where}, cell {index}: it contains {markers[0]!r} but its nbgrader metadata "
                                 f"lacks {flag}: true (write it in the cell's options in the source)")
        if meta is None:
            continue
        grade_id = meta.get("grade_id")
        if not grade_id or grade_id in seen:
            raise ValueError(f"{where}, cell {index}: nbgrader grade_id {grade_id!r} is missing or not unique")
        seen.add(grade_id)
        if meta.get("grade") and "points" not in meta:
            raise ValueError(f"{where}, cell {index}: nbgrader grade cell {grade_id!r} has no points")


def write_notebook(nb, target: Path, source: Path) -> None:
    """Write ``nb`` whole, then rename (no half-written notebook), with the source's modification time.

    JupyterLab (jupytext) refuses to open a paired notebook that is newer than its text file (it cannot tell
    which one holds the latest edits): the notebook gets the mtime of the source it was built from.
    """
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(jupytext.writes(nb, fmt="ipynb"), encoding="utf-8")
    mtime = source.stat().st_mtime_ns
    os.utime(tmp, ns=(mtime, mtime))
    os.replace(tmp, target)


def target_of(source: Path) -> Path:
    rel = source.resolve().relative_to(ROOT / "chapters")
    return ROOT / "book" / rel.with_suffix(".ipynb")


def kernel_env(mode: str) -> dict:
    env = dict(os.environ)
    env["COMPANION_MODE"] = mode
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    env["MATPLOTLIBRC"] = str(ROOT / "matplotlibrc")
    env["PYTHONHASHSEED"] = "0"
    return env


def build(source: Path, mode: str, timeout: int) -> Path:
    nb = jupytext.read(source)
    target = target_of(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    old_env = dict(os.environ)
    os.environ.update(kernel_env(mode))  # the kernel inherits this process's environment
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", record_timing=False,
            resources={"metadata": {"path": str(target.parent)}},
        )
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old_env)
    clean_outputs(nb)
    stable_ids(nb)
    check_nbgrader_metadata(nb, str(source))
    write_notebook(nb, target, source)
    return target


def update_prose(source: Path) -> Path:
    """Copy the markdown cells of ``source`` into its executed notebook; code cells and outputs stay as they are."""
    md = jupytext.read(source)
    target = target_of(source)
    nb = nbformat.read(target, as_version=4)
    check_nbgrader_metadata(md, str(source))
    kinds = [(c.cell_type, c.source if c.cell_type == "code" else None, c.metadata.get("tags", [])) for c in md.cells]
    have = [(c.cell_type, c.source if c.cell_type == "code" else None, c.metadata.get("tags", [])) for c in nb.cells]
    if kinds != have:
        raise SystemExit(f"{source}: code cells, tags or cell count differ from {target.relative_to(ROOT)}; "
                         f"re-execute it: python tools/build_notebooks.py {source}")
    for md_cell, nb_cell in zip(md.cells, nb.cells):
        if md_cell.cell_type == "markdown":
            nb_cell.source = md_cell.source
        # the nbgrader metadata is not executed: it follows the source in code and markdown cells alike
        nb_cell.metadata.pop("nbgrader", None)
        if "nbgrader" in md_cell.metadata:
            nb_cell.metadata["nbgrader"] = md_cell.metadata["nbgrader"]
    write_notebook(nb, target, source)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="chapter sources (default: all)")
    parser.add_argument("--mode", choices=("full", "quick"), default="full")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    parser.add_argument("--prose-only", action="store_true",
                        help="copy markdown cells into the executed notebooks, execute nothing")
    args = parser.parse_args(argv)
    sources = args.sources or sorted((ROOT / "chapters").glob("*/*.md"))
    if not sources:
        print("no chapter sources found under chapters/", file=sys.stderr)
        return 1
    for source in sources:
        if args.prose_only:
            print(f"{source} -> {update_prose(source).relative_to(ROOT)} (markdown cells only)")
            continue
        start = time.perf_counter()
        target = build(source, args.mode, args.timeout)
        print(f"{source} -> {target.relative_to(ROOT)} ({args.mode} mode, {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
