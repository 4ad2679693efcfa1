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
import re
import shutil
import subprocess
import sys
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
    """Build the book once; return (html folder, build log)."""
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
    # launch buttons: Binder and Colab open the notebook from the repository
    assert re.search(r"href=\"https://mybinder\.org/v2/gh/[^\"]+\.ipynb\"", text), "no Binder link"
    assert re.search(r"href=\"https://colab\.research\.google\.com/github/[^\"]+\.ipynb\"", text)
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
