"""RKHS norm, generalisation bound and the lazy ratio against independent computations."""

import jax
import jax.flatten_util
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.bounds import generalization_bound, hessian_norm, lazy_ratio, rkhs_norm
from ntkbook.empirical import jacobian_features
from ntkbook.kernels import polynomial, polynomial_features
from ntkbook.nets import MLP, centered

enable_x64()
RNG = np.random.default_rng(6)


def test_rkhs_norm_is_norm_of_minimum_norm_interpolant():
    x, y = RNG.normal(size=(8, 2)), RNG.normal(size=8)
    phi = np.asarray(polynomial_features(x, 4, 1.0))  # 15 features > 8 points
    w = np.linalg.lstsq(phi, y, rcond=None)[0]  # minimum-norm solution of phi w = y
    np.testing.assert_allclose(rkhs_norm(polynomial(x, None, 4, 1.0), y), np.linalg.norm(w),
                               rtol=1e-6)


def test_generalization_bound_by_hand():
    # K = [[2, 1], [1, 2]], y = (1, 1): K^-1 y = (1/3, 1/3), y^T K^-1 y = 2/3
    k = np.array([[2.0, 1.0], [1.0, 2.0]])
    np.testing.assert_allclose(generalization_bound(k, [1.0, 1.0]), np.sqrt(2 * (2 / 3) / 2))
    np.testing.assert_allclose(rkhs_norm(k, [1.0, 1.0]), np.sqrt(2 / 3))


def _dense_hessians(net, p, x):
    flat, unravel = jax.flatten_util.ravel_pytree(p)
    return np.asarray(jax.hessian(lambda w: net(unravel(w), x))(flat))  # (n, P, P)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_hessian_norm_single_output_is_spectral_norm(activation):
    net = MLP(2, 6, 2, activation, b_std=0.2)
    p, x = net.init(0), RNG.normal(size=(1, 2))
    h = _dense_hessians(net, p, x)[0]
    np.testing.assert_allclose(hessian_norm(net, p, x), np.abs(np.linalg.eigvalsh(h)).max(),
                               rtol=1e-6)


def test_hessian_norm_two_outputs_by_brute_force():
    net = MLP(2, 5, 1, "erf")
    p, x = net.init(1), RNG.normal(size=(2, 2))
    t = _dense_hessians(net, p, x)
    brute = max(np.abs(np.linalg.eigvalsh(np.cos(a) * t[0] + np.sin(a) * t[1])).max()
                for a in np.linspace(0, np.pi, 2001))
    np.testing.assert_allclose(hessian_norm(net, p, x), brute, rtol=1e-4)


def test_lazy_ratio_parts_and_alpha_scaling():
    net = MLP(2, 32, 1, "erf")
    p, x, y = net.init(2), RNG.normal(size=(5, 2)), RNG.normal(size=5)
    r = lazy_ratio(net, p, x, y)
    jac = np.asarray(jacobian_features(net, p, x))
    np.testing.assert_allclose(r.jacobian_norm, np.linalg.norm(jac, 2), rtol=1e-8)
    np.testing.assert_allclose(r.residual, np.linalg.norm(net(p, x) - y), rtol=1e-10)
    np.testing.assert_allclose(r.kappa, r.residual * r.hessian_norm / r.jacobian_norm**2)
    # centred output at initialisation: kappa_alpha = |y| |D^2 y| / (alpha |D y|^2)
    k1 = lazy_ratio(centered(net, p, 1.0), p, x, y).kappa
    k10 = lazy_ratio(centered(net, p, 10.0), p, x, y).kappa
    np.testing.assert_allclose(k1 / k10, 10.0, rtol=1e-4)


def test_lazy_ratio_shrinks_with_width():
    x = RNG.normal(size=(6, 2))
    y = np.sin(x[:, 0])
    kappas = [np.mean([lazy_ratio(MLP(2, w, 1, "erf"), MLP(2, w, 1, "erf").init(s), x, y).kappa
                       for s in range(3)]) for w in (16, 256, 4096)]
    assert kappas[0] > kappas[1] > kappas[2]
    slope = np.polyfit(np.log([16, 256, 4096]), np.log(kappas), 1)[0]
    assert -0.8 < slope < -0.3, slope
