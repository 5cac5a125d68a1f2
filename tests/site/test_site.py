"""Every page of the built site in a real Chromium (see conftest.py): run with `--site _build/html`.

Desktop width, every page: no console error or uncaught exception; no request to another host and no failed
request; no raw TeX left visible after MathJax; every image loaded; every internal link and #anchor resolves;
`<html lang>` right; previous/next stay within the page's language; chapter pages link to their twin; Chinese
interface text on zh pages. Phone width (390 px), every chapter page: the page is no wider than the screen and
every formula fits or sits in a box that scrolls. Chinese search finds every page that contains a word.
"""
from __future__ import annotations

import html
import re
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

SITE_OPTION = "--site"
CHAPTER = re.compile(r"(?:^|/)(en|zh)/(\d\d_[a-z0-9_]+)\.html$")
# Interface text that may stay Latin on a Chinese page (keyboard shortcuts).
LATIN_OK = re.compile(r"Ctrl|⌘|\bK\b")
TEX_LEFT_OVER = [
    (re.compile(r"\$\$"), "a '$$' delimiter"),
    (re.compile(r"\\[A-Za-z]{2,}"), "a TeX command"),
    (re.compile(r"\$[^$\n]{0,200}?[\\^_{}][^$\n]{0,200}?\$"), "a '$...$' pair with TeX in it"),
]


def site_root(config) -> Path | None:
    value = config.getoption(SITE_OPTION, default=None)
    return Path(value).resolve() if value else None


def html_pages(root: Path | None) -> list[str]:
    if root is None or not root.is_dir():
        return ["(no site)"]
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if "_static" not in p.relative_to(root).parts and not p.name.startswith("_"))


def pytest_generate_tests(metafunc):
    root = site_root(metafunc.config)
    pages = html_pages(root)
    if "page_path" in metafunc.fixturenames:
        metafunc.parametrize("page_path", pages)
    if "chapter_path" in metafunc.fixturenames:
        chapters = [p for p in pages if CHAPTER.search(p)] or ["(no chapter)"]
        metafunc.parametrize("chapter_path", chapters)


def is_redirect(path: Path) -> bool:
    return bool(re.search(r'<meta http-equiv="refresh"', path.read_text(encoding="utf-8"), re.IGNORECASE))


@lru_cache(maxsize=None)
def ids_in(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8")
    return frozenset(html.unescape(m) for m in re.findall(r'\s(?:id|name)="([^"]+)"', text))


def page_language(relpath: str) -> str | None:
    """en or zh for a chapter page, None for a shared page (glossary, errata, search)."""
    match = CHAPTER.search(relpath)
    return match.group(1) if match else None


def edition_of(relpath: str) -> str | None:
    head = relpath.split("/", 1)[0]
    return head if head in ("en", "zh") and "/" in relpath else None


class Recorder:
    """Console errors, uncaught exceptions, requests to other hosts and failed requests of one page load."""

    def __init__(self, page, origin: str):
        self.origin, self.errors, self.foreign, self.failed = origin, [], [], []
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on("request", self.on_request)
        page.on("requestfailed", self.on_failed)
        page.on("response", lambda resp: resp.status >= 400 and self.failed.append(f"{resp.url} (HTTP {resp.status})"))

    def on_request(self, request):
        scheme = urlsplit(request.url).scheme
        if scheme in ("data", "blob", "about"):
            return
        if not request.url.startswith(self.origin + "/"):
            self.foreign.append(request.url)

    def on_failed(self, request):
        # net::ERR_ABORTED is the browser cancelling a request, e.g. a font the previous page was still loading
        # when the next test navigated away (seen under load); a missing file shows as HTTP 404 below instead.
        if request.failure and "ERR_ABORTED" in request.failure:
            return
        self.failed.append(f"{request.url} ({request.failure})")

    def clear(self):
        self.errors.clear(), self.foreign.clear(), self.failed.clear()


@pytest.fixture(scope="session")
def desktop(browser, server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorder = Recorder(page, server)
    yield page, recorder
    context.close()


@pytest.fixture(scope="session")
def phone(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def load(page, url: str) -> None:
    page.goto(url, wait_until="load")
    # MathJax typesets after load; its startup promise resolves when the page is done.
    page.evaluate("""async () => {
        if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
        await Promise.all(Array.from(document.images).map(img => {
            img.loading = "eager";
            return img.complete ? null : new Promise(done => { img.onload = img.onerror = done;
                                                               setTimeout(done, 5000); });
        }));
    }""")


PAGE_FACTS = """() => {
    const article = document.querySelector("article.bd-article") || document.querySelector("main") || document.body;
    const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
    const skip = "pre, code, mjx-container, script, style, textarea, kbd, samp, .highlight";
    let text = "";
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.parentElement.closest(skip)) text += node.nodeValue;
    }
    const ui = [];
    const add = (what, value) => { if (value && value.trim()) ui.push([what, value.trim()]); };
    document.querySelectorAll(".prev-next-subtitle").forEach(e => add("previous/next", e.textContent));
    document.querySelectorAll(".page-toc.tocsection").forEach(e => add("page contents title", e.textContent));
    document.querySelectorAll("input[name=q]").forEach(e => add("search placeholder", e.placeholder));
    document.querySelectorAll(".search-button__default-text").forEach(e => add("search button", e.textContent));
    document.querySelectorAll("details.hide summary p").forEach(e => add("hidden-cell prompt", e.textContent));
    return {
        lang: document.documentElement.getAttribute("lang"),
        text: text,
        ui: ui,
        images: Array.from(document.images).map(img => ({src: img.currentSrc || img.src,
                                                       ok: img.complete && img.naturalWidth > 0})),
        links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
        prevnext: Array.from(document.querySelectorAll(".prev-next-area a[href]")).map(a => a.href),
        twin: Array.from(document.querySelectorAll("a.language-switch[href]")).map(a => a.href),
        icons: Array.from(document.querySelectorAll("link[rel~=icon]")).map(l => l.href),
    };
}"""


def local_file(site: Path, server: str, url: str) -> tuple[Path, str] | None:
    """The file a same-site URL names and its #fragment; None for a URL of another site or scheme."""
    if not url.startswith(server + "/"):
        return None
    parts = urlsplit(url)
    path = unquote(parts.path).lstrip("/")
    target = site / path
    if path == "" or path.endswith("/"):
        target = target / "index.html"
    return target, unquote(parts.fragment)


def test_page_in_chromium(page_path, site, server, desktop):
    page, recorder = desktop
    file = site / page_path
    if is_redirect(file):
        target = re.search(r'url=([^"\'>]+)', file.read_text(encoding="utf-8"), re.IGNORECASE)
        assert target and (file.parent / target.group(1)).is_file(), f"{page_path}: redirect to a missing page"
        return
    recorder.clear()
    load(page, f"{server}/{page_path}")
    facts = page.evaluate(PAGE_FACTS)
    problems = []
    problems += recorder.errors
    problems += [f"request to another host: {url}" for url in recorder.foreign]
    problems += [f"failed request: {what}" for what in recorder.failed]

    edition = edition_of(page_path)
    if edition is not None:
        want = {"en": "en", "zh": "zh-CN"}[edition]
        if facts["lang"] != want:
            problems.append(f'<html lang="{facts["lang"]}">, expected "{want}"')
    language = page_language(page_path)
    if language == "zh" and facts["lang"] != "zh-CN":
        problems.append(f'a Chinese chapter with <html lang="{facts["lang"]}">')

    for pattern, what in TEX_LEFT_OVER:
        for match in pattern.finditer(facts["text"]):
            start = max(0, match.start() - 40)
            problems.append(f"raw TeX visible ({what}): ...{facts['text'][start:match.end() + 40]!r}...")
            break

    problems += [f"image not loaded: {img['src']}" for img in facts["images"] if not img["ok"]]

    if not facts["icons"]:
        problems.append("no favicon (<link rel=icon>)")
    for url in facts["links"] + facts["icons"]:
        resolved = local_file(site, server, url)
        if resolved is None:
            continue
        target, fragment = resolved
        if not target.is_file():
            problems.append(f"link to a missing file: {url}")
        elif fragment and target.suffix == ".html" and fragment not in ids_in(target):
            problems.append(f"link to a missing anchor: {url}")

    for url in facts["prevnext"]:
        resolved = local_file(site, server, url)
        if resolved is None:
            continue
        target_rel = resolved[0].relative_to(site).as_posix()
        if edition is not None and edition_of(target_rel) != edition:
            problems.append(f"previous/next leaves the {edition} edition: {target_rel}")
        if language and page_language(target_rel) not in (None, language):
            problems.append(f"previous/next leads from a {language} chapter to {target_rel}")

    if language is not None:
        other = {"en": "zh", "zh": "en"}[language]
        twin = CHAPTER.sub(lambda m: f"/{other}/{m.group(2)}.html", "/" + page_path)
        twin_rel = re.sub(rf"^/?{language}/", f"{other}/", twin.lstrip("/"), count=1) if edition else twin.lstrip("/")
        switches = [local_file(site, server, url) for url in facts["twin"]]
        linked = {s[0].relative_to(site).as_posix() for s in switches if s and s[0].is_file()}
        if twin_rel not in linked:
            problems.append(f"no language switch to the twin page {twin_rel} (switches: {sorted(linked)})")

    if "zh" in (edition, language):
        for what, value in facts["ui"]:
            if re.search(r"[A-Za-z]", LATIN_OK.sub("", value)):
                problems.append(f"English interface text on a Chinese page ({what}): {value!r}")

    assert not problems, f"{page_path}:\n  " + "\n  ".join(problems)


PHONE_FACTS = """() => {
    const W = window.innerWidth;
    const bad = [];
    for (const m of document.querySelectorAll("article.bd-article mjx-container")) {
        const r = m.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;   // not shown (a collapsed cell)
        // Walk up: a box that scrolls makes what is inside it reachable (then the box itself must be); a box
        // that clips must contain it; at the top, it must lie within the screen.
        let box = {left: r.left, right: r.right}, ok = true;
        for (let el = m; el && el !== document.documentElement; el = el.parentElement) {
            const s = getComputedStyle(el);
            const b = el.getBoundingClientRect();
            if (s.overflowX === "auto" || s.overflowX === "scroll") {
                box = {left: b.left, right: b.right};
            } else if (el !== m && (s.overflowX === "hidden" || s.overflowX === "clip")) {
                if (box.left < b.left - 1 || box.right > b.right + 1) { ok = false; break; }
            }
        }
        if (ok) ok = box.left >= -1 && box.right <= W + 1;
        if (!ok) bad.push(`${Math.round(r.width)} px formula at x=${Math.round(r.left)}: ` +
                          (m.textContent || "").slice(0, 60));
    }
    const wide = [];
    if (document.documentElement.scrollWidth > W + 1) {
        for (const el of document.querySelectorAll("body *")) {
            const r = el.getBoundingClientRect();
            if (r.right > W + 1 && !el.closest("pre, .highlight, table, mjx-container, .output, .cell_output") &&
                getComputedStyle(el).overflowX === "visible") {
                wide.push(`${el.tagName.toLowerCase()}.${el.className}: ${(el.textContent || "").slice(0, 50)}`);
                if (wide.length > 4) break;
            }
        }
    }
    return {scrollWidth: document.documentElement.scrollWidth, width: W, bad: bad, wide: wide};
}"""


def test_chapter_on_a_phone(chapter_path, server, phone):
    load(phone, f"{server}/{chapter_path}")
    facts = phone.evaluate(PHONE_FACTS)
    problems = [f"formula clipped, not scrollable: {what}" for what in facts["bad"]]
    if facts["scrollWidth"] > facts["width"] + 1:
        problems.append(f"page is {facts['scrollWidth']} px wide on a {facts['width']} px screen; "
                        f"too wide: {facts['wide']}")
    assert not problems, f"{chapter_path} at {facts['width']} px:\n  " + "\n  ".join(problems)


def article_text(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(r'<article class="bd-article"[^>]*>(.*?)</article>', text, re.DOTALL)
    body = match.group(1) if match else text
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@pytest.mark.parametrize("word", ["注意力", "卷积"])
def test_chinese_search_finds_every_page(word, site, server, desktop):
    edition = site / "zh"
    if not (edition / "search.html").is_file():
        assert (site / "search.html").is_file(), f"{site}: no search page (zh/search.html)"
        edition = site  # one build for both languages: its search must still find the Chinese pages
    pages = [p for p in edition.rglob("*.html") if "_static" not in p.parts
             and p.name not in ("search.html", "genindex.html") and not is_redirect(p)]
    if edition == site:
        pages = [p for p in pages if "zh" in p.relative_to(site).parts]
    expected = {p.relative_to(edition).as_posix() for p in pages if word in article_text(p)}
    assert expected, f"no page of the zh edition contains {word!r}: the check would prove nothing"
    page, _recorder = desktop
    page.goto(f"{server}/{edition.relative_to(site).as_posix() + '/' if edition != site else ''}search.html?q={word}",
              wait_until="load")
    page.wait_for_function("""() => {
        const s = document.querySelector("#search-results .search-summary, p.search-summary");
        return s && s.textContent.trim() && !document.querySelector("#search-progress:not(:empty)");
    }""", timeout=30000)
    hrefs = page.evaluate("() => Array.from(document.querySelectorAll('ul.search li a')).map(a => a.href)")
    found = set()
    for href in hrefs:
        resolved = local_file(site, server, href)
        if resolved:
            found.add(resolved[0].relative_to(edition).as_posix())
    missing = sorted(expected - found)
    assert not missing, (f"search for {word!r} found {len(found & expected)} of the {len(expected)} pages that "
                         f"contain it; missing: {missing}")


def test_served_notebooks_have_no_hidden_tests(site):
    import sys

    import nbformat

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "site"))
    import build

    notebooks = sorted(site.rglob("*.ipynb"))
    assert notebooks, f"no notebooks under {site}"
    for notebook in notebooks:
        nb = nbformat.read(notebook, as_version=4)
        ids = [cell.metadata.get("nbgrader", {}).get("grade_id", "") for cell in nb.cells]
        assert not [i for i in ids if i.endswith("-tests")], f"{notebook.relative_to(site)} serves hidden tests"
        assert not any(build.is_hidden_test(cell) for cell in nb.cells), notebook
