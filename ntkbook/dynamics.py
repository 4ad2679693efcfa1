"""Gradient flow on the squared loss with a fixed kernel, solved in closed form.

With the loss ``L = 1/2 sum_i (f(x_i) - y_i)^2`` and a constant NTK ``H`` on the training set,
the training outputs obey ``du/dt = -H (u - y)``, so ``u(t) = y + exp(-H t) (u0 - y)``, and at
any other input ``f_t(x) = f_0(x) + k(x, X) H^{-1} (I - exp(-H t)) (y - u0)``.
With ``H = V diag(lam) V^T`` everything is a function of the eigenvalues: one eigendecomposition
serves every time, and ``t = inf`` gives kernel regression (the minimum-norm interpolant;
directions with ``lam = 0`` are left alone, a pseudo-inverse).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks


class GradientFlow(NamedTuple):
    """Solution of kernel gradient flow at the times ``t``.

    Attributes:
        t: times, shape ``(T,)`` (may hold ``inf``).
        train: training outputs ``u(t)``, shape ``(T, n)``.
        test: test outputs ``f_t(x)``, shape ``(T, m)``, or ``None``.
        loss: ``1/2 |u(t) - y|^2``, shape ``(T,)``.
        mode_residuals: ``exp(-2 lam_i t) <v_i, y - u0>^2``, shape ``(T, n)``; sums to ``2 loss``.
        eigenvalues: ``lam`` in decreasing order, shape ``(n,)``.
        eigenvectors: ``V`` (columns), shape ``(n, n)``.
    """

    t: jax.Array
    train: jax.Array
    test: jax.Array | None
    loss: jax.Array
    mode_residuals: jax.Array
    eigenvalues: jax.Array
    eigenvectors: jax.Array


def check_times(t: Any) -> jax.Array:
    """Times as a 1-D array of values >= 0 (``inf`` allowed, NaN not). Traced times (e.g.
    ``jax.grad`` in ``t``) are shape-checked only."""
    if _checks.is_traced(t):
        _checks.array(t, "t")
        if jnp.ndim(t) > 1:
            raise ValueError(f"t must be a scalar or 1-D array of times, got shape {t.shape}")
        return jnp.atleast_1d(t)
    msg = "t must be a scalar or 1-D array of times >= 0 (inf allowed, no NaN)"
    if t is None or isinstance(t, (str, bytes)):
        raise _checks.InputTypeError(f"{msg}, got {t!r:.40}")
    try:
        raw = np.asarray(t)
    except Exception as err:  # ragged lists
        raise _checks.InputTypeError(f"{msg} ({err})") from err
    if raw.dtype.kind not in "fiub":
        raise _checks.InputTypeError(f"{msg}, got dtype {raw.dtype}")
    arr = np.atleast_1d(raw.astype(float))
    if arr.ndim != 1 or arr.size == 0 or np.any(np.isnan(arr)) or np.any(arr < 0):
        raise ValueError(msg)
    return jnp.asarray(arr)


def eigh_desc(k: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Eigenvalues (decreasing, clipped at 0) and eigenvectors of a symmetric PSD matrix."""
    lam, v = jnp.linalg.eigh((k + k.T) / 2)
    return jnp.maximum(lam[::-1], 0.0), v[:, ::-1]


def _null_mask(lam: jax.Array) -> jax.Array:
    return lam <= lam[0] * lam.shape[0] * jnp.finfo(lam.dtype).eps


def _decay(lam: jax.Array, t: jax.Array) -> jax.Array:
    """``exp(-lam t)``, equal to 1 on the (numerical) null space; shape ``(T, n)``."""
    lt = jnp.where(_null_mask(lam)[None, :], 0.0, lam[None, :] * t[:, None])
    return jnp.exp(-lt)


def _gain(lam: jax.Array, t: jax.Array) -> jax.Array:
    """``(1 - exp(-lam t)) / lam`` (``= t`` at ``lam = 0`` for finite ``t``; 0 on the null space
    at ``t = inf``, i.e. the pseudo-inverse); shape ``(T, n)``."""
    null = _null_mask(lam)
    safe = jnp.where(null, 1.0, lam)
    g = -jnp.expm1(-safe[None, :] * t[:, None]) / safe[None, :]
    small = jnp.where(jnp.isinf(t)[:, None], 0.0, t[:, None]) * jnp.ones_like(lam)[None, :]
    return jnp.where(null[None, :], small, g)


def gradient_flow(
    k_train: Any,
    y: Any,
    t: Any,
    u0: Any | None = None,
    k_test_train: Any | None = None,
    f0_test: Any | None = None,
) -> GradientFlow:
    """Outputs of kernel gradient flow at the times ``t`` (see the module docstring).

    Args:
        k_train: NTK on the training inputs ``H``, shape ``(n, n)``, symmetric PSD.
        y: targets, shape ``(n,)``.
        t: times, scalar or ``(T,)``, each >= 0; ``inf`` gives the converged solution.
        u0: training outputs at ``t = 0`` (default zeros), shape ``(n,)``.
        k_test_train: ``k(x, X)`` for test inputs, shape ``(m, n)``.
        f0_test: test outputs at ``t = 0`` (default zeros), shape ``(m,)``.

    Works under ``jax.jit`` and ``jax.grad`` (traced arrays are shape-checked only; the PSD
    check needs concrete values).
    """
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    n = k.shape[0]
    y = _checks.vector(y, "y", n, "k_train")
    t = check_times(t)
    u0 = jnp.zeros(n, k.dtype) if u0 is None else _checks.vector(u0, "u0", n, "k_train")
    lam, v = eigh_desc(k)
    r0 = v.T @ (u0 - y)  # residual in the eigenbasis
    decay = _decay(lam, t)
    train = y[None, :] + (decay * r0[None, :]) @ v.T
    mode_residuals = decay**2 * r0[None, :] ** 2
    test = None
    if k_test_train is not None:
        kx = _checks.array(k_test_train, "k_test_train")
        if kx.ndim != 2 or kx.shape[1] != n:
            raise ValueError(f"k_test_train must have shape (m, {n}), got {tuple(kx.shape)}")
        m = kx.shape[0]
        f0 = jnp.zeros(m, kx.dtype) if f0_test is None else _checks.vector(f0_test, "f0_test", m,
                                                                 "k_test_train")
        coef = _gain(lam, t) * (-r0)[None, :]  # (T, n) in the eigenbasis
        test = f0[None, :] + coef @ (jnp.asarray(kx) @ v).T
    elif f0_test is not None:
        raise ValueError("f0_test needs k_test_train")
    return GradientFlow(t, train, test, 0.5 * mode_residuals.sum(1), mode_residuals, lam, v)


def ntk_gp(
    ntk_train: Any,
    nngp_train: Any,
    ntk_test_train: Any,
    nngp_test_train: Any,
    nngp_test: Any,
    y: Any,
    t: Any,
) -> tuple[jax.Array, jax.Array]:
    """Mean and covariance over random initialisations of an infinitely wide network trained by
    gradient flow for time ``t`` (Lee et al., 2019, their eq. 16, with our loss ``1/2 sum``).

    With ``A(t) = Theta(x, X) Theta^{-1} (I - exp(-Theta t))`` (shape ``(m, n)``):
    ``mean = A y`` and ``cov = K(x, x) + A K A^T - A K(X, x) - K(x, X) A^T``.

    Args:
        ntk_train ``(n, n)``, nngp_train ``(n, n)``: kernels on the training inputs.
        ntk_test_train ``(m, n)``, nngp_test_train ``(m, n)``: test-by-train kernels.
        nngp_test ``(m, m)``: NNGP on the test inputs. y ``(n,)``. t: times ``(T,)``.

    Returns:
        ``mean`` of shape ``(T, m)`` and ``cov`` of shape ``(T, m, m)``.
    """
    theta = _checks.square_symmetric(ntk_train, "ntk_train", psd=True)
    n = theta.shape[0]
    kxx = _checks.square_symmetric(nngp_train, "nngp_train", psd=True)
    if kxx.shape != (n, n):
        raise ValueError(f"nngp_train must have shape ({n}, {n}) like ntk_train")
    tx = _checks.finite_array(ntk_test_train, "ntk_test_train")
    m = tx.shape[0] if tx.ndim == 2 else -1
    if tx.ndim != 2 or tx.shape[1] != n:
        raise ValueError(f"ntk_test_train must have shape (m, {n}), got {tx.shape}")
    kx = _checks.finite_array(nngp_test_train, "nngp_test_train")
    if kx.shape != (m, n):
        raise ValueError(f"nngp_test_train must have shape ({m}, {n}), got {kx.shape}")
    ktt = _checks.square_symmetric(nngp_test, "nngp_test", psd=True)
    if ktt.shape != (m, m):
        raise ValueError(f"nngp_test must have shape ({m}, {m}), got {ktt.shape}")
    y = _checks.vector(y, "y", n, "ntk_train")
    t = check_times(t)
    lam, v = eigh_desc(theta)
    a = jnp.einsum("mi,ti,ni->tmn", jnp.asarray(tx) @ v, _gain(lam, t), v)
    kx = jnp.asarray(kx)
    mean = a @ y
    cross = a @ kx.T
    cov = ktt[None] + a @ kxx @ jnp.swapaxes(a, 1, 2) - cross - jnp.swapaxes(cross, 1, 2)
    return mean, cov
