"""Label projections, predicted losses, circle spectra and Fourier features against independent
computations (matrix exponential, explicit gradient-descent iterations, dense eigensolvers,
least-squares fits, explicit trigonometric sums)."""

import numpy as np
import pytest
from scipy.linalg import expm

from ntkbook.backend import enable_x64
from ntkbook.datasets import unit_circle
from ntkbook.infinite import nngp_ntk
from ntkbook.kernels import gaussian
from ntkbook.spectral_bias import (circulant_spectrum, fourier_amplitudes, fourier_features,
                                   label_projections, predicted_loss)

enable_x64()
RNG = np.random.default_rng(9)


def _psd(n, rank=None):
    a = RNG.normal(size=(n, rank or n))
    return a @ a.T / n


def test_label_projections_match_dense_eigensolver_and_sum_to_norm():
    k, y = _psd(7), RNG.normal(size=7)
    res = label_projections(k, y)
    lam, v = np.linalg.eigh(k)
    np.testing.assert_allclose(res.eigenvalues, lam[::-1], rtol=1e-10)
    # squared projections do not depend on the sign of each eigenvector
    np.testing.assert_allclose(res.projections, (v[:, ::-1].T @ y) ** 2, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(np.sum(res.projections), y @ y, rtol=1e-12)
    v_ours = np.asarray(res.eigenvectors)
    np.testing.assert_allclose(v_ours @ np.diag(res.eigenvalues) @ v_ours.T, k, atol=1e-12)


def test_label_projections_identity_kernel_of_eigenvector_labels():
    # y = v_3 of K: all the energy sits in the third direction
    k = _psd(6)
    lam, v = np.linalg.eigh(k)
    res = label_projections(k, 2.0 * v[:, -3])
    expected = np.zeros(6)
    expected[2] = 4.0
    np.testing.assert_allclose(res.projections, expected, atol=1e-10)


def test_predicted_loss_flow_matches_matrix_exponential():
    k, y = _psd(6), RNG.normal(size=6)
    res = label_projections(k, y)
    ts = np.array([0.0, 0.1, 0.7, 3.0])
    ours = predicted_loss(res.eigenvalues, res.projections, ts)
    # u(t) - y = -expm(-K t) y for u0 = 0
    ref = [0.5 * np.sum((expm(-k * t) @ y) ** 2) for t in ts]
    np.testing.assert_allclose(ours, ref, rtol=1e-9)
    assert float(ours[0]) == pytest.approx(0.5 * y @ y)


def test_predicted_loss_gd_matches_explicit_iterations():
    k, y = _psd(5), RNG.normal(size=5)
    lr = 0.7 / np.linalg.eigvalsh(k)[-1]
    res = label_projections(k, y)
    u, losses = np.zeros(5), []
    for _ in range(13):
        losses.append(0.5 * np.sum((u - y) ** 2))
        u = u - lr * k @ (u - y)
    ours = predicted_loss(res.eigenvalues, res.projections, lr * np.arange(13), lr=lr)
    np.testing.assert_allclose(ours, losses, rtol=1e-9)


def test_predicted_loss_gd_with_overshooting_step_stays_correct():
    # lr * lam > 1: the factor (1 - lr lam) is negative, its even powers are not
    ours = predicted_loss([3.0, 0.5], [1.0, 4.0], [0.0, 0.5, 1.0], lr=0.5)
    ref = [0.5 * (1 + 4), 0.5 * ((-0.5) ** 2 + 4 * 0.75**2), 0.5 * ((-0.5) ** 4 + 4 * 0.75**4)]
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


def test_circulant_spectrum_matches_eigvalsh_with_multiplicities():
    for n in (16, 15):
        _, x = unit_circle(n)
        _, k = nngp_ntk(x, depth=2, b_std=0.3)
        mu = np.asarray(circulant_spectrum(k))
        assert mu.shape == (n // 2 + 1,)
        mult = [mu[0]] + [m for m in mu[1:(n + 1) // 2] for _ in range(2)]
        if n % 2 == 0:
            mult.append(mu[-1])
        np.testing.assert_allclose(np.sort(mult), np.linalg.eigvalsh(np.asarray(k)), atol=1e-10)
        # and the Fourier mode of frequency 3 is an eigenvector with eigenvalue mu[3]
        gamma = 2 * np.pi * np.arange(n) / n
        c = np.cos(3 * gamma + 0.4)
        np.testing.assert_allclose(np.asarray(k) @ c, mu[3] * c, atol=1e-10)


def test_fourier_amplitudes_recover_known_cosines_and_least_squares():
    n = 32
    j = np.arange(n)
    amps = {0: 0.5, 1: 1.0, 4: 0.3, 9: 2.0, 16: 0.25}
    phases = {0: 0.0, 1: 0.3, 4: -1.2, 9: 2.5, 16: 0.0}
    r = sum(a * np.cos(2 * np.pi * j * k / n + phases[k]) for k, a in amps.items())
    out = np.asarray(fourier_amplitudes(r))
    expected = np.zeros(n // 2 + 1)
    for k, a in amps.items():
        expected[k] = a
    np.testing.assert_allclose(out, expected, atol=1e-12)
    # independent route: least squares on explicit cos/sin columns
    noise = RNG.normal(size=n)
    cols = [np.ones(n)] + [f(2 * np.pi * j * k / n) for k in range(1, n // 2)
                           for f in (np.cos, np.sin)] + [np.cos(np.pi * j)]
    coef = np.linalg.lstsq(np.stack(cols, 1), noise, rcond=None)[0]
    ls = np.concatenate([[abs(coef[0])], np.hypot(coef[1:-1:2], coef[2:-1:2]), [abs(coef[-1])]])
    np.testing.assert_allclose(np.asarray(fourier_amplitudes(noise)), ls, atol=1e-10)
    # leading axes are kept
    assert fourier_amplitudes(np.stack([r, noise])).shape == (2, n // 2 + 1)


def test_fourier_features_by_explicit_sum_and_shift_invariance():
    x, b = RNG.normal(size=(5, 2)), RNG.normal(size=(3, 2))
    phi = np.asarray(fourier_features(x, b))
    assert phi.shape == (5, 6)
    for i in range(5):
        for j in range(3):
            z = 2 * np.pi * (b[j, 0] * x[i, 0] + b[j, 1] * x[i, 1])
            assert phi[i, j] == pytest.approx(np.cos(z))
            assert phi[i, 3 + j] == pytest.approx(np.sin(z))
    gram = phi @ phi.T
    diff = x[:, None, :] - x[None, :, :]
    ref = np.cos(2 * np.pi * diff @ b.T).sum(-1)
    np.testing.assert_allclose(gram, ref, atol=1e-12)
    np.testing.assert_allclose(np.diag(gram), 3.0)


def test_fourier_feature_kernel_converges_to_gaussian():
    # E_b cos(2 pi b (x - x')) with b ~ N(0, s^2) is exp(-2 pi^2 s^2 |x - x'|^2) (Bochner)
    x = np.linspace(0, 1, 9)[:, None]
    s, m = 0.8, 200_000
    b = s * np.random.default_rng(0).normal(size=(m, 1))
    phi = np.asarray(fourier_features(x, b))
    bandwidth = 1 / (2 * np.pi * s)
    np.testing.assert_allclose(phi @ phi.T / m, gaussian(x, None, bandwidth), atol=1e-2)


@pytest.mark.parametrize("call, name", [
    (lambda: fourier_features(np.ones(3), np.ones((2, 1))), "x"),
    (lambda: fourier_features(np.ones((3, 2)), np.ones((2, 3))), "B"),
    (lambda: label_projections(np.ones((2, 3)), np.ones(2)), "K"),
    (lambda: label_projections(np.array([[1.0, 0.0], [0.0, -1.0]]), np.ones(2)), "K"),
    (lambda: label_projections(np.eye(3), np.ones(2)), "y"),
    (lambda: label_projections(np.eye(2), [1.0, np.nan]), "y"),
    (lambda: predicted_loss([1.0, -1.0], [1.0, 1.0], 1.0), "eigenvalues"),
    (lambda: predicted_loss([1.0, 2.0], [1.0], 1.0), "projections"),
    (lambda: predicted_loss([1.0], [1.0], -1.0), "t"),
    (lambda: predicted_loss([1.0], [1.0], 1.0, lr=0.0), "lr"),
    (lambda: predicted_loss([1.0], [1.0], 0.25, lr=0.1), "t"),
    (lambda: circulant_spectrum(np.array([[2.0, 1.0, 0.0], [1.0, 2.0, 1.0], [0.0, 1.0, 2.0]])),
     "K"),
    (lambda: circulant_spectrum(np.ones((2, 3))), "K"),
    (lambda: fourier_amplitudes(np.zeros((2, 0))), "r"),
    (lambda: fourier_amplitudes([1.0, np.inf]), "r"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
