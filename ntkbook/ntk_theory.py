"""The one-hidden-layer NTK on the sphere through dual activations, and the width bounds of
Du et al. (2019) for the NTK at initialisation.

Network (Du et al.'s convention, no input scaling): for ``x`` on the unit sphere
``S^{d-1}``, ``f(x) = 1/sqrt(m) * sum_r a_r phi(w_r . x)`` with ``a_r, w_r`` standard normal.
For unit vectors ``u = w . x`` and ``v = w . x'`` are standard normal with correlation
``rho = x . x'``, so everything depends on the **dual activation** (Daniely et al., 2016)

    phi_dual(rho)  = E[phi(u) phi(v)],     (u, v) ~ N(0, [[1, rho], [rho, 1]]),
    phi_dual'(rho) = E[phi'(u) phi'(v)]    (its derivative in rho, by Price's theorem).

As ``m -> infinity`` the NNGP is ``phi_dual(rho)`` and the NTK (both layers trained) is
``phi_dual(rho) + rho * phi_dual'(rho)``. This equals
``ntkbook.infinite.nngp_ntk(sqrt(d) * x, depth=1)`` (that module scales the first layer by
``1/sqrt(d)``).

Training only the first layer with ``a_r = +-1`` fixed (Du et al., 2019) gives the Gram matrix
``H(0)_ij = x_i . x_j * 1/m sum_r phi'(w_r . x_i) phi'(w_r . x_j)`` with limit
``H*_ij = x_i . x_j * phi_dual'(x_i . x_j)``. Each entry of ``H(0)`` is a mean of ``m``
independent terms in ``[-1, 1]`` (for ``|phi'| <= 1`` and unit inputs), which with Hoeffding's
inequality and a union bound over the ``n^2`` entries gives, with probability ``>= 1 - delta``,
``||H(0) - H*||_2 <= ||H(0) - H*||_F <= n * sqrt(2 log(2 n^2 / delta) / m)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ntkbook import _checks

ACTIVATIONS = ("relu", "erf")


def _check_activation(activation: str) -> str:
    return _checks.choice(activation, "activation", ACTIVATIONS)


def dual_activation(rho: Any, activation: str = "relu") -> tuple[np.ndarray, np.ndarray]:
    """The dual activation and its derivative at correlations ``rho``.

    Args:
        rho: correlations in ``[-1, 1]``, any shape (values within ``1e-9`` outside are clipped).
        activation: ``"relu"`` or ``"erf"``.

    Returns:
        ``(k, kdot)`` of the shape of ``rho``: ``k = E[phi(u) phi(v)]`` and
        ``kdot = E[phi'(u) phi'(v)] = dk/drho`` for standard normal ``u, v`` with correlation
        ``rho``. ReLU: ``k = (sqrt(1 - rho^2) + (pi - arccos rho) rho) / (2 pi)``,
        ``kdot = (pi - arccos rho) / (2 pi)``; erf: ``k = 2/pi arcsin(2 rho / 3)``,
        ``kdot = 4 / (pi sqrt(9 - 4 rho^2))``.
    """
    activation = _check_activation(activation)
    r = _checks.finite_array(rho, "rho")
    if np.any(np.abs(r) > 1 + 1e-9):
        raise ValueError("rho must hold correlations in [-1, 1]")
    r = np.clip(r, -1.0, 1.0)
    if activation == "relu":
        theta = np.arccos(r)
        k = (np.sqrt(np.maximum(1 - r**2, 0.0)) + (np.pi - theta) * r) / (2 * np.pi)
        kdot = (np.pi - theta) / (2 * np.pi)
    else:
        k = 2 / np.pi * np.arcsin(2 * r / 3)
        kdot = 4 / (np.pi * np.sqrt(9 - 4 * r**2))
    return k, kdot


def _unit_rows(x: Any, name: str, dim: int | None = None, dim_name: str = "") -> np.ndarray:
    arr = np.asarray(_checks.matrix(x, name, dim=dim, dim_name=dim_name))
    norms = np.linalg.norm(arr, axis=1)
    if np.any(np.abs(norms - 1) > 1e-6):
        raise ValueError(f"{name} must have rows of unit norm (points on the sphere)")
    return arr


def sphere_ntk(
    x1: Any, x2: Any | None = None, activation: str = "relu"
) -> tuple[np.ndarray, np.ndarray]:
    """Infinite-width NNGP and NTK of ``f(x) = 1/sqrt(m) a . phi(W x)`` on the unit sphere.

    Args:
        x1: unit-norm inputs, shape ``(n1, d)``; x2: ``(n2, d)`` or ``None`` for ``x1``.
        activation: ``"relu"`` or ``"erf"``.

    Returns:
        ``(nngp, ntk)``, each ``(n1, n2)``: ``phi_dual(rho)`` and
        ``phi_dual(rho) + rho phi_dual'(rho)`` with ``rho = x1 @ x2.T``.
    """
    a = _unit_rows(x1, "x1")
    b = a if x2 is None else _unit_rows(x2, "x2", dim=a.shape[1], dim_name="x1")
    rho = np.clip(a @ b.T, -1.0, 1.0)
    k, kdot = dual_activation(rho, activation)
    return k, k + rho * kdot


def first_layer_ntk(
    x: Any, weights: Any | None = None, activation: str = "relu"
) -> np.ndarray:
    """The Gram matrix ``H`` of Du et al. (2019): the NTK when only the first layer is trained
    and the output weights are fixed signs ``a_r = +-1``.

    Args:
        x: unit-norm inputs, shape ``(n, d)``.
        weights: first-layer weights ``w_r`` as rows, shape ``(m, d)``; ``None`` gives the
            infinite-width limit ``H*``.
        activation: ``"relu"`` or ``"erf"``.

    Returns:
        ``(n, n)``: ``H_ij = x_i . x_j * 1/m sum_r phi'(w_r . x_i) phi'(w_r . x_j)``
        (``weights`` given) or ``H*_ij = x_i . x_j * phi_dual'(x_i . x_j)``.
    """
    activation = _check_activation(activation)
    x = _unit_rows(x, "x")
    gram = np.clip(x @ x.T, -1.0, 1.0)
    if weights is None:
        return gram * dual_activation(gram, activation)[1]
    w = np.asarray(_checks.matrix(weights, "weights", dim=x.shape[1], dim_name="x"))
    z = x @ w.T  # (n, m) pre-activations
    if activation == "relu":
        s = (z > 0).astype(float)
    else:
        s = 2 / np.sqrt(np.pi) * np.exp(-(z**2))
    return gram * (s @ s.T) / w.shape[0]


def _check_n_delta(n: Any, delta: Any) -> tuple[int, float]:
    n = _checks.integer(n, "n", 1)
    delta = _checks.positive(delta, "delta")
    if delta >= 1:
        raise ValueError(f"delta must be a probability in (0, 1), got {delta!r}")
    return n, delta


def hoeffding_deviation(n: int, m: Any, delta: float) -> np.ndarray:
    """Bound on ``||H(0) - H*||_2`` that holds with probability ``>= 1 - delta``.

    ``eps(m) = n * sqrt(2 log(2 n^2 / delta) / m)`` (Hoeffding for each of the ``n^2`` entries,
    each a mean of ``m`` terms in ``[-1, 1]``, at level ``delta / n^2``, then a union bound and
    ``||.||_2 <= ||.||_F``).

    Args:
        n: number of data points (>= 1). m: width(s) > 0, scalar or array.
        delta: failure probability in ``(0, 1)``.

    Returns:
        ``eps`` with the shape of ``m``.
    """
    n, delta = _check_n_delta(n, delta)
    m = _checks.finite_array(m, "m")
    if np.any(m <= 0):
        raise ValueError("m must hold widths > 0")
    return n * np.sqrt(2 * np.log(2 * n**2 / delta) / m)


def hoeffding_width(n: int, eps: Any, delta: float) -> np.ndarray:
    """Width that guarantees ``||H(0) - H*||_2 <= eps`` with probability ``>= 1 - delta``.

    ``m = 2 n^2 log(2 n^2 / delta) / eps^2``, i.e. ``m = O(eps^-2 n^2 log(n / delta))``; the
    inverse of :func:`hoeffding_deviation`.

    Args:
        n: number of data points (>= 1). eps: tolerance(s) > 0, scalar or array.
        delta: failure probability in ``(0, 1)``.

    Returns:
        the (real-valued) width with the shape of ``eps``; round it up for a network.
    """
    n, delta = _check_n_delta(n, delta)
    eps = _checks.finite_array(eps, "eps")
    if np.any(eps <= 0):
        raise ValueError("eps must hold tolerances > 0")
    return 2 * n**2 * np.log(2 * n**2 / delta) / eps**2


def relative_error(k: Any, k_ref: Any) -> float:
    """``||k - k_ref|| / ||k_ref||`` (Frobenius / Euclidean), for arrays of the same shape."""
    a = _checks.finite_array(k, "k")
    b = _checks.finite_array(k_ref, "k_ref")
    if a.shape != b.shape:
        raise ValueError(f"k must have the shape of k_ref {b.shape}, got {a.shape}")
    ref = float(np.linalg.norm(b))
    if ref == 0:
        raise ValueError("k_ref must not be zero")
    return float(np.linalg.norm(a - b)) / ref


__all__ = [
    "dual_activation",
    "sphere_ntk",
    "first_layer_ntk",
    "hoeffding_deviation",
    "hoeffding_width",
    "relative_error",
]
