"""Spectral embeddings built from a random walk on the data: diffusion maps.

An affinity matrix ``K`` of shape ``(n, n)`` (symmetric, entries >= 0, every row sum > 0, e.g. a
Gaussian kernel matrix) defines a Markov chain on the ``n`` points with transition matrix
``P = D^{-1} K``, ``D = diag(K 1)``: from point ``i`` the walk jumps to ``j`` with probability
``K[i, j] / d_i``. Its stationary distribution is ``pi = d / sum(d)``.

``P`` is not symmetric, but it is similar to the symmetric ``S = D^{-1/2} K D^{-1/2}``
(``P = D^{-1/2} S D^{1/2}``), so it has real eigenvalues ``1 = lam_0 >= lam_1 >= ...`` and right
eigenvectors ``psi_i = D^{-1/2} phi_i`` from the orthonormal eigenvectors ``phi_i`` of ``S``.
The first one, ``psi_0``, is constant (rows of ``P`` sum to 1) and carries no information.
The diffusion map at time ``t`` sends point ``j`` to ``(lam_1^t psi_1[j], ..., lam_c^t psi_c[j])``
(Coifman & Lafon, 2006); Laplacian eigenmaps (Belkin & Niyogi, 2003) use the same ``psi_i``
without the ``lam_i^t`` weights.

Normalisation: ``sum_j pi_j psi_i[j] psi_k[j] = delta_ik`` (so ``psi_0 = 1``). With it, the
Euclidean distance between two embedded points, using all ``n - 1`` components, equals the
*diffusion distance* ``sum_k (P^t[i, k] - P^t[j, k])^2 / pi_k``. Signs are fixed so that each
``psi_i``'s largest-magnitude entry is positive. The graph of ``K`` is assumed connected (a
single eigenvalue 1); otherwise which eigenvector is "the trivial one" is not defined.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks


def _affinity(K: Any) -> jax.Array:
    k = _checks.square_symmetric(K, "K")
    if np.any(np.asarray(k) < 0):
        raise ValueError("K must hold non-negative affinities (found a negative entry)")
    if np.any(np.asarray(k).sum(1) <= 0):
        raise ValueError("K must have a positive sum in every row (an isolated point has none)")
    return k


def markov_matrix(K: Any) -> jax.Array:
    """Row-normalised affinity ``P = D^{-1} K`` (each row sums to 1); shape ``(n, n)``.

    ``K`` is ``(n, n)``, symmetric, with entries >= 0 and positive row sums.
    """
    k = _affinity(K)
    return k / k.sum(1, keepdims=True)


def diffusion_eigenpairs(K: Any, n_components: int) -> tuple[jax.Array, jax.Array]:
    """The ``n_components`` leading non-trivial eigenpairs of ``P = D^{-1} K``.

    Args:
        K: affinity matrix ``(n, n)``: symmetric, entries >= 0, positive row sums.
        n_components: how many eigenpairs to keep after dropping the trivial one (``lam_0 = 1``,
            constant ``psi_0``); ``1 <= n_components <= n - 1``.

    Returns:
        ``(eigenvalues (c,), psi (n, c))``: eigenvalues ``lam_1 >= lam_2 >= ...`` of ``P`` and
        its right eigenvectors (``P @ psi = psi * eigenvalues``), normalised so that
        ``psi.T @ diag(pi) @ psi = I`` with ``pi = d / sum(d)``; signs fixed so that each
        column's largest-magnitude entry is positive.
    """
    k = _affinity(K)
    n = k.shape[0]
    n_components = _checks.integer(n_components, "n_components", 1)
    if n_components > n - 1:
        raise ValueError(
            f"n_components must be <= n - 1 = {n - 1} (the constant eigenvector is dropped), "
            f"got {n_components}"
        )
    d = k.sum(1)
    s = k / jnp.sqrt(d)[:, None] / jnp.sqrt(d)[None, :]
    lam, phi = jnp.linalg.eigh((s + s.T) / 2)
    lam, phi = lam[::-1][1:n_components + 1], phi[:, ::-1][:, 1:n_components + 1]
    psi = phi * jnp.sqrt(d.sum() / d)[:, None]  # D^{-1/2} phi, rescaled to pi-orthonormal
    idx = jnp.argmax(jnp.abs(psi), axis=0)
    psi = psi * jnp.sign(psi[idx, jnp.arange(psi.shape[1])])[None, :]
    return lam, psi


def diffusion_map(K: Any, n_components: int, t: float = 1) -> jax.Array:
    """Diffusion-map embedding ``lam_i^t psi_i`` for ``i = 1..n_components``; shape ``(n, c)``.

    Args:
        K: affinity matrix ``(n, n)`` (e.g. ``kernels.gaussian(x, bandwidth=s)``): symmetric,
            entries >= 0, positive row sums, connected graph.
        n_components: number of coordinates, ``1 <= n_components <= n - 1``.
        t: diffusion time, a real number >= 0 (the number of random-walk steps; ``t = 0`` gives
            the Laplacian-eigenmap coordinates ``psi_i``). Non-integer ``t`` needs the kept
            eigenvalues to be >= 0 (true when ``K`` is positive semi-definite).

    Returns:
        ``(n, n_components)`` array; see :func:`diffusion_eigenpairs` for the normalisation of
        ``psi_i`` and the sign convention.
    """
    t = _checks.positive(t, "t", strict=False)
    lam, psi = diffusion_eigenpairs(K, n_components)
    if t != int(t) and np.any(np.asarray(lam) < 0):
        raise ValueError(
            f"t must be an integer when P has negative eigenvalues among those kept, got {t}"
        )
    weights = lam ** int(t) if t == int(t) else lam**t
    return psi * weights[None, :]

