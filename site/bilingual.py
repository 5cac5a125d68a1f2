"""Sphinx extension for the two editions of the book (en, zh), each built on its own by `site/build.py`.

- Links from a page of one edition to a page of the other (the twin links in the chapters, the errata's
  links to both languages) point into the other build: `../zh/zh/06_x.html` from the en edition.
- Every page gets a language switch to its twin (`en/NN_slug` <-> `zh/NN_slug`; a shared page such as the
  glossary <-> the same page of the other edition): `language_switches` in the page context, drawn by
  `site/templates/language-switch.html` in the article header (`_config.yml`, `article_header_end`).
- `<html lang>` is the BCP 47 tag (`zh-CN`, not Sphinx's `zh_CN`), so that browsers pick Chinese glyphs.
- Scripts that two extensions add twice (sphinx-thebe's `THEBE_JS_URL` block, with sphinx-book-theme) are kept
  once: a second `const THEBE_JS_URL` is a console error on every page.
- MyST-NB's "Show code cell {type}" prompt gets the kind of content in the page's language.

Configuration (`conf.py` values): `bilingual_editions` maps each edition to its folder and to the label of the
switch that leads to it, e.g. ``{"en": {"label": "English"}, "zh": {"label": "中文"}}``; `bilingual_edition`
names the edition being built.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform

HTML_LANG = {"zh_CN": "zh-CN", "zh_TW": "zh-TW", "en": "en"}
PROMPT_TYPES = {"zh_CN": {"content": "内容", "source": "源代码", "outputs": "输出", "output": "输出"}}


def twin_docname(docname: str, edition: str, other: str) -> str:
    """The page of edition `other` that says what `docname` (a page of `edition`) says."""
    head, _sep, rest = docname.partition("/")
    return f"{other}/{rest}" if head == edition and rest else docname


def edition_url(app: Sphinx, from_docname: str, edition: str, docname: str, anchor: str = "") -> str:
    """Relative URL from the page `from_docname` of this build to `docname` in the build of `edition`, which
    lies next to this one (`_build/html/<edition>/`)."""
    depth = from_docname.count("/")
    url = posixpath.join(*([".."] * (depth + 1)), edition, docname + app.builder.out_suffix)
    return f"{url}#{anchor}" if anchor else url


def _other_edition(app: Sphinx, docname: str) -> str | None:
    head = docname.split("/", 1)[0]
    if head in app.config.bilingual_editions and head != app.config.bilingual_edition:
        return head
    return None


class CrossEditionLinks(SphinxPostTransform):
    """A MyST link to a page of the other edition (not a document of this build) becomes a link into the other
    build. Runs before MyST's resolver (priority 9), which would otherwise report an unknown document."""

    default_priority = 8
    formats = ("html",)

    def run(self, **kwargs) -> None:
        from sphinx import addnodes

        app = self.app
        for node in list(self.document.findall(addnodes.pending_xref)):
            if node.get("reftype") != "myst" or node.get("refdomain") != "doc":
                continue
            target = node["reftarget"]
            edition = _other_edition(app, target)
            if edition is None or target in self.env.all_docs:
                continue
            if not any((Path(app.srcdir) / f"{target}{suffix}").exists() for suffix in (".md", ".ipynb")):
                continue  # a page that exists in neither build: MyST reports it
            url = edition_url(app, node.get("refdoc", self.env.docname), edition, target, node.get("reftargetid") or "")
            ref = nodes.reference("", "", internal=False, refuri=url, classes=["cross-edition"])
            ref["hreflang"] = HTML_LANG.get(app.config.bilingual_editions[edition].get("language", edition), edition)
            ref.extend(child.deepcopy() for child in node.children)
            if not ref.children:
                ref.append(nodes.literal(target, target))
            node.replace_self(ref)


class TranslatePrompts(SphinxPostTransform):
    """MyST-NB fills `{type}` of its hidden-cell prompts with English words (priority 199); put them in the
    page's language afterwards."""

    default_priority = 200
    formats = ("html",)

    def run(self, **kwargs) -> None:
        words = PROMPT_TYPES.get(self.app.config.language)
        if not words:
            return
        for node in self.document.findall(nodes.Element):
            for key in ("prompt_show", "prompt_hide"):
                text = node.get(key)
                if isinstance(text, str):
                    for english, translated in words.items():
                        if text.endswith(english):
                            node[key] = text[: -len(english)] + translated
                            break


def page_context(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    editions = app.config.bilingual_editions
    here = app.config.bilingual_edition
    context["language"] = HTML_LANG.get(app.config.language, app.config.language.replace("_", "-"))
    switches = []
    for edition, settings in editions.items():
        if edition == here:
            continue
        twin = twin_docname(pagename, here, edition)
        switches.append({"url": edition_url(app, pagename, edition, twin), "label": settings["label"],
                         "lang": HTML_LANG.get(settings.get("language", edition), edition)})
    context["language_switches"] = switches


def dedupe_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """One copy of each inline script: sphinx-thebe's `const THEBE_JS_URL` block and sphinx-togglebutton's
    selector come twice (a second `const` is a console error on every page)."""
    scripts, seen = [], set()
    for script in context.get("script_files", []):
        # the same block comes once with filename None and once with "" (Sphinx's two spellings of "inline")
        key = (getattr(script, "filename", script) or "", getattr(script, "priority", 0),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        scripts.append(script)
    # in place: the list is the builder's, to which later handlers (sphinx.ext.mathjax) still add
    context["script_files"][:] = scripts


def setup(app: Sphinx) -> dict:
    app.add_config_value("bilingual_editions", {}, "html")
    app.add_config_value("bilingual_edition", "en", "html")
    app.add_post_transform(CrossEditionLinks)
    app.add_post_transform(TranslatePrompts)
    # before pydata-sphinx-theme (500) drops header templates that render empty
    app.connect("html-page-context", page_context, priority=100)
    app.connect("html-page-context", dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
