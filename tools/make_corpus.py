"""Regenerate the book's own text corpus, ``companion/data/files/corpus_{en,zh}_{train,val}.txt``.

The corpus is the prose of the chapter sources ``chapters/en/*.md`` and ``chapters/zh/*.md`` (and of the
bilingual ``book/glossary.md`` and ``book/errata.md``, split by language): code cells, front matter, HTML,
directive fences and options, display math, link targets and table pipes are dropped; inline math is
written as plain text (``\\boldsymbol{x}`` -> ``x``, ``\\sigma`` -> ``σ``). One paragraph per line, a blank
line between passages. Inputs are read in sorted order, so the output is deterministic.

The validation split is made of whole held-out sections: level-2 sections 4, 11, 18, ... of every document
(the same sections in the two languages, so the English and Chinese validation texts say the same things),
about 12 % of the text; everything else is training text.

    .venv/bin/python tools/make_corpus.py           # write the files
    .venv/bin/python tools/make_corpus.py --check   # exit 1 if the shipped files are stale

The shipped files are a snapshot: chapter 08 trains on them and its committed outputs depend on them, so
regenerate them together with re-running chapters 07, 08 and 09 (both languages), not after every edit of the
prose.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "companion" / "data" / "files"
LANGS = ("en", "zh")
BILINGUAL = ("book/glossary.md", "book/errata.md")

# Directives whose body is code, math or build machinery: dropped whole. Other directives
# (admonition, note, dropdown, figure, ...) keep their body; their fence and options go.
DROPPED_DIRECTIVES = {
    "code-cell", "code", "code-block", "sourcecode", "math", "literalinclude", "raw", "eval-rst",
    "toctree", "tableofcontents", "bibliography", "mermaid", "glue", "glue:figure", "list-table", "csv-table",
}
TITLED_DIRECTIVES = {"admonition", "dropdown", "topic", "sidebar", "card"}  # their argument is prose
DROPPED_ROLES = {"cite", "cite:p", "cite:t", "cite:ps", "cite:ts", "numref", "eq", "download", "footcite"}

FENCE = re.compile(r"^\s*(`{3,}|:{3,})\s*(?:\{([\w:-]+)\})?\s*(.*?)\s*$")
OPTION = re.compile(r"^\s*:[\w-]+:")
TABLE_RULE = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
SKIPPED_LINE = re.compile(r"^\s*(?:\+\+\+.*|\([\w-]+\)=|%.*|\[[^\]]+\]:\s.*)$")  # cell breaks, targets, comments, link defs

CJK = "\u2e80-\u9fff\u3000-\u303f\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
CJK_CHAR = re.compile(f"[{CJK}]")
LATIN_LETTER = re.compile(r"[A-Za-z]")

LATEX_SYMBOLS = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "varepsilon": "ε", "eta": "η",
    "theta": "θ", "lambda": "λ", "mu": "μ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "varphi": "φ", "psi": "ψ", "omega": "ω", "Delta": "Δ", "Sigma": "Σ", "Omega": "Ω", "ell": "ℓ",
    "partial": "∂", "nabla": "∇", "sum": "∑", "prod": "∏", "infty": "∞", "top": "⊤", "odot": "⊙",
    "cdot": "·", "times": "×", "circ": "∘", "leftarrow": "←", "rightarrow": "→", "to": "→", "in": "∈",
    "approx": "≈", "le": "≤", "leq": "≤", "ge": "≥", "geq": "≥", "ne": "≠", "neq": "≠", "pm": "±",
    "lVert": "‖", "rVert": "‖", "Vert": "‖", "ldots": "…", "dots": "…", "cdots": "⋯",
    "log": "log", "exp": "exp", "max": "max", "min": "min", "tanh": "tanh", "sqrt": "√",
    "quad": " ", "qquad": " ", ",": " ", ";": " ", ":": " ", "!": "", " ": " ",
}
ACCENTS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}  # combining marks: ŷ, x̄, x̃
LATEX_BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "E": "𝔼"}


def _group(term: str) -> str:
    return term if len(term) == 1 else f"({term})"


def latex_to_text(math: str) -> str:
    """Inline LaTeX as readable text: commands to Unicode symbols, style wrappers and braces dropped."""
    math = re.sub(r"\\mathbb\{(\w)\}", lambda m: LATEX_BLACKBOARD.get(m.group(1), m.group(1)), math)
    # Symbols first: a command ends at the first non-letter, so "\\lVert\\boldsymbol{W}" is two commands.
    math = re.sub(r"\\([A-Za-z]+|[,;:! ])", lambda m: LATEX_SYMBOLS.get(m.group(1), m.group(0)), math)
    math = re.sub(r"\\(?:boldsymbol|mathbf|mathrm|mathit|text|operatorname)\{([^{}]*)\}", r"\1", math)
    math = re.sub(r"\\(hat|bar|tilde)\{(\w)\}", lambda m: m.group(2) + ACCENTS[m.group(1)], math)
    math = re.sub(r"([_^])\{([^{}]*)\}", lambda m: m.group(1) + _group(m.group(2)), math)  # e^{-z} -> e^(-z)
    frac = re.compile(r"\\[dt]?frac\s*(\{[^{}]*\}|\w)\s*(\{[^{}]*\}|\w)")
    while frac.search(math):  # innermost first, for nested fractions
        math = frac.sub(lambda m: "/".join(_group(arg.strip("{}")) for arg in m.groups()), math)
    math = re.sub(r"\\[A-Za-z]+\s*", "", math)  # \\left, \\bigr and other commands that print nothing here
    math = math.replace("{", "").replace("}", "").replace("\\", "")
    return re.sub(r"\s+", " ", math).strip()


def _role(match: re.Match) -> str:
    name, content = match.group(1), match.group(2)
    explicit = re.match(r"^(.*?)\s*<[^<>]*>$", content)  # {ref}`text <target>`
    if explicit:
        return explicit.group(1)
    return "" if name in DROPPED_ROLES or name in {"ref", "doc"} else content


def inline_to_text(text: str) -> str:
    """Markdown/MyST inline markup of one paragraph to plain text."""
    kept: list[str] = []

    def protect(value: str) -> str:  # code and math must not meet the emphasis rules below
        kept.append(value)
        return f"\x00{len(kept) - 1}\x00"

    text = re.sub(r"\{([\w:-]+)\}`([^`]*)`", lambda m: protect(_role(m)), text)
    text = re.sub(r"(`+)(.+?)\1", lambda m: protect(m.group(2).strip()), text)
    text = re.sub(r"(?<![\\$])\$([^$]+?)\$", lambda m: protect(latex_to_text(m.group(1))), text)
    text = re.sub(r"<!--.*?-->", "", text)
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # [text](target)
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)  # [text][ref]
    text = re.sub(r"<(?:https?|mailto):[^>]+>", "", text)
    text = re.sub(r"</?[A-Za-z][^<>]*>", "", text)  # HTML tags
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<!\*)\*(?![\s*])(.+?)(?<![\s*])\*(?!\*)", r"\1", text)  # '*' works inside words
    text = re.sub(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", r"\1", text)
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|$<>~])", r"\1", text)
    text = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], text)
    return re.sub(r"\s+", " ", text).strip()


def _join_lines(lines: list[str]) -> str:
    """Join wrapped lines; no space between two CJK characters (Chinese has no spaces between words)."""
    out = ""
    for line in (line.strip() for line in lines):
        if not line:
            continue
        if out and not (CJK_CHAR.match(out[-1]) and CJK_CHAR.match(line[0])):
            out += " "
        out += line
    return out


def _split_cells(row: str) -> list[str]:
    row = row.strip()
    row = row[1:] if row.startswith("|") else row
    row = row[:-1] if row.endswith("|") and not row.endswith("\\|") else row
    return [cell.strip() for cell in re.split(r"(?<!\\)\|", row)]


def markdown_blocks(text: str) -> list[list[str]]:
    """Prose blocks of a MyST document: each block is a list of segments (table rows: one per cell)."""
    text = text.replace("\r\n", "\n")
    text = re.sub(r"\A---\n.*?\n---[ \t]*\n", "", text, flags=re.DOTALL)  # YAML front matter
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    lines = text.split("\n")
    blocks: list[list[str]] = []
    paragraph: list[str] = []
    open_fences: list[tuple[str, int]] = []  # kept directives we are inside of

    def flush():
        if paragraph:
            blocks.append([_join_lines(paragraph)])
            paragraph.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        fence = FENCE.match(line)
        if fence:
            marks, directive, argument = fence.groups()
            closes = open_fences and not directive and not argument and marks[0] == open_fences[-1][0] \
                and len(marks) >= open_fences[-1][1]
            flush()
            if closes:
                open_fences.pop()
                continue
            if directive is None and marks[0] == ":":  # a bare ':::' that closes nothing: not a fence
                continue
            if directive is None or directive in DROPPED_DIRECTIVES:  # skip to the matching closing fence
                while i < len(lines):
                    close = FENCE.match(lines[i])
                    i += 1
                    if close and close.group(1)[0] == marks[0] and len(close.group(1)) >= len(marks) \
                            and not close.group(2) and not close.group(3):
                        break
                continue
            open_fences.append((marks[0], len(marks)))
            if i < len(lines) and lines[i].strip() == "---":  # YAML-style options block
                i += 1
                while i < len(lines) and lines[i].strip() != "---":
                    i += 1
                i += 1
            while i < len(lines) and OPTION.match(lines[i]):
                i += 1
            if directive in TITLED_DIRECTIVES and argument:
                blocks.append([argument])
            continue
        stripped = line.strip()
        if stripped.startswith("$$"):  # display math, on one line or several
            flush()
            if not (len(stripped) > 2 and stripped.endswith("$$") and len(stripped) >= 4):
                while i < len(lines) and "$$" not in lines[i]:
                    i += 1
                i += 1
            continue
        if not stripped or SKIPPED_LINE.match(line):
            flush()
            continue
        if stripped.startswith("|"):
            flush()
            if not TABLE_RULE.match(stripped):
                blocks.append(_split_cells(stripped))
            continue
        heading = re.match(r"^\s*#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            flush()
            blocks.append([heading.group(1)])
            continue
        line = re.sub(r"^\s*(?:>\s?)+", "", line)  # block quotes
        if LIST_ITEM.match(line):
            flush()
            line = LIST_ITEM.sub("", line, count=1)
        paragraph.append(line)
    flush()
    return [[inline_to_text(segment) for segment in block] for block in blocks]


def language_of(text: str) -> str:
    """``"zh"`` when CJK characters make up at least 30% of the letters, else ``"en"``."""
    cjk = len(CJK_CHAR.findall(text))
    latin = len(LATIN_LETTER.findall(text))
    return "zh" if cjk and cjk >= 0.3 * (cjk + latin) else "en"


HELD_OUT_EVERY, HELD_OUT_FIRST = 7, 4  # validation: sections 4, 11, 18, ... of every document


def is_held_out(section: int) -> bool:
    """Whether level-2 section number ``section`` (1-based; 0 is the text before the first one) is validation."""
    return section >= HELD_OUT_FIRST and (section - HELD_OUT_FIRST) % HELD_OUT_EVERY == 0


def split_sections(text: str) -> list[str]:
    """A MyST document cut before each level-2 heading (``## ...``) that is not inside a code fence.

    Item 0 is the text before the first such heading (the title and the introduction); item k is section k.
    """
    parts: list[list[str]] = [[]]
    fence: str | None = None
    for line in text.replace("\r\n", "\n").split("\n"):
        marks = re.match(r"^\s*(`{3,}|~{3,})", line)
        if marks:
            if fence is None:
                fence = marks.group(1)
            elif marks.group(1)[0] == fence[0] and len(marks.group(1)) >= len(fence) and not line.strip()[len(marks.group(1)):]:
                fence = None
        if fence is None and re.match(r"^## \S", line):
            parts.append([])
        parts[-1].append(line)
    return ["\n".join(part) for part in parts]


def blocks_text(blocks: list[list[str]], lang: str | None) -> dict[str, str]:
    """Prose lines by language; ``lang=None`` splits a bilingual page by each segment's script."""
    out: dict[str, list[str]] = {code: [] for code in LANGS}
    for block in blocks:
        if lang is not None:
            line = " ".join(segment for segment in block if segment)
            if line:
                out[lang].append(line)
            continue
        pieces = [piece.strip() for segment in block for piece in segment.split(" · ")]  # "Glossary · 术语表"
        for code in LANGS:
            line = " ".join(piece for piece in pieces if piece and language_of(piece) == code)
            if line:
                out[code].append(line)
    return {code: "\n".join(lines) for code, lines in out.items()}


def document_text(path: Path, lang: str | None) -> dict[str, dict[str, str]]:
    """Prose of one document by language and split: ``{lang: {"train": ..., "val": ...}}``.

    The held-out sections are whole level-2 sections, chosen by number (:func:`is_held_out`), so the twins of a
    chapter hold out the same sections. The training text keeps a blank line where a held-out section was cut
    out, so that no line joins the text before it to the text after it.
    """
    source = path.read_text(encoding="utf-8")
    front = re.match(r"\A---\n.*?\n---[ \t]*\n", source, flags=re.DOTALL)  # YAML front matter
    source = source[front.end():] if front else source
    pieces: dict[str, dict[str, list[list[str]]]] = {code: {"train": [[]], "val": []} for code in LANGS}
    for number, section in enumerate(split_sections(source)):
        texts = blocks_text(markdown_blocks(section), lang)
        for code, text in texts.items():
            if not text:
                continue
            if is_held_out(number):
                pieces[code]["val"].append([text])
                pieces[code]["train"].append([])  # a cut: the next training section starts a new passage
            else:
                pieces[code]["train"][-1].append(text)
    out: dict[str, dict[str, str]] = {}
    for code in LANGS:
        train = ["\n".join(run) for run in pieces[code]["train"] if run]
        val = ["\n".join(run) for run in pieces[code]["val"]]
        out[code] = {"train": "\n\n".join(train), "val": "\n\n".join(val)}
    return out


def sources(root: Path = ROOT) -> list[tuple[Path, str | None]]:
    """The input files in reading order, each with its language (None: bilingual)."""
    files: list[tuple[Path, str | None]] = []
    for lang in LANGS:
        files += [(path, lang) for path in sorted((root / "chapters" / lang).glob("*.md"))]
    files += [(root / name, None) for name in BILINGUAL if (root / name).is_file()]
    return files


SPLITS = ("train", "val")


def build_corpus(root: Path = ROOT) -> dict[str, str]:
    """The text of each shipped file, keyed ``"en_train"``, ``"en_val"``, ``"zh_train"``, ``"zh_val"``.

    Passages (a document, or a run of a document's sections between two held-out ones) are separated by a
    blank line; each file ends with one newline.
    """
    passages: dict[str, list[str]] = {f"{lang}_{split}": [] for lang in LANGS for split in SPLITS}
    for path, lang in sources(root):
        for code, parts in document_text(path, lang).items():
            for split, text in parts.items():
                if text:
                    passages[f"{code}_{split}"].append(text)
    return {key: "\n\n".join(texts) + "\n" for key, texts in passages.items()}


GLOSSARY_HEADER = "english\tchinese\tdefinition\t定义\n"


def build_glossary(root: Path = ROOT) -> str:
    """The text of ``files/glossary.txt``: one line per row of ``book/glossary.md`` after a header line, its first
    four cells (English term, Chinese term, English definition, Chinese definition) as plain text, tab-separated,
    for ``companion.data.corpus.glossary_pairs`` (chapter 9's instruction tuning)."""
    rows = []
    for line in (root / "book" / "glossary.md").read_text(encoding="utf-8").split("\n"):
        line = line.strip()
        if not line.startswith("|") or TABLE_RULE.match(line):
            continue
        cells = [inline_to_text(cell) for cell in _split_cells(line)]
        if cells[0] == "English":  # the header row
            continue
        if len(cells) != 5 or not all(cells[:4]) or any("\t" in cell or "\n" in cell for cell in cells[:4]):
            raise ValueError(f"book/glossary.md: a row needs 5 cells, the first 4 non-empty, got {cells!r}")
        rows.append("\t".join(cells[:4]) + "\n")
    return GLOSSARY_HEADER + "".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if the shipped files are stale")
    args = parser.parse_args(argv)
    files = {f"corpus_{name}.txt": text for name, text in build_corpus(ROOT).items()}  # corpus_en_train.txt, ...
    files["glossary.txt"] = build_glossary(ROOT)
    stale = []
    for name, text in files.items():
        path = OUT_DIR / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text, encoding="utf-8", newline="\n")
            tmp.replace(path)  # atomic: never a half-written corpus
        print(f"{'stale' if args.check else 'wrote'} {path.relative_to(ROOT)}: {len(text):,} characters")
    if not stale:
        print("corpus and glossary are up to date")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
