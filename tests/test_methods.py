"""Kernel methods against scikit-learn and brute force."""

import numpy as np
import pytest
from sklearn.decomposition import KernelPCA as SkKernelPCA
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF
from sklearn.kernel_ridge import KernelRidge

from ntkbook.backend import enable_x64
from ntkbook.datasets import circles
from ntkbook.kernels import gaussian, polynomial, polynomial_features
from ntkbook.methods import (
    gp_posterior,
    kernel_pca,
    kernel_pca_fit,
    kernel_ridge,
    kernel_ridge_loo,
    nadaraya_watson,
    ridge_primal,
)

enable_x64()
RNG = np.random.default_rng(5)
X = RNG.normal(size=(40, 2))
XT = RNG.normal(size=(9, 2))
Y = np.sin(X[:, 0]) + 0.1 * RNG.normal(size=40)


@pytest.mark.parametrize("ridge", [1e-3, 0.1, 10.0])
def test_kernel_ridge_matches_scikit_learn(ridge):
    k, kt = gaussian(X, None, 0.8), gaussian(XT, X, 0.8)
    ref = KernelRidge(alpha=ridge, kernel="precomputed").fit(np.asarray(k), Y)
    np.testing.assert_allclose(kernel_ridge(k, Y, kt, ridge), ref.predict(np.asarray(kt)),
                               rtol=1e-9, atol=1e-10)


def test_primal_with_explicit_features_equals_dual_with_kernel():
    phi, phi_t = polynomial_features(X, 3, 1.0), polynomial_features(XT, 3, 1.0)
    dual = kernel_ridge(polynomial(X, None, 3, 1.0), Y, polynomial(XT, X, 3, 1.0), 0.5)
    np.testing.assert_allclose(ridge_primal(phi, Y, phi_t, 0.5), dual, rtol=1e-8, atol=1e-10)


def test_leave_one_out_closed_form_matches_refitting():
    k = np.asarray(gaussian(X, None, 1.0))
    loo = kernel_ridge_loo(k, Y, 0.05)
    brute = []
    for i in range(len(Y)):
        m = np.arange(len(Y)) != i
        brute.append(Y[i] - kernel_ridge(k[m][:, m], Y[m], k[i:i + 1, m], 0.05)[0])
    np.testing.assert_allclose(loo, brute, rtol=1e-7, atol=1e-10)


def test_nadaraya_watson_is_a_weighted_average():
    k = np.asarray(gaussian(XT, X, 0.5))
    expected = [np.sum(k[i] * Y) / np.sum(k[i]) for i in range(len(XT))]
    np.testing.assert_allclose(nadaraya_watson(k, Y), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="k_test_train"):
        nadaraya_watson(np.zeros((2, 40)), Y)


def test_kernel_pca_matches_scikit_learn_including_new_points():
    x, _ = circles(120, seed=1)
    xt = RNG.normal(size=(10, 2)) * 0.5
    k, kt = np.asarray(gaussian(x, None, 0.3)), np.asarray(gaussian(xt, x, 0.3))
    ref = SkKernelPCA(4, kernel="precomputed").fit(k)
    ours = np.asarray(kernel_pca(k, 4))
    theirs = ref.transform(k)
    signs = np.sign(np.sum(ours * theirs, axis=0))  # eigenvectors are defined up to sign
    np.testing.assert_allclose(ours, theirs * signs, atol=1e-8)
    np.testing.assert_allclose(kernel_pca_fit(k, 4).transform(kt), ref.transform(kt) * signs,
                               atol=1e-8)
    # the embedding is centred and its columns are orthogonal with squared norms = eigenvalues
    np.testing.assert_allclose(ours.mean(0), 0, atol=1e-10)
    gram = ours.T @ ours
    np.testing.assert_allclose(gram, np.diag(np.diag(gram)), atol=1e-8)


def test_gp_posterior_matches_scikit_learn():
    gp = GaussianProcessRegressor(RBF(0.7), alpha=0.01, optimizer=None).fit(X, Y)
    mean_ref, std_ref = gp.predict(XT, return_std=True)
    mean, var = gp_posterior(gaussian(X, None, 0.7), Y, gaussian(XT, X, 0.7), np.ones(9), 0.01)
    np.testing.assert_allclose(mean, mean_ref, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(var), std_ref, rtol=1e-6, atol=1e-8)


def test_interpolation_needs_positive_definite_kernel():
    k = np.ones((3, 3))
    with pytest.raises(ValueError, match="positive definite"):
        kernel_ridge(k, np.arange(3.0), np.ones((1, 3)), 0.0)
