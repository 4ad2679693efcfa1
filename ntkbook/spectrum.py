"""The spectrum of a kernel matrix and the spectral filters of kernel learning.

Write a symmetric kernel matrix as ``K = V diag(lam) V^T`` with the eigenvalues ``lam`` in
**decreasing** order (``lam[0]`` is the largest) and orthonormal eigenvectors in the columns of
``V``. Kernel ridge regression, gradient descent and gradient flow started from zero all fit
the training targets ``y`` (shape ``(n,)``) by a *spectral filter*: a number ``h(lam_i)`` in
``[0, 1]`` per eigen-direction, and the fitted training outputs are
``V diag(h) V^T y`` (see :func:`spectral_apply`):

- kernel ridge regression, ``K (K + ridge I)^{-1} y``: ``h = lam / (lam + ridge)``
  (:func:`krr_filter`);
- ``steps`` steps of gradient descent ``u <- u - lr K (u - y)`` from ``u = 0``:
  ``h = 1 - (1 - lr lam)^steps`` (:func:`gd_filter`);
- gradient flow ``du/dt = -K (u - y)`` from ``u = 0`` for time ``t``:
  ``h = 1 - exp(-lam t)`` (:func:`flow_filter`; the convention of :mod:`ntkbook.dynamics`).

Eigenvalues passed to the filters must be ``>= 0``; tiny negative values from round-off
(``>= -1e-8 * max|lam|``) are accepted and treated as 0. A filter given an array of ``steps``
or times ``t`` of shape ``(T,)`` returns shape ``(T, n)``, one row per value.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks

_NEG_TOL = 1e-8  # eigenvalues >= -_NEG_TOL * max|lam| count as round-off of a PSD matrix


def _spectrum(lam: Any, name: str = "eigenvalues") -> np.ndarray:
    """A 1-D array of finite eigenvalues >= 0 (tiny negatives from round-off clipped to 0)."""
    tol = max(_NEG_TOL, 100 * _checks.eps_of(lam))  # float32 eigenvalues: float32 round-off
    arr = np.asarray(_checks.vector(lam, name))
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one value")
    scale = float(np.max(np.abs(arr)))
    if np.any(arr < -tol * scale):
        raise ValueError(
            f"{name} must be >= 0 (those of a positive semi-definite matrix), "
            f"found {float(arr.min()):.3g}"
        )
    return np.maximum(arr, 0.0)


def _null(lam: np.ndarray, eps: float = float(np.finfo(float).eps)) -> np.ndarray:
    """Numerically zero eigenvalues, ``lam <= n * eps * max(lam)`` (as in ntkbook.dynamics)."""
    return lam <= lam.size * eps * np.max(lam)


_SINGLE_THREAD_MAX_N = 2048


def _eigh(k: np.ndarray, vectors: bool) -> Any:
    """Ascending eigen-decomposition of a symmetric matrix.

    On an accelerator it uses JAX. On the CPU it calls LAPACK through NumPy (two to three times
    faster than JAX's CPU solver at the sizes used in the book, and with no compilation per
    matrix shape), single-threaded for ``n <= 2048``: at these sizes threads gain little, and on
    a busy laptop or CI machine oversubscribed BLAS threads made calls up to ten times slower.
    """
    sym = (k + k.T) / 2
    if jax.default_backend() != "cpu":
        return jnp.linalg.eigh(sym) if vectors else jnp.linalg.eigvalsh(sym)
    solve = np.linalg.eigh if vectors else np.linalg.eigvalsh
    if sym.shape[0] > _SINGLE_THREAD_MAX_N:
        return solve(sym)
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return solve(sym)
    with threadpool_limits(limits=1, user_api="blas"):
        return solve(sym)


def eigenvalues(K: Any) -> jax.Array:
    """Eigenvalues of a symmetric matrix ``K`` ``(n, n)`` in decreasing order; shape ``(n,)``.

    They are not clipped: for a PSD kernel matrix the smallest ones may come out slightly
    negative (round-off, about ``n * 1e-16 * lam[0]`` in float64), so plot ``abs`` or compare
    against a relative tolerance (:func:`numerical_rank`).
    """
    k = np.asarray(_checks.square_symmetric(K, "K"))
    return jnp.asarray(_eigh(k, vectors=False)[::-1])


def eigendecomposition(K: Any) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues ``lam`` ``(n,)`` (decreasing) and orthonormal eigenvectors ``V`` ``(n, n)``
    (column ``V[:, i]`` belongs to ``lam[i]``) of a symmetric matrix ``K`` ``(n, n)``."""
    k = np.asarray(_checks.square_symmetric(K, "K"))
    lam, v = _eigh(k, vectors=True)
    return jnp.asarray(lam[::-1]), jnp.asarray(v[:, ::-1])


def numerical_rank(eigenvalues: Any, rtol: float | None = None) -> int:
    """Number of eigenvalues above ``rtol * max|eigenvalues|`` (``rtol`` in ``(0, 1)``).

    The default ``rtol = n * eps`` (``eps`` of the eigenvalues' float type: float32
    eigenvalues carry noise near ``1e-7 * max``) is the usual numerical-rank threshold; an
    ``rtol`` below ``eps`` cannot tell signal from round-off and is refused.
    """
    eps = _checks.eps_of(eigenvalues)
    lam = np.asarray(_checks.vector(eigenvalues, "eigenvalues"))
    if lam.size == 0:
        raise ValueError("eigenvalues must hold at least one value")
    if rtol is None:
        rtol = min(lam.size * eps, 0.5)
    rtol = _checks.positive(rtol, "rtol")
    if rtol >= 1:
        raise ValueError(f"rtol must be in (0, 1), got {rtol!r}")
    if rtol < eps:
        raise ValueError(
            f"rtol={rtol:g} is below the resolution of the eigenvalues' float type (eps "
            f"{eps:.1e}): use rtol >= {eps:.1e} (or float64 eigenvalues)")
    top = np.max(np.abs(lam))
    return int(np.sum(lam > rtol * top)) if top > 0 else 0


def polynomial_kernel_rank(d: int, degree: int) -> int:
    """``C(d + degree, degree)``: the number of monomials of degree ``<= degree`` in ``d``
    variables, an upper bound on the rank of the polynomial kernel ``(x.x' + c)^degree``
    (``c > 0``) on inputs in ``R^d``."""
    d = _checks.integer(d, "d", 1)
    degree = _checks.integer(degree, "degree", 0)
    return math.comb(d + degree, degree)


def _times(t: Any, name: str, integer: bool = False) -> tuple[np.ndarray, bool]:
    """``t`` as a 1-D float array of values >= 0 and whether it was a scalar."""
    try:
        raw = None if isinstance(t, (str, bytes)) or t is None else np.asarray(t)
        arr = None if raw is None or raw.dtype.kind not in "fiub" else raw.astype(float)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim > 1 or arr.size == 0 or np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be a number >= 0 or a 1-D array of them")
    if integer and (np.any(~np.isfinite(arr)) or np.any(arr != np.round(arr))):
        raise ValueError(f"{name} must hold whole numbers of steps >= 0")
    return np.atleast_1d(arr), arr.ndim == 0


def krr_filter(eigenvalues: Any, ridge: float) -> jax.Array:
    """Kernel ridge regression filter ``lam / (lam + ridge)``; shape ``(n,)``.

    ``ridge = 0`` (interpolation) gives 1 on the range of ``K`` and 0 on its numerical null
    space, ``lam <= n * eps * lam_max`` (the pseudo-inverse, as in :mod:`ntkbook.dynamics`).
    """
    lam = _spectrum(eigenvalues)
    ridge = _checks.positive(ridge, "ridge", strict=False)
    if ridge == 0:
        return jnp.asarray((~_null(lam, _checks.eps_of(eigenvalues))).astype(float))
    return jnp.asarray(lam / (lam + ridge))


def gd_filter(eigenvalues: Any, lr: float, steps: Any) -> jax.Array:
    """Filter of ``steps`` steps of gradient descent from zero: ``1 - (1 - lr lam)^steps``.

    Gradient descent on ``L(u) = 1/2 |u - y|^2`` preconditioned by ``K`` (the function-space
    view of training a linear model with kernel ``K``) updates ``u <- u - lr K (u - y)``.
    It is stable when ``lr < 2 / lam_max``; for ``lr > 2 / lam_max`` the formula is still the
    exact output but grows without bound.

    Args:
        eigenvalues: ``lam`` ``(n,)``, each ``>= 0``.
        lr: learning rate ``> 0``.
        steps: whole number ``>= 0``, or a 1-D array of them ``(T,)``.

    Returns:
        shape ``(n,)`` for a scalar ``steps``, else ``(T, n)``.
    """
    lam = _spectrum(eigenvalues)
    lr = _checks.positive(lr, "lr")
    s, scalar = _times(steps, "steps", integer=True)
    if np.any(s > _checks.MAX_STEPS):
        raise ValueError(f"steps must be <= {_checks.MAX_STEPS}, got {float(s.max()):g}")
    out = 1.0 - (1.0 - lr * lam)[None, :] ** s[:, None]
    return jnp.asarray(out[0] if scalar else out)


def flow_filter(eigenvalues: Any, t: Any) -> jax.Array:
    """Filter of gradient flow ``du/dt = -K (u - y)`` from zero for time ``t``:
    ``1 - exp(-lam t)``; the ``lr -> 0`` limit of :func:`gd_filter` with ``t = lr * steps``.

    Args:
        eigenvalues: ``lam`` ``(n,)``, each ``>= 0``.
        t: time ``>= 0``, or a 1-D array of times ``(T,)``. ``t = inf`` is allowed: 1 on the
            range of ``K``, 0 on its numerical null space ``lam <= n * eps * lam_max``.

    Returns:
        shape ``(n,)`` for a scalar ``t``, else ``(T, n)``.
    """
    lam = _spectrum(eigenvalues)
    ts, scalar = _times(t, "t")
    finite = np.where(np.isinf(ts), 0.0, ts)
    out = -np.expm1(-lam[None, :] * finite[:, None])
    out[np.isinf(ts), :] = (~_null(lam, _checks.eps_of(eigenvalues))).astype(float)
    return jnp.asarray(out[0] if scalar else out)


def spectral_apply(K: Any, y: Any, filter_values: Any) -> jax.Array:
    """Apply a spectral filter in ``K``'s eigenbasis: ``V diag(h) V^T y``.

    Args:
        K: symmetric matrix ``(n, n)``; its eigenvectors are ordered by decreasing eigenvalue
            (as in :func:`eigendecomposition`), so ``h[i]`` acts on the ``i``-th largest.
        y: vector ``(n,)``.
        filter_values: ``h`` of shape ``(n,)``, or ``(T, n)`` for ``T`` filters at once.

    Returns:
        shape ``(n,)``, or ``(T, n)`` for ``(T, n)`` filter values.
    """
    lam, v = eigendecomposition(K)
    n = lam.shape[0]
    y = _checks.vector(y, "y", n, "K")
    h = _checks.finite_array(filter_values, "filter_values")
    if h.ndim not in (1, 2) or h.shape[-1] != n:
        raise ValueError(f"filter_values must have shape ({n},) or (T, {n}), got {h.shape}")
    return (jnp.asarray(h) * (v.T @ y)) @ v.T


class DecayFit(NamedTuple):
    """Least-squares fit ``log lam_k = log_scale - rate * k^(1/d)`` (``k = 1, 2, ...``).

    Attributes:
        rate: the constant ``C`` in ``lam_k ~ exp(-C k^(1/d))``.
        log_scale: the intercept ``log A``.
        count: how many eigenvalues entered the fit.
    """

    rate: float
    log_scale: float
    count: int

    def __call__(self, k: Any, d: int) -> np.ndarray:
        """The fitted curve ``A exp(-C k^(1/d))`` at indices ``k`` (1-based)."""
        return np.exp(self.log_scale - self.rate * np.asarray(k, dtype=float) ** (1.0 / d))


def fit_exponential_decay(
    eigenvalues: Any, d: int, rel_floor: float = 1e-11, skip: int = 0
) -> DecayFit:
    """Fit ``lam_k ~ A exp(-C k^(1/d))`` to eigenvalues sorted in decreasing order.

    Uses the eigenvalues ``lam_k`` (index ``k = 1, 2, ...``) with ``k > skip`` and
    ``lam_k > rel_floor * lam_1``; the floor keeps out eigenvalues that round-off has buried
    (in float64 they are unreliable below about ``n * 1e-16 * lam_1``).

    Args:
        eigenvalues: ``(n,)``, decreasing (e.g. from :func:`eigenvalues`), ``lam_1 > 0``.
        d: input dimension (integer ``>= 1``); the fit is linear in ``k^(1/d)``.
        rel_floor: relative threshold in ``(0, 1)``.
        skip: number of leading eigenvalues left out of the fit.

    Returns:
        :class:`DecayFit`; raises ``ValueError`` if fewer than 2 eigenvalues qualify.
    """
    lam = np.asarray(_checks.vector(eigenvalues, "eigenvalues"))
    if lam.size < 2 or np.any(np.diff(lam) > 1e-12 * np.max(np.abs(lam))) or lam[0] <= 0:
        raise ValueError("eigenvalues must be sorted in decreasing order with a positive largest")
    d = _checks.integer(d, "d", 1)
    rel_floor = _checks.positive(rel_floor, "rel_floor")
    if rel_floor >= 1:
        raise ValueError(f"rel_floor must be in (0, 1), got {rel_floor!r}")
    skip = _checks.integer(skip, "skip", 0)
    k = np.arange(1, lam.size + 1, dtype=float)
    use = (k > skip) & (lam > rel_floor * lam[0])
    if use.sum() < 2:
        raise ValueError("fewer than 2 eigenvalues above rel_floor * lam_1 (after skip) to fit")
    design = np.stack([np.ones(int(use.sum())), k[use] ** (1.0 / d)], axis=1)
    coef = np.linalg.lstsq(design, np.log(lam[use]), rcond=None)[0]
    return DecayFit(float(-coef[1]), float(coef[0]), int(use.sum()))


def circulant_eigenvalues(first_row: Any) -> jax.Array:
    """Eigenvalues of the symmetric circulant matrix ``C[i, j] = c[(j - i) mod n]``.

    For ``c[j] = c[n - j]`` (symmetric) the Fourier vectors ``cos(2 pi m j / n)`` and
    ``sin(2 pi m j / n)`` are eigenvectors, with the real eigenvalue
    ``mu_m = sum_j c[j] cos(2 pi m j / n)`` (the discrete Fourier transform of ``c``);
    ``mu_m = mu_{n-m}``, so every frequency other than ``0`` and ``n/2`` appears twice.

    Args:
        first_row: ``c`` of shape ``(n,)`` with ``c[j] == c[n - j]``.

    Returns:
        ``mu`` of shape ``(n,)``, indexed by frequency ``m = 0, ..., n - 1`` (not sorted).
    """
    eps = _checks.eps_of(first_row)
    c = np.asarray(_checks.vector(first_row, "first_row"))
    n = c.size
    if n == 0:
        raise ValueError("first_row must hold at least one value")
    rtol = max(1e-9, 1e3 * eps)  # float32 input: its own rounding
    if not np.allclose(c[1:], c[1:][::-1], rtol=rtol, atol=rtol * 1e-3 * np.max(np.abs(c))):
        raise ValueError("first_row must be symmetric, c[j] == c[n - j] (a symmetric circulant)")
    # the DFT by FFT: O(n log n) time and O(n) memory (a cosine matrix would be O(n^2)); the
    # imaginary part is round-off for a symmetric c
    return jnp.asarray(np.fft.fft(c).real)


class EigenLearning(NamedTuple):
    """Test error of kernel ridge regression predicted from the spectrum (see
    :func:`eigenlearning`). Arrays have one entry per eigenfunction, shape ``(M,)``.

    Attributes:
        effective_ridge: ``lt > 0`` solving ``sum_k mu_k / (mu_k + lt) + ridge / lt = n``.
        learnability: ``L_k = mu_k / (mu_k + lt)``, the fraction of mode ``k`` learnt on average.
        overfitting: ``E_0 = n / (n - sum_k L_k^2)``, the factor by which errors are inflated.
        bias: ``E_0 (1 - L_k)^2 c_k^2`` per mode.
        variance: ``E_0 s^2 L_k^2 / n`` per mode (sums to ``(E_0 - 1) s^2``).
        excess_risk: ``sum(bias) + sum(variance)``, the predicted
            ``E |f_hat - f*|^2`` in ``L^2`` of the input distribution.
    """

    effective_ridge: float
    learnability: np.ndarray
    overfitting: float
    bias: np.ndarray
    variance: np.ndarray
    excess_risk: float


def eigenlearning(
    eigenvalues: Any, coefficients: Any, n: int, ridge: float = 0.0, noise: float = 0.0
) -> EigenLearning:
    """Spectral prediction of the generalisation error of kernel ridge regression.

    Kernel ridge regression ``f_hat(x) = k(x, X) (K + ridge I)^{-1} y`` on ``n`` i.i.d. inputs,
    with targets ``y_i = f*(x_i) + noise`` (mean 0, variance ``noise**2``). Write the kernel's
    Mercer expansion ``k(x, x') = sum_k mu_k psi_k(x) psi_k(x')`` and
    ``f* = sum_k c_k psi_k``. The omniscient-risk / eigenlearning approximation
    (Bordelon et al., 2020; Canatar et al., 2021; Simon et al., 2023), exact as ``n`` and the
    number of modes grow together, predicts ``E |f_hat - f*|^2`` mode by mode (see
    :class:`EigenLearning`).

    Args:
        eigenvalues: Mercer eigenvalues ``mu`` ``(M,)``, each ``>= 0`` (for the uniform
            distribution on ``N`` points: the Gram eigenvalues divided by ``N``).
        coefficients: ``c`` ``(M,)``, the target's coordinates in the orthonormal eigenfunctions.
        n: number of training points (``>= 1``); with ``ridge = 0`` fewer than the number of
            positive eigenvalues.
        ridge: ``>= 0``. noise: standard deviation of the label noise, ``>= 0``.
    """
    mu = _spectrum(eigenvalues)
    c = np.asarray(_checks.vector(coefficients, "coefficients", mu.size, "eigenvalues"))
    n = _checks.integer(n, "n", 1)
    ridge = _checks.positive(ridge, "ridge", strict=False)
    noise = _checks.positive(noise, "noise", strict=False)
    positive = mu[mu > 0]
    if ridge == 0 and positive.size <= n:
        raise ValueError(
            f"n must be smaller than the number of positive eigenvalues ({positive.size}) "
            "when ridge = 0"
        )

    def excess(log_lt: float) -> float:  # decreasing in lt
        lt = np.exp(log_lt)
        return float(np.sum(positive / (positive + lt)) + ridge / lt - n)

    # at lt = 2 (sum mu + ridge) / n the left side is <= n / 2; far below the smallest positive
    # eigenvalue (and below ridge / n) it exceeds n
    hi = np.log(2 * (positive.sum() + ridge) / n)
    lo = np.log(min(positive.min(), ridge / n if ridge > 0 else np.inf)) - 40.0
    for _ in range(200):  # bisection in log lt: excess(lo) > 0 > excess(hi)
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    lt = float(np.exp(0.5 * (lo + hi)))
    learn = mu / (mu + lt)
    e0 = n / (n - float(np.sum(learn**2)))
    bias = e0 * (1 - learn) ** 2 * c**2
    variance = e0 * noise**2 * learn**2 / n
    return EigenLearning(lt, learn, e0, bias, variance, float(bias.sum() + variance.sum()))
