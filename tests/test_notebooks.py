"""Static checks of the chapter notebooks (nothing is executed here; nbval re-runs them).

What a reader, a student in class and a maintainer rely on: a clean first screen (title without
a typed number, how long the chapter runs, an install cell for Colab/Binder), no run-specific
metadata that JupyterLab would rewrite on opening, one slider output per slider, code that fits
the site's code column, and no pointers to material the reader does not have.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tidy_notebooks import tidy

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in CHAPTERS]


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    return "".join(cell["source"])


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_first_screen(path):
    cells = load(path)["cells"]
    title = source(cells[0]).splitlines()[0]
    assert re.fullmatch(r"# [^\d].*", title), f"title must be '# Title' without a number: {title}"
    head = "\n".join(source(c) for c in cells[:4] if c["cell_type"] == "markdown")
    assert "Running this chapter" in head, "no 'Running this chapter' admonition at the top"
    code = [c for c in cells if c["cell_type"] == "code"]
    first = source(code[0])
    assert "import ntkbook" in first and "pip install" in first, "first code cell: the installer"
    assert "remove-cell" in code[0]["metadata"].get("tags", [])


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_headings_are_not_numbered_by_hand(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] == "markdown":
            for line in source(cell).splitlines():
                assert not re.match(r"#{1,6} \d+(\.\d+)*\.? ", line), line


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_opening_changes_nothing(path):
    nb = load(path)
    assert nb == tidy(nb), f"run `python tests/tidy_notebooks.py {path.relative_to(ROOT)}`"
    assert all("id" in c for c in nb["cells"]) and nb["nbformat_minor"] >= 5


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_one_output_per_slider(path):
    for cell in load(path)["cells"]:
        text = source(cell)
        if cell["cell_type"] == "code" and "viz.slider(" in text:
            assert "live=" not in text, "one viz.slider(...) call shows both views"
            assert "nbval-ignore-output" in cell["metadata"].get("tags", [])


@pytest.mark.parametrize("path", CHAPTERS, ids=IDS)
def test_code_fits_the_page(path):
    for cell in load(path)["cells"]:
        if cell["cell_type"] != "code":
            continue
        long = [line for line in source(cell).splitlines() if len(line) > 79]
        assert not long, f"code lines over 79 characters: {long[:2]}"
        for out in cell.get("outputs", []):
            text = "".join(out.get("text", ""))
            long = [line for line in text.splitlines() if len(line) > 79]
            assert not long, f"printed lines over 79 characters: {long[:2]}"


@pytest.mark.parametrize("path", [*CHAPTERS, ROOT / "book" / "intro.md"], ids=[*IDS, "intro"])
def test_no_pointers_to_missing_material(path):
    text = path.read_text(encoding="utf-8").lower()
    for phrase in ("the notes", "lecture notes", "lecture slides", "the course notes"):
        assert phrase not in text, phrase
