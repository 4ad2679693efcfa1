"""The book's own CSS and JavaScript (``book/_ext/static``), added to every page.

- ``ntkbook.css``: wide display equations scroll inside their box instead of being cut off;
  printed output and figures never widen the page.
- ``ntkbook.js``: makes the sidebar buttons work on phones and tablets (see its comment).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parent / "static"


def add_static_path(app: Any, config: Any) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", add_static_path)
    app.add_css_file("ntkbook.css")
    app.add_js_file("ntkbook.js")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
