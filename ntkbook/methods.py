"""Kernel methods on precomputed kernel matrices.

Conventions: ``k_train`` is ``K(X, X)`` of shape ``(n, n)``; ``k_test_train`` is ``K(x, X)`` of
shape ``(m, n)``; targets ``y`` have shape ``(n,)`` (or ``(n, k)`` where stated).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg

from ntkbook import _checks
from ntkbook.dynamics import eigh_desc


def _test_train(k_test_train: Any, n: int) -> jax.Array:
    k = _checks.array(k_test_train, "k_test_train")
    if k.ndim != 2 or k.shape[1] != n:
        raise ValueError(f"k_test_train must have shape (m, {n}), got {tuple(k.shape)}")
    return k


def nadaraya_watson(k_test_train: Any, y: Any) -> jax.Array:
    """Nadaraya–Watson estimate ``sum_i K(x, x_i) y_i / sum_i K(x, x_i)``; shape ``(m,)``.

    Needs non-negative weights with a positive sum in every row (a Gaussian kernel whose
    bandwidth is so small that all weights underflow to 0 is rejected, not turned into NaN).
    """
    k = _checks.finite_array(k_test_train, "k_test_train")
    if k.ndim != 2:
        raise ValueError(f"k_test_train must be a 2-D (m, n) matrix, got shape {k.shape}")
    y = _checks.targets(y, k.shape[1], "the columns of k_test_train")
    if np.any(k < 0):
        raise ValueError("k_test_train must hold non-negative weights")
    sums = k.sum(1)
    if np.any(sums <= 0):
        raise ValueError(
            "k_test_train has a row whose weights sum to 0 (bandwidth too small for the data?)"
        )
    k = jnp.asarray(k)
    return (k @ y) / jnp.asarray(sums).reshape((-1,) + (1,) * (y.ndim - 1))


def _solve_psd(k: jax.Array, rhs: jax.Array, ridge: float, name: str) -> jax.Array:
    """``(k + ridge I)^{-1} rhs`` by Cholesky; a matrix that is not numerically positive
    definite is refused (for concrete values, solved by SciPy's LAPACK in their own dtype with
    nothing to compile; traced ones, solved by JAX, give NaN there instead)."""
    if _checks.is_traced(k, rhs, ridge):
        a = k + ridge * jnp.eye(k.shape[0], dtype=k.dtype)
        return jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(a), True), rhs)
    a = np.asarray(k) + ridge * np.eye(k.shape[0], dtype=k.dtype)
    try:
        factor = scipy.linalg.cho_factor(a, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} + ridge * I must be positive definite (try a ridge > 0)") \
            from None
    out = scipy.linalg.cho_solve(factor, np.asarray(rhs), check_finite=False)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} + ridge * I is too ill-conditioned to solve (try a larger ridge)")
    return jnp.asarray(out)


def kernel_ridge_coefficients(k_train: Any, y: Any, ridge: float) -> jax.Array:
    """Dual coefficients ``alpha = (K + ridge I)^{-1} y``; shape like ``y``."""
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    y = _checks.targets(y, k.shape[0], "k_train")
    ridge = _checks.positive(ridge, "ridge", strict=False, traced_ok=True)
    return _solve_psd(k, y, ridge, "k_train")


def kernel_ridge(k_train: Any, y: Any, k_test_train: Any, ridge: float) -> jax.Array:
    """Kernel ridge regression in the dual: ``K(x, X) (K + ridge I)^{-1} y``; shape ``(m,)``.

    ``ridge = 0`` is kernel (minimum-norm) interpolation and needs ``K`` positive definite.
    """
    alpha = kernel_ridge_coefficients(k_train, y, ridge)
    return _test_train(k_test_train, alpha.shape[0]) @ alpha


def ridge_primal(features_train: Any, y: Any, features_test: Any, ridge: float) -> jax.Array:
    """Ridge regression on explicit features: ``w = (Phi^T Phi + ridge I)^{-1} Phi^T y``.

    ``features_train`` is ``(n, D)``, ``features_test`` ``(m, D)``; returns ``(m,)``. It solves a
    ``D x D`` system where the dual solves ``n x n``: cheaper when ``D < n``.
    """
    phi = _checks.matrix(features_train, "features_train")
    phi_t = _checks.matrix(features_test, "features_test", dim=phi.shape[1],
                           dim_name="features_train")
    y = _checks.targets(y, phi.shape[0], "features_train")
    ridge = _checks.positive(ridge, "ridge", strict=False)
    w = _solve_psd(phi.T @ phi, phi.T @ y, ridge, "features_train^T features_train")
    return phi_t @ w


def kernel_ridge_loo(k_train: Any, y: Any, ridge: float) -> jax.Array:
    """Leave-one-out residuals of kernel ridge regression in closed form; shape ``(n,)``.

    With ``G = K + ridge I`` and ``alpha = G^{-1} y``, the residual at ``x_i`` of the model fitted
    without point ``i`` is ``y_i - f_{-i}(x_i) = alpha_i / (G^{-1})_{ii}``.
    """
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    y = _checks.vector(y, "y", k.shape[0], "k_train")
    ridge = _checks.positive(ridge, "ridge", strict=False)
    g_inv = _solve_psd(k, jnp.eye(k.shape[0], dtype=k.dtype), ridge, "k_train")
    return (g_inv @ y) / jnp.diag(g_inv)


def center_kernel(k: jax.Array) -> jax.Array:
    """Centre a kernel matrix in feature space: ``H K H`` with ``H = I - 11^T/n``."""
    return k - k.mean(0, keepdims=True) - k.mean(1, keepdims=True) + k.mean()


class KernelPCA(NamedTuple):
    """A fitted kernel PCA: eigenvalues ``(c,)`` of ``HKH`` (decreasing), eigenvectors ``(n, c)``,
    and the column means and overall mean of the training kernel (for out-of-sample centring)."""

    eigenvalues: jax.Array
    eigenvectors: jax.Array
    col_means: jax.Array
    mean: jax.Array

    def transform(self, k_new_train: Any) -> jax.Array:
        """Project new points from ``K(x_new, X)`` of shape ``(m, n)``: returns ``(m, c)``."""
        kx = _test_train(k_new_train, self.col_means.shape[0])
        kc = kx - kx.mean(1, keepdims=True) - self.col_means[None, :] + self.mean
        return kc @ (self.eigenvectors / jnp.sqrt(self.eigenvalues)[None, :])


def kernel_pca_fit(k: Any, n_components: int) -> KernelPCA:
    """Fit kernel PCA on ``K`` ``(n, n)``, keeping ``n_components`` directions of positive variance.

    Eigenvector signs are fixed so that each one's largest-magnitude entry is positive.
    """
    eps = _checks.eps_of(k)
    k = _checks.square_symmetric(k, "K", psd=True)
    n_components = _checks.integer(n_components, "n_components", 1)
    if n_components > k.shape[0]:
        raise ValueError(f"n_components must be <= n = {k.shape[0]}, got {n_components}")
    lam, v = eigh_desc(center_kernel(k))
    # numerical rank of HKH: eigenvalues above n * eps * lam_max (eps of K's float type and of
    # the computation) are signal; below that they are round-off directions
    rank = int(jnp.sum(lam > lam[0] * k.shape[0] * eps)) if float(lam[0]) > 0 else 0
    if n_components > rank:
        raise ValueError(
            f"n_components={n_components} exceeds the number of directions with positive "
            f"variance (the numerical rank of the centred kernel is {rank})"
        )
    lam, v = lam[:n_components], v[:, :n_components]
    idx = jnp.argmax(jnp.abs(v), axis=0)
    v = v * jnp.sign(v[idx, jnp.arange(v.shape[1])])[None, :]
    return KernelPCA(lam, v, k.mean(0), k.mean())


def kernel_pca(k: Any, n_components: int) -> jax.Array:
    """Kernel PCA embedding of the training points: ``v_i sqrt(lam_i)``; shape ``(n, c)``.

    ``lam_i, v_i`` are the eigenpairs of the feature-space-centred kernel ``HKH``; column ``i`` is
    the projection of every point on the ``i``-th principal direction in feature space.
    """
    fit = kernel_pca_fit(k, n_components)
    return fit.eigenvectors * jnp.sqrt(fit.eigenvalues)[None, :]


def gp_posterior(
    k_train: Any, y: Any, k_test_train: Any, k_test_diag: Any, noise: float = 0.0
) -> tuple[jax.Array, jax.Array]:
    """Gaussian-process posterior mean and variance at test points.

    ``mean = K(x, X)(K + noise I)^{-1} y``, ``var = k(x, x) - K(x, X)(K + noise I)^{-1} K(X, x)``.
    ``k_test_diag`` holds ``k(x, x)`` for each test point, shape ``(m,)``; ``noise`` is the
    observation-noise variance (>= 0). Returns ``(mean (m,), var (m,))``.
    """
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    y = _checks.vector(y, "y", k.shape[0], "k_train")
    kx = _test_train(k_test_train, k.shape[0])
    kdiag = _checks.vector(k_test_diag, "k_test_diag", kx.shape[0], "k_test_train")
    noise = _checks.positive(noise, "noise", strict=False, traced_ok=True)
    sol = _solve_psd(k, jnp.concatenate([y[:, None], kx.T], axis=1), noise, "k_train")
    mean = kx @ sol[:, 0]
    var = kdiag - jnp.sum(kx * sol[:, 1:].T, axis=1)
    return mean, jnp.maximum(var, 0.0)


# --- ridge paths, kernel SVMs and the small-data protocol (chapter 11) -------------------------


def kernel_ridge_path(k_train: Any, y: Any, k_test_train: Any, ridges: Any) -> jax.Array:
    """Kernel ridge predictions for many ridges from one eigendecomposition of ``K``.

    With ``K = V diag(lam) V^T``: ``f_ridge(x) = K(x, X) V diag(1/(lam + ridge)) V^T y``.
    ``ridges`` is ``(R,)``, each > 0; returns ``(R, m)``.
    """
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    y = _checks.vector(y, "y", k.shape[0], "k_train")
    kx = _test_train(k_test_train, k.shape[0])
    r = _checks.finite_array(ridges, "ridges").reshape(-1)
    if r.size == 0 or np.any(r <= 0):
        raise ValueError("ridges must be a non-empty list of numbers > 0")
    lam, v = eigh_desc(k)
    lam = jnp.maximum(lam, 0.0)
    coef = (v.T @ y)[None, :] / (lam[None, :] + jnp.asarray(r)[:, None])
    return coef @ (kx @ v).T


def svm_predict(k_train: Any, y: Any, k_test_train: Any, c: float) -> np.ndarray:
    """Labels predicted by a kernel SVM on a precomputed kernel (scikit-learn's ``SVC``).

    ``k_train`` is ``K(X, X)`` ``(n, n)``, ``y`` the ``(n,)`` class labels (any number of
    classes; ``SVC`` goes one-vs-one), ``k_test_train`` is ``K(x, X)`` ``(m, n)``, ``c`` the
    penalty ``C > 0``. Returns the ``(m,)`` predicted labels.
    """
    from sklearn.svm import SVC

    k = _checks.square_symmetric(k_train, "k_train")
    y = np.asarray(_checks.vector(y, "y", k.shape[0], "k_train"))
    kx = _test_train(k_test_train, k.shape[0])
    c = _checks.positive(c, "c")
    svc = SVC(kernel="precomputed", C=c).fit(np.asarray(k, dtype=float), y)
    return svc.predict(np.asarray(kx, dtype=float))


class SelectCV(NamedTuple):
    """Result of :func:`select_then_cv`.

    Attributes:
        best: name of the selected candidate.
        selection: validation accuracy of every candidate on the selection split (a dict).
        cv: test accuracy of the selected candidate on each of the folds, ``(n_folds,)``.
    """

    best: str
    selection: dict
    cv: np.ndarray


def select_then_cv(
    candidates: dict,
    y: Any,
    n_folds: int = 4,
    seed: int = 0,
    select_fraction: float = 0.5,
) -> SelectCV:
    """The protocol of Arora et al. (2020): select on one split, report k-fold accuracy.

    Each candidate (a classifier with its hyperparameters) is a function
    ``(train_idx, test_idx) -> predicted labels for test_idx``. Every candidate is fitted on one
    stratified split (a fraction ``select_fraction`` held out) and the one with the best
    held-out accuracy (the first on ties) is then evaluated by stratified ``n_folds``-fold
    cross-validation. ``y``: ``(n,)`` class labels. Splits are fixed by ``seed``.
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    if not candidates:
        raise ValueError("candidates must hold at least one (name -> function) entry")
    y = np.asarray(_checks.vector(y, "y"))
    n_folds = _checks.integer(n_folds, "n_folds", 2)
    if not 0 < float(select_fraction) < 1:
        raise ValueError(f"select_fraction must be in (0, 1), got {select_fraction}")
    idx = np.arange(len(y))
    tr, va = train_test_split(idx, test_size=select_fraction, stratify=y, random_state=seed)
    scores = {name: float(np.mean(fn(tr, va) == y[va])) for name, fn in candidates.items()}
    best = max(scores, key=scores.get)
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(idx, y)
    cv = np.array([np.mean(candidates[best](a, b) == y[b]) for a, b in folds])
    return SelectCV(best, scores, cv)


def svm_candidates(kernels: dict, y: Any, c_grid: Any) -> dict:
    """Candidates for :func:`select_then_cv`: one kernel SVM per kernel and penalty ``C``.

    ``kernels`` maps a name to the ``(n, n)`` Gram matrix on all ``n`` points (computed once;
    each split only slices it); ``y`` holds the ``(n,)`` labels; ``c_grid`` the values of ``C``.
    Returns ``{"name, C=c": (train_idx, test_idx) -> predicted labels}``.
    """
    y = np.asarray(_checks.vector(y, "y"))
    cs = _checks.finite_array(c_grid, "c_grid").reshape(-1)
    if cs.size == 0 or np.any(cs <= 0):
        raise ValueError("c_grid must be a non-empty list of numbers > 0")
    out = {}
    for name, k in kernels.items():
        k = np.asarray(_checks.square_symmetric(k, f"kernels[{name!r}]"), dtype=float)
        if k.shape[0] != len(y):
            raise ValueError(f"kernels[{name!r}] must be ({len(y)}, {len(y)}) to match y")
        for c in cs:
            def fit_predict(tr, te, k=k, c=float(c)):
                return svm_predict(k[np.ix_(tr, tr)], y[tr], k[np.ix_(te, tr)], c)

            out[f"{name}, C={c:g}"] = fit_predict
    return out
