"""Slider costs in every chapter: one update of the live slider, and drawing its frames.

Runs each notebook's code cells in this process with ``ntkbook.viz.slider`` replaced by a
recorder. For every slider it then times (a) drawing and rendering one frame,
``frame_png(plot(value))``, which happens once per value when the slider is made, and (b) one
update of the live ipywidgets slider, i.e. setting its value, which swaps a prerendered frame.
Budget (DESIGN.md): <= 100 ms of compute per update.
usage: python benchmarks/bench_sliders.py [book/01_kernels.ipynb ...]
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def collect(path: pathlib.Path) -> list[tuple[str, object, list]]:
    import json

    import matplotlib

    matplotlib.use("Agg")
    from ntkbook import viz

    found: list[tuple[str, object, list]] = []

    def recorder(plot, values, label="value", live=None, **_):
        if live is not True:  # each slider once (a live-only twin would count it twice)
            found.append((label, plot, list(values)))

    cells = json.loads(path.read_text())["cells"]
    original, viz.slider = viz.slider, recorder
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        scope: dict = {"__name__": "__main__"}
        for cell in cells:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            src = "\n".join(line for line in source.splitlines()
                            if not line.lstrip().startswith(("%", "!")))
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(src, path.name, "exec"), scope)
    finally:
        viz.slider = original
        os.chdir(cwd)
    return found


def main() -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    from ntkbook import viz

    paths = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or sorted(
        (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'notebook':30s} {'slider':20s} {'frames':>6s} {'draw ms (mean/max)':>19s} "
          f"{'update ms (max)':>16s}")
    for p in paths:
        for label, plot, values in collect(p):
            draw = []
            for v in values:
                t0 = time.perf_counter()
                viz.frame_png(plot(v))
                draw.append(1e3 * (time.perf_counter() - t0))
            update = [float("nan")]  # without ipywidgets there is no live slider to time
            if importlib.util.find_spec("ipywidgets"):
                control = viz.slider(plot, values, label, live=True).children[0]
                for i in [*range(1, len(values)), *range(len(values) - 1, -1, -1)]:
                    t0 = time.perf_counter()
                    control.index = i
                    update.append(1e3 * (time.perf_counter() - t0))
                update = update[1:]
            print(f"{p.name:30s} {label[:20]:20s} {len(values):6d} "
                  f"{sum(draw) / len(draw):10.1f} /{max(draw):6.1f} {max(update):16.2f}")


if __name__ == "__main__":
    main()
