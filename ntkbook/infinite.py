"""Closed-form infinite-width kernels (NNGP and NTK) of deep fully connected networks.

Network (NTK parameterisation, ``depth`` hidden layers, one linear output):
``h^1 = w_std/sqrt(d) W^1 x + b_std b^1``,
``h^{l+1} = w_std/sqrt(n_l) W^{l+1} phi(h^l) + b_std b^{l+1}``,
``f = h^{depth+1}``, all weights and biases ``N(0, 1)``. As every width goes to infinity
(Neal, 1996; Lee et al., 2018; Jacot et al., 2018):

- ``Sigma^1(x, x') = w_std^2 x.x'/d + b_std^2`` and ``Theta^1 = Sigma^1``;
- ``Sigma^{l+1} = w_std^2 E[phi(u) phi(v)] + b_std^2``,
  ``dSigma^{l+1} = w_std^2 E[phi'(u) phi'(v)]`` with ``(u, v) ~ N(0, Sigma^l on {x, x'})``;
- ``Theta^{l+1} = Sigma^{l+1} + Theta^l * dSigma^{l+1}`` (elementwise).

``nngp = Sigma^{depth+1}`` is the covariance of ``f`` at initialisation and
``ntk = Theta^{depth+1}`` its neural tangent kernel.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

import numpy as np

from ntkbook import _checks
from ntkbook.kernels import _sq_dists

ACTIVATIONS = ("relu", "erf")


_NEG_INF = -np.inf


def _safe_sqrt(x: jax.Array) -> jax.Array:
    """``sqrt(max(x, 0))`` with a zero (not infinite) derivative at 0, so that ``jax.grad``
    through a zero gap (the diagonal, ``rho = 1``) gives finite values."""
    xp = _checks.namespace(x)
    pos = x > 0
    return xp.where(pos, xp.sqrt(xp.where(pos, x, 1.0)), 0.0)


def _safe_log(x: jax.Array) -> jax.Array:
    """``log x`` for ``x >= 0`` (``-inf`` at 0) whose derivative at 0 is 0, not NaN."""
    xp = _checks.namespace(x)
    pos = x > 0
    return xp.where(pos, xp.log(xp.where(pos, x, 1.0)), _NEG_INF)


def _t_minus_sin(t: jax.Array, sin: jax.Array) -> jax.Array:
    """``t - sin t`` for ``t`` in ``[0, pi]`` (``sin`` given), accurate for small ``t`` (Taylor
    series below 0.5, where the subtraction would cancel)."""
    xp = _checks.namespace(t)
    t2 = t * t
    series = t * t2 * (1 / 6 - t2 * (1 / 120 - t2 * (1 / 5040 - t2 * (
        1 / 362880 - t2 * (1 / 39916800.0 - t2 / 6227020800.0)))))
    return xp.where(t < 0.5, series, t - sin)


# Abramowitz & Stegun 4.4.46: arccos(a) = sqrt(1 - a) * poly(a) on [0, 1], |error| <= 2e-8.
_ACOS_POLY = (1.5707963050, -0.2145988016, 0.0889789874, -0.0501743046,
              0.0308918810, -0.0170881256, 0.0066700901, -0.0012624911)


def _arccos(x: jax.Array) -> jax.Array:
    """``arccos`` on ``[-1, 1]`` (float32: A&S 4.4.46, absolute error <= 2e-8; float64: the exact
    ``2 arctan(sqrt((1 - x)/(1 + x)))``)."""
    xp = _checks.namespace(x)
    if x.dtype != xp.float32:
        return 2 * xp.arctan(xp.sqrt((1 - x) / (1 + x)))
    a = xp.abs(x)
    poly = xp.full_like(a, _ACOS_POLY[-1])
    for coef in _ACOS_POLY[-2::-1]:
        poly = poly * a + coef
    r = xp.sqrt(1 - a) * poly
    return xp.where(x < 0, xp.pi - r, r)


def _angle(u: jax.Array) -> jax.Array:
    """``arccos(1 - u)`` for ``u = 1 - rho`` in ``[0, 2]``, from ``u`` itself (no ``1 - rho``
    cancellation; derivative finite at ``u = 0``).

    float32: ``sqrt(u) * poly(1 - u)`` (A&S 4.4.46, absolute error <= 2e-8, below float32
    rounding), much faster than XLA's CPU ``arccos``/``arctan2``. float64: the exact
    ``2 arctan(sqrt(u / (2 - u)))``.
    """
    xp = _checks.namespace(u)
    if u.dtype != xp.float32:
        den = xp.maximum(_safe_sqrt(2.0 - u), 1e-300)
        return 2 * xp.arctan(_safe_sqrt(u) / den)
    a = xp.abs(1.0 - u)
    poly = xp.full_like(a, _ACOS_POLY[-1])
    for coef in _ACOS_POLY[-2::-1]:
        poly = poly * a + coef
    root = _safe_sqrt(xp.where(u <= 1.0, u, 2.0 - u))  # sqrt(1 - |rho|)
    r = root * poly
    return xp.where(u > 1.0, xp.pi - r, r)


def _relu_expectations(q1, q2, c, g, log_s):
    """ReLU (arc-cosine kernel, Cho & Saul 2009) in normalised units.

    Inputs: variances ``q1, q2``, covariance ``c`` and the gap ``g = sqrt(q1 q2) - c >= 0``,
    all in units of ``exp(log_s)``. Returns ``E[relu(u) relu(v)]`` and the diagonal terms
    ``E[relu(u)^2] = q/2`` (both in the same units: ReLU is homogeneous), the gap
    ``sqrt(d1 d2) - k``, ``E[step(u) step(v)]`` (absolute) and the log-unit of the first
    three. The angle comes from the gap (``1 - rho = g / sqrt(q1 q2)``), never from
    ``arccos(rho)``, so it is exact at ``rho = 1`` and accurate near it."""
    xp = _checks.namespace(q1, q2, c, g)
    n = xp.sqrt(q1 * q2)
    pos = n > 0
    u = xp.clip(xp.where(pos, g / xp.where(pos, n, 1.0), 1.0), 0.0, 2.0)  # 1 - rho
    angle = _angle(u)
    sin = _safe_sqrt(u * (2.0 - u))
    k = n * (sin + (xp.pi - angle) * (1.0 - u)) / (2 * xp.pi)
    gap = n * ((xp.pi - angle) * u + _t_minus_sin(angle, sin)) / (2 * xp.pi)
    kdot = (xp.pi - angle) / (2 * xp.pi)
    return k, q1 / 2, q2 / 2, gap, kdot, log_s


def _erf_expectations(q1, q2, c, g, log_s):
    """erf (Williams, 1997): ``E[erf(u) erf(v)] = 2/pi arcsin(2c / sqrt((1+2q1)(1+2q2)))``,
    ``E[erf'(u) erf'(v)] = 4/pi / sqrt((1+2q1)(1+2q2) - 4c^2)``, in absolute units.

    Written with ``(1+2q1)(1+2q2) - 4c^2 = S + 4 g (n + c)`` (``S = 1 + 2q1 + 2q2``,
    ``n = sqrt(q1 q2)``) and ``arcsin(z) = arctan2(z, sqrt(1 - z^2))``, everything divided by
    ``r^2``, ``r = max(1, exp(log_s))``: no ``1 - z^2`` cancellation, no overflow for large
    inputs or ``w_std``, and the diagonal is exactly ``2/pi arcsin(2q / (1 + 2q))``.

    The new gap ``sqrt(d1 d2) - k`` is the sum of ``d_m - k`` (``d_m`` the value at ``c = n``),
    ``2/pi arcsin(2 g (n + c) / (n sqrt(D) + c sqrt(S)))`` by the arcsine subtraction
    formula (no cancellation for ``c >= 0``), and ``sqrt(d1 d2) - d_m``, which only depends on
    the ratio of the variances and is even in ``delta = log(q1 / q2) / 2``: for small
    ``delta``, where it would cancel, it is the series ``A delta^2 + B delta^4`` fitted to its
    values at two reference ratios."""
    xp = _checks.namespace(q1, q2, c, g)
    shrink = xp.exp(xp.minimum(log_s, 0.0))  # values / r
    eps = xp.exp(-xp.maximum(log_s, 0.0))  # 1 / r
    q1s, q2s, cs, gs = q1 * shrink, q2 * shrink, c * shrink, g * shrink
    two_pi = 2 / xp.pi

    def diag(q):  # 2/pi arcsin(2q / (1 + 2q)), scaled
        return two_pi * xp.arctan2(2 * q, _safe_sqrt(eps * eps + 2 * eps * (q + q)))

    def mixed(a, b):  # d_m: 2/pi arcsin(2 sqrt(ab) / sqrt((1 + 2a)(1 + 2b))), scaled
        return two_pi * xp.arctan2(2 * xp.sqrt(a * b), _safe_sqrt(
            eps * eps + 2 * eps * (a + b)))

    n = xp.sqrt(q1s * q2s)
    ss = eps * eps + 2 * eps * (q1s + q2s)
    dd = ss + 4 * gs * (n + cs)
    root = _safe_sqrt(dd)
    k = two_pi * xp.arctan2(2 * cs, root)
    kdot = xp.where(dd > 0, 4 / xp.pi * eps / xp.where(dd > 0, root, 1.0), 0.0)
    d1, d2 = diag(q1s), diag(q2s)
    dm = mixed(q1s, q2s)
    den = n * root + cs * _safe_sqrt(ss)
    ratio = xp.where(den > 0, 2 * gs * (n + cs) / xp.where(den > 0, den, 1.0), 0.0)
    part2 = xp.where(cs >= 0, two_pi * xp.arcsin(xp.clip(ratio, 0.0, 1.0)), dm - k)
    # sqrt(d1 d2) - d_m, quadratic in delta near 0 (direct evaluation there cancels)
    pos = (q1s > 0) & (q2s > 0)
    delta = xp.where(pos, 0.5 * xp.log(xp.where(pos, q1s / xp.where(pos, q2s, 1.0), 1.0)),
                      0.0)
    def split(dl):  # sqrt(d1 d2) - d_m for variances n e^dl, n e^-dl
        qa, qb = n * xp.exp(dl), n * xp.exp(-dl)
        return xp.sqrt(xp.maximum(diag(qa) * diag(qb), 0.0)) - mixed(qa, qb)

    # an even function of delta: A delta^2 + B delta^4 fitted at ref and 2 ref, where the direct
    # evaluation is still accurate (ref balances the cancellation error eps / ref^2 against the
    # truncation error ref^4: about 1e-5 relative in float32, 3e-11 in float64)
    ref_d = 0.06 if q1s.dtype == xp.float32 else 2e-3
    h1, h2 = split(ref_d), split(2 * ref_d)
    b4 = (h2 - 4 * h1) / 12
    z = (delta / ref_d) ** 2
    direct = xp.sqrt(xp.maximum(d1 * d2, 0.0)) - dm
    part1 = xp.where(xp.abs(delta) < ref_d, (h1 - b4) * z + b4 * z * z, direct)
    gap = xp.maximum(part1 + part2, 0.0)
    return k, d1, d2, gap, kdot, xp.zeros_like(log_s)


def _relu_diag_kdot(q, log_s):
    """``E[step(u)^2] = 1/2`` (``1/4`` for a zero variance, as the matrix formula gives)."""
    xp = _checks.namespace(q)
    return xp.where(q > 0, 0.5, 0.25)


def _erf_diag_kdot(q, log_s):
    """``E[erf'(u)^2] = 4/pi / sqrt(1 + 4q)``, in the scaled form of
    :func:`_erf_expectations`."""
    xp = _checks.namespace(q)
    qs = q * xp.exp(xp.minimum(log_s, 0.0))
    eps = xp.exp(-xp.maximum(log_s, 0.0))
    dd = eps * eps + 2 * eps * (qs + qs)
    return xp.where(dd > 0, 4 / xp.pi * eps / xp.sqrt(xp.where(dd > 0, dd, 1.0)), 0.0)


_EXPECTATIONS = {"relu": _relu_expectations, "erf": _erf_expectations}
_DIAG_KDOT = {"relu": _relu_diag_kdot, "erf": _erf_diag_kdot}


def _mix(log_a, log_b):
    """``(alpha, beta, log_m)`` with ``alpha = exp(log_a - log_m)``, ``beta = exp(log_b -
    log_m)``, ``log_m = max(log_a, log_b)``: a sum ``e^log_a X + e^log_b`` in units
    ``e^log_m``."""
    xp = _checks.namespace(log_a, log_b)
    log_m = xp.maximum(log_a, log_b)
    log_m = xp.where(xp.isfinite(log_m), log_m, 0.0)
    return xp.exp(log_a - log_m), xp.exp(log_b - log_m), log_m


def _affine(a1, a2, k, gap, alpha, beta):
    """``q' = alpha d + beta``, ``c' = alpha k + beta`` and their gap
    ``sqrt(q1' q2') - c'``, written without cancellation:
    ``alpha (sqrt(d1 d2) - k) + beta (sqrt(a1) - sqrt(a2))^2 / (sqrt(q1' q2') + sqrt(a1 a2) +
    beta)`` with ``a = alpha d``."""
    xp = _checks.namespace(a1, a2, k, gap)
    a1, a2 = alpha * a1, alpha * a2
    q1, q2 = a1 + beta, a2 + beta
    c = alpha * k + beta
    s1, s2 = _safe_sqrt(a1), _safe_sqrt(a2)
    den = xp.sqrt(q1 * q2) + s1 * s2 + beta
    extra = xp.where(den > 0, beta * (s1 - s2) ** 2 / xp.where(den > 0, den, 1.0), 0.0)
    return q1, q2, c, alpha * gap + extra


def _renormalise(q1, q2, c, g, log_m):
    xp = _checks.namespace(q1, q2, c, g)
    m = xp.maximum(xp.max(q1), xp.max(q2))
    m = xp.where(m > 0, m, 1.0)
    return q1 / m, q2 / m, c / m, g / m, log_m + xp.log(m)


def _recursion(x1, x2, depth, activation, w_std, b_std, square=False, frozen=0):
    """The recursion in normalised form: returns ``(S, log_s, T, log_t)`` with
    ``nngp = S exp(log_s)`` and ``ntk = T exp(log_t)``; the largest diagonal entry of ``S``
    and ``T`` is 1, so no layer can overflow or underflow whatever the depth or scales."""
    xp = _checks.namespace(x1, x2)
    d = x1.shape[1]
    log_w2 = xp.log(w_std**2)
    log_b2 = _safe_log(b_std**2)
    # first layer, from unit-free inputs: x = nu * xh with nu the largest row norm
    r1, r2 = xp.sum(x1**2, 1), xp.sum(x2**2, 1)
    nu2 = xp.maximum(xp.max(r1), xp.max(r2))
    nu2 = xp.where(nu2 > 0, nu2, 1.0)
    h1, h2 = _safe_sqrt(r1 / nu2), _safe_sqrt(r2 / nu2)
    u1 = xp.where(h1[:, None] > 0, x1 / xp.sqrt(nu2) / xp.where(h1 > 0, h1, 1.0)[:, None], 0)
    u2 = xp.where(h2[:, None] > 0, x2 / xp.sqrt(nu2) / xp.where(h2 > 0, h2, 1.0)[:, None], 0)
    cos = u1 @ u2.T
    # |h1||h2| - xh1.xh2 = |h1||h2| |u1 - u2|^2 / 2, by differences (exact 0 on the diagonal)
    dist2 = _sq_dists(u1, u2)
    hh = h1[:, None] * h2[None, :]
    alpha, beta, log_m = _mix(log_w2 + xp.log(nu2) - xp.log(xp.asarray(d, x1.dtype)),
                           log_b2)
    q1, q2, c, g = _affine((h1**2)[:, None], (h2**2)[None, :], hh * cos, hh * dist2 / 2,
                           alpha, beta)
    q1, q2, c, g, log_s = _renormalise(q1[:, 0], q2[0, :], c, g, log_m)
    expectations = _EXPECTATIONS[activation]
    diag_kdot = _DIAG_KDOT[activation]

    def layer(i, state):
        q1, q2, c, g, log_s, t, t1, t2, log_t = state
        k, d1, d2, gap, kdot, log_k = expectations(q1[:, None], q2[None, :], c, g, log_s)
        # diagonal terms of the NTK: the same expectations at (q, q, q, 0)
        kdot1 = diag_kdot(q1, log_s)
        kdot2 = diag_kdot(q2, log_s)
        alpha, beta, log_m = _mix(log_w2 + log_k, log_b2)
        q1n, q2n, c, g = _affine(d1, d2, k, gap, alpha, beta)
        q1, q2, c, g, log_s = _renormalise(q1n[:, 0], q2n[0, :], c, g, log_m)
        # Theta' = Sigma' + Theta * w2 kdot, in units exp(log_t')
        a_s, a_t, log_n = _mix(log_s, log_t + log_w2)
        a_s = xp.where(i + 2 > frozen, a_s, 0.0)  # layer i + 2 trained (Arora et al., 2020)
        t = a_s * c + a_t * t * kdot
        t1 = a_s * q1 + a_t * t1 * kdot1
        t2 = a_s * q2 + a_t * t2 * kdot2
        m = xp.maximum(xp.max(t1), xp.max(t2))
        m = xp.where(m > 0, m, 1.0)
        return q1, q2, c, g, log_s, t / m, t1 / m, t2 / m, log_n + xp.log(m)

    # a loop, not unrolled: unrolled, XLA fuses each layer into the next and recomputes it there,
    # so the cost grew quadratically with depth
    trained = frozen < 1  # layer 1 enters the NTK only if it is trained
    state = (q1, q2, c, g, log_s, xp.where(trained, c, 0.0), xp.where(trained, q1, 0.0),
             xp.where(trained, q2, 0.0), log_s)
    if xp is np:
        for i in range(depth):
            state = layer(i, state)
    else:
        state = jax.lax.fori_loop(0, depth, layer, state)
    q1, _, c, _, log_s, t, t1, _, log_t = state
    if square:  # the diagonal exactly as the recursion of the variances says
        idx = xp.arange(x1.shape[0])
        if xp is np:
            c, t = c.copy(), t.copy()
            c[idx, idx], t[idx, idx] = q1, t1
        else:
            c = c.at[idx, idx].set(q1)
            t = t.at[idx, idx].set(t1)
    return c, log_s, t, log_t


# traced inputs (jax.grad, jit): depth static, so the loop becomes a scan jax.grad can differentiate
_nngp_ntk = jax.jit(_recursion, static_argnames=("depth", "activation", "square"))


def _scaled(m: np.ndarray, log_scale: Any, what: str, depth: int) -> np.ndarray:
    """``m * exp(log_scale)`` (NumPy, concrete), refusing a result outside the float range of
    ``m.dtype`` instead of returning inf or an all-zero matrix."""
    dt = m.dtype
    info = np.finfo(dt)
    top = float(np.max(np.abs(m))) if m.size else 0.0
    log_top = float(log_scale) + (np.log(top) if top > 0 else -np.inf)
    if top > 0 and log_top > np.log(float(info.max)):
        raise ValueError(
            f"the {what} at depth {depth} is about 10^{log_top / np.log(10):.0f}, beyond the "
            f"largest {dt} ({float(info.max):.1e}): lower w_std or depth, or call "
            "ntkbook.backend.enable_x64()"
        )
    # every row's largest entry (an input's own variance, for a square kernel) must stay a
    # normal float too: rows of small inputs underflow first
    rows = np.max(np.abs(m.astype(np.float64)), axis=1) if m.size else np.zeros(0)
    low = float(rows[rows > 0].min()) if np.any(rows > 0) else 0.0
    if low > 0:
        log_top = min(log_top, float(log_scale) + np.log(low))
    if top > 0 and log_top < np.log(float(info.tiny)):
        raise ValueError(
            f"the {what} at depth {depth} is about 10^{log_top / np.log(10):.0f}, below the "
            f"smallest normal {dt} ({float(info.tiny):.1e}): raise w_std (sqrt(2) keeps a "
            "ReLU network's scale), lower depth, or call ntkbook.backend.enable_x64()"
        )
    return (m.astype(np.float64) * np.exp(float(log_scale))).astype(dt)


def nngp_ntk(
    x1: Any,
    x2: Any | None = None,
    depth: int = 1,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
) -> tuple[jax.Array, jax.Array]:
    """Infinite-width NNGP and NTK of an MLP with ``depth`` hidden layers.

    Args:
        x1: inputs, shape ``(n1, d)``.
        x2: inputs, shape ``(n2, d)``; ``None`` means ``x1``.
        depth: number of hidden layers (>= 0; 0 is the linear model).
        activation: ``"relu"`` or ``"erf"`` (``erf(x)`` itself).
        w_std, b_std: weight and bias scales (``w_std > 0``, ``b_std >= 0``).

    Returns:
        ``(nngp, ntk)``, each of shape ``(n1, n2)``.

    Accuracy: the recursion runs in normalised units with a separate log-scale, and the angle
    between two inputs comes from the gap ``sqrt(q1 q2) - c`` (never ``arccos`` of a rounded
    correlation), so results are accurate to a few units of float rounding per layer at any
    depth (float32 near 1e-7 relative for shallow kernels; deep erf networks with
    ``w_std^2 E[erf'^2] > 1`` amplify any input rounding, the problem's own conditioning), the
    diagonal is exactly the variance recursion, and ``jax.grad`` (in ``x1``, ``x2``, ``w_std``,
    ``b_std``) is finite everywhere, the diagonal included. A kernel whose values lie outside
    the float range (e.g. ReLU with ``w_std = 1`` at depth 200 in float32: ``2^-200``) is
    refused with a ``ValueError`` instead of returning zeros or ``inf``.

    Concrete inputs run the recursion in NumPy (nothing to compile for a new size or depth);
    traced ones (under ``jax.jit``, ``jax.grad``) run the same code in JAX.
    """
    depth = _checks.integer(depth, "depth", 0, _checks.MAX_DEPTH)
    return _kernels(x1, x2, depth, activation, w_std, b_std, 0)


def _kernels(x1, x2, depth, activation, w_std, b_std, frozen):
    """Checked inputs through the recursion (padded to a size bucket for concrete input)."""
    activation = _checks.choice(activation, "activation", ACTIVATIONS)
    w_std = _checks.positive(w_std, "w_std", squared=True, traced_ok=True)
    b_std = _checks.positive(b_std, "b_std", strict=False, squared=True, traced_ok=True)
    a, b = _checks.pair(x1, x2)
    square = x2 is None
    if _checks.is_traced(a, b, w_std, b_std):
        s, log_s, t, log_t = _nngp_ntk(a, b, depth, activation, w_std, b_std, square=square,
                                       frozen=frozen)
        return s * jnp.exp(log_s), t * jnp.exp(log_t)
    # concrete inputs: the same recursion in NumPy, in the compute dtype (no compilation, so
    # kernels of every size and depth cost no start-up time)
    dtype = a.dtype
    a = np.asarray(a)
    b = a if square else np.asarray(b)
    w, bb = np.asarray(w_std, dtype), np.asarray(b_std, dtype)
    with np.errstate(all="ignore"):  # (both branches of every where are evaluated)
        s, log_s, t, log_t = _recursion(a, b, depth, activation, w, bb, square=square,
                                        frozen=frozen)
    return (jnp.asarray(_scaled(np.asarray(s, dtype), log_s, "NNGP", depth)),
            jnp.asarray(_scaled(np.asarray(t, dtype), log_t, "NTK", depth)))


def h_infinity(x1: Any, x2: Any | None = None) -> jax.Array:
    """The Gram matrix ``H^inf`` of Du et al. (2019) and Arora et al. (2019), shape ``(n1, n2)``.

    It is the infinite-width NTK of the two-layer ReLU network
    ``f(x) = m^{-1/2} sum_r a_r relu(w_r . x)`` with ``w_r ~ N(0, I)`` trained and the output
    weights ``a_r = +-1`` frozen:
    ``H^inf(x, x') = E_w[x.x' 1{w.x >= 0} 1{w.x' >= 0}] = x.x' (pi - arccos(rho)) / (2 pi)``,
    ``rho`` the cosine of the angle between ``x`` and ``x'`` (0 where an input is zero).
    It is *not* the NTK of :func:`nngp_ntk` (both layers trained, ``1/d`` scaling, no constant
    factor relates the two).
    """
    a, b = _checks.pair(x1, x2)
    if _checks.is_traced(a, b):
        return _h_infinity_jit(a, b, x2 is None)
    return jnp.asarray(_h_infinity(np.asarray(a), np.asarray(b), x2 is None))


def _h_infinity(a, b, same):
    xp = _checks.namespace(a, b)
    dot = a @ b.T
    norm = xp.sqrt(xp.sum(a**2, 1)[:, None] * xp.sum(b**2, 1)[None, :])
    rho = xp.clip(dot / xp.where(norm > 0, norm, 1.0), -1.0, 1.0)
    if same:  # an input and itself: angle exactly 0 (rounding in rho would give ~sqrt(eps))
        rho = xp.where(xp.eye(a.shape[0], dtype=bool), 1.0, rho)
    return dot * (xp.pi - _arccos(rho)) / (2 * xp.pi)


_h_infinity_jit = jax.jit(_h_infinity, static_argnames=("same",))


# --- NTK with frozen first layers (Arora et al., 2020) ------------------------------------------


def ntk_frozen(
    x1: Any,
    x2: Any | None = None,
    depth: int = 1,
    frozen: int = 0,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
) -> jax.Array:
    """Infinite-width NTK of an MLP whose first ``frozen`` layers are not trained.

    Arora et al. (2020) "fix the first l layers": the weights and biases of layers
    ``1, ..., frozen`` keep their initial values, so their gradient terms drop out of the NTK
    recursion: ``Theta^1 = Sigma^1`` if layer 1 is trained, else 0, and
    ``Theta^{l+1} = Theta^l * dSigma^{l+1} + [l + 1 > frozen] Sigma^{l+1}``.
    ``frozen = 0`` is the usual NTK (:func:`nngp_ntk`), ``frozen = depth`` (only the output
    layer trained) the NNGP kernel.

    Args:
        x1: inputs ``(n1, d)``; x2: inputs ``(n2, d)`` or ``None`` for ``x1``.
        depth: number of hidden layers (>= 0).
        frozen: number of frozen layers, ``0 <= frozen <= depth``.
        activation, w_std, b_std: as in :func:`nngp_ntk`.

    Returns:
        The NTK, shape ``(n1, n2)``.
    """
    depth = _checks.integer(depth, "depth", 0, _checks.MAX_DEPTH)
    frozen = _checks.integer(frozen, "frozen", 0)
    if frozen > depth:
        raise ValueError(f"frozen must be <= depth ({depth}): the output layer is always "
                         f"trained, got {frozen}")
    return _kernels(x1, x2, depth, activation, w_std, b_std, frozen)[1]
