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
        u_next = jnp.where(norm > 0, s / jnp.where(norm > 0, norm, 1.0), u)
        return (u_next, v), norm

    v0 = jax.random.normal(_checks.key(key), flat.shape, flat.dtype)
    u0 = jnp.ones(x.shape[0], flat.dtype) / jnp.sqrt(x.shape[0])
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
