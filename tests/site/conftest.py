"""The browser test of the built site: `pytest tests/site --site _build/html` (make test runs it after the
book build). Without `--site` the tests that need the built site are skipped (test_editions.py still runs).

Chromium: Debian's `chromium` package (`make system-packages` installs it as root), driven by Playwright from
PyPI through `executable_path` (Playwright's own browser download is never used). Set CHROMIUM to use another
binary. When `--site` is given and there is no Chromium, the tests fail and say how to install it.
"""
from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest


def pytest_addoption(parser):
    parser.addoption("--site", default=None, help="folder of the built site (_build/html) to test in Chromium")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--site", default=None):
        return
    skip = pytest.mark.skip(reason="browser test of the built site: run `make test`, or build the site "
                                   "(`make book-only`) and run `pytest tests/site --site _build/html`")
    for item in items:
        if "tests/site/" in item.nodeid.replace(os.sep, "/") and "site" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def site(pytestconfig) -> Path:
    root = Path(pytestconfig.getoption("--site")).resolve()
    if not (root / "index.html").is_file():
        pytest.fail(f"--site {root}: no index.html there; build the site first (make book-only)")
    return root


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(site):
    """The site served over HTTP on 127.0.0.1 (closer to the real site than file://)."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def chromium_path() -> str:
    candidates = [os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
                  shutil.which("chromium-browser")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    pytest.fail("Chromium not found: the site test drives Debian's chromium package. Install it "
                "(as root: `make system-packages`, or `apt-get install chromium`), or set CHROMIUM=/path/to/chromium")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed: pip install -e '.[test]' (it is in the test extra)")
    executable = chromium_path()
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
    yield browser
    browser.close()
    playwright.stop()
