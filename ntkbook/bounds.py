"""Norms in the RKHS, the generalisation bound of the kernel regime, and the lazy ratio κ.

- ``rkhs_norm(K, y) = sqrt(y^T K^{-1} y)``: the norm of the minimum-norm interpolant of ``y``.
- ``generalization_bound(K, y) = sqrt(2 y^T K^{-1} y / n)``: the data-dependent complexity term
  of Arora et al. (2019) for two-layer ReLU networks trained in the kernel regime.
- ``lazy_ratio``: the criterion of the lazy regime (Chizat et al., 2019),
  ``kappa(w0) = |y(w0) - ybar| |D^2 y(w0)| / |D y(w0)|^2``: how much the Jacobian changes,
  relative to its size, over the distance the weights must move to fit the data.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp

from ntkbook import _checks
from ntkbook.empirical import _check_model, empirical_ntk
from ntkbook.methods import _solve_psd


def _quadratic_inverse(k: Any, y: Any) -> tuple[jax.Array, int]:
    kk = _checks.square_symmetric(k, "K", psd=True)
    yy = _checks.vector(y, "y", kk.shape[0], "K")
    return yy @ _solve_psd(kk, yy, 0.0, "K"), kk.shape[0]


def rkhs_norm(K: Any, y: Any) -> jax.Array:
    """``sqrt(y^T K^{-1} y)`` for a positive-definite ``K`` ``(n, n)`` and ``y`` ``(n,)``."""
    q, _ = _quadratic_inverse(K, y)
    return jnp.sqrt(q)


def generalization_bound(K: Any, y: Any) -> jax.Array:
    """``sqrt(2 y^T K^{-1} y / n)`` for a positive-definite ``K`` ``(n, n)`` and labels ``y``."""
    q, n = _quadratic_inverse(K, y)
    return jnp.sqrt(2 * q / n)


class LazyRatio(NamedTuple):
    """``kappa = residual * hessian_norm / jacobian_norm**2`` and its three factors."""

    kappa: jax.Array
    residual: jax.Array
    jacobian_norm: jax.Array
    hessian_norm: jax.Array


def _top_eigenpair(matvec: Callable, v0: jax.Array, steps: int) -> tuple[jax.Array, jax.Array]:
    """Eigenpair of largest ``|eigenvalue|`` of a symmetric operator by ``steps`` Lanczos steps
    (Arnoldi with full re-orthogonalisation, so it stays accurate in floating point)."""
    q = jnp.zeros((steps + 1, v0.shape[0]), v0.dtype).at[0].set(v0 / jnp.linalg.norm(v0))
    h = jnp.zeros((steps + 1, steps), v0.dtype)

    def body(j, carry):
        q, h = carry
        w = matvec(q[j])
        c1 = q @ w
        w = w - q.T @ c1
        c2 = q @ w
        w = w - q.T @ c2
        beta = jnp.linalg.norm(w)
        h = h.at[:, j].set(c1 + c2).at[j + 1, j].set(beta)
        return q.at[j + 1].set(w / jnp.maximum(beta, 1e-30)), h

    q, h = jax.lax.fori_loop(0, steps, body, (q, h))
    t = h[:steps, :steps]
    lam, s = jnp.linalg.eigh((t + t.T) / 2)
    i = jnp.argmax(jnp.abs(lam))
    v = q[:steps].T @ s[:, i]
    return lam[i], v / jnp.linalg.norm(v)


def hessian_norm(f: Callable, params: Any, x: Any, iters: int = 4, key: Any = 0) -> jax.Array:
    """Operator norm of the second derivative of the outputs ``y(w) = f(w, X)`` (an ``n x P x P``
    tensor ``T``): ``max |sum_i u_i v^T T_i v|`` over unit ``u`` (in R^n) and ``v`` (in R^P).

    Alternating maximisation: for fixed ``u``, the eigenvector ``v`` of largest ``|eigenvalue|``
    of the Hessian of ``u . y`` (Lanczos on Hessian-vector products, never the Hessian); then
    ``u`` along ``(v^T T_i v)_i`` (a second directional derivative, two nested ``jvp``). Each
    round can only increase the objective; the largest value seen is returned.
    """
    x = _checks.matrix(x, "x")
    iters = _checks.integer(iters, "iters", 1, 1000)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    out = lambda w: f(unravel(w), x)  # noqa: E731
    steps = min(flat.shape[0], 40)

    def hvp(u, v):
        g = lambda w: jax.grad(lambda z: out(z) @ u)(w)  # noqa: E731
        return jax.jvp(g, (flat,), (v,))[1]

    def second_dir(v):
        d1 = lambda w: jax.jvp(out, (w,), (v,))[1]  # noqa: E731
        return jax.jvp(d1, (flat,), (v,))[1]

    @jax.jit
    def step(carry, _):
        u, v = carry
        _, v = _top_eigenpair(lambda z: hvp(u, z), v, steps)
        s = second_dir(v)
        norm = jnp.linalg.norm(s)
        # a zero second derivative (e.g. a linear model) keeps u instead of dividing 0 by 0
        u_next = jnp.where(norm > 0, s / jnp.where(norm > 0, norm, 1.0), u).astype(u.dtype)
        return (u_next, v.astype(flat.dtype)), norm

    v0 = jax.random.normal(_checks.key(key), flat.shape, flat.dtype)
    # u lives in output space: the dtype of f's outputs (float32 parameters with float64
    # inputs give float64 outputs)
    out_dtype = jax.eval_shape(out, flat).dtype
    u0 = jnp.ones(x.shape[0], out_dtype) / jnp.sqrt(x.shape[0])
    _, norms = jax.lax.scan(step, (u0, v0), None, length=iters)
    return jnp.max(norms)


def lazy_ratio(
    f: Callable, params: Any, x: Any, y: Any, iters: int = 4, key: Any = 0
) -> LazyRatio:
    """The lazy-regime ratio ``kappa(w0) = |y(w0) - ybar| |D^2 y(w0)| / |D y(w0)|^2``.

    ``|D y|`` is the spectral norm of the ``(n, P)`` Jacobian (``sqrt`` of the NTK's top
    eigenvalue); ``|D^2 y|`` is :func:`hessian_norm`. For ``f_a = alpha (f - f(w0))``,
    ``kappa`` scales like ``1/alpha``; for an MLP in NTK parameterisation like ``1/sqrt(width)``.

    A zero Jacobian (``f`` cannot move its outputs at ``params``) leaves ``kappa`` undefined:
    concrete input is refused with a ``ValueError``; under ``jax.vmap``/``jit`` (as in
    :func:`ntkbook.lazy.lazy_ratios`) ``kappa`` is ``inf`` there.
    """
    x = _checks.matrix(x, "x")
    y = _checks.vector(y, "y", x.shape[0], "x")
    _check_model(f, params, x, "x")
    residual = jnp.linalg.norm(f(params, x) - y)
    top = jnp.linalg.eigvalsh(empirical_ntk(f, params, x))[-1]
    jac = jnp.sqrt(jnp.maximum(top, 0.0))
    if not _checks.is_traced(jac, params) and float(jac) == 0.0:
        raise ValueError(
            "params: the Jacobian of f is zero at these parameters (f cannot move its "
            "outputs), so the lazy ratio kappa is undefined"
        )
    hess = hessian_norm(f, params, x, iters=iters, key=key)
    safe = jnp.where(jac > 0, jac, 1.0)
    kappa = jnp.where(jac > 0, residual * hess / safe**2, jnp.inf)
    return LazyRatio(kappa, residual, jac, hess)


# --- Rademacher complexity of an RKHS ball and the bounds built on it (chapter 10) ---------
# (imports here, not at the top, so that this block only appends to the module)
import numpy as np  # noqa: E402

from ntkbook.dynamics import check_times  # noqa: E402
from ntkbook.spectrum import eigendecomposition  # noqa: E402


def _ball(K: Any, B: float) -> tuple[np.ndarray, float]:
    # symmetric with a non-negative diagonal: necessary for PSD and cheap (a full PSD check
    # would cost an eigendecomposition per call); negative quadratic forms are clipped at 0
    kk = np.asarray(_checks.square_symmetric(K, "K"))
    if np.any(np.diag(kk) < 0):
        raise ValueError("K must be positive semi-definite (found a negative diagonal entry)")
    return kk, _checks.positive(B, "B", strict=False)


def rademacher_rkhs_ball(K: Any, B: float) -> float:
    """Bartlett–Mendelson bound ``B sqrt(tr K) / n`` on the empirical Rademacher complexity of
    the ball ``{f : |f|_H <= B}`` on the ``n`` points whose Gram matrix is ``K`` ``(n, n)``."""
    kk, b = _ball(K, B)
    return b * float(np.sqrt(np.trace(kk))) / kk.shape[0]


def rademacher_rkhs_sup(K: Any, signs: Any, B: float) -> np.ndarray:
    """``sup_{|f|_H <= B} (1/n) sum_i s_i f(x_i) = B sqrt(s^T K s) / n`` for signs ``s``.

    The supremum is attained at ``f = B k(., X) s / sqrt(s^T K s)``.

    Args:
        K: Gram matrix ``(n, n)``, symmetric PSD.
        signs: Rademacher signs ``(n,)`` or ``(S, n)`` (one draw per row).
        B: radius of the ball, ``>= 0``.

    Returns:
        shape ``()`` for one draw, ``(S,)`` for ``S`` draws.
    """
    kk, b = _ball(K, B)
    s = _checks.finite_array(signs, "signs")
    if s.ndim not in (1, 2) or s.shape[-1] != kk.shape[0]:
        raise ValueError(f"signs must have shape ({kk.shape[0]},) or (S, {kk.shape[0]}), "
                         f"got {s.shape}")
    quad = np.sum((s @ kk) * s, axis=-1)
    return b * np.sqrt(np.maximum(quad, 0.0)) / kk.shape[0]


def rademacher_rkhs_monte_carlo(K: Any, B: float, draws: int = 1000, seed: int = 0) -> float:
    """Monte Carlo estimate of the empirical Rademacher complexity of the RKHS ball of radius
    ``B``: the mean of :func:`rademacher_rkhs_sup` over ``draws`` random sign vectors
    (NumPy generator seeded with ``seed``)."""
    kk, b = _ball(K, B)
    draws = _checks.integer(draws, "draws", 1)
    seed = _checks.integer(seed, "seed", 0)
    rng = np.random.default_rng(seed)
    signs = np.where(rng.random((draws, kk.shape[0])) < 0.5, 1.0, -1.0)
    return float(np.mean(rademacher_rkhs_sup(kk, signs, b)))


def ramp_loss(u: Any, y: Any) -> float:
    """Mean ramp loss ``min(1, max(0, 1 - y_i u_i))`` of outputs ``u`` ``(n,)`` on labels ``y``
    ``(n,)`` in {+1, -1}. It is 1-Lipschitz in ``u`` and at least the 0-1 error of sign(u)."""
    uu = np.asarray(_checks.vector(u, "u"))
    yy = _labels(y, uu.shape[0], "u")
    return float(np.mean(np.clip(1.0 - yy * uu, 0.0, 1.0)))


def _labels(y: Any, n: int | None, n_name: str) -> np.ndarray:
    yy = np.asarray(_checks.vector(y, "y", n, n_name))
    if not np.all(np.abs(yy) == 1.0):
        raise ValueError("y must hold labels +1 or -1")
    return yy


def _probability(delta: Any) -> float:
    d = _checks.positive(delta, "delta")
    if d >= 1:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    return d


class KernelBound(NamedTuple):
    """A high-probability bound on the test classification error of a kernel predictor,
    ``total = train_loss + 2 j / sqrt(n) + confidence`` (see :func:`arora_bound`).

    All fields have shape ``()`` for a scalar time and ``(T,)`` for ``T`` times.

    Attributes:
        total: the bound.
        train_loss: mean training ramp loss (0 for the interpolant, ``t = inf``).
        complexity: ``2 |f|_H sqrt(k_max / n)``; ``sqrt(2 y^T K^{-1} y / n)`` for ``H^infty``
            (``k_max = 1/2``) at ``t = inf``.
        rounding: ``2 j / sqrt(n) - complexity``, the price of a norm found after seeing data.
        confidence: ``3 sqrt(log(2 j (j + 1) / delta) / (2 n))``.
        norm: the RKHS norm ``|f|_H`` of the predictor.
    """

    total: np.ndarray
    train_loss: np.ndarray
    complexity: np.ndarray
    rounding: np.ndarray
    confidence: np.ndarray
    norm: np.ndarray


def flow_rkhs_norm(eigenvalues: Any, projections: Any, t: Any) -> np.ndarray:
    """RKHS norm of the kernel gradient-flow predictor from ``f_0 = 0`` at times ``t``:
    ``sqrt(sum_i (1 - exp(-lam_i t))^2 <v_i, y>^2 / lam_i)`` (``t = inf`` gives
    ``sqrt(y^T K^{-1} y)``).

    Args:
        eigenvalues: ``lam`` ``(n,)``, each ``> 0``; projections: ``<v_i, y>`` ``(n,)``.
        t: time ``>= 0`` or 1-D array of times ``(T,)``.

    Returns:
        shape ``()`` for a scalar ``t``, else ``(T,)``.
    """
    lam = np.asarray(_checks.vector(eigenvalues, "eigenvalues"))
    if np.any(lam <= 0):
        raise ValueError("eigenvalues must be > 0 (a positive-definite kernel matrix)")
    c = np.asarray(_checks.vector(projections, "projections", lam.shape[0], "eigenvalues"))
    ts = np.asarray(check_times(t))
    gain = np.where(np.isinf(ts)[:, None], 1.0,
                    -np.expm1(-lam[None, :] * np.where(np.isinf(ts), 0.0, ts)[:, None]))
    out = np.sqrt(np.sum(gain**2 * c[None, :] ** 2 / lam[None, :], axis=1))
    return out[0] if np.ndim(t) == 0 else out


def arora_bound(
    K: Any, y: Any, delta: float = 0.05, t: Any = np.inf, eig: Any | None = None
) -> KernelBound:
    """Rademacher bound on the test error of kernel gradient flow from zero, stopped at ``t``.

    For ``n`` i.i.d. training pairs and a kernel with ``k(x, x) <= k_max`` (``k_max`` is read off
    the diagonal of ``K``: exact for dot-product kernels on the sphere, where ``k(x, x)`` is
    constant), with probability ``>= 1 - delta`` every predictor ``f`` in the RKHS satisfies
    ``P[sign f(x) != y] <= ramp_train(f) + 2 j / sqrt(n) + 3 sqrt(log(2 j (j+1) / delta) / (2 n))``
    with ``j = max(1, ceil(|f|_H sqrt(k_max)))`` (Bartlett and Mendelson, 2002, with a union
    bound over the radii ``j / sqrt(k_max)``). At ``t = inf`` and ``K = H^infty`` the middle term
    is ``sqrt(2 y^T K^{-1} y / n)`` up to rounding: the bound of Arora et al. (2019).

    Args:
        K: positive-definite Gram matrix ``(n, n)`` on the training inputs.
        y: labels ``(n,)`` in {+1, -1}.
        delta: failure probability in ``(0, 1)``.
        t: gradient-flow time ``>= 0`` (``inf``: the minimum-norm interpolant), or ``(T,)``.
            Choosing the best of ``T`` times after seeing the data is covered by ``delta / T``.
        eig: optional ``(eigenvalues (n,), eigenvectors (n, n))`` of ``K`` (decreasing, as from
            :func:`ntkbook.spectrum.eigendecomposition`), to reuse one decomposition.

    Returns:
        :class:`KernelBound` (fields of shape ``()`` or ``(T,)``).
    """
    kk = np.asarray(_checks.square_symmetric(K, "K"))
    n = kk.shape[0]
    yy = _labels(y, n, "K")
    delta = _probability(delta)
    ts = np.asarray(check_times(t))
    if eig is None:
        lam, v = eigendecomposition(kk)
    else:
        lam, v = eig
    lam, v = np.asarray(lam), np.asarray(v)
    if lam.shape != (n,) or v.shape != (n, n):
        raise ValueError(f"eig must be (eigenvalues ({n},), eigenvectors ({n}, {n})), got "
                         f"shapes {lam.shape} and {v.shape}")
    if lam[-1] <= 0:
        raise ValueError("K must be positive definite (smallest eigenvalue <= 0)")
    c = v.T @ yy
    norm = flow_rkhs_norm(lam, c, ts)
    gain = np.where(np.isinf(ts)[:, None], 1.0,
                    -np.expm1(-lam[None, :] * np.where(np.isinf(ts), 0.0, ts)[:, None]))
    u = (gain * c[None, :]) @ v.T  # training outputs, (T, n)
    train = np.mean(np.clip(1.0 - yy[None, :] * u, 0.0, 1.0), axis=1)
    k_max = float(np.max(np.diag(kk)))
    scaled = norm * np.sqrt(k_max)
    j = np.maximum(1.0, np.ceil(scaled - 1e-12))
    complexity = 2 * scaled / np.sqrt(n)
    rounding = 2 * j / np.sqrt(n) - complexity
    confidence = 3 * np.sqrt(np.log(2 * j * (j + 1) / delta) / (2 * n))
    total = train + complexity + rounding + confidence
    fields = (total, train, complexity, rounding, confidence, norm)
    if np.ndim(t) == 0:
        fields = tuple(f[0] for f in fields)
    return KernelBound(*fields)


def heldout_bound(errors: Any, delta: float = 0.05) -> float:
    """Hoeffding bound on the test error from ``m`` held-out 0/1 errors ``(m,)``:
    with probability ``>= 1 - delta``, ``P[error] <= mean(errors) + sqrt(log(1/delta) / (2 m))``."""
    e = np.asarray(_checks.vector(errors, "errors"))
    if not np.all((e == 0) | (e == 1)):
        raise ValueError("errors must hold 0 (correct) or 1 (wrong) for each held-out point")
    delta = _probability(delta)
    return float(e.mean() + np.sqrt(np.log(1 / delta) / (2 * e.shape[0])))
