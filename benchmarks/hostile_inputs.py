"""Hostile-input sweep of the public ``ntkbook`` functions: prints a table by class.

Every case calls one public function the way a careless or hostile user might (wrong types,
shapes, sizes, extreme values, float32 precision traps, traced arguments) and classifies what
happened:

- ``right``: a result that agrees with an independent float64 NumPy reference (or, where no
  number is expected, finite and sane);
- ``refused``: a ``ValueError``/``TypeError`` with a short message naming the argument;
- ``wrong``: a finite result that disagrees with the reference, or bad input silently accepted;
- ``nan``: NaN or inf in the result;
- ``crash``: any other exception (deep inside JAX, an IndexError, a message that names nothing);
- ``hang``: a size case that did not finish within its time limit (run in a subprocess).

Run: ``JAX_PLATFORMS=cpu python benchmarks/hostile_inputs.py`` (float32, the default
precision; about a few minutes on a laptop). ``--verbose`` lists every case not ``right`` or
``refused``. It uses only the public API, so it runs against older versions of the library
too (``PYTHONPATH=/path/to/old/checkout``).
"""

from __future__ import annotations

import argparse
import collections
import resource
import subprocess
import sys
import textwrap
import warnings

import numpy as np

warnings.filterwarnings("ignore")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from ntkbook import (bounds, datasets, dynamics, empirical, flow, gp, infinite,  # noqa: E402
                     kernels, lazy, manifold, methods, nets, ntk_theory, spectral_bias,
                     spectrum, train)

OUTCOMES = ("right", "refused", "wrong", "nan", "crash", "hang")
RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3))
X2 = RNG.normal(size=(4, 3))
Y = RNG.normal(size=6)
K = X @ X.T + np.eye(6)
KX = X2 @ X.T
NET = nets.MLP(3, 8, 1)
P = NET.init(0)
NET_ERF = nets.MLP(3, 8, 1, activation="erf")


# ---------------------------------------------------------------- references (NumPy float64)
def ref_gaussian(a, b, s):
    d = a[:, None, :] - b[None, :, :]
    return np.exp(-np.sum(d * d, -1) / (2 * s * s))


def ref_nngp_ntk(x1, x2, depth, act, w, b):
    """Textbook recursion (arccos / arcsin of the correlation) in NumPy's extended precision
    (``longdouble``, 64-bit mantissa on x86): float64 itself loses ``sqrt(eps)`` near
    ``rho = 1`` and cancels in ``(1 + 2q1)(1 + 2q2) - 4c^2`` for large inputs."""
    ld = np.longdouble
    x1, x2, w, b = np.asarray(x1, ld), np.asarray(x2, ld), ld(w), ld(b)
    d = x1.shape[1]
    q1 = w * w * np.sum(x1**2, 1) / d + b * b
    q2 = w * w * np.sum(x2**2, 1) / d + b * b
    s = w * w * x1 @ x2.T / d + b * b
    t = s.copy()
    for _ in range(depth):
        if act == "relu":
            n = np.sqrt(np.outer(q1, q2))
            rho = np.clip(s / np.where(n > 0, n, 1), -1, 1)
            th = np.arccos(rho)
            k = n * (np.sin(th) + (np.pi - th) * rho) / (2 * np.pi)
            kd = (np.pi - th) / (2 * np.pi)
            d1, d2 = q1 / 2, q2 / 2
        else:
            a1, a2 = 1 + 2 * q1, 1 + 2 * q2
            den = np.sqrt(np.outer(a1, a2))
            k = 2 / np.pi * np.arcsin(np.clip(2 * s / den, -1, 1))
            kd = 4 / np.pi / np.sqrt(np.maximum(np.outer(a1, a2) - 4 * s * s, ld(1e-300)))
            d1 = 2 / np.pi * np.arcsin(2 * q1 / a1)
            d2 = 2 / np.pi * np.arcsin(2 * q2 / a2)
        s = w * w * k + b * b
        t = s + t * w * w * kd
        q1, q2 = w * w * d1 + b * b, w * w * d2 + b * b
    return s, t


def _as_computed(x):
    """``x`` rounded to the float type JAX computes in: the reference of a function that
    (unlike the translation-invariant Gaussian) cannot recover digits beyond it. Deep erf
    networks in the chaotic phase amplify a rounding of the inputs by orders of magnitude."""
    return np.asarray(jnp.asarray(x), np.float64)


# ------------------------------------------------------------------------- classification
class Case(collections.namedtuple("Case", "cls label fn expect arg ref tol")):
    """``expect``: "raise" (bad input: must be refused), "ref" (compare with ``ref()``),
    "ok" (must run and give finite values), "either" (right value or a clear refusal)."""


def case(cls, label, fn, expect="raise", arg=None, ref=None, tol=1e-4):
    return Case(cls, label, fn, expect, arg, ref, tol)


def _leaves(out):
    if isinstance(out, (int, float, np.number)):
        return [np.asarray(out, float)]
    leaves = []
    for leaf in jax.tree_util.tree_leaves(out):
        try:
            arr = np.asarray(leaf)
        except Exception:
            continue
        if arr.dtype.kind in "fc":
            leaves.append(arr.astype(complex if arr.dtype.kind == "c" else float))
    return leaves


def _finite(out):
    return all(np.all(np.isfinite(a)) for a in _leaves(out))


def _close(out, ref, tol):
    got, want = _leaves(out), _leaves(ref)
    if len(got) < len(want):
        return False
    for g, w in zip(got, want):
        if g.shape != w.shape:
            return False
        top = float(np.max(np.abs(w))) if w.size else 0.0
        scale = top if top > 0 else 1.0  # a zero reference: absolute tolerance
        if w.size and float(np.max(np.abs(g - w))) > tol * scale:
            return False
    return True


def _clear(err, arg):
    msg = str(err)
    if not isinstance(err, (ValueError, TypeError)) or len(msg) > 600 or "Traceback" in msg:
        return False
    if type(err).__module__.startswith("jax") or "jax" in type(err).__name__.lower():
        return False
    return arg is None or arg in msg


def classify(c: Case) -> tuple[str, str]:
    try:
        out = c.fn()
        out = jax.block_until_ready(out) if not isinstance(out, (int, float)) else out
    except Exception as err:  # noqa: BLE001 - classifying is the point
        if c.expect in ("raise", "either") and _clear(err, c.arg):
            return "refused", ""
        if c.expect in ("ref", "ok") and _clear(err, None) and c.expect != "ok":
            # a clear refusal of a valid request is not a wrong number, but not right either
            return "refused", f"{type(err).__name__}: {str(err)[:120]}"
        return "crash", f"{type(err).__name__}: {str(err)[:160]}"
    if not _finite(out):
        return "nan", ""
    if c.expect == "raise":
        return "wrong", "accepted"
    if c.expect == "ok":
        return "right", ""
    want = c.ref()
    return ("right", "") if _close(out, want, c.tol) else ("wrong", "mismatch")


# --------------------------------------------------------------------- the cases, by class
def bad_arrays(good: np.ndarray, matrix: bool) -> list[tuple[str, object]]:
    """Variants of a valid array argument that must all be refused."""
    g = np.asarray(good, float)
    nan, inf = g.copy(), g.copy()
    nan.flat[0], inf.flat[0] = np.nan, np.inf
    obj = g.astype(object)
    obj.flat[0] = None
    huge = g.copy()
    huge.flat[0] = 1e39  # finite in float64, inf in float32
    out = [("None", None), ("complex", g + 1j), ("numeric strings", g.astype(str)),
           ("object with None", obj), ("NaN", nan), ("inf", inf), ("1e39 (float32 inf)", huge)]
    if matrix:
        out += [("(n, 0)", np.zeros((g.shape[0], 0))), ("(0, d)", np.zeros((0, g.shape[1]))),
                ("1-D", g[:, 0]), ("3-D", g[None])]
    else:
        out += [("2-D", np.stack([g, g], 1)), ("empty", np.zeros(0))]
    return out


def type_and_shape_cases() -> list[Case]:
    """Each array argument of each function, replaced by each bad variant."""
    rows = []
    t = [0.5, 1.0]
    specs = [
        ("kernels.linear", lambda a: kernels.linear(a), "x1", X, True),
        ("kernels.polynomial", lambda a: kernels.polynomial(X, a, 2, 1.0), "x2", X2, True),
        ("kernels.gaussian", lambda a: kernels.gaussian(a, X2, 1.0), "x1", X, True),
        ("kernels.squared_distances", lambda a: kernels.squared_distances(a), "x1", X, True),
        ("kernels.polynomial_features", lambda a: kernels.polynomial_features(a, 2), "x", X,
         True),
        ("kernels.random_fourier_features",
         lambda a: kernels.random_fourier_features(a, 16), "x", X, True),
        ("infinite.nngp_ntk", lambda a: infinite.nngp_ntk(a, None, 2), "x1", X, True),
        ("infinite.nngp_ntk x2", lambda a: infinite.nngp_ntk(X, a, 2, "erf"), "x2", X2, True),
        ("MLP call", lambda a: NET(P, a), "x", X, True),
        ("empirical_ntk", lambda a: empirical.empirical_ntk(NET, P, a), "x1", X, True),
        ("jacobian_features", lambda a: empirical.jacobian_features(NET, P, a), "x", X, True),
        ("gradient_flow k", lambda a: dynamics.gradient_flow(a, Y, t), "k_train", K, True),
        ("gradient_flow y", lambda a: dynamics.gradient_flow(K, a, t), "y", Y, False),
        ("gradient_flow u0", lambda a: dynamics.gradient_flow(K, Y, t, u0=a), "u0", Y, False),
        ("gradient_flow kx", lambda a: dynamics.gradient_flow(K, Y, t, k_test_train=a),
         "k_test_train", KX, True),
        ("train_gd x", lambda a: train.train_gd(NET, P, a, Y, 0.1, 2), "x", X, True),
        ("train_gd y", lambda a: train.train_gd(NET, P, X, a, 0.1, 2), "y", Y, False),
        ("nadaraya_watson", lambda a: methods.nadaraya_watson(a, Y), "k_test_train",
         np.abs(KX), True),
        ("kernel_ridge k", lambda a: methods.kernel_ridge(a, Y, KX, 0.1), "k_train", K, True),
        ("kernel_ridge y", lambda a: methods.kernel_ridge(K, a, KX, 0.1), "y", Y, False),
        ("kernel_ridge kx", lambda a: methods.kernel_ridge(K, Y, a, 0.1), "k_test_train", KX,
         True),
        ("ridge_primal", lambda a: methods.ridge_primal(a, Y, X2, 0.1), "features_train", X,
         True),
        ("kernel_ridge_loo", lambda a: methods.kernel_ridge_loo(a, Y, 0.1), "k_train", K, True),
        ("kernel_pca", lambda a: methods.kernel_pca(a, 2), "K", K, True),
        ("gp_posterior", lambda a: methods.gp_posterior(K, Y, KX, a), "k_test_diag",
         np.ones(4), False),
        ("rkhs_norm", lambda a: bounds.rkhs_norm(a, Y), "K", K, True),
        ("generalization_bound", lambda a: bounds.generalization_bound(K, a), "y", Y, False),
        ("lazy_ratio", lambda a: bounds.lazy_ratio(NET, P, a, Y, iters=1), "x", X, True),
        ("spectrum.eigenvalues", lambda a: spectrum.eigenvalues(a), "K", K, True),
        ("numerical_rank", lambda a: spectrum.numerical_rank(a), "eigenvalues",
         np.linspace(1, 2, 6), False),
        ("krr_filter", lambda a: spectrum.krr_filter(a, 0.1), "eigenvalues",
         np.linspace(1, 2, 6), False),
        ("spectral_apply", lambda a: spectrum.spectral_apply(K, a, np.ones(6)), "y", Y, False),
        ("circulant_eigenvalues", lambda a: spectrum.circulant_eigenvalues(a), "first_row",
         np.array([2.0, 1.0, 0.5, 1.0]), False),
        ("label_projections", lambda a: spectral_bias.label_projections(K, a), "y", Y, False),
        ("predicted_loss", lambda a: spectral_bias.predicted_loss(a, np.ones(6), 1.0),
         "eigenvalues", np.linspace(1, 2, 6), False),
        ("fourier_amplitudes", lambda a: spectral_bias.fourier_amplitudes(a), "r", Y, False),
        ("fourier_features", lambda a: spectral_bias.fourier_features(X, a), "B", X2, True),
        ("gp.dual_activation", lambda a: gp.dual_activation(a, 1.0, 0.5), "q1",
         np.ones(6), False),
        ("gp.readout_features", lambda a: gp.readout_features(NET, P, a), "x", X, True),
        ("gp.readout_kernel_samples",
         lambda a: gp.readout_kernel_samples(0, a, 8, 1, 4), "x", X, True),
        ("ntk_theory.dual_activation", lambda a: ntk_theory.dual_activation(a), "rho",
         np.linspace(-1, 1, 6), False),
        ("lazy.relative_change", lambda a: lazy.relative_change(a), "traj",
         np.ones((3, 2, 2)), False),
        ("flow.residual_modes", lambda a: flow.residual_modes(K, Y, a), "u", Y, False),
        ("manifold.diffusion_map", lambda a: manifold.diffusion_map(a, 2), "K",
         np.exp(-K**2 / 10), True),
        ("datasets.flip_labels", lambda a: datasets.flip_labels(a, 0.5), "y",
         np.sign(Y), False),
    ]
    # variants that are valid for an argument: None for optional ones, (0, n) test sets,
    # (n, k) targets, any-shape arrays
    valid = {
        "x2": {"None"}, "u0": {"None"}, "k_test_train": {"None", "(0, d)"},
        "kernel_ridge y": {"2-D"}, "fourier_amplitudes": {"2-D"},
        "gp.dual_activation": {"2-D", "empty"}, "ntk_theory.dual_activation": {"2-D", "empty"},
        "datasets.flip_labels": {"empty"},
    }
    for name, fn, arg, good, is_matrix in specs:
        skip = valid.get(arg, set()) | valid.get(name, set())
        for what, bad in bad_arrays(good, is_matrix):
            if what in skip or (not is_matrix and good.ndim == 3 and what == "2-D"):
                continue
            cls = "types" if what in ("None", "complex", "numeric strings",
                                      "object with None") else "shapes"
            if what in ("NaN", "inf", "1e39 (float32 inf)"):
                cls = "values"
            rows.append(case(cls, f"{name}: {arg} {what}", lambda f=fn, b=bad: f(b), arg=arg))
    return rows


def structure_cases() -> list[Case]:
    """Models and parameters that do not fit together."""
    wide, deep = nets.MLP(3, 16, 1), nets.MLP(3, 8, 2)
    p_wide, p_deep = wide.init(0), deep.init(0)

    def col_model(p, x):  # outputs (n, 1)
        return NET(p, x)[:, None]

    def scalar_model(p, x):
        return jnp.sum(NET(p, x))

    def complex_params():
        return [(w.astype(complex), b) for w, b in P]

    rows = []
    for label, pp in (("wider params", p_wide), ("deeper params", p_deep),
                      ("shallower params", P[:1]), ("swapped W,b", [(b, w) for w, b in P])):
        rows += [
            case("shapes", f"MLP call: {label}", lambda pp=pp: NET(pp, X), arg="params"),
            case("shapes", f"empirical_ntk: {label}",
                 lambda pp=pp: empirical.empirical_ntk(NET, pp, X), arg="params"),
            case("shapes", f"train_gd: {label}",
                 lambda pp=pp: train.train_gd(NET, pp, X, Y, 0.1, 2), arg="params"),
            case("shapes", f"lazy_ratios: {label}",
                 lambda pp=pp: lazy.lazy_ratios(NET, lazy.stack_params([pp, pp]), X, Y,
                                                iters=1), arg="params"),
            case("shapes", f"train_many: {label}",
                 lambda pp=pp: lazy.train_many(NET, lazy.stack_params([pp, pp]), X, Y, 0.1, 2),
                 arg="params"),
            case("shapes", f"readout_features: {label}",
                 lambda pp=pp: gp.readout_features(NET, pp, X), arg="params"),
            case("shapes", f"centered: {label}", lambda pp=pp: nets.centered(NET, pp)(pp, X),
                 arg="params"),
        ]
    for label, model in (("(n, 1) outputs", col_model), ("scalar output", scalar_model)):
        rows += [
            case("shapes", f"train_gd: {label}",
                 lambda m=model: train.train_gd(m, P, X, Y, 0.1, 2), arg="f"),
            case("shapes", f"empirical_ntk: {label}",
                 lambda m=model: empirical.empirical_ntk(m, P, X), arg="f"),
            case("shapes", f"lazy_ratio: {label}",
                 lambda m=model: bounds.lazy_ratio(m, P, X, Y, iters=1), arg="f"),
            case("shapes", f"train_many: {label}",
                 lambda m=model: lazy.train_many(m, lazy.stack_params([P, P]), X, Y, 0.1, 2),
                 arg="f"),
        ]
    rows.append(case("types", "MLP call: complex params", lambda: NET(complex_params(), X),
                     arg="params"))
    rows.append(case("types", "empirical_ntk: None params",
                     lambda: empirical.empirical_ntk(lambda p, x: x[:, 0], None, X), arg="params"))
    rows.append(case("types", "activation as array",
                     lambda: infinite.nngp_ntk(X, activation=np.array([1, 2])), arg="activation"))
    rows.append(case("types", "bandwidth as string", lambda: kernels.gaussian(X, bandwidth="1"),
                     arg="bandwidth"))
    rows.append(case("types", "ridge as bool", lambda: methods.kernel_ridge(K, Y, KX, True),
                     arg="ridge"))
    rows.append(case("types", "w_std complex", lambda: infinite.nngp_ntk(X, w_std=1 + 1j),
                     arg="w_std"))
    rows.append(case("types", "key float array",
                     lambda: kernels.random_fourier_features(X, 4, key=np.array([0.5, 1.5])),
                     arg="key"))
    rows.append(case("types", "t as string", lambda: dynamics.gradient_flow(K, Y, "1"), arg="t"))
    rows.append(case("types", "t complex", lambda: dynamics.gradient_flow(K, Y, [1 + 1j]),
                     arg="t"))
    rows.append(case("types", "gd_filter steps complex",
                     lambda: spectrum.gd_filter(np.ones(3), 0.1, 2 + 1j), arg="steps"))
    return rows


def precision_cases() -> list[Case]:
    rows = []
    # Gaussian kernel away from the origin, small bandwidths (float32)
    for offset in (0.0, 10.0, 1e3, 1e5):
        for bw in (0.05, 1.0, 30.0):
            xs = offset + bw * RNG.normal(size=(12, 2))
            x64 = np.asarray(np.float32(xs), float) if offset == 0 else xs
            rows.append(case("precision", f"gaussian offset {offset:g} bandwidth {bw:g}",
                             lambda xs=xs, bw=bw: kernels.gaussian(xs, bandwidth=bw),
                             "ref", ref=lambda x64=x64, bw=bw: ref_gaussian(x64, x64, bw),
                             tol=1e-4))
            rows.append(case("precision", f"squared_distances offset {offset:g} scale {bw:g}",
                             lambda xs=xs: kernels.squared_distances(xs), "ref",
                             ref=lambda x64=x64: np.sum((x64[:, None] - x64[None]) ** 2, -1),
                             tol=1e-4))
    # infinite-width kernels: depth, scales, input sizes
    for act in ("relu", "erf"):
        for depth in (1, 3, 20, 100, 300):
            for w, b in ((1.0, 0.0), (np.sqrt(2), 0.0), (np.sqrt(2), 0.5), (3.0, 0.1)):
                if act == "relu" and w == 3.0 and depth > 20:
                    continue
                xs = RNG.normal(size=(8, 3))
                xs[1] = xs[0] + 1e-4  # a near-duplicate pair
                rows.append(case(
                    "precision", f"nngp_ntk {act} depth {depth} w {w:.2f} b {b}",
                    lambda xs=xs, d=depth, a=act, w=w, b=b: infinite.nngp_ntk(xs, None, d, a,
                                                                              w, b),
                    "either", ref=lambda xs=xs, d=depth, a=act, w=w, b=b: ref_nngp_ntk(
                        _as_computed(xs), _as_computed(xs), d, a, w, b), tol=2e-3))
        for scale in (1e-3, 1e3, 1e6):
            for w in (1.0, 30.0):
                xs = scale * RNG.normal(size=(6, 2))
                rows.append(case(
                    "precision", f"nngp_ntk {act} inputs x{scale:g} w {w}",
                    lambda xs=xs, a=act, w=w: infinite.nngp_ntk(xs, None, 3, a, w, 0.1),
                    "either", ref=lambda xs=xs, a=act, w=w: ref_nngp_ntk(
                        _as_computed(xs), _as_computed(xs), 3, a, w, 0.1),
                    tol=2e-3))
    # overflow in float32 of things finite in float64
    big = 1e20 * X
    rows.append(case("precision", "linear kernel of 1e20 inputs", lambda: kernels.linear(big),
                     "either", ref=lambda: big @ big.T))
    rows.append(case("precision", "polynomial degree 30",
                     lambda: kernels.polynomial(10 * X, degree=30, c=1.0), "either",
                     ref=lambda: (100 * X @ X.T + 1.0) ** 30))
    rows.append(case("precision", "gaussian bandwidth 1e-25 (square underflows float32)",
                     lambda: kernels.gaussian(X, bandwidth=1e-25), "either",
                     ref=lambda: np.eye(6)))
    rows.append(case("precision", "kernel_ridge on float32 kernel of 1e30",
                     lambda: methods.kernel_ridge(1e30 * K, Y, 1e30 * KX, 1e30), "either",
                     ref=lambda: KX @ np.linalg.solve(K + np.eye(6), Y)))
    return rows


def edge_cases() -> list[Case]:
    lam = np.array([3.0, 1.0, 0.0])
    p = np.array([1.0, 2.0, 3.0])
    zero_params = [(jnp.zeros_like(w), jnp.zeros_like(b)) for w, b in P]
    x_line = np.stack([np.linspace(-1, 1, 10), np.zeros(10)], 1)
    k_rank2 = np.asarray(x_line @ x_line.T + 1.0, np.float32)  # rank 2: HKH has rank 1
    c = np.cos(2 * np.pi * (np.arange(16)[None] - np.arange(16)[:, None]) / 16)
    circ32 = np.asarray(np.exp(-(1 - c)), np.float32)
    rows = [
        case("edge", "predicted_loss t=inf, zero eigenvalue",
             lambda: spectral_bias.predicted_loss(lam, p, [np.inf]), "ref",
             ref=lambda: np.array([1.5])),
        case("edge", "predicted_loss t=[0, inf]",
             lambda: spectral_bias.predicted_loss(lam, p, [0.0, np.inf]), "ref",
             ref=lambda: np.array([3.0, 1.5])),
        case("edge", "gradient_flow t=inf singular kernel",
             lambda: dynamics.gradient_flow(np.ones((3, 3)), np.ones(3), [np.inf]).loss, "ref",
             ref=lambda: np.array([0.0])),
        case("edge", "flow_filter t=inf zero eigenvalue",
             lambda: spectrum.flow_filter(lam, np.inf), "ref", ref=lambda: np.array([1, 1, 0.])),
        case("edge", "lazy_ratio zero Jacobian",
             lambda: bounds.lazy_ratio(NET, zero_params, X, Y, iters=1).kappa, "either",
             arg="params", ref=lambda: np.array(np.inf)),
        case("edge", "lazy_ratios zero Jacobian",
             lambda: lazy.lazy_ratios(NET, lazy.stack_params([zero_params, zero_params]), X, Y,
                                      iters=1).kappa, "either", arg="params",
             ref=lambda: np.array([np.inf, np.inf])),
        case("edge", "hessian_norm of a linear model",
             lambda: bounds.hessian_norm(lambda q, x: x @ q, jnp.ones(3), X), "ref",
             ref=lambda: np.array(0.0)),
        case("edge", "kernel_pca more components than rank (float32 K)",
             lambda: methods.kernel_pca(k_rank2, 3), arg="n_components"),
        case("edge", "kernel_pca within rank (float32 K)",
             lambda: methods.kernel_pca(k_rank2, 1), "ok"),
        case("edge", "numerical_rank float32 eigenvalues",
             lambda: spectrum.numerical_rank(np.float32([1.0, 0.5, 3e-8, 1e-8])), "ref",
             ref=lambda: 2),
        case("edge", "numerical_rank all zero", lambda: spectrum.numerical_rank(np.zeros(3)),
             "ref", ref=lambda: 0),
        case("edge", "circulant_spectrum float32 circulant",
             lambda: spectral_bias.circulant_spectrum(circ32), "ref",
             ref=lambda: np.fft.fft(np.asarray(circ32[0], float)).real[:9], tol=1e-5),
        case("edge", "circulant_eigenvalues float32 row",
             lambda: spectrum.circulant_eigenvalues(circ32[0]), "ref",
             ref=lambda: np.fft.fft(np.asarray(circ32[0], float)).real, tol=1e-5),
        case("edge", "krr_filter float32 eigenvalues with round-off negatives",
             lambda: spectrum.krr_filter(np.float32([1.0, 1e-3, -5e-8]), 0.1), "ref",
             ref=lambda: np.array([1 / 1.1, 1e-3 / 0.101, 0.0]), tol=1e-4),
        case("edge", "relative_change zero start",
             lambda: lazy.relative_change(np.zeros((2, 2, 2))), arg="traj"),
        case("edge", "nadaraya_watson all-zero weights",
             lambda: methods.nadaraya_watson(np.zeros((2, 6)), Y), arg="k_test_train"),
        case("edge", "nngp_ntk zero inputs b=0",
             lambda: infinite.nngp_ntk(np.zeros((3, 2)), depth=2), "ok"),
        case("edge", "gaussian single point", lambda: kernels.gaussian(X[:1]), "ref",
             ref=lambda: np.ones((1, 1))),
        case("edge", "h_ellipse singular kernel",
             lambda: flow.h_ellipse(np.ones((2, 2)), np.zeros(2), 1.0), arg="k_train"),
        case("edge", "diffusion_map isolated point",
             lambda: manifold.diffusion_map(np.eye(3), 1), "ok"),
        case("edge", "kernel_ridge ridge=0 singular",
             lambda: methods.kernel_ridge(np.ones((3, 3)), np.ones(3), np.ones((1, 3)), 0.0),
             arg="k_train"),
        case("edge", "generalization_bound singular K",
             lambda: bounds.generalization_bound(np.ones((3, 3)), np.ones(3)), arg="K"),
    ]
    return rows


def integer_cases() -> list[Case]:
    def aliased(f):
        a, b = f(2**32), f(0)
        return "aliases" if np.array_equal(np.asarray(a), np.asarray(b)) else np.asarray(a)

    rows = [
        case("integers", "MLP.init seed 2**32 vs 0",
             lambda: aliased(lambda s: NET.init(s)[0][0]), arg="key"),
        case("integers", "random_fourier_features key 2**32",
             lambda: aliased(lambda s: kernels.random_fourier_features(X, 4, key=s)), arg="key"),
        case("integers", "random_labels key 2**32",
             lambda: aliased(lambda s: datasets.random_labels(8, key=s)), arg="key"),
        case("integers", "init_many seed 2**32",
             lambda: aliased(lambda s: lazy.init_many(NET, [s])[0][0]), arg="seeds"),
        case("integers", "train_ensemble keys [2**32]",
             lambda: aliased(lambda s: flow.train_ensemble(NET, [s], X, Y, 0.1, 0).params0[0][0]),
             arg="keys"),
        case("integers", "seed -1", lambda: NET.init(-1), arg="key"),
        case("integers", "regression_1d seed -1", lambda: datasets.regression_1d(5, seed=-1),
             arg="seed"),
        case("integers", "train_gd steps 10.0", lambda: train.train_gd(NET, P, X, Y, 0.1, 10.0),
             arg="steps"),
        case("integers", "train_gd steps 2.5", lambda: train.train_gd(NET, P, X, Y, 0.1, 2.5),
             arg="steps"),
        case("integers", "train_gd ntk_steps [2.5]",
             lambda: train.train_gd(NET, P, X, Y, 0.1, 4, ntk_steps=[2.5]), arg="ntk_steps"),
        case("integers", "train_gd record_every 2.0",
             lambda: train.train_gd(NET, P, X, Y, 0.1, 4, record_every=2.0),
             arg="record_every"),
        case("integers", "train_many steps 3.0",
             lambda: lazy.train_many(NET, lazy.stack_params([P]), X, Y, 0.1, 3.0), arg="steps"),
        case("integers", "gd_filter steps 2.5", lambda: spectrum.gd_filter(np.ones(3), 0.1, 2.5),
             arg="steps"),
        case("integers", "predicted_loss t not a multiple of lr",
             lambda: spectral_bias.predicted_loss(np.ones(3), np.ones(3), 0.25, lr=0.1),
             arg="t"),
        case("integers", "nngp_ntk depth 2.0", lambda: infinite.nngp_ntk(X, depth=2.0),
             arg="depth"),
        case("integers", "MLP width 8.0", lambda: nets.MLP(3, 8.0), arg="width"),
        case("integers", "random_labels n 5.0", lambda: datasets.random_labels(5.0), arg="n"),
        case("integers", "kernel_pca n_components True", lambda: methods.kernel_pca(K, True),
             arg="n_components"),
        case("integers", "polynomial degree np.int64", lambda: kernels.polynomial(
            X, degree=np.int64(2)), "ref", ref=lambda: (X @ X.T) ** 2),
    ]
    for bad in (np.inf, np.nan, -1, 0):
        rows.append(case("integers", f"empirical_ntk memory_limit {bad}",
                         lambda bad=bad: empirical.empirical_ntk(lambda p, x: x @ p,
                                                                 jnp.ones(3), X,
                                                                 memory_limit=bad),
                         arg="memory_limit"))
    return rows


def diff_cases() -> list[Case]:
    xs = jnp.asarray(RNG.normal(size=(5, 3)), jnp.float32)

    def fd(f, v, h=1e-3):
        return (f(v + h) - f(v - h)) / (2 * h)

    def sum_ntk(x, act="relu", depth=2):
        return infinite.nngp_ntk(x, None, depth, act, 1.0, 0.1)[1].sum()

    rows = []
    for act in ("relu", "erf"):
        for depth in (1, 3):
            rows.append(case("differentiability", f"grad_x sum NTK {act} depth {depth}",
                             lambda a=act, d=depth: jax.grad(sum_ntk)(xs, a, d), "ok"))
            rows.append(case("differentiability", f"grad_x NNGP diagonal {act} depth {depth}",
                             lambda a=act, d=depth: jax.grad(lambda x: jnp.trace(
                                 infinite.nngp_ntk(x, None, d, a)[0]))(xs), "ok"))
        rows.append(case(
            "differentiability", f"grad w_std of NTK {act}",
            lambda a=act: jax.grad(lambda w: infinite.nngp_ntk(X, None, 2, a, w, 0.1)[1].sum())(
                1.3), "ref",
            ref=lambda a=act: fd(lambda w: ref_nngp_ntk(X, X, 2, a, w, 0.1)[1].sum(), 1.3),
            tol=1e-3))
        rows.append(case(
            "differentiability", f"grad b_std at 0 of NNGP {act}",
            lambda a=act: jax.grad(lambda b: infinite.nngp_ntk(X, None, 2, a, 1.0, b)[0].sum())(
                0.0), "ok"))
    rows += [
        case("differentiability", "grad bandwidth of gaussian",
             lambda: jax.grad(lambda s: kernels.gaussian(X, bandwidth=s).sum())(0.7), "ref",
             ref=lambda: fd(lambda s: ref_gaussian(X, X, s).sum(), 0.7), tol=1e-3),
        case("differentiability", "grad_x of gaussian", lambda: jax.grad(
            lambda x: kernels.gaussian(x, bandwidth=0.7).sum())(xs), "ok"),
        case("differentiability", "grad ridge of kernel_ridge",
             lambda: jax.grad(lambda r: methods.kernel_ridge(K, Y, KX, r).sum())(0.3), "ref",
             ref=lambda: fd(lambda r: (KX @ np.linalg.solve(K + r * np.eye(6), Y)).sum(), 0.3),
             tol=1e-3),
        case("differentiability", "jit of gradient_flow",
             lambda: jax.jit(lambda k, y: dynamics.gradient_flow(k, y, [1.0, np.inf]).train)(
                 jnp.asarray(K), jnp.asarray(Y)), "ref",
             ref=lambda: np.stack([Y - _expm(-K) @ Y, Y]), tol=1e-4),
        case("differentiability", "grad t of gradient_flow loss",
             lambda: jax.grad(lambda t: dynamics.gradient_flow(K, Y, t).loss[0])(0.5), "ok"),
        case("differentiability", "grad noise of gp_posterior",
             lambda: jax.grad(lambda s: methods.gp_posterior(K, Y, KX, np.ones(4), s)[0].sum())(
                 0.2), "ok"),
        case("differentiability", "grad c of polynomial", lambda: jax.grad(
            lambda c: kernels.polynomial(X, degree=2, c=c).sum())(1.0), "ok"),
        case("differentiability", "grad of sphere-input relu NTK at identical rows",
             lambda: jax.grad(lambda x: infinite.nngp_ntk(x, x, 1)[1].sum())(xs), "ok"),
    ]
    return rows


def _expm(a):
    lam, v = np.linalg.eigh(a)
    return (v * np.exp(lam)) @ v.T


MEMORY_LIMIT = 8 * 2**30  # address space of a size-case subprocess (bytes)

SIZE_CASES = [  # (label, code, argument the refusal must name); each runs in a subprocess
    ("nngp_ntk depth 1e9", "infinite.nngp_ntk(np.ones((2, 2)), depth=10**9)", "depth"),
    ("MLP width 1e7 depth 2", "nets.MLP(3, 10**7, 2).init(0)", "MLP"),
    ("MLP depth 1e9", "nets.MLP(3, 4, 10**9)", "depth"),
    ("MLP width 1e12", "nets.MLP(3, 10**12, 1)", "width"),
    ("circulant_eigenvalues n=50000",
     "c = np.exp(-np.minimum(np.arange(50000), 50000 - np.arange(50000)) / 10.0);"
     "out = spectrum.circulant_eigenvalues(c); print(float(out[0]))", None),
    ("gaussian of 1e5 points", "kernels.gaussian(np.zeros((100000, 2)))", "x"),
    ("polynomial_features d=64 degree 12", "kernels.polynomial_features(np.ones((2, 64)), 12)",
     "polynomial_features"),
    ("random_fourier_features 1e10 features",
     "kernels.random_fourier_features(np.ones((10, 2)), 10**10)", "random_fourier_features"),
    ("unit_circle n=1e12", "datasets.unit_circle(10**12)", "n"),
    ("random_labels n=1e12", "datasets.random_labels(10**12)", "n"),
    ("correlation_flow depth 1e9", "gp.correlation_flow(0.5, 10**9)", "depth"),
    ("readout_kernel_samples width 1e12",
     "gp.readout_kernel_samples(0, np.ones((2, 2)), 10**12, 1, 2)", "width"),
    ("train_gd steps 1e15",
     "net = nets.MLP(2, 4); train.train_gd(net, net.init(0), np.ones((2, 2)), np.ones(2), 0.1,"
     " 10**15)", "steps"),
    ("h_ellipse num 1e12", "flow.h_ellipse(np.eye(2), np.zeros(2), 1.0, num=10**12)", "num"),
    ("gd_filter steps 1e30", "spectrum.gd_filter(np.ones(3), 0.1, 1e30)", "steps"),
]


def run_size_case(label, code, arg, timeout):
    prog = textwrap.dedent(f"""
        import numpy as np, warnings
        warnings.filterwarnings("ignore")
        from ntkbook import datasets, flow, gp, infinite, kernels, nets, spectrum, train
        try:
            {code}
        except (ValueError, TypeError) as err:
            msg = str(err)
            ok = len(msg) < 600 and ({arg!r} is None or {arg!r} in msg)
            print("OUTCOME", "refused" if ok else "crash", type(err).__name__, msg[:150])
        except BaseException as err:
            print("OUTCOME crash", type(err).__name__, str(err)[:150])
        else:
            print("OUTCOME", "right" if {arg!r} is None else "wrong", "ran")
    """)
    def limit_memory():  # a failed size check must not take the machine's memory with it
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    try:
        proc = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True,
                              timeout=timeout, preexec_fn=limit_memory)
    except subprocess.TimeoutExpired:
        return "hang", f"> {timeout} s"
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("OUTCOME")]
    if not line:
        return "crash", f"process died (rc {proc.returncode}): {proc.stderr[-150:]}"
    parts = line[-1].split(" ", 2)
    return parts[1], parts[2] if len(parts) > 2 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list the cases not right")
    parser.add_argument("--x64", action="store_true", help="run in float64 instead of float32")
    parser.add_argument("--size-timeout", type=float, default=60.0)
    parser.add_argument("--skip-size", action="store_true")
    parser.add_argument("--only", help="run one class of cases (e.g. precision)")
    args = parser.parse_args()
    if args.x64:
        jax.config.update("jax_enable_x64", True)
    cases = (type_and_shape_cases() + structure_cases() + precision_cases() + edge_cases()
             + integer_cases() + diff_cases())
    table = collections.defaultdict(collections.Counter)
    bad = []
    if args.only:
        cases = [c for c in cases if c.cls == args.only]
    for c in cases:
        outcome, note = classify(c)
        table[c.cls][outcome] += 1
        if outcome not in ("right", "refused") or note:
            bad.append((c.cls, c.label, outcome, note))
    if not args.skip_size and args.only in (None, "size"):
        for label, code, arg in SIZE_CASES:
            outcome, note = run_size_case(label, code, arg, args.size_timeout)
            table["size"][outcome] += 1
            if outcome not in ("right", "refused"):
                bad.append(("size", label, outcome, note))
    width = max(len(k) for k in table) + 2
    print(f"{'class':{width}s}" + "".join(f"{o:>9s}" for o in OUTCOMES) + f"{'total':>9s}")
    total = collections.Counter()
    for cls, counts in table.items():
        total.update(counts)
        print(f"{cls:{width}s}" + "".join(f"{counts[o]:9d}" for o in OUTCOMES)
              + f"{sum(counts.values()):9d}")
    print(f"{'all':{width}s}" + "".join(f"{total[o]:9d}" for o in OUTCOMES)
          + f"{sum(total.values()):9d}")
    if args.verbose:
        for cls, label, outcome, note in bad:
            print(f"  [{cls}] {label}: {outcome} {note}")


if __name__ == "__main__":
    main()
