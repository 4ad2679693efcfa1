"""Classical kernels and their explicit feature maps.

Every kernel takes ``x1`` of shape ``(n1, d)`` and ``x2`` of shape ``(n2, d)`` (``x2=None``
means ``x2 = x1``) and returns the ``(n1, n2)`` matrix ``K[i, j] = k(x1[i], x2[j])``.
Feature maps take ``x`` of shape ``(n, d)`` and return ``(n, D)`` with
``phi(x1) @ phi(x2).T`` equal to (or, for random features, approximating) the kernel.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks


def _finite_result(out: Any, what: str) -> jax.Array:
    """Refuse (for concrete values) a result that overflowed the compute dtype; concrete
    (NumPy) results are returned as JAX arrays."""
    if _checks.is_traced(out):
        return out
    if not np.all(np.isfinite(np.asarray(out))):
        raise ValueError(
            f"{what} overflows {out.dtype} (the result holds inf or NaN): rescale the inputs "
            "or call ntkbook.backend.enable_x64()"
        )
    return jnp.asarray(out)


def _concrete(*arrays: Any) -> tuple[Any, ...]:
    """Checked JAX arrays as NumPy arrays (same dtype) unless one is traced: concrete kernels
    are computed in NumPy, which compiles nothing for each new shape."""
    return arrays if _checks.is_traced(*arrays) else tuple(np.asarray(a) for a in arrays)


def linear(x1: Any, x2: Any | None = None) -> jax.Array:
    """Linear kernel ``x1 . x2``; shape ``(n1, n2)``."""
    a, b = _concrete(*_checks.pair(x1, x2))
    with np.errstate(over="ignore", invalid="ignore"):  # (refused just below)
        return _finite_result(a @ b.T, "linear(x1, x2)")


def polynomial(x1: Any, x2: Any | None = None, degree: int = 2, c: float = 0.0) -> jax.Array:
    """Polynomial kernel ``(x1 . x2 + c) ** degree``; shape ``(n1, n2)``.

    ``degree`` is an integer >= 0 and ``c >= 0`` (so that the kernel is positive semi-definite).
    """
    degree = _checks.integer(degree, "degree", 0, 10**6)
    c = _checks.positive(c, "c", strict=False, traced_ok=True)
    a, b = _concrete(*_checks.pair(x1, x2))
    with np.errstate(over="ignore", invalid="ignore"):  # (refused just below)
        return _finite_result((a @ b.T + c) ** degree, "polynomial(x1, x2)")


def _sq_dists(a: Any, b: Any) -> Any:
    """``|a_i - b_j|^2`` from the differences, shape ``(n1, n2)`` (not ``|a|^2 + |b|^2 - 2 a.b``,
    which cancels catastrophically away from the origin). JAX arrays: XLA fuses the
    difference, square and sum; NumPy arrays: rows in blocks, so that no large
    ``(n1, n2, d)`` array is formed."""
    if _checks.namespace(a, b) is jnp:
        return jnp.sum((a[:, None, :] - b[None, :, :]) ** 2, axis=-1)
    out = np.empty((a.shape[0], b.shape[0]), a.dtype)
    block = max(1, 2**20 // max(1, b.size))  # about 2^20 differences at a time
    for i in range(0, a.shape[0], block):
        diff = a[i:i + block, None, :] - b[None, :, :]
        out[i:i + block] = np.einsum("ijk,ijk->ij", diff, diff)
    return out


def _centred_pair(x1: Any, x2: Any | None) -> tuple[Any, Any]:
    """Checked inputs moved (in float64, before any cast to float32) so that their common mean
    is at the origin: distances are unchanged, and float32 keeps their digits. Concrete inputs
    come back as NumPy arrays of the compute dtype, traced ones unchanged."""
    a, b = _checks.pair(x1, x2)
    if _checks.is_traced(a, b):
        return a, b
    dtype = a.dtype
    a64 = np.asarray(x1, dtype=float)
    b64 = a64 if x2 is None else np.asarray(x2, dtype=float)
    centre = (a64.sum(0) + (0 if x2 is None else b64.sum(0))) / (
        a64.shape[0] + (0 if x2 is None else b64.shape[0]))
    a = (a64 - centre).astype(dtype)
    return (a, a) if x2 is None else (a, (b64 - centre).astype(dtype))


def squared_distances(x1: Any, x2: Any | None = None) -> jax.Array:
    """Squared Euclidean distances ``|x1[i] - x2[j]|^2``; shape ``(n1, n2)``.

    Computed from the coordinate differences of the inputs centred at their mean, so the
    relative error is a few float epsilons wherever the points are, e.g. near ``1000`` with
    distances ``0.01`` (the expansion ``|a|^2 + |b|^2 - 2 a.b`` would lose every digit).
    """
    a, b = _centred_pair(x1, x2)
    return _finite_result(_sq_dists(a, b), "squared_distances(x1, x2)")


def gaussian(x1: Any, x2: Any | None = None, bandwidth: float = 1.0) -> jax.Array:
    """Gaussian (RBF) kernel ``exp(-|x1 - x2|^2 / (2 bandwidth^2))``; shape ``(n1, n2)``.

    Accurate to float rounding of the *differences* ``x1[i] - x2[j]`` (see
    :func:`squared_distances`); ``bandwidth`` may be a traced scalar (``jax.grad`` in it).
    """
    bandwidth = _checks.positive(bandwidth, "bandwidth", squared=True, traced_ok=True)
    a, b = _centred_pair(x1, x2)
    if _checks.is_traced(a, b, bandwidth):
        return jnp.exp(-_sq_dists(jnp.asarray(a), jnp.asarray(b)) / (2 * bandwidth**2))
    return jnp.asarray(np.exp(-_sq_dists(a, b) / (2 * bandwidth**2)))


def _monomial_exponents(d: int, degree: int, with_constant: bool) -> list[tuple[int, ...]]:
    """Exponent tuples ``alpha`` (length d) with ``|alpha| == degree`` (or ``<=`` if constant)."""
    total = range(degree + 1) if with_constant else [degree]
    out = []
    for k in sorted(total, reverse=True):
        for combo in itertools.combinations_with_replacement(range(d), k):
            out.append(tuple(combo.count(i) for i in range(d)))
    return out


def polynomial_features(x: Any, degree: int = 2, c: float = 0.0) -> jax.Array:
    """Explicit feature map of :func:`polynomial`: ``phi(x1) @ phi(x2).T == (x1.x2 + c)^degree``.

    By the multinomial theorem, ``(x.y + c)^k = sum_alpha k!/(alpha! j!) c^j x^alpha y^alpha``
    with ``j = k - |alpha|``, so the features are ``sqrt(k!/(alpha! j!) c^j) x^alpha``.
    For ``d = 2, degree = 2, c = 0`` this is ``(x1^2, sqrt(2) x1 x2, x2^2)``.
    Shape ``(n, C(d + degree, degree))`` if ``c > 0``, ``(n, C(d + degree - 1, degree))`` if not.
    """
    degree = _checks.integer(degree, "degree", 0, 10**4)
    c = _checks.positive(c, "c", strict=False)
    x = _checks.matrix(x, "x")
    n, d = x.shape
    n_feat = math.comb(d + degree, degree) if c > 0 else math.comb(d + degree - 1, degree)
    _checks.size(n * n_feat * d, "polynomial_features(x, degree)", "monomial entries")
    exps = _monomial_exponents(d, degree, with_constant=c > 0)
    alpha = jnp.asarray(exps, dtype=x.dtype)  # (D, d)
    coef = []
    for e in exps:
        j = degree - sum(e)
        try:
            multinom = math.factorial(degree) / (
                math.prod(math.factorial(a) for a in e) * math.factorial(j)
            )
            coef.append(math.sqrt(multinom * c**j))
        except OverflowError:  # huge c**j or coefficient: in logs (the result is then checked)
            log = math.lgamma(degree + 1) - sum(math.lgamma(a + 1) for a in e) - math.lgamma(j + 1)
            coef.append(math.exp(min(0.5 * (log + j * math.log(c)), 800.0)))
    monomials = jnp.prod(x[:, None, :] ** alpha[None, :, :], axis=2)  # (n, D)
    return _finite_result(monomials * jnp.asarray(coef, dtype=x.dtype),
                          "polynomial_features(x, degree, c)")


def random_fourier_features(
    x: Any, n_features: int, bandwidth: float = 1.0, key: Any = 0
) -> jax.Array:
    """Random Fourier features of the Gaussian kernel (Rahimi & Recht, 2007).

    ``phi(x) = sqrt(2 / D) cos(x W / bandwidth + b)`` with ``W ~ N(0, I)`` of shape ``(d, D)``
    and ``b ~ U[0, 2 pi)``, so ``E[phi(x1) @ phi(x2).T] = gaussian(x1, x2, bandwidth)`` and the
    error shrinks like ``1/sqrt(D)``. The same ``key`` gives the same features for every ``x``.
    Shape ``(n, n_features)``.
    """
    n_features = _checks.integer(n_features, "n_features", 1)
    bandwidth = _checks.positive(bandwidth, "bandwidth", traced_ok=True)
    x = _checks.matrix(x, "x")
    _checks.size(max(x.shape[0], x.shape[1]) * n_features, "random_fourier_features", "entries")
    k_w, k_b = jax.random.split(_checks.key(key))
    w = jax.random.normal(k_w, (x.shape[1], n_features), dtype=x.dtype)
    b = jax.random.uniform(k_b, (n_features,), dtype=x.dtype, maxval=2 * jnp.pi)
    return _finite_result(jnp.sqrt(2.0 / n_features) * jnp.cos(x @ w / bandwidth + b),
                          "random_fourier_features(x / bandwidth)")
