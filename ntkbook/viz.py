"""The book's figure style and its slider.

:func:`slider` turns a plotting function of one parameter into either a live ipywidgets slider
(``live=True``: an ipywidgets slider, for JupyterLab, Binder and Colab) or a kernel-free HTML
slider (``live=False``: an ``<input type="range">`` and a few lines of JavaScript, for the static
website). Both show frames drawn by the same ``plot(value) -> Figure``, so the two views cannot
drift apart. Frames are drawn when the slider is made, so moving it costs no computation (about
a millisecond to swap an image), however slow a frame is to draw. A static slider made right
after a live one over the same ``plot``, ``values`` and ``dpi`` reuses its frames.
In a notebook, put the live call in a cell tagged ``nbval-ignore-output`` (and ``remove-cell``
or ``remove-output``, since the site shows the static twin).
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import json
from typing import Any, Callable, Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt

STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(
        color=["#1f6fb4", "#e4572e", "#29a36a", "#8a5cc2", "#f0a202", "#555555"]
    ),
}

_IDS = itertools.count(1)
_LAST_LIVE: dict[str, Any] = {}  # frames of the last live slider, for its static twin

_SCRIPT = """(function () {
  var root = document.getElementById("%s");
  var input = root.querySelector("input[type=range]");
  var shown = root.querySelector("output");
  var frames = root.querySelectorAll("img");
  var labels = JSON.parse(root.getAttribute("data-labels"));
  function show(i) {
    for (var j = 0; j < frames.length; j++) frames[j].style.display = (j === i) ? "block" : "none";
    shown.textContent = labels[i];
    root.setAttribute("data-frame", String(i));
  }
  input.addEventListener("input", function () { show(parseInt(input.value, 10)); });
  show(parseInt(input.value, 10));
})();"""


def use_style() -> None:
    """Apply the book's matplotlib style (call once at the top of a chapter)."""
    mpl.rcParams.update(STYLE)


def frame_png(fig: plt.Figure, dpi: int = 72) -> bytes:
    """Render a figure to PNG bytes (one slider frame) and close it.

    No ``bbox_inches="tight"`` and, in frame-drawing functions, no ``tight_layout``: each costs a
    second full draw. Lay frames out with ``fig.subplots_adjust`` to keep an update fast.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def frames(plot: Callable[[Any], plt.Figure], values: Sequence[Any], dpi: int = 72) -> list[bytes]:
    """PNG bytes of ``plot(v)`` for every value (reusing the last live slider's frames when it
    was made over the same ``plot``, ``values`` and ``dpi``)."""
    key = (plot, tuple(map(repr, values)), dpi)
    if _LAST_LIVE.get("key") == key:
        shared = _LAST_LIVE["frames"]
        _LAST_LIVE.clear()  # used once: a later slider draws afresh
        return shared
    return [frame_png(plot(v), dpi) for v in values]


def slider_html(
    plot: Callable[[Any], plt.Figure],
    values: Sequence[Any],
    label: str,
    fmt: str = "{:g}",
    initial: int = 0,
    dpi: int = 72,
) -> str:
    """HTML of a kernel-free slider: one PNG frame per value, shown by an ``<input type=range>``.

    The element ids are numbered in call order, so re-running a notebook gives the same HTML.
    """
    uid = f"ntkbook-slider-{next(_IDS)}"
    labels = [fmt.format(v) for v in values]
    pngs = [base64.b64encode(png).decode("ascii") for png in frames(plot, values, dpi)]
    imgs = "".join(
        f'<img src="data:image/png;base64,{png}" alt="{html.escape(label)} = '
        f'{html.escape(t)}" style="display:{"block" if i == initial else "none"};max-width:100%">'
        for i, (png, t) in enumerate(zip(pngs, labels))
    )
    return (
        f'<div class="ntkbook-slider" id="{uid}" data-labels="{html.escape(json.dumps(labels))}">'
        f'<label style="font-family:sans-serif">{html.escape(label)} = '
        f'<output>{html.escape(labels[initial])}</output> '
        f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{initial}" '
        f'aria-label="{html.escape(label)}" style="width:60%;vertical-align:middle"></label>'
        f"{imgs}<script>{_SCRIPT % uid}</script></div>"
    )


def slider(
    plot: Callable[[Any], plt.Figure],
    values: Sequence[Any],
    label: str = "value",
    live: bool = False,
    fmt: str = "{:g}",
    initial: int = 0,
    dpi: int = 72,
) -> Any:
    """A slider over ``values`` that shows ``plot(value)`` (a function returning a Figure).

    Args:
        plot: draws one frame and returns its ``matplotlib`` Figure (closed after use).
        values: the parameter values, in slider order (a handful: each static frame is a PNG).
        label: the parameter's name shown beside the slider.
        live: ``True`` for an ipywidgets slider (needs a running kernel); ``False`` for the
            kernel-free HTML slider (an ``IPython.display.HTML`` object).
        fmt: format of a value in the label; initial: index of the first frame shown;
        dpi: resolution of the static frames.
    """
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one parameter value")
    if not isinstance(initial, int) or not 0 <= initial < len(values):
        raise ValueError(f"initial must be an index in [0, {len(values) - 1}], got {initial!r}")
    if not callable(plot):
        raise ValueError("plot must be a function value -> matplotlib Figure")
    if not live:
        from IPython.display import HTML

        return HTML(slider_html(plot, values, label, fmt, initial, dpi))
    import ipywidgets as widgets

    control = widgets.SelectionSlider(
        options=[(fmt.format(v), v) for v in values], value=values[initial],
        description=label, continuous_update=True, layout=widgets.Layout(width="60%"),
    )
    image = widgets.Image(format="png")
    _LAST_LIVE.clear()
    pngs = frames(plot, values, dpi)
    _LAST_LIVE.update(key=(plot, tuple(map(repr, values)), dpi), frames=pngs)

    def redraw(_: Any = None) -> None:
        image.value = pngs[control.index]

    control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([control, image])
