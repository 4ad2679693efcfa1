"""An author-year bibliography, matching the author-year citations in the text.

sphinxcontrib-bibtex cites as "Jacot et al., 2018" (``bibtex_reference_style = author_year``) but
its bibliography styles label entries [1], [2], ... This registers a pybtex formatting style
``authoryear``: the entries of pybtex's ``unsrt`` style, sorted by author, year and title, each
labelled the way the text cites it ("Jacot et al., 2018", "Rahimi and Recht, 2007",
"Neal, 1996").

Works that would read the same ("Arora et al., 2019" twice) get "2019a" and "2019b", in the
text and in the list alike: at ``config-inited`` the bibliography files are copied into the
build folder with those years, and ``bibtex_bibfiles`` points at the copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pybtex.database import parse_file
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from pybtex.style.sorting.author_year_title import SortingStyle

_SORT = SortingStyle()


def _surname(person: Any) -> str:
    return " ".join(str(p) for p in person.prelast_names + person.last_names).replace("{", "") \
        .replace("}", "")


def author_year(entry: Any) -> str:
    """The in-text form of an entry: "A, 2018", "A and B, 2018" or "A et al., 2018"."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    if not names:
        who = entry.fields.get("title", entry.key)[:20]
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries: Any) -> Any:
        for entry in sorted_entries:
            yield author_year(entry)


def disambiguate(app: Any, config: Any) -> None:
    """Give works with the same author-year text the years "2019a", "2019b" (in list order)."""
    combined = None
    for name in config.bibtex_bibfiles:
        data = parse_file(str(Path(app.confdir) / name), bib_format="bibtex")
        if combined is None:
            combined = data
        else:
            for key, entry in data.entries.items():
                combined.add_entry(key, entry)
    if combined is None:
        return
    groups: dict[str, list] = {}
    for entry in combined.entries.values():
        groups.setdefault(author_year(entry), []).append(entry)
    for same in groups.values():
        if len(same) > 1:
            same.sort(key=_SORT.sorting_key)  # the order of the list
            for letter, entry in zip("abcdefghijklmnopqrstuvwxyz", same):
                entry.fields["year"] = f"{entry.fields['year']}{letter}"
    out = Path(app.doctreedir).parent / "references-authoryear.bib"
    out.parent.mkdir(parents=True, exist_ok=True)
    text = combined.to_string("bibtex")
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        out.write_text(text, encoding="utf-8")
    config.bibtex_bibfiles = [str(out)]


class AuthorYearStyle(UnsrtStyle):
    default_label_style = "authoryear"
    default_sorting_style = "author_year_title"


def setup(app: Any) -> dict[str, Any]:
    register_plugin("pybtex.style.labels", "authoryear", AuthorYearLabels)
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    app.connect("config-inited", disambiguate)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
