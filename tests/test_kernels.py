"""Classical kernels: PSD, explicit feature maps, random Fourier features, vs scikit-learn."""

import math

import numpy as np
import pytest
from sklearn.metrics.pairwise import polynomial_kernel, rbf_kernel

from ntkbook.backend import enable_x64
from ntkbook.kernels import (
    gaussian,
    linear,
    polynomial,
    polynomial_features,
    random_fourier_features,
)

enable_x64()
RNG = np.random.default_rng(0)
X = RNG.normal(size=(25, 3))
Y = RNG.normal(size=(7, 3))


@pytest.mark.parametrize(
    "kernel",
    [
        lambda a, b: linear(a, b),
        lambda a, b: polynomial(a, b, degree=3, c=1.0),
        lambda a, b: polynomial(a, b, degree=2, c=0.0),
        lambda a, b: gaussian(a, b, bandwidth=0.7),
    ],
)
def test_kernel_matrices_are_symmetric_psd(kernel):
    k = np.asarray(kernel(X, X))
    assert np.allclose(k, k.T)
    assert np.linalg.eigvalsh(k).min() > -1e-10 * np.abs(k).max()


def test_against_scikit_learn():
    np.testing.assert_allclose(gaussian(X, Y, bandwidth=1.3),
                               rbf_kernel(X, Y, gamma=1 / (2 * 1.3**2)), rtol=1e-12)
    np.testing.assert_allclose(polynomial(X, Y, degree=3, c=0.5),
                               polynomial_kernel(X, Y, degree=3, gamma=1.0, coef0=0.5), rtol=1e-12)
    np.testing.assert_allclose(linear(X, Y), X @ Y.T, rtol=1e-12)


@pytest.mark.parametrize("d", [1, 2, 4])
@pytest.mark.parametrize("degree", [0, 1, 2, 3])
@pytest.mark.parametrize("c", [0.0, 0.7])
def test_polynomial_features_reproduce_the_kernel(d, degree, c):
    x = RNG.normal(size=(6, d))
    phi = np.asarray(polynomial_features(x, degree=degree, c=c))
    expected_dim = math.comb(d + degree, degree) if c > 0 else math.comb(d + degree - 1, degree)
    assert phi.shape == (6, expected_dim)
    np.testing.assert_allclose(phi @ phi.T, (x @ x.T + c) ** degree, atol=1e-12, rtol=1e-12)


def test_polynomial_features_of_the_notes():
    # (x1^2, sqrt(2) x1 x2, x2^2) for d = 2, degree 2, c = 0
    x = np.array([[2.0, 3.0]])
    np.testing.assert_allclose(polynomial_features(x, 2, 0.0), [[4.0, 6 * np.sqrt(2), 9.0]])


def test_random_fourier_features_error_shrinks_like_inverse_sqrt():
    k = np.asarray(gaussian(X, None, bandwidth=1.5))
    dims = np.array([64, 256, 1024, 4096])
    errs = []
    for dim in dims:
        e = [np.abs(np.asarray(random_fourier_features(X, dim, 1.5, key=s)) @
                    np.asarray(random_fourier_features(X, dim, 1.5, key=s)).T - k).mean()
             for s in range(8)]
        errs.append(np.mean(e))
    slope = np.polyfit(np.log(dims), np.log(errs), 1)[0]
    assert -0.65 < slope < -0.35, slope
    assert errs[-1] < 0.03


def test_random_features_are_consistent_across_inputs():
    a = random_fourier_features(X, 100, 1.0, key=3)
    b = random_fourier_features(X[:5], 100, 1.0, key=3)
    np.testing.assert_allclose(a[:5], b)


def test_squared_distances_in_blocks_against_scipy_and_the_traced_path():
    # concrete inputs run in NumPy, rows in blocks (here 6 blocks of 52 rows); traced ones in JAX
    import jax
    from scipy.spatial.distance import cdist

    from ntkbook.kernels import squared_distances

    a, b = RNG.normal(size=(300, 50)) + 5.0, RNG.normal(size=(400, 50)) + 5.0
    want = cdist(a, b, "sqeuclidean")
    got = squared_distances(a, b)
    assert got.shape == (300, 400)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(squared_distances)(a, b), want, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(lambda u: gaussian(u, bandwidth=3.0))(a),
                               gaussian(a, bandwidth=3.0), rtol=1e-12)
