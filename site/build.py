"""Build the two editions of the site: `_build/html/en/` and `_build/html/zh/`, plus the landing page
`_build/html/index.html` (from `book/index.md`) that lets a reader choose.

Each edition is its own Sphinx build (Jupyter Book 1) of the folder `book/`, with `_config.yml` updated by the
edition's entry in `site/editions.yml` and a table of contents cut from `_toc.yml`: the edition's part, then the
shared appendices. Own builds because Sphinx's language is one per build: the interface text, the search
language (jieba for Chinese) and `<html lang>` come with it, and previous/next stay within one language.
`site/bilingual.py` links the twins across the two builds.

    python site/build.py [-W] [--keep-going] [--edition en|zh ...]
"""
from __future__ import annotations

import argparse
import copy
import html
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
SOURCE = ROOT / "book"          # the Sphinx source folder of both editions
WORK = ROOT / ".build" / "site"  # generated configurations and Sphinx's working files
OUT = ROOT / "_build" / "html"


def deep_update(base: dict, update: dict) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            deep_update(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def relative_to_source(entry: str) -> str:
    path = Path(entry)
    if path.parts[0] != SOURCE.name:
        raise ValueError(f"_toc.yml: {entry!r} is not under {SOURCE.name}/, the folder the site is built from")
    return Path(*path.parts[1:]).as_posix()


def edition_toc(toc: dict, caption: str) -> dict:
    """The edition's table of contents: its part of `_toc.yml` (root = its first chapter), then every part
    that belongs to no edition (the shared appendices)."""
    editions = {settings["part"] for settings in load_editions().values()}
    parts = [part for part in toc["parts"] if part.get("caption") == caption]
    if len(parts) != 1:
        raise ValueError(f"_toc.yml needs exactly one part with caption {caption!r}, found {len(parts)}")
    own = [relative_to_source(chapter["file"]) for chapter in parts[0]["chapters"]]
    shared = [part for part in toc["parts"] if part.get("caption") not in editions]
    out_parts = [{"caption": caption, "chapters": [{"file": f} for f in own[1:]]}] if own[1:] else []
    for part in shared:
        out_parts.append({"caption": part["caption"],
                          "chapters": [{"file": relative_to_source(c["file"])} for c in part["chapters"]]})
    return {"format": toc.get("format", "jb-book"), "root": own[0], "parts": out_parts}


def load_editions() -> dict:
    return yaml.safe_load((SITE / "editions.yml").read_text(encoding="utf-8"))


def edition_config(base: dict, name: str, settings: dict, editions: dict) -> dict:
    config = copy.deepcopy(base)
    overrides = {key: value for key, value in settings.items() if key not in ("part",)}
    deep_update(config, overrides)
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config["bilingual_edition"] = name
    sphinx_config["bilingual_editions"] = {
        other: {"label": s.get("label", other), "language": s["sphinx"]["config"]["language"]}
        for other, s in editions.items()}
    config["sphinx"].setdefault("local_extensions", {})["bilingual"] = str(SITE)
    return config


def build_edition(name: str, settings: dict, editions: dict, sphinx_args: list[str]) -> None:
    base = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "_config.yml").write_text(yaml.safe_dump(edition_config(base, name, settings, editions),
                                                     allow_unicode=True, sort_keys=False), encoding="utf-8")
    (work / "_toc.yml").write_text(yaml.safe_dump(edition_toc(toc, settings["part"]), allow_unicode=True,
                                                  sort_keys=False), encoding="utf-8")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    command = [str(jupyter_book), "build", str(SOURCE), "--config", str(work / "_config.yml"),
               "--toc", str(work / "_toc.yml"), "--path-output", str(work), "--builder", "html", *sphinx_args]
    print(f"== {name} edition ==", flush=True)
    subprocess.run(command, check=True, cwd=ROOT)
    target = OUT / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(work / "_build" / "html"), target)
    for notebook in target.rglob("*.ipynb"):
        without_hidden_tests(notebook)


def is_hidden_test(cell) -> bool:
    """An nbgrader "Autograder tests" cell that the site hides (tag ``remove-cell``): the hidden tests."""
    grader = cell.get("metadata", {}).get("nbgrader", {})
    return (cell.get("cell_type") == "code" and grader.get("grade") is True and not grader.get("solution")
            and "remove-cell" in cell.get("metadata", {}).get("tags", []))


def without_hidden_tests(notebook: Path) -> int:
    """Drop the hidden-test cells from a notebook the site serves (the page's download button, ``_sources``):
    the hidden tests stay in `book/` for nbgrader, not on the public site. Returns how many were dropped."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    kept = [cell for cell in nb.cells if not is_hidden_test(cell)]
    dropped = len(nb.cells) - len(kept)
    if dropped:
        nb.cells = kept
        nbformat.write(nb, notebook)
    return dropped


def landing_page() -> None:
    """`book/index.md` as the static page `_build/html/index.html`. It is no page of either edition, so its
    links are paths in the built site (`en/en/02_x.html`); the browser test checks that they resolve."""
    from markdown_it import MarkdownIt

    base = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    text = (SOURCE / "index.md").read_text(encoding="utf-8")

    body = MarkdownIt("commonmark").enable("table").render(text)
    title = html.escape(str(base.get("title", "")))
    page = f"""<!DOCTYPE html>
<html lang="mul">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="landing.css">
</head>
<body>
<main>
{body}
</main>
</body>
</html>
"""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "index.html").write_text(page, encoding="utf-8")
    for name in ("favicon.svg", "landing.css"):
        shutil.copy(SITE / "static" / name, OUT / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-W", action="store_true", help="warnings are errors")
    parser.add_argument("--keep-going", action="store_true", help="with -W, report every warning")
    parser.add_argument("--edition", action="append", help="build only this edition (repeatable)")
    args = parser.parse_args(argv)
    editions = load_editions()
    chosen = args.edition or list(editions)
    for name in chosen:
        if name not in editions:
            parser.error(f"unknown edition {name!r}; site/editions.yml has {', '.join(editions)}")
    sphinx_args = (["-W"] if args.W else []) + (["--keep-going"] if args.keep_going else [])
    if not args.edition:
        shutil.rmtree(OUT, ignore_errors=True)
    for name in chosen:
        build_edition(name, editions[name], editions, sphinx_args)
    landing_page()
    print(f"The site is in {OUT.relative_to(ROOT)}/index.html (editions: "
          + ", ".join(f"{OUT.relative_to(ROOT)}/{name}/" for name in chosen) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
