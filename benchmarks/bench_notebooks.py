"""Wall time and per-cell profile of the chapter notebooks, each in a fresh kernel, JAX on the CPU.

Budgets (DESIGN.md): <= 30 s per notebook on the 2-core reference machine (hard limit 60 s),
<= 6 min for the whole book.

For every notebook: total wall time, the start-up (kernel start to first cell), how much of the
run JAX spent compiling (XLA backend compile time, from JAX's own monitoring events inside the
kernel), the slowest cells with the compile time inside each, and (``--functions``) which
compiled functions cost the most. Wall times on a shared 2-core machine vary by 10-20 % from
run to run: ``--repeat 3`` shows the median run and the fastest and slowest totals.

JAX's compilation cache (``ntkbook.backend``): ``--cache cold`` (default) gives each notebook an
empty cache folder, as on a student's first "Run all"; ``--cache warm`` runs it once untimed
first and times the second run (a re-run in class); ``--cache off`` disables it.

usage: python benchmarks/bench_notebooks.py [--top 5] [--functions 5] [--cache cold]
                                            [--repeat 3] [book/05_nngp.ipynb ...]

The budget column judges the slowest of the runs.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]

# Runs first in the kernel (not saved anywhere): sums JAX's compile-time events.
# Each compile is recorded with the wall-clock time it ended, so that it can be charged to the
# cell that was running then.
_HOOK = """
import time as _t
import jax.monitoring as _m
_ntkbook_compile = []
def _ntkbook_listener(event, duration, **kw):
    if event.endswith("backend_compile_duration") or event.endswith("backend_compile_time"):
        _ntkbook_compile.append((_t.time(), duration))
_m.register_event_duration_secs_listener(_ntkbook_listener)

import logging as _lg
import re as _re
import jax as _jax
_ntkbook_by_fn = {}
class _NtkbookCompiles(_lg.Handler):  # "Finished XLA compilation of jit(f) in 0.8 sec"
    def emit(self, record):
        hit = _re.match(r"Finished XLA compilation of (.*) in ([0-9.e-]+) sec",
                        record.getMessage())
        if hit:
            n, s = _ntkbook_by_fn.get(hit[1], (0, 0.0))
            _ntkbook_by_fn[hit[1]] = (n + 1, s + float(hit[2]))
_jax.config.update("jax_log_compiles", True)
for _name in ("jax._src.dispatch", "jax._src.interpreters.pxla", "jax._src.compiler"):
    _lg.getLogger(_name).addHandler(_NtkbookCompiles())
    _lg.getLogger(_name).propagate = False   # (no log lines in the notebook's outputs)
"""
_READ = ("import json as _j; print('NTKBOOK_COMPILE', _j.dumps(_ntkbook_compile)); "
         "print('NTKBOOK_BY_FN', _j.dumps(_ntkbook_by_fn))")


def profile(path: pathlib.Path) -> dict:
    """Execute ``path`` in a fresh kernel; per-cell wall and compile times, total compile time.

    Cells are numbered as in the notebook (0 = its first cell, markdown included).
    """
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(_HOOK))
    nb.cells.append(nbformat.v4.new_code_cell(_READ))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    cells = []
    with client.setup_kernel():
        startup = time.perf_counter() - t0
        for i, cell in enumerate(nb.cells):
            c0, w0 = time.perf_counter(), time.time()
            client.execute_cell(cell, i)
            if cell.cell_type == "code" and 0 < i < len(nb.cells) - 1:
                first = cell.source.strip().splitlines()[0][:50] if cell.source.strip() else ""
                cells.append([time.perf_counter() - c0, i - 1, first, w0, time.time()])
    total = time.perf_counter() - t0
    events: list = []
    by_fn: dict = {}
    for out in nb.cells[-1].get("outputs", []):
        for line in out.get("text", "").splitlines():
            if line.startswith("NTKBOOK_COMPILE"):
                events = json.loads(line.split(maxsplit=1)[1])
            if line.startswith("NTKBOOK_BY_FN"):
                by_fn = json.loads(line.split(maxsplit=1)[1])
    rows = [(s, i, sum(d for t, d in events if w0 <= t <= w1), first)
            for s, i, first, w0, w1 in cells]
    return {"name": path.name, "total": total, "startup": startup,
            "compile": sum(d for _, d in events), "cells": sorted(rows, reverse=True),
            "functions": sorted(((s, n, f) for f, (n, s) in by_fn.items()), reverse=True)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*")
    parser.add_argument("--top", type=int, default=3, help="slowest cells shown per notebook")
    parser.add_argument("--functions", type=int, default=0,
                        help="also list the compiled functions that cost the most, per notebook")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per notebook (fresh kernel each); the median run is shown, "
                             "with the fastest and slowest totals")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--cache", choices=["cold", "warm", "off"], default="cold",
                        help="JAX compilation cache: empty, filled by a first run, or off")
    args = parser.parse_args()
    os.environ["JAX_PLATFORMS"] = "cpu"
    os.environ.pop("MPLBACKEND", None)
    paths = [pathlib.Path(p).resolve() for p in args.notebooks] or sorted(
        (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    results = []
    for p in paths:
        runs = []
        for _ in range(max(1, args.repeat)):
            with tempfile.TemporaryDirectory() as cache:
                os.environ["NTKBOOK_JAX_CACHE"] = cache if args.cache != "off" else "off"
                if args.cache == "warm":
                    profile(p)
                runs.append(profile(p))
        runs.sort(key=lambda r: r["total"])
        median = dict(runs[(len(runs) - 1) // 2])
        median["range"] = (runs[0]["total"], runs[-1]["total"])
        results.append(median)
    print(f"JAX compilation cache: {args.cache}; runs per notebook: {max(1, args.repeat)} "
          "(the median run is shown)")
    print(f"{'notebook':32s} {'total s':>8s} {'start s':>8s} {'compile s':>10s} {'budget':>7s}"
          f"   {'fastest-slowest':>15s}")
    for r in results:
        verdict = "ok" if r["range"][1] <= 30 else ("slow" if r["range"][1] <= 60 else "OVER")
        print(f"{r['name']:32s} {r['total']:8.1f} {r['startup']:8.1f} {r['compile']:10.1f} "
              f"{verdict:>7s}   {r['range'][0]:7.1f}-{r['range'][1]:<7.1f}")
    total = sum(r["total"] for r in results)
    print(f"{'book':32s} {total:8.1f} {'':8s} {sum(r['compile'] for r in results):10.1f} "
          f"{'ok' if total <= 360 else 'OVER':>7s}")
    print(f"\nslowest cells (top {args.top} per notebook)")
    print(f"{'notebook':32s} {'cell':>5s} {'s':>6s} {'compile':>8s}  first line")
    for r in results:
        for s, i, c, first in r["cells"][: args.top]:
            print(f"{r['name']:32s} {i:5d} {s:6.1f} {c:8.1f}  {first}")
    if args.functions:
        print(f"\ncompilations by function (top {args.functions} per notebook)")
        print(f"{'notebook':32s} {'count':>5s} {'s':>6s}  function")
        for r in results:
            for s, n, f in r["functions"][: args.functions]:
                print(f"{r['name']:32s} {n:5d} {s:6.2f}  {f[:60]}")
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
