"""Tidy executed chapter notebooks so that opening them changes nothing and diffs stay small.

``jupyter execute --inplace`` leaves run-specific metadata behind: the ipywidgets state of every
live slider (which JupyterLab would restore, mark the notebook changed, and which duplicates the
slider frames), per-cell execution timestamps and ``trusted`` flags. This removes them, names the
kernel as JupyterLab does on connecting ("Python 3 (ipykernel)"; "Python 3" made the notebook
"modified" the moment it opened), and writes the notebook back only if something changed.

usage: python tests/tidy_notebooks.py book/07_lazy_regime.ipynb [...]   (no argument: all chapters)
"""

from __future__ import annotations

import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOK_KEYS = ("widgets",)
CELL_KEYS = ("execution", "trusted", "collapsed", "scrolled")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def tidy(nb: dict) -> dict:
    """The notebook without widget state, execution timestamps or trust flags (a new dict)."""
    nb = json.loads(json.dumps(nb))
    for key in NOTEBOOK_KEYS:
        nb["metadata"].pop(key, None)
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    for cell in nb["cells"]:
        for key in CELL_KEYS:
            cell.get("metadata", {}).pop(key, None)
    return nb


def write(path: pathlib.Path, nb: dict) -> None:
    """Write as Jupyter does (indent 1, non-ASCII kept, final newline)."""
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str]) -> None:
    paths = [pathlib.Path(p) for p in argv] or sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        nb = json.loads(path.read_text(encoding="utf-8"))
        clean = tidy(nb)
        if clean != nb:
            write(path, clean)
            print(f"tidied {path.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
