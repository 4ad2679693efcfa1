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

from ntkbook import _checks


def linear(x1: Any, x2: Any | None = None) -> jax.Array:
    """Linear kernel ``x1 . x2``; shape ``(n1, n2)``."""
    a, b = _checks.pair(x1, x2)
    return a @ b.T


def polynomial(x1: Any, x2: Any | None = None, degree: int = 2, c: float = 0.0) -> jax.Array:
    """Polynomial kernel ``(x1 . x2 + c) ** degree``; shape ``(n1, n2)``.

    ``degree`` is an integer >= 0 and ``c >= 0`` (so that the kernel is positive semi-definite).
    """
    degree = _checks.integer(degree, "degree", 0)
    c = _checks.positive(c, "c", strict=False)
    a, b = _checks.pair(x1, x2)
    return (a @ b.T + c) ** degree


@jax.jit
def _sq_dists(a: jax.Array, b: jax.Array) -> jax.Array:
    d2 = jnp.sum(a**2, 1)[:, None] + jnp.sum(b**2, 1)[None, :] - 2 * a @ b.T
    return jnp.maximum(d2, 0.0)


def squared_distances(x1: Any, x2: Any | None = None) -> jax.Array:
    """Squared Euclidean distances ``|x1[i] - x2[j]|^2``; shape ``(n1, n2)``."""
    a, b = _checks.pair(x1, x2)
    return _sq_dists(a, b)


def gaussian(x1: Any, x2: Any | None = None, bandwidth: float = 1.0) -> jax.Array:
    """Gaussian (RBF) kernel ``exp(-|x1 - x2|^2 / (2 bandwidth^2))``; shape ``(n1, n2)``."""
    bandwidth = _checks.positive(bandwidth, "bandwidth")
    return jnp.exp(-squared_distances(x1, x2) / (2 * bandwidth**2))


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
    degree = _checks.integer(degree, "degree", 0)
    c = _checks.positive(c, "c", strict=False)
    x = _checks.matrix(x, "x")
    exps = _monomial_exponents(x.shape[1], degree, with_constant=c > 0)
    alpha = jnp.asarray(exps, dtype=x.dtype)  # (D, d)
    coef = []
    for e in exps:
        j = degree - sum(e)
        multinom = math.factorial(degree) / (
            math.prod(math.factorial(a) for a in e) * math.factorial(j)
        )
        coef.append(math.sqrt(multinom * c**j))
    monomials = jnp.prod(x[:, None, :] ** alpha[None, :, :], axis=2)  # (n, D)
    return monomials * jnp.asarray(coef, dtype=x.dtype)


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
    bandwidth = _checks.positive(bandwidth, "bandwidth")
    x = _checks.matrix(x, "x")
    k_w, k_b = jax.random.split(_checks.key(key))
    w = jax.random.normal(k_w, (x.shape[1], n_features), dtype=x.dtype)
    b = jax.random.uniform(k_b, (n_features,), dtype=x.dtype, maxval=2 * jnp.pi)
    return jnp.sqrt(2.0 / n_features) * jnp.cos(x @ w / bandwidth + b)
