"""Wall time of every chapter notebook, executed top to bottom as nbval does (JAX on the CPU).

Budgets (DESIGN.md): <= 60 s per notebook on the 2-core reference machine, <= 5 min in all.
usage: python benchmarks/bench_notebooks.py [book/01_kernels.ipynb ...]
"""

from __future__ import annotations

import os
import pathlib
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run(path: pathlib.Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    t0 = time.perf_counter()
    client.execute()
    return time.perf_counter() - t0


def main() -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    paths = [pathlib.Path(p).resolve() for p in sys.argv[1:]] or sorted(
        (ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
    print(f"{'notebook':36s} {'seconds':>8s} {'budget':>7s}")
    total = 0.0
    for p in paths:
        s = run(p)
        total += s
        print(f"{p.name:36s} {s:8.1f} {'ok' if s <= 60 else 'OVER':>7s}")
    print(f"{'total':36s} {total:8.1f} {'ok' if total <= 300 else 'OVER':>7s}")


if __name__ == "__main__":
    main()
