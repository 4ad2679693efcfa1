"""Compute time of one slider update (one call of the plotting function) in every chapter.

Runs each notebook's code cells in this process with ``ntkbook.viz.slider`` replaced by a
recorder, then times ``frame_png(plot(value))`` for every value: drawing the figure and
rendering it to PNG, which is what the live slider computes on a frame's first visit (later
visits reuse the frame). Budget (DESIGN.md): <= 100 ms of compute per update.
usage: python benchmarks/bench_sliders.py [book/01_kernels.ipynb ...]
"""

from __future__ import annotations

import contextlib
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

    def recorder(plot, values, label="value", live=False, **_):
        if not live:
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
    from ntkbook.viz import frame_png

    paths = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or sorted(
        (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'notebook':30s} {'slider':24s} {'frames':>6s} {'mean ms':>8s} {'max ms':>7s}")
    for p in paths:
        for label, plot, values in collect(p):
            times = []
            for v in values:
                t0 = time.perf_counter()
                frame_png(plot(v))  # what the live slider does on a frame's first visit
                times.append(1e3 * (time.perf_counter() - t0))
            print(f"{p.name:30s} {label[:24]:24s} {len(values):6d} "
                  f"{sum(times) / len(times):8.1f} {max(times):7.1f}")


if __name__ == "__main__":
    main()
