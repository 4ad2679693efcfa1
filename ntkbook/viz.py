"""The book's figure style and its slider.

:func:`slider` turns a plotting function of one parameter into a slider over a few values. By
default one call gives one output that is *both* a live ipywidgets slider (shown by JupyterLab,
Binder and Colab while a kernel runs) and a kernel-free HTML slider (an ``<input type="range">``
and a few lines of JavaScript, shown by the static website, whose configuration drops the widget
view): each front end shows exactly one slider, never both. Both views show the same frames,
drawn by ``plot(value) -> Figure`` when the slider is made, at the figure's own size (no
upscaling, so they stay sharp); moving the slider only swaps an image (about a millisecond).
``live=True`` or ``live=False`` give only the widget or only the HTML.

Put a slider cell under the tag ``nbval-ignore-output``: its widget id changes on every run.
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
    # 7.2 in at 100 dpi = 720 px: the width of the site's text column at 1280 px, so figures show
    # at their own size there, and text stays legible when a phone scales them down.
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
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


def frame_png(fig: plt.Figure, dpi: int = 100) -> bytes:
    """Render a figure to PNG bytes (one slider frame) and close it.

    No ``bbox_inches="tight"`` and, in frame-drawing functions, no ``tight_layout``: each costs a
    second full draw. Lay frames out with ``fig.subplots_adjust`` to keep an update fast.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def frames(plot: Callable[[Any], plt.Figure], values: Sequence[Any], dpi: int = 100) -> list[bytes]:
    """PNG bytes of ``plot(v)`` for every value."""
    return [frame_png(plot(v), dpi) for v in values]


def slider_html(
    plot: Callable[[Any], plt.Figure],
    values: Sequence[Any],
    label: str,
    fmt: str = "{:g}",
    initial: int = 0,
    dpi: int = 100,
    pngs: Sequence[bytes] | None = None,
) -> str:
    """HTML of a kernel-free slider: one PNG frame per value, shown by an ``<input type=range>``.

    The element ids are numbered in call order, so re-running a notebook gives the same HTML.
    """
    uid = f"ntkbook-slider-{next(_IDS)}"
    labels = [fmt.format(v) for v in values]
    if pngs is None:
        pngs = frames(plot, values, dpi)
    encoded = [base64.b64encode(png).decode("ascii") for png in pngs]
    imgs = "".join(
        f'<img src="data:image/png;base64,{png}" alt="{html.escape(label)} = '
        f'{html.escape(t)}" style="display:{"block" if i == initial else "none"};max-width:100%">'
        for i, (png, t) in enumerate(zip(encoded, labels))
    )
    return (
        f'<div class="ntkbook-slider" id="{uid}" data-labels="{html.escape(json.dumps(labels))}">'
        f'<label style="font-family:sans-serif">{html.escape(label)} = '
        f'<output>{html.escape(labels[initial])}</output> '
        f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{initial}" '
        f'aria-label="{html.escape(label)}" style="width:60%;vertical-align:middle"></label>'
        f"{imgs}<script>{_SCRIPT % uid}</script></div>"
    )


class Slider:
    """One slider output: a live widget where a kernel runs, the HTML slider everywhere else.

    Jupyter front ends pick the richest MIME type they can render: JupyterLab, Colab and VS Code
    show the widget view while the kernel is alive; the static site drops that MIME type and
    shows ``text/html``. A saved notebook reopened without a kernel shows the plain-text hint.
    """

    def __init__(self, plot, values, label, fmt, initial, dpi):
        self.values, self.label, self.fmt, self.initial = values, label, fmt, initial
        self.pngs = frames(plot, values, dpi)
        self.html = slider_html(plot, values, label, fmt, initial, dpi, pngs=self.pngs)
        self._widget: Any = None

    def widget(self) -> Any:
        """The live ipywidgets view (made once, on first use)."""
        if self._widget is None:
            self._widget = _live_widget(self.pngs, self.values, self.label, self.fmt,
                                        self.initial)
        return self._widget

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {}
        try:
            bundle.update(self.widget()._repr_mimebundle_() or {})
        except Exception:  # no ipywidgets or no kernel: the HTML slider alone
            pass
        bundle["text/html"] = self.html
        bundle["text/plain"] = (f"Slider over {self.label}: run the cell in Jupyter for the "
                                f"live version ({len(self.values)} frames).")
        return bundle


def _live_widget(pngs: Sequence[bytes], values: Sequence[Any], label: str, fmt: str,
                 initial: int) -> Any:
    import ipywidgets as widgets

    control = widgets.SelectionSlider(
        options=[(fmt.format(v), i) for i, v in enumerate(values)], value=initial,
        description=label, continuous_update=True,
        style={"description_width": "initial"}, layout=widgets.Layout(width="min(100%, 480px)"),
    )
    px = int.from_bytes(pngs[initial][16:20], "big")  # the PNG's width, from its IHDR chunk
    image = widgets.Image(  # at its own size (JupyterLab would stretch it): sharp
        value=pngs[initial], format="png",
        layout=widgets.Layout(width=f"{px}px", max_width="100%", height="auto"),
    )

    def redraw(change: Any) -> None:
        image.value = pngs[change["new"]]

    control.observe(redraw, names="value")
    return widgets.VBox([control, image])


def slider(
    plot: Callable[[Any], plt.Figure],
    values: Sequence[Any],
    label: str = "value",
    live: bool | None = None,
    fmt: str = "{:g}",
    initial: int = 0,
    dpi: int = 100,
) -> Any:
    """A slider over ``values`` that shows ``plot(value)`` (a function returning a Figure).

    Args:
        plot: draws one frame and returns its ``matplotlib`` Figure (closed after use).
        values: the parameter values, in slider order (a handful: each frame is a PNG kept in the
            notebook's output).
        label: the parameter's name shown beside the slider.
        live: ``None`` (default): one output that is a live widget in a running kernel and the
            kernel-free HTML slider on the static site (a :class:`Slider`). ``True``: only the
            ipywidgets view; ``False``: only the HTML (an ``IPython.display.HTML``).
        fmt: format of a value in the label; initial: index of the first frame shown;
        dpi: resolution of the frames (100 matches the book style: shown at their own size).
    """
    values = list(values)
    if not values:
        raise ValueError("values must hold at least one parameter value")
    if not isinstance(initial, int) or not 0 <= initial < len(values):
        raise ValueError(f"initial must be an index in [0, {len(values) - 1}], got {initial!r}")
    if not callable(plot):
        raise ValueError("plot must be a function value -> matplotlib Figure")
    if live not in (None, True, False):
        raise ValueError(f"live must be None, True or False, got {live!r}")
    if not isinstance(dpi, int) or not 20 <= dpi <= 400:
        raise ValueError(f"dpi must be an integer in [20, 400], got {dpi!r}")
    if live is False:
        from IPython.display import HTML

        return HTML(slider_html(plot, values, label, fmt, initial, dpi))
    if live is True:
        return _live_widget(frames(plot, values, dpi), values, label, fmt, initial)
    return Slider(plot, values, label, fmt, initial, dpi)
