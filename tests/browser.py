"""Open built pages in Debian's chromium through Playwright, with MathJax served locally.

The site loads MathJax 3 from a CDN; tests run offline, so requests for it are answered from a
local copy of the npm package ``mathjax@3`` (``.ci/run`` installs it and sets
``NTKBOOK_MATHJAX`` to its ``es5`` folder). Used by ``tests/test_site.py`` and, for looking at
pages by hand, as a command:

    python tests/browser.py _build/html/book/07_lazy_regime.html 400 /tmp/page.png
"""

from __future__ import annotations

import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CDN = "https://cdn.jsdelivr.net/npm/mathjax@3/es5/"


def mathjax_dir() -> Path | None:
    """The ``es5`` folder of a local MathJax 3, or None."""
    candidates = [os.environ.get("NTKBOOK_MATHJAX", ""), ROOT / "node_modules/mathjax/es5",
                  Path.home() / "node_modules/mathjax/es5"]
    for c in candidates:
        if c and (Path(c) / "tex-mml-chtml.js").exists():
            return Path(c)
    return None


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def browser() -> Iterator:
    """A headless chromium (Debian's) driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def open_page(b, path: Path, width: int, height: int = 900):
    """A page of ``path`` at ``width`` px, MathJax typeset (from the local copy); returns it.

    Requests to anything but local files and the MathJax CDN are aborted (the tests run
    offline, and a page must not need them).
    """
    local = mathjax_dir()
    page = b.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def route(r):
        url = r.request.url
        if url.startswith(CDN) and local is not None:
            target = local / url[len(CDN):].split("?")[0]
            if target.exists():
                return r.fulfill(path=str(target))
        if url.startswith("file:") or url.startswith("data:"):
            return r.continue_()
        return r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    if local is not None and page.evaluate("!!document.querySelector('script[src*=mathjax]')"):
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise",
                               timeout=30_000)
        page.evaluate("MathJax.startup.promise")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def main(argv: list[str]) -> None:
    path, width, out = Path(argv[0]).resolve(), int(argv[1]), argv[2]
    with browser() as b:
        page = open_page(b, path, width)
        page.screenshot(path=out, full_page=len(argv) > 3 and argv[3] == "full")
        print("\n".join(page.errors))


if __name__ == "__main__":
    main(sys.argv[1:])
