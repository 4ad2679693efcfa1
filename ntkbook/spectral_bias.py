"""What the spectrum of a kernel says about training: label projections, predicted losses,
Fourier analysis on the circle, and Fourier feature maps.

With a fixed kernel ``H = sum_i lam_i v_i v_i^T`` (eigenvalues in decreasing order) and
``u0 = 0``, gradient flow on ``L = 1/2 |u - y|^2`` leaves the residual
``<v_i, u(t) - y> = -exp(-lam_i t) <v_i, y>`` in each eigendirection, so the training loss is
``1/2 sum_i exp(-2 lam_i t) <v_i, y>^2`` (gradient descent with step ``lr``: the factor
``(1 - lr lam_i)^(2k)`` after ``k`` steps). The *label projections* ``<v_i, y>^2`` therefore
decide how fast the labels can be fitted (Arora et al., 2019).

For inputs equally spaced on the unit circle a rotation-invariant kernel matrix is circulant:
its eigenvectors are the discrete Fourier modes ``cos(k gamma), sin(k gamma)`` and its eigenvalue
per frequency ``k`` is given by :func:`circulant_spectrum`; :func:`fourier_amplitudes` measures
how much of each frequency a signal on such a grid holds (spectral bias, Rahaman et al., 2019).

:func:`fourier_features` is the map ``x -> [cos(2 pi B x), sin(2 pi B x)]`` of Tancik et al.
(2020), which makes any dot-product kernel of the mapped inputs shift-invariant.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks
from ntkbook.spectrum import circulant_eigenvalues
from ntkbook.dynamics import check_times, eigh_desc


class LabelProjections(NamedTuple):
    """Eigen-decomposition of a kernel matrix and the labels' energy in each eigendirection.

    Attributes:
        eigenvalues: ``lam`` in decreasing order (clipped at 0), shape ``(n,)``.
        eigenvectors: ``V`` (columns ``v_i``), shape ``(n, n)``.
        projections: ``<v_i, y>^2``, shape ``(n,)``; they sum to ``|y|^2``.
    """

    eigenvalues: jax.Array
    eigenvectors: jax.Array
    projections: jax.Array


def fourier_features(x: Any, B: Any) -> jax.Array:
    """Fourier feature map of Tancik et al. (2020): ``[cos(2 pi x B^T), sin(2 pi x B^T)]``.

    Args:
        x: inputs, shape ``(n, d)``.
        B: frequencies, shape ``(m, d)`` (e.g. ``sigma * N(0, 1)`` entries).

    Returns:
        Features of shape ``(n, 2m)``: the ``m`` cosines, then the ``m`` sines. Every row has
        squared norm ``m``, and ``phi(x) . phi(x') = sum_j cos(2 pi b_j . (x - x'))`` depends on
        ``x - x'`` only.
    """
    x = _checks.matrix(x, "x")
    b = _checks.matrix(B, "B", dim=x.shape[1], dim_name="x")
    z = 2 * jnp.pi * (x @ b.T)
    return jnp.concatenate([jnp.cos(z), jnp.sin(z)], axis=1)


def label_projections(K: Any, y: Any) -> LabelProjections:
    """Eigenvalues ``lam_i`` (decreasing) and eigenvectors ``v_i`` of a symmetric PSD kernel
    matrix ``K`` ``(n, n)`` and the squared projections ``<v_i, y>^2`` of labels ``y`` ``(n,)``."""
    k = _checks.square_symmetric(K, "K", psd=True)
    y = _checks.vector(y, "y", k.shape[0], "K")
    lam, v = eigh_desc(k)
    return LabelProjections(lam, v, (v.T @ y) ** 2)


def predicted_loss(eigenvalues: Any, projections: Any, t: Any, lr: float | None = None
                   ) -> jax.Array:
    """Training loss predicted from the spectrum, starting from ``u0 = 0``.

    Gradient flow (``lr=None``): ``1/2 sum_i exp(-2 lam_i t) p_i``. Gradient descent with step
    ``lr``: ``1/2 sum_i (1 - lr lam_i)^(2k) p_i`` after ``k = t / lr`` steps (``t`` must then be
    a multiple of ``lr``; ``t = lr * step``).

    Args:
        eigenvalues: ``lam`` ``(n,)``, each >= 0. projections: ``p_i = <v_i, y>^2`` ``(n,)``.
        t: times, scalar or ``(T,)``, each >= 0 (finite when ``lr`` is given); at ``t = inf``
            the directions with numerically zero eigenvalues (``lam <= n eps lam_max``) keep
            their projection.
        lr: step size of gradient descent, or ``None`` for gradient flow.

    Returns:
        The loss at each time, shape ``(T,)``.
    """
    lam = _checks.vector(eigenvalues, "eigenvalues")
    if np.any(np.asarray(lam) < 0):
        raise ValueError("eigenvalues must all be >= 0")
    p = _checks.vector(projections, "projections", lam.shape[0], "eigenvalues")
    t = check_times(t)
    if lr is None:
        # exp(-2 lam t); at t = inf 0, except 1 on the numerical null space
        # (lam <= n eps lam_max, as in ntkbook.dynamics): those directions are never fitted
        # (not exp(-0 * inf) = NaN)
        null = lam <= lam.shape[0] * _checks.eps_of(eigenvalues) * jnp.max(lam)
        inf = jnp.isinf(t)[:, None]
        finite = jnp.exp(-2 * lam[None, :] * jnp.where(inf, 0.0, t[:, None]))
        decay = jnp.where(inf, jnp.where(null[None, :], 1.0, 0.0), finite)
        return 0.5 * decay @ p
    lr = _checks.positive(lr, "lr")
    steps = np.asarray(t) / lr
    if not np.all(np.isfinite(steps)) or np.any(np.abs(steps - np.round(steps)) > 1e-6 *
                                                 np.maximum(steps, 1)):
        raise ValueError("t must hold finite multiples of lr (t = lr * step) when lr is given")
    k = jnp.asarray(np.round(steps))
    decay = ((1 - lr * lam[None, :]) ** 2) ** k[:, None]
    return 0.5 * decay @ p


def circulant_spectrum(K: Any) -> jax.Array:
    """Eigenvalue per frequency of a symmetric circulant matrix ``K`` ``(n, n)``, e.g. a
    rotation-invariant kernel on ``n`` equally spaced points of the circle.

    Returns ``mu`` of shape ``(n // 2 + 1,)``: ``mu[k] = sum_j K[0, j] cos(2 pi j k / n)`` is the
    eigenvalue of both modes ``cos(k gamma)`` and ``sin(k gamma)`` (one mode for ``k = 0`` and,
    for even ``n``, ``k = n / 2``), so ``K`` has these ``n`` eigenvalues with multiplicity.
    """
    tol = max(1e-8, 1e3 * _checks.eps_of(K))  # relative; float32 input gets float32 slack
    k = np.asarray(_checks.square_symmetric(K, "K"))
    n = k.shape[0]
    idx = (np.arange(n)[None, :] - np.arange(n)[:, None]) % n  # K[i, j] = c[(j - i) mod n]
    if np.max(np.abs(k[0][idx] - k)) > tol * max(np.max(np.abs(k)), 1e-300):
        raise ValueError("K must be circulant (each row the previous one shifted right by one)")
    return circulant_eigenvalues(k[0].astype(_checks.input_dtype(K)))[: n // 2 + 1]


def fourier_amplitudes(r: Any) -> jax.Array:
    """Amplitude per frequency of signals sampled on ``n`` equally spaced points of a period.

    For ``r_j = sum_k a_k cos(2 pi j k / n + phi_k)`` (``j = 0..n-1``, ``0 <= k <= n // 2``)
    returns the ``a_k >= 0``, shape ``r.shape[:-1] + (n // 2 + 1,)`` (the last axis of ``r`` is
    the grid; leading axes, e.g. time, are kept).
    """
    arr = _checks.finite_array(r, "r")
    if arr.ndim < 1 or arr.shape[-1] < 1:
        raise ValueError(f"r must have at least one sample on its last axis, got {arr.shape}")
    n = arr.shape[-1]
    scale = np.full(n // 2 + 1, 2.0 / n)
    scale[0] = 1.0 / n
    if n % 2 == 0:
        scale[-1] = 1.0 / n
    return jnp.abs(jnp.fft.rfft(jnp.asarray(arr), axis=-1)) * jnp.asarray(scale)
