"""The website: a strict Jupyter Book build, checks of the built HTML, and a headless browser.

The site is built once per session into a temporary folder with warnings as errors and
nitpicky references (``jupyter-book build -W -n --keep-going``), from the committed notebook
outputs (execution is off in ``_config.yml``). The browser checks use Debian's ``chromium``
(``.ci/run`` installs it) and are skipped only where it is missing. MathJax comes from a CDN and
may not load offline: no check here depends on it.
"""

from __future__ import annotations

import collections
import html
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--enable-logging=stderr", "--v=0",
]


def _toc_docs(entries: list[dict]) -> list[str]:
    docs = []
    for entry in entries or []:
        if "file" in entry:
            docs.append(entry["file"])
        for key in ("chapters", "sections"):
            docs += _toc_docs(entry.get(key, []))
    return docs


def toc_docs() -> list[str]:
    """Every page named in ``_toc.yml`` (root first), as a path without suffix."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"], *_toc_docs(toc.get("parts", [])), *_toc_docs(toc.get("chapters", []))]


def chapter_docs() -> list[str]:
    """The chapters: the pages of ``_toc.yml`` that are notebooks."""
    return [d for d in toc_docs() if (ROOT / d).with_suffix(".ipynb").exists()]


def _jupyter_book() -> str:
    beside = Path(sys.executable).with_name("jupyter-book")
    return str(beside) if beside.exists() else (shutil.which("jupyter-book") or "jupyter-book")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Build the book once; return (html folder, build log).

    ``NTKBOOK_SITE=path/to/_build/html`` reuses a site built beforehand (for working on these
    tests; the build checks then see an empty log).
    """
    if os.environ.get("NTKBOOK_SITE"):
        return Path(os.environ["NTKBOOK_SITE"]), ""
    out = tmp_path_factory.mktemp("site")
    command = [_jupyter_book(), "build", "-W", "-n", "--keep-going", "--path-output", str(out)]
    proc = subprocess.run([*command, str(ROOT)], capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"strict site build failed:\n{log[-6000:]}"
    return out / "_build" / "html", log


def page(site, doc: str) -> str:
    path = site[0] / f"{doc}.html"
    assert path.exists(), f"{doc}.html was not built"
    return path.read_text(encoding="utf-8")


def inline_scripts(text: str) -> list[str]:
    return [
        body.strip()
        for attrs, body in re.findall(r"<script\b([^>]*)>(.*?)</script>", text, flags=re.S)
        if "src=" not in attrs and body.strip()
    ]


# --- the build and the HTML ---------------------------------------------------------------------


def test_build_is_clean(site):
    _, log = site
    assert "invalid theme mode" not in log.lower()
    assert not re.search(r"\bWARNING\b", log), log[-6000:]


def test_every_toc_page_is_built(site):
    for doc in toc_docs():
        page(site, doc)
    assert (site[0] / "index.html").exists()


@pytest.mark.parametrize("doc", toc_docs())
def test_inline_scripts_appear_once(site, doc):
    text = page(site, doc)
    repeated = [s[:80] for s, n in collections.Counter(inline_scripts(text)).items() if n > 1]
    assert not repeated, f"inline scripts repeated in {doc}: {repeated}"
    assert text.count("const THEBE_JS_URL") <= 1
    assert "application/vnd.jupyter.widget-state+json" not in text  # no dead widget state


def test_light_mode_is_the_default(site):
    text = page(site, toc_docs()[0])
    assert 'data-theme="light"' in text
    assert '|| "light"' in text  # the theme's mode script falls back to light, not to ""


@pytest.mark.parametrize("doc", chapter_docs())
def test_chapter_page(site, doc):
    text = page(site, doc)
    assert 'class="math notranslate nohighlight"' in text, "no math"
    assert re.search(r"<script[^>]*src=\"[^\"]*mathjax[^\"]*\"", text, flags=re.I), "no MathJax"
    # figures: images that exist in the build (or are embedded)
    sources = re.findall(r"<img\b[^>]*\bsrc=\"([^\"]+)\"", text)
    assert sources, "no figures"
    for src in sources:
        if not src.startswith(("data:", "http://", "https://")):
            assert (site[0] / doc).parent.joinpath(src).resolve().exists(), f"missing {src}"
    # the kernel-free slider
    assert re.search(r"<input\b[^>]*type=\"range\"", text), "no kernel-free slider"
    # exercises with solutions (sphinx-exercise)
    assert re.search(r"class=\"[^\"]*\bexercise\b[^\"]*admonition", text), "no exercise"
    assert re.search(r"class=\"[^\"]*\bsolution\b[^\"]*admonition", text), "no solution"
    # launch buttons: Binder and Colab open this very notebook from the repository's branch
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
    repo = config["url"].removeprefix("https://github.com/").rstrip("/")
    binder = f"https://mybinder.org/v2/gh/{repo}/{config['branch']}?urlpath=lab/tree/{doc}.ipynb"
    colab = f"https://colab.research.google.com/github/{repo}/blob/{config['branch']}/{doc}.ipynb"
    assert f'href="{binder}"' in text, f"no Binder link to {binder}"
    assert f'href="{colab}"' in text, f"no Colab link to {colab}"
    # a live widget must not leave its text fallback on the static page (tag it remove-output)
    assert not re.search(r"\b(?:VBox|HBox|GridBox|interactive)\(children=", text)
    assert not re.search(r"\b\w+Slider\((?:value|options|description)=", text)


@pytest.mark.parametrize("doc", [toc_docs()[0], *chapter_docs()])
def test_citations_resolve(site, doc):
    text = page(site, doc)
    targets = re.findall(r"href=\"([\w./-]*references\.html)#([\w-]+)\"", text)
    assert targets, "no citation links"
    for href, anchor in targets:
        bib = (site[0] / doc).parent.joinpath(href).resolve()
        assert f'id="{anchor}"' in bib.read_text(encoding="utf-8"), f"unresolved {anchor}"


def test_references_page_lists_cited_works(site):
    refs = [d for d in toc_docs() if d.endswith("references")]
    assert refs, "no references page in _toc.yml"
    text = page(site, refs[0])
    assert text.count('class="citation"') + text.count("citation-label") >= 1
    assert "Jacot" in text


# --- a headless browser ---------------------------------------------------------------------------

needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")

# Appended to a copy of a chapter page: moves every kernel-free slider to its last frame the way
# a reader would (an "input" event) and records what the page's own slider script did.
PROBE = """<script>
(function () {
  var report = [];
  document.querySelectorAll(".ntkbook-slider").forEach(function (root) {
    var input = root.querySelector("input[type=range]");
    var before = root.getAttribute("data-frame");
    input.value = input.max;
    input.dispatchEvent(new Event("input"));
    var shown = [];
    root.querySelectorAll("img").forEach(function (img, i) {
      if (img.style.display !== "none") shown.push(i);
    });
    report.push({before: before, initial: input.defaultValue, max: input.max,
                 after: root.getAttribute("data-frame"), shown: shown,
                 frames: root.querySelectorAll("img").length});
  });
  var pre = document.createElement("pre");
  pre.id = "ntkbook-probe";
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
})();
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
    )


def console_problems(log: str) -> list[str]:
    lines = [line for line in log.splitlines() if ":CONSOLE" in line]
    return [line for line in lines if re.search(r"Uncaught|invalid theme mode|redeclaration", line)]


@needs_chromium
@pytest.mark.parametrize("doc", chapter_docs())
def test_browser_screenshot(site, doc, tmp_path):
    import matplotlib.image

    png = tmp_path / "page.png"
    proc = chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,4000",
                    (site[0] / f"{doc}.html").as_uri())
    assert png.exists() and png.stat().st_size > 20_000, proc.stderr[-3000:]
    assert not console_problems(proc.stderr), console_problems(proc.stderr)
    pixels = matplotlib.image.imread(png)[..., :3]
    ink = (pixels.min(axis=-1) < 0.9).mean()  # share of pixels that are not (near) white
    assert ink > 0.02, f"page looks empty ({ink:.3f} of pixels drawn)"
    assert pixels.std() > 0.05


@needs_chromium
@pytest.mark.parametrize("doc", chapter_docs())
def test_browser_slider_works_offline(site, doc, tmp_path):
    source = site[0] / f"{doc}.html"
    probe = source.with_name(f"_probe_{source.name}")  # beside the page: same relative links
    probe.write_text(source.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    try:
        proc = chromium(tmp_path, "--dump-dom", probe.as_uri())
    finally:
        probe.unlink()
    dom = proc.stdout
    assert re.search(r"<input\b[^>]*type=\"range\"", dom), proc.stderr[-3000:]
    assert "<img" in dom
    found = re.search(r"<pre id=\"ntkbook-probe\"[^>]*>(.*?)</pre>", dom, flags=re.S)
    assert found, "the probe script did not run"
    sliders = json.loads(html.unescape(found.group(1)))
    assert sliders, "no kernel-free slider in the rendered page"
    for s in sliders:
        assert s["frames"] >= 2
        assert s["before"] == s["initial"], "the page's slider script did not show its frame"
        assert s["after"] == s["max"] and s["shown"] == [int(s["max"])], s


# --- rendered text: no TeX left un-typeset --------------------------------------------------------


class _VisibleText(HTMLParser):
    """Text of a page outside code, scripts and math (what a reader sees as prose)."""

    SKIP = {"script", "style", "pre", "code", "textarea", "svg"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is it (inside) a skipped element?
        self.chunks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "img", "input", "meta", "link", "hr", "source", "wbr"):
            return
        classes = (dict(attrs).get("class") or "").split()
        skip = tag in self.SKIP or "math" in classes or (self.stack and self.stack[-1])
        self.stack.append(bool(skip))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.chunks.append(data)


def visible_text(text: str) -> str:
    body = text.split('<main', 1)[-1]
    parser = _VisibleText()
    parser.feed(body)
    return " ".join(parser.chunks)


RAW_TEX = re.compile(r"\$|\\[a-zA-Z]{2,}|\\[()\[\]]")


@pytest.mark.parametrize("doc", toc_docs())
def test_no_raw_tex_in_rendered_text(site, doc):
    text = visible_text(page(site, doc))
    found = [text[max(0, m.start() - 40): m.end() + 40] for m in RAW_TEX.finditer(text)]
    assert not found, f"raw TeX or stray $ on the page: {found[:5]}"


# --- the pages as a reader sees them: Playwright + Debian's chromium, at 1280 and 400 px ---------

sys.path.insert(0, str(Path(__file__).parent))
import browser  # noqa: E402  (tests/browser.py: chromium via Playwright, MathJax served locally)

try:
    import playwright  # noqa: F401

    HAVE_PLAYWRIGHT = True
except ImportError:
    HAVE_PLAYWRIGHT = False

needs_browser = pytest.mark.skipif(  # CI must run them: there a missing piece fails the test
    not os.environ.get("CI")
    and (CHROMIUM is None or not HAVE_PLAYWRIGHT or browser.mathjax_dir() is None),
    reason="needs chromium, playwright and a local MathJax 3 (NTKBOOK_MATHJAX; .ci/run sets it)",
)

# What a reader sees: prose text outside code and typeset math, and layout measurements.
INSPECT = """() => {
  const skip = "script, style, pre, code, textarea, mjx-container, .math, svg";
  const walker = document.createTreeWalker(document.querySelector("main") || document.body,
                                           NodeFilter.SHOW_TEXT);
  const raw = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (node.parentElement.closest(skip)) continue;
    const m = node.textContent.match(/\\$|\\\\[a-zA-Z]{2,}|\\\\[()\\[\\]]/);
    if (m) raw.push(node.textContent.trim().slice(0, 80));
  }
  const wide = (el) => el.scrollWidth > el.clientWidth + 1;
  const text = (el) => (el.textContent || "").trim().slice(0, 60);
  return {
    raw: raw,
    merror: document.querySelectorAll("mjx-merror").length,
    typeset: document.querySelectorAll("mjx-container").length,
    untypeset: document.querySelectorAll("span.math, div.math").length -
               document.querySelectorAll("span.math mjx-container, div.math mjx-container").length,
    pageWidth: document.documentElement.scrollWidth,
    viewWidth: window.innerWidth,
    wideMath: Array.from(document.querySelectorAll('mjx-container[display="true"]'))
      .filter(wide).map(text),
    wideCode: Array.from(document.querySelectorAll("div.cell_input pre"))
      .filter(wide).map(text),
    figures: Array.from(document.querySelectorAll("div.cell_output img"))
      .filter((img) => img.offsetParent !== null && img.naturalWidth > 0)
      .map((img) => [img.getBoundingClientRect().width / img.naturalWidth, img.naturalWidth]),
  };
}"""


def _is_offline_noise(message: str) -> bool:
    return "net::ERR_" in message or "Failed to load resource" in message


@pytest.fixture(scope="module")
def chrome():
    with browser.browser() as b:
        yield b


@needs_browser
@pytest.mark.parametrize("width", [1280, 400])
@pytest.mark.parametrize("doc", toc_docs())
def test_page_as_a_reader_sees_it(site, chrome, doc, width):
    page_ = browser.open_page(chrome, site[0] / f"{doc}.html", width)
    try:
        got = page_.evaluate(INSPECT)
        errors = [e for e in page_.errors if not _is_offline_noise(e)]
    finally:
        page_.close()
    assert not errors, errors
    assert not got["raw"], f"raw TeX or stray $ after typesetting: {got['raw'][:5]}"
    assert got["merror"] == 0, "MathJax could not typeset some math"
    assert got["untypeset"] == 0
    assert got["pageWidth"] <= got["viewWidth"], "the page scrolls sideways"
    if width >= 1280:
        assert not got["wideMath"], f"display equations cut at {width} px: {got['wideMath'][:3]}"
        assert not got["wideCode"], f"code wider than its column: {got['wideCode'][:3]}"
        small = [f for f in got["figures"] if f[0] < 0.9]
        assert not small, f"figures shrunk below 90 % on the desktop (scale, px): {small[:5]}"


@needs_browser
@pytest.mark.parametrize("doc", chapter_docs()[:1] + toc_docs()[-1:])
def test_phone_navigation_opens(site, chrome, doc):
    page_ = browser.open_page(chrome, site[0] / f"{doc}.html", 400)
    try:
        for toggle, dialog in [(".primary-toggle", "pst-primary-sidebar-modal"),
                               (".secondary-toggle", "pst-secondary-sidebar-modal")]:
            button = page_.locator(f"{toggle}:visible").first
            if toggle == ".secondary-toggle" and button.count() == 0:
                continue  # a page without an in-page table of contents
            button.click()
            page_.wait_for_function(f"document.getElementById('{dialog}').open", timeout=5000)
            links = page_.evaluate(
                f"document.getElementById('{dialog}').querySelectorAll('a').length")
            assert links > 0, f"{dialog} opened empty"
            page_.keyboard.press("Escape")
            page_.wait_for_function(f"!document.getElementById('{dialog}').open", timeout=5000)
    finally:
        page_.close()


@needs_browser
@pytest.mark.parametrize("doc", chapter_docs())
def test_every_slider_moves_at_phone_width(site, chrome, doc):
    page_ = browser.open_page(chrome, site[0] / f"{doc}.html", 400)
    try:
        sliders = page_.locator(".ntkbook-slider input[type=range]")
        assert sliders.count() >= 1
        for i in range(sliders.count()):
            s = sliders.nth(i)
            s.scroll_into_view_if_needed()
            last = s.get_attribute("max")
            s.fill(last)  # sets the value and fires input/change like a drag
            root = page_.locator(".ntkbook-slider").nth(i)
            assert root.get_attribute("data-frame") == last
            shown = root.locator("img:visible")
            assert shown.count() == 1 and shown.first.get_attribute("alt").endswith(
                root.locator("output").inner_text())
    finally:
        page_.close()
