"""Execute chapter sources and write their executed twins into book/.

    python tools/build_notebooks.py                 # every chapters/*/*.md, full mode
    python tools/build_notebooks.py chapters/en/02_neural_networks_from_scratch.md --mode quick

Each MyST source ``chapters/LANG/NAME.md`` is read with jupytext, executed with nbclient in
``book/LANG/`` (so relative links and paths work as they do for a reader), and written to
``book/LANG/NAME.ipynb``. Stream outputs keep only the final state of each carriage-return-redrawn
line, so a progress bar shows as its last frame.
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
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = collapse_carriage_returns(output["text"])


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
    tmp = target.with_suffix(".ipynb.tmp")
    jupytext.write(nb, tmp, fmt="ipynb")
    os.replace(tmp, target)
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="*", type=Path, help="chapter sources (default: all)")
    parser.add_argument("--mode", choices=("full", "quick"), default="full")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    sources = args.sources or sorted((ROOT / "chapters").glob("*/*.md"))
    if not sources:
        print("no chapter sources found under chapters/", file=sys.stderr)
        return 1
    for source in sources:
        start = time.perf_counter()
        target = build(source, args.mode, args.timeout)
        print(f"{source} -> {target.relative_to(ROOT)} ({args.mode} mode, {time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
