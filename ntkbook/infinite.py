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

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from ntkbook import _checks

ACTIVATIONS = ("relu", "erf")


# Abramowitz & Stegun 4.4.46: arccos(a) = sqrt(1 - a) * poly(a) on [0, 1], |error| <= 2e-8.
_ACOS_POLY = (1.5707963050, -0.2145988016, 0.0889789874, -0.0501743046,
              0.0308918810, -0.0170881256, 0.0066700901, -0.0012624911)


def _arccos(x: jax.Array) -> jax.Array:
    """``arccos`` on ``[-1, 1]``; these calls dominate the cost of the ReLU kernels.

    float32: a degree-7 polynomial times a square root (A&S 4.4.46, absolute error <= 2e-8,
    below float32 rounding), about 15x faster than XLA's CPU ``arccos``. float64: the exact
    ``2 arctan(sqrt((1 - x)/(1 + x)))`` (``x = -1`` gives ``2 arctan(inf) = pi``), since XLA's CPU
    ``arccos``/``arctan2`` are several times slower than its one-argument ``arctan``.
    """
    if x.dtype != jnp.float32:
        return 2 * jnp.arctan(jnp.sqrt((1 - x) / (1 + x)))
    a = jnp.abs(x)
    poly = jnp.full_like(a, _ACOS_POLY[-1])
    for coef in _ACOS_POLY[-2::-1]:
        poly = poly * a + coef
    r = jnp.sqrt(1 - a) * poly
    return jnp.where(x < 0, jnp.pi - r, r)


def _arcsin(x: jax.Array) -> jax.Array:
    """``arcsin`` on ``[-1, 1]`` as ``arctan(x / sqrt(1 - x^2))`` (``+-1`` give ``+-pi/2``)."""
    return jnp.arctan(x / jnp.sqrt(1 - x**2))


def _relu_expectations(q1, q2, c):
    """E[relu(u) relu(v)], E[step(u) step(v)] and the diagonals E[relu(u)^2] (arc-cosine kernel)."""
    norm = jnp.sqrt(q1[:, None] * q2[None, :])
    rho = jnp.clip(c / jnp.where(norm > 0, norm, 1.0), -1.0, 1.0)  # 0 where a variance is 0
    angle = jnp.pi - _arccos(rho)
    sin = jnp.sqrt(jnp.maximum(1.0 - rho**2, 0.0))
    k = norm * (sin + angle * rho) / (2 * jnp.pi)
    kdot = angle / (2 * jnp.pi)
    return k, kdot, q1 / 2, q2 / 2


def _erf_expectations(q1, q2, c):
    """E[erf(u) erf(v)], E[erf'(u) erf'(v)] and the diagonals (Williams, 1997)."""
    a1, a2 = 1 + 2 * q1, 1 + 2 * q2
    denom = jnp.sqrt(a1[:, None] * a2[None, :])
    k = 2 / jnp.pi * _arcsin(jnp.clip(2 * c / denom, -1.0, 1.0))
    kdot = 4 / jnp.pi / jnp.sqrt(jnp.maximum(a1[:, None] * a2[None, :] - 4 * c**2, 1e-30))
    d1 = 2 / jnp.pi * _arcsin(2 * q1 / a1)
    d2 = 2 / jnp.pi * _arcsin(2 * q2 / a2)
    return k, kdot, d1, d2


_EXPECTATIONS = {"relu": _relu_expectations, "erf": _erf_expectations}


@partial(jax.jit, static_argnames=("depth", "activation"))
def _nngp_ntk(x1, x2, depth, activation, w_std, b_std):
    d = x1.shape[1]
    w2, b2 = w_std**2, b_std**2
    q1 = w2 * jnp.sum(x1**2, 1) / d + b2
    q2 = w2 * jnp.sum(x2**2, 1) / d + b2
    sigma = w2 * (x1 @ x2.T) / d + b2

    def layer(_, state):
        q1, q2, sigma, theta = state
        k, kdot, d1, d2 = _EXPECTATIONS[activation](q1, q2, sigma)
        sigma = w2 * k + b2
        return w2 * d1 + b2, w2 * d2 + b2, sigma, sigma + theta * (w2 * kdot)

    # a loop, not unrolled: unrolled, XLA fuses each layer into the next and recomputes it there,
    # so the cost grew quadratically with depth
    _, _, sigma, theta = jax.lax.fori_loop(0, depth, layer, (q1, q2, sigma, sigma))
    return sigma, theta


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
    """
    depth = _checks.integer(depth, "depth", 0)
    activation = _checks.choice(activation, "activation", ACTIVATIONS)
    w_std = _checks.positive(w_std, "w_std")
    b_std = _checks.positive(b_std, "b_std", strict=False)
    a, b = _checks.pair(x1, x2)
    return _nngp_ntk(a, b, depth, activation, w_std, b_std)


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
    return _h_infinity(a, b, x2 is None)


@partial(jax.jit, static_argnames=("same",))
def _h_infinity(a, b, same):
    dot = a @ b.T
    norm = jnp.sqrt(jnp.sum(a**2, 1)[:, None] * jnp.sum(b**2, 1)[None, :])
    rho = jnp.clip(dot / jnp.where(norm > 0, norm, 1.0), -1.0, 1.0)
    if same:  # an input and itself: angle exactly 0 (rounding in rho would give ~sqrt(eps))
        rho = jnp.where(jnp.eye(a.shape[0], dtype=bool), 1.0, rho)
    return dot * (jnp.pi - _arccos(rho)) / (2 * jnp.pi)


# --- NTK with frozen first layers (Arora et al., 2020) ------------------------------------------


@partial(jax.jit, static_argnames=("activation",))  # depth traced: one compile per shape
def _ntk_frozen(x1, x2, depth, frozen, activation, w_std, b_std):
    d = x1.shape[1]
    w2, b2 = w_std**2, b_std**2
    q1 = w2 * jnp.sum(x1**2, 1) / d + b2
    q2 = w2 * jnp.sum(x2**2, 1) / d + b2
    sigma = w2 * (x1 @ x2.T) / d + b2
    theta = jnp.where(frozen < 1, sigma, 0.0)  # layer 1 contributes only if it is trained

    def layer(i, state):  # computes layer l = i + 2 from layer i + 1
        q1, q2, sigma, theta = state
        k, kdot, d1, d2 = _EXPECTATIONS[activation](q1, q2, sigma)
        sigma = w2 * k + b2
        theta = theta * (w2 * kdot) + jnp.where(i + 2 > frozen, sigma, 0.0)
        return w2 * d1 + b2, w2 * d2 + b2, sigma, theta

    _, _, _, theta = jax.lax.fori_loop(0, depth, layer, (q1, q2, sigma, theta))
    return theta


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
    depth = _checks.integer(depth, "depth", 0)
    frozen = _checks.integer(frozen, "frozen", 0)
    if frozen > depth:
        raise ValueError(f"frozen must be <= depth ({depth}): the output layer is always "
                         f"trained, got {frozen}")
    activation = _checks.choice(activation, "activation", ACTIVATIONS)
    w_std = _checks.positive(w_std, "w_std")
    b_std = _checks.positive(b_std, "b_std", strict=False)
    a, b = _checks.pair(x1, x2)
    return _ntk_frozen(a, b, depth, frozen, activation, w_std, b_std)
