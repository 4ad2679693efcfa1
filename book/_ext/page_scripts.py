"""Tidy the list of <script> elements of every HTML page, just before it is rendered.

1. Each script once. Under Sphinx 7, ``app.add_js_file(None, body=...)`` called after the
   HTML builder's ``init()`` (sphinx-togglebutton does so on ``builder-inited``, sphinx-thebe on
   ``env-before-read-docs``) is stored once with filename ``None``; ``prepare_writing()`` then
   re-adds every registered script with filename ``''``, and as ``None != ''`` the builder keeps
   both. Every page so carried the togglebutton selector and the thebe config twice, and browsers
   reported "redeclaration of const THEBE_JS_URL". Fixed upstream in Sphinx 8.2
   (https://github.com/sphinx-doc/sphinx/pull/13402), which Jupyter Book 1 cannot use.
2. No ipywidgets state. The site never renders live widgets (``_config.yml`` drops their view
   mime type; each slider has a kernel-free HTML twin), so the widget state that myst-nb embeds
   from a notebook's metadata would be dead weight on the page.
"""

from __future__ import annotations

from typing import Any

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _key(js: Any) -> tuple:
    if isinstance(js, str):  # old-style entry: a bare file name
        return (js, 500, ())
    attributes = tuple(sorted((k, str(v)) for k, v in js.attributes.items()))
    return (str(js.filename or ""), js.priority, attributes)


def tidy_scripts(app: Any, pagename: str, templatename: str, context: dict, doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    kept = []
    for js in scripts:
        key = _key(js)
        if key in seen or getattr(js, "attributes", {}).get("type") == WIDGET_STATE:
            continue
        seen.add(key)
        kept.append(js)
    scripts[:] = kept  # in place; the builder restores its own list before the next page


def setup(app: Any) -> dict[str, Any]:
    # priority 999: after every other html-page-context handler (myst-nb adds page scripts at 500)
    app.connect("html-page-context", tidy_scripts, priority=999)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
