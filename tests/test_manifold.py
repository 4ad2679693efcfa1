"""Diffusion maps against NumPy's non-symmetric eigensolver, a ring graph and a brute-force
diffusion distance."""

import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.datasets import moons
from ntkbook.kernels import gaussian
from ntkbook.manifold import diffusion_eigenpairs, diffusion_map, markov_matrix

enable_x64()
X, _ = moons(60, noise=0.08, seed=3)
K = np.asarray(gaussian(X, None, 0.4))


def _reference(k, c):
    """Leading non-trivial eigenpairs of P = D^{-1} K from np.linalg.eig (no symmetrising)."""
    p = k / k.sum(1, keepdims=True)
    lam, vec = np.linalg.eig(p)
    assert np.abs(lam.imag).max() < 1e-10
    order = np.argsort(-lam.real)
    return lam.real[order][1:c + 1], vec.real[:, order][:, 1:c + 1]


def test_markov_matrix_rows_sum_to_one():
    p = np.asarray(markov_matrix(K))
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-12)
    np.testing.assert_allclose(p, K / K.sum(1)[:, None], rtol=1e-12)


def test_eigenpairs_match_numpy_eig_of_the_non_symmetric_markov_matrix():
    c = 5
    lam, psi = map(np.asarray, diffusion_eigenpairs(K, c))
    lam_ref, vec_ref = _reference(K, c)
    np.testing.assert_allclose(lam, lam_ref, rtol=1e-9, atol=1e-12)
    p = K / K.sum(1, keepdims=True)
    np.testing.assert_allclose(p @ psi, psi * lam[None, :], atol=1e-10)  # right eigenvectors
    for i in range(c):  # same direction as NumPy's eigenvector, up to scale and sign
        a, b = psi[:, i] / np.linalg.norm(psi[:, i]), vec_ref[:, i] / np.linalg.norm(vec_ref[:, i])
        np.testing.assert_allclose(np.abs(a @ b), 1.0, atol=1e-8)


def test_normalisation_and_sign_convention():
    lam, psi = map(np.asarray, diffusion_eigenpairs(K, 6))
    pi = K.sum(1) / K.sum()
    np.testing.assert_allclose(psi.T @ (pi[:, None] * psi), np.eye(6), atol=1e-10)
    np.testing.assert_allclose(psi.T @ pi, 0.0, atol=1e-10)  # orthogonal to the constant psi_0
    assert np.all(psi[np.argmax(np.abs(psi), 0), np.arange(6)] > 0)
    assert np.all(np.diff(lam) <= 1e-12) and lam[0] < 1.0


@pytest.mark.parametrize("t", [0, 1, 3, 2.5])
def test_diffusion_time_scales_each_coordinate_by_lam_to_the_t(t):
    lam, psi = map(np.asarray, diffusion_eigenpairs(K, 4))
    np.testing.assert_allclose(diffusion_map(K, 4, t=t), psi * lam[None, :] ** t, atol=1e-12)


def test_embedding_distance_is_the_diffusion_distance():
    """With all n - 1 coordinates, |Psi_t(i) - Psi_t(j)|^2 = sum_k (P^t_ik - P^t_jk)^2 / pi_k."""
    x, _ = moons(25, noise=0.1, seed=0)
    k = np.asarray(gaussian(x, None, 0.5))
    t = 2
    emb = np.asarray(diffusion_map(k, 24, t=t))
    pt = np.linalg.matrix_power(k / k.sum(1, keepdims=True), t)
    pi = k.sum(1) / k.sum()
    brute = (((pt[:, None, :] - pt[None, :, :]) ** 2) / pi).sum(-1)
    ours = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.testing.assert_allclose(ours, brute, rtol=1e-7, atol=1e-10)


def _ring(n, self_loop):
    a = np.zeros((n, n))
    idx = np.arange(n)
    a[idx, (idx + 1) % n] = a[idx, (idx - 1) % n] = 1.0
    return a + self_loop * np.eye(n)


@pytest.mark.parametrize("n, self_loop", [(12, 1.0), (17, 0.0), (30, 1.0)])
def test_ring_graph_maps_onto_a_circle(n, self_loop):
    """On a cycle, P is circulant: eigenvalues (self_loop + 2 cos(2 pi k / n)) / (self_loop + 2),
    the top non-trivial one double, with Fourier eigenvectors; two coordinates put the nodes on
    a circle of radius sqrt(2) (pi is uniform), in ring order, 2 pi / n apart."""
    lam, psi = map(np.asarray, diffusion_eigenpairs(_ring(n, self_loop), 2))
    expected = (self_loop + 2 * np.cos(2 * np.pi / n)) / (self_loop + 2)
    np.testing.assert_allclose(lam, [expected, expected], rtol=1e-10)
    np.testing.assert_allclose((psi**2).sum(1), 2.0, rtol=1e-9)
    angles = np.arctan2(psi[:, 1], psi[:, 0])
    steps = np.angle(np.exp(1j * np.diff(np.append(angles, angles[0]))))
    np.testing.assert_allclose(np.abs(steps), 2 * np.pi / n, atol=1e-8)
    assert np.all(np.sign(steps) == np.sign(steps[0]))  # the walk goes round one way


def test_invariant_to_scaling_the_affinity():
    np.testing.assert_allclose(diffusion_map(K, 3), diffusion_map(7.5 * K, 3), atol=1e-10)


NOT_SYM = K.copy()
NOT_SYM[0, 1] += 0.5
NEG = K.copy()
NEG[0, 1] = NEG[1, 0] = -0.1
ZERO_ROW = K.copy()
ZERO_ROW[0, :] = ZERO_ROW[:, 0] = 0.0
NAN = K.copy()
NAN[2, 2] = np.nan


@pytest.mark.parametrize("call, name", [
    (lambda: diffusion_map(NOT_SYM, 2), "K"),
    (lambda: diffusion_map(NEG, 2), "K"),
    (lambda: diffusion_map(ZERO_ROW, 2), "K"),
    (lambda: diffusion_map(NAN, 2), "K"),
    (lambda: diffusion_map(K[:, :5], 2), "K"),
    (lambda: diffusion_map(K, 0), "n_components"),
    (lambda: diffusion_map(K, len(K)), "n_components"),
    (lambda: diffusion_map(K, 2.0), "n_components"),
    (lambda: diffusion_map(K, 2, t=-1), "t"),
    (lambda: diffusion_map(K, 2, t=np.inf), "t"),
    (lambda: diffusion_map(_ring(10, 0.0), 9, t=0.5), "t"),  # bipartite ring: eigenvalue -1
    (lambda: markov_matrix(NEG), "K"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
