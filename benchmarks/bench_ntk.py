"""Speed of the empirical and analytic NTK (float32), against neural-tangents 0.6.5.

The reference numbers were measured on this project's 2-core machine with neural-tangents 0.6.5
(which needs jax 0.4.23): empirical NTK of Dense(1024)-Relu-Dense(1024)-Relu-Dense(1) on 256
inputs of dimension 16 took 21 ms with its structured derivatives, 3.4 s with NTK-vector products
and 7.3 s with Jacobian contraction; the analytic NTK of a depth-3 ReLU net on 2000 inputs of
dimension 16 took 116 ms.

usage: python benchmarks/bench_ntk.py [--repeat N]
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from ntkbook.backend import device_summary
from ntkbook.empirical import empirical_ntk
from ntkbook.infinite import nngp_ntk
from ntkbook.nets import MLP


def best_of(fn, repeat: int) -> float:
    """Best wall time in ms of ``fn()`` over ``repeat`` runs, after one warm-up (compilation)."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
    return 1e3 * min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(device_summary())
    x = np.asarray(np.random.default_rng(0).normal(size=(256, 16)), dtype=np.float32)
    net = MLP(16, 1024, 2, "relu")
    params = net.init(0)
    generic = lambda p, z: net(p, z)  # noqa: E731  (hides the MLP: forces the generic paths)
    x2000 = np.asarray(np.random.default_rng(1).normal(size=(2000, 16)), dtype=np.float32)
    rows = [
        ("empirical NTK, structured (MLP path)", 21.0,
         lambda: empirical_ntk(net, params, x), args.repeat),
        ("empirical NTK, NTK-vector products", 3400.0,
         lambda: empirical_ntk(generic, params, x, strategy="ntvp"), 2),
        ("empirical NTK, Jacobian contraction", 7300.0,
         lambda: empirical_ntk(generic, params, x, strategy="jacobian"), 2),
        ("analytic NTK, depth-3 ReLU, 2000 x 16", 116.0,
         lambda: nngp_ntk(x2000, None, 3, "relu")[1], args.repeat),
    ]
    print(f"{'computation':42s} {'ntkbook (ms)':>13s} {'neural-tangents (ms)':>21s} {'ratio':>7s}")
    for name, ref, fn, repeat in rows:
        ms = best_of(fn, repeat)
        print(f"{name:42s} {ms:13.1f} {ref:21.1f} {ref / ms:6.1f}x")
    print("empirical NTK: Dense(1024)-Relu-Dense(1024)-Relu-Dense(1), 256 inputs of dim 16,"
          " float32")


if __name__ == "__main__":
    main()
