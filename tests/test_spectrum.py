"""Spectral filters against the computations they summarise: KRR solves (ours and
scikit-learn's), gradient descent run step by step, the closed-form gradient flow, brute-force
eigendecompositions and numpy's FFT."""

import math

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from ntkbook import spectrum
from ntkbook.backend import enable_x64
from ntkbook.datasets import unit_circle
from ntkbook.dynamics import gradient_flow
from ntkbook.kernels import gaussian, polynomial, polynomial_features
from ntkbook.methods import kernel_ridge

enable_x64()
RNG = np.random.default_rng(7)
X = RNG.uniform(-1, 1, size=(30, 2))
Y = np.sin(3 * X[:, 0]) + 0.1 * RNG.normal(size=30)
K = np.asarray(gaussian(X, None, 0.7))


def test_eigenvalues_sorted_and_match_numpy():
    lam = np.asarray(spectrum.eigenvalues(K))
    assert np.all(np.diff(lam) <= 0)
    np.testing.assert_allclose(lam, np.sort(np.linalg.eigvals(K).real)[::-1], atol=1e-10)
    lam2, v = spectrum.eigendecomposition(K)
    np.testing.assert_allclose(np.asarray(lam2), lam, atol=1e-12)
    np.testing.assert_allclose(np.asarray(v) @ np.diag(lam) @ np.asarray(v).T, K, atol=1e-10)
    np.testing.assert_allclose(np.asarray(v).T @ np.asarray(v), np.eye(30), atol=1e-10)


@pytest.mark.parametrize("ridge", [1e-3, 0.1, 2.0])
def test_krr_filter_equals_kernel_ridge_on_training_points(ridge):
    lam = spectrum.eigenvalues(K)
    fit = np.asarray(spectrum.spectral_apply(K, Y, spectrum.krr_filter(lam, ridge)))
    ours = np.asarray(kernel_ridge(K, Y, K, ridge))
    sk = KernelRidge(alpha=ridge, kernel="precomputed").fit(K, Y).predict(K)
    np.testing.assert_allclose(fit, ours, atol=1e-9)
    np.testing.assert_allclose(fit, sk, atol=1e-9)
    # and the direct matrix formula K (K + ridge I)^{-1} y
    np.testing.assert_allclose(fit, K @ np.linalg.solve(K + ridge * np.eye(30), Y), atol=1e-9)


def test_krr_filter_zero_ridge_is_projection_onto_range():
    k = X @ X.T  # rank 2
    lam = spectrum.eigenvalues(k)
    h = np.asarray(spectrum.krr_filter(lam, 0.0))
    assert h.sum() == 2
    fit = np.asarray(spectrum.spectral_apply(k, Y, h))
    np.testing.assert_allclose(fit, X @ np.linalg.lstsq(X, Y, rcond=None)[0], atol=1e-10)


def test_gd_filter_equals_running_gradient_descent():
    lam = spectrum.eigenvalues(K)
    lr = 1.0 / float(lam[0])
    checkpoints = [0, 1, 2, 5, 17, 60]
    u, out = np.zeros(30), {}
    for step in range(max(checkpoints) + 1):
        if step in checkpoints:
            out[step] = u.copy()
        u = u - lr * K @ (u - Y)
    h = spectrum.gd_filter(lam, lr, np.array(checkpoints))
    assert h.shape == (len(checkpoints), 30)
    fits = np.asarray(spectrum.spectral_apply(K, Y, h))
    for i, s in enumerate(checkpoints):
        np.testing.assert_allclose(fits[i], out[s], atol=1e-10)
    single = np.asarray(spectrum.gd_filter(lam, lr, 17))
    np.testing.assert_allclose(single, np.asarray(h)[4], atol=1e-14)


def test_flow_filter_equals_gradient_flow_and_small_step_limit():
    lam = spectrum.eigenvalues(K)
    ts = np.array([0.0, 0.5, 3.0, 40.0])
    fits = np.asarray(spectrum.spectral_apply(K, Y, spectrum.flow_filter(lam, ts)))
    np.testing.assert_allclose(fits, np.asarray(gradient_flow(K, Y, ts).train), atol=1e-9)
    # gradient descent with lr -> 0 and lr * steps = t approaches the flow
    t, steps = 3.0, 30000
    gd = np.asarray(spectrum.gd_filter(lam, t / steps, steps))
    np.testing.assert_allclose(gd, np.asarray(spectrum.flow_filter(lam, t)), atol=1e-3)


def test_flow_filter_infinite_time():
    h = np.asarray(spectrum.flow_filter(np.array([2.0, 1e-3, 0.0]), np.inf))
    np.testing.assert_array_equal(h, [1.0, 1.0, 0.0])


def test_filters_are_monotone_and_in_unit_interval():
    lam = np.geomspace(1.0, 1e-8, 50)
    for h in (spectrum.krr_filter(lam, 1e-3), spectrum.gd_filter(lam, 0.9, 1000),
              spectrum.flow_filter(lam, 1e3)):
        h = np.asarray(h)
        assert np.all((h >= 0) & (h <= 1)) and np.all(np.diff(h) <= 0)


def test_polynomial_kernel_rank_matches_feature_dimension_and_matrix_rank():
    x = np.random.default_rng(1).uniform(-1, 1, size=(80, 3))
    for degree in range(4):
        formula = spectrum.polynomial_kernel_rank(3, degree)
        assert formula == math.comb(3 + degree, degree)
        assert formula == polynomial_features(x, degree, 1.0).shape[1]
        k = np.asarray(polynomial(x, None, degree, 1.0))
        assert spectrum.numerical_rank(spectrum.eigenvalues(k), 1e-10) == formula
        assert np.linalg.matrix_rank(k) == formula


def test_fit_exponential_decay_recovers_known_rate():
    k = np.arange(1, 301)
    for d, c in [(1, 0.7), (2, 1.5), (3, 2.0)]:
        lam = 3.0 * np.exp(-c * k ** (1.0 / d))
        fit = spectrum.fit_exponential_decay(lam, d, rel_floor=1e-300)
        assert fit.rate == pytest.approx(c, rel=1e-10)
        assert fit.log_scale == pytest.approx(np.log(3.0), rel=1e-10)
        assert fit.count == 300
        np.testing.assert_allclose(fit(k, d), lam, rtol=1e-8)
    fit = spectrum.fit_exponential_decay(np.exp(-k / 10.0), 1, rel_floor=1e-5, skip=5)
    assert fit.count == int(np.sum((k > 5) & (np.exp(-k / 10.0) > 1e-5 * np.exp(-0.1))))


def test_circulant_eigenvalues_match_fft_and_eigh():
    gamma, x = unit_circle(24)
    k = np.asarray(gaussian(x, None, 0.8))
    c = k[0]
    # the kernel matrix on equally spaced circle points is circulant
    for i in range(24):
        np.testing.assert_allclose(k[i], np.roll(c, i), atol=1e-12)
    mu = np.asarray(spectrum.circulant_eigenvalues(c))
    np.testing.assert_allclose(mu, np.fft.fft(c).real, atol=1e-12)
    np.testing.assert_allclose(np.fft.fft(c).imag, 0, atol=1e-12)
    np.testing.assert_allclose(np.sort(mu)[::-1], np.asarray(spectrum.eigenvalues(k)), atol=1e-10)
    # Fourier vectors are eigenvectors
    for m in (0, 1, 5, 12):
        for f in (np.cos, np.sin):
            v = f(m * gamma)
            if np.linalg.norm(v) > 1e-9:
                np.testing.assert_allclose(k @ v, mu[m] * v, atol=1e-10)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: spectrum.eigenvalues(np.ones((2, 3))), "K must be a square"),
        (lambda: spectrum.eigenvalues(np.array([[1.0, 2.0], [0.0, 1.0]])), "K must be symmetric"),
        (lambda: spectrum.krr_filter([1.0, -0.5], 0.1), "eigenvalues must be >= 0"),
        (lambda: spectrum.krr_filter([1.0, np.nan], 0.1), "eigenvalues must hold only finite"),
        (lambda: spectrum.krr_filter([1.0], -1.0), "ridge"),
        (lambda: spectrum.gd_filter([1.0], 0.0, 3), "lr"),
        (lambda: spectrum.gd_filter([1.0], 0.1, 2.5), "steps"),
        (lambda: spectrum.gd_filter([1.0], 0.1, -1), "steps"),
        (lambda: spectrum.flow_filter([1.0], -1.0), "t must be"),
        (lambda: spectrum.flow_filter([1.0], "a"), "t must be"),
        (lambda: spectrum.flow_filter(np.ones((2, 2)), 1.0), "eigenvalues must be a 1-D"),
        (lambda: spectrum.spectral_apply(K, Y[:5], np.ones(30)), "y must have length 30"),
        (lambda: spectrum.spectral_apply(K, Y, np.ones(29)), "filter_values must have shape"),
        (lambda: spectrum.numerical_rank([1.0, 0.1], 1.5), "rtol"),
        (lambda: spectrum.polynomial_kernel_rank(0, 2), "d must be"),
        (lambda: spectrum.polynomial_kernel_rank(2, 1.5), "degree must be"),
        (lambda: spectrum.fit_exponential_decay([1.0, 2.0, 0.5], 1), "decreasing"),
        (lambda: spectrum.fit_exponential_decay([1.0, 0.5], 0), "d must be"),
        (lambda: spectrum.fit_exponential_decay([1.0, 1e-20], 1), "fewer than 2"),
        (lambda: spectrum.fit_exponential_decay([1.0, 0.5], 1, rel_floor=2.0), "rel_floor"),
        (lambda: spectrum.circulant_eigenvalues([1.0, 0.5, 0.2, 0.1]), "first_row must be symm"),
    ],
)
def test_bad_input_raises_value_error_naming_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()
