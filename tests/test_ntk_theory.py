"""Dual activations, the one-hidden-layer NTK on the sphere and the Hoeffding width bound,
against Monte Carlo, finite differences, ``ntkbook.infinite`` and autodiff."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook import ntk_theory
from ntkbook.backend import enable_x64
from ntkbook.empirical import empirical_ntk
from ntkbook.infinite import nngp_ntk
from ntkbook.nets import MLP

enable_x64()
RNG = np.random.default_rng(11)
D = 3
X = RNG.normal(size=(6, D))
X /= np.linalg.norm(X, axis=1, keepdims=True)
DPHI = {"relu": lambda z: (z > 0).astype(float),
        "erf": lambda z: 2 / np.sqrt(np.pi) * np.exp(-(z**2))}


def _phi(activation, z):
    if activation == "relu":
        return np.maximum(z, 0.0)
    from scipy.special import erf

    return erf(z)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_dual_activation_matches_monte_carlo(activation):
    rho = np.array([-0.9, -0.3, 0.0, 0.5, 0.95])
    k, kdot = ntk_theory.dual_activation(rho, activation)
    rng = np.random.default_rng(0)
    u, e = rng.normal(size=(2, 400_000))
    for r, kk, kd in zip(rho, k, kdot):
        v = r * u + np.sqrt(1 - r**2) * e
        assert abs(np.mean(_phi(activation, u) * _phi(activation, v)) - kk) < 5e-3
        assert abs(np.mean(DPHI[activation](u) * DPHI[activation](v)) - kd) < 5e-3


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_dual_derivative_is_the_derivative(activation):
    rho = np.linspace(-0.95, 0.95, 11)
    h = 1e-6
    k_plus, _ = ntk_theory.dual_activation(rho + h, activation)
    k_minus, _ = ntk_theory.dual_activation(rho - h, activation)
    _, kdot = ntk_theory.dual_activation(rho, activation)
    np.testing.assert_allclose((k_plus - k_minus) / (2 * h), kdot, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_sphere_ntk_matches_deep_recursion_with_input_scaling(activation):
    y = RNG.normal(size=(4, D))
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    nngp, ntk = ntk_theory.sphere_ntk(X, y, activation)
    # ntkbook.infinite scales the first layer by 1/sqrt(d): feed sqrt(d) x to undo it
    nngp_ref, ntk_ref = nngp_ntk(np.sqrt(D) * X, np.sqrt(D) * y, 1, activation, 1.0, 0.0)
    np.testing.assert_allclose(nngp, nngp_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ntk, ntk_ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_sphere_ntk_matches_wide_network(activation):
    m = 20_000
    net = MLP(D, m, 1, activation)  # h = W (sqrt(d) x) / sqrt(d) = W x, f = a . phi(h) / sqrt(m)
    errs = []
    _, ntk = ntk_theory.sphere_ntk(X, None, activation)
    for seed in range(3):
        k = empirical_ntk(net, net.init(seed), np.sqrt(D) * X)
        errs.append(np.abs(np.asarray(k) - ntk).max())
    assert np.mean(errs) < 6 / np.sqrt(m) * np.abs(ntk).max()


def test_sphere_ntk_is_symmetric_psd_with_known_diagonal():
    nngp, ntk = ntk_theory.sphere_ntk(X, None, "relu")
    np.testing.assert_allclose(ntk, ntk.T, atol=1e-14)
    assert np.linalg.eigvalsh(ntk).min() > -1e-12
    # rho = 1: phi_dual(1) = E[relu(u)^2] = 1/2, phi_dual'(1) = 1/2
    # (arccos has an infinite slope at 1: a rounding error of 1e-16 in x.x costs ~1e-8)
    np.testing.assert_allclose(np.diag(ntk), 1.0, rtol=1e-7)
    np.testing.assert_allclose(np.diag(nngp), 0.5, rtol=1e-7)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_first_layer_ntk_matches_autodiff(activation):
    m = 50
    w = RNG.normal(size=(m, D))
    a = np.where(RNG.random(m) < 0.5, -1.0, 1.0)
    phi = jax.nn.relu if activation == "relu" else jax.scipy.special.erf

    def f(params, x):
        return phi(x @ params["w"].T) @ a / np.sqrt(m)

    k = empirical_ntk(f, {"w": jnp.asarray(w)}, X, strategy="jacobian")
    np.testing.assert_allclose(ntk_theory.first_layer_ntk(X, w, activation), k,
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_first_layer_ntk_limit_matches_monte_carlo(activation):
    w = np.random.default_rng(5).normal(size=(400_000, D))
    h_emp = ntk_theory.first_layer_ntk(X, w, activation)
    h_star = ntk_theory.first_layer_ntk(X, None, activation)
    assert np.abs(h_emp - h_star).max() < 0.01


def test_hoeffding_width_inverts_deviation():
    m = ntk_theory.hoeffding_width(10, np.array([0.1, 1.0]), 0.05)
    np.testing.assert_allclose(ntk_theory.hoeffding_deviation(10, m, 0.05), [0.1, 1.0])
    # scaling m = O(eps^-2 n^2 log(n/delta))
    assert np.isclose(ntk_theory.hoeffding_width(10, 0.5, 0.05)
                      / ntk_theory.hoeffding_width(10, 1.0, 0.05), 4.0)
    assert ntk_theory.hoeffding_width(1, 1.0, 0.05) == pytest.approx(2 * np.log(2 / 0.05))


def test_hoeffding_bound_holds_in_simulation():
    # the bound must hold in (at least) a fraction 1 - delta of random initialisations
    n, m, delta = 8, 200, 0.2
    x = np.random.default_rng(1).normal(size=(n, D))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    h_star = ntk_theory.first_layer_ntk(x, None, "relu")
    eps = float(ntk_theory.hoeffding_deviation(n, m, delta))
    rng = np.random.default_rng(2)
    fails = [np.linalg.norm(ntk_theory.first_layer_ntk(x, rng.normal(size=(m, D))) - h_star, 2)
             > eps for _ in range(200)]
    assert np.mean(fails) <= delta
    # and a single entry (n = 1 level delta) is a plain Hoeffding bound for a mean of +-1 signs
    signs = np.where(rng.random((5000, m)) < 0.5, -1.0, 1.0).mean(1)
    assert np.mean(np.abs(signs) > ntk_theory.hoeffding_deviation(1, m, delta)) <= delta


def test_relative_error():
    assert ntk_theory.relative_error([3.0, 4.0], [3.0, 0.0]) == pytest.approx(4 / 3)


@pytest.mark.parametrize("call, name", [
    (lambda: ntk_theory.dual_activation([1.5], "relu"), "rho"),
    (lambda: ntk_theory.dual_activation([np.nan], "relu"), "rho"),
    (lambda: ntk_theory.dual_activation([0.5], "tanh"), "activation"),
    (lambda: ntk_theory.sphere_ntk(2 * X), "x1"),
    (lambda: ntk_theory.sphere_ntk(X, np.ones((2, 2)) / np.sqrt(2)), "x2"),
    (lambda: ntk_theory.sphere_ntk(X[0]), "x1"),
    (lambda: ntk_theory.first_layer_ntk(X, np.ones((4, 2))), "weights"),
    (lambda: ntk_theory.first_layer_ntk(3 * X), "x"),
    (lambda: ntk_theory.hoeffding_deviation(0, 10, 0.1), "n"),
    (lambda: ntk_theory.hoeffding_deviation(5, 0, 0.1), "m"),
    (lambda: ntk_theory.hoeffding_deviation(5, 10, 1.5), "delta"),
    (lambda: ntk_theory.hoeffding_width(5, -1.0, 0.1), "eps"),
    (lambda: ntk_theory.hoeffding_width(5, 1.0, 0.0), "delta"),
    (lambda: ntk_theory.relative_error([1.0], [0.0]), "k_ref"),
    (lambda: ntk_theory.relative_error([1.0, 2.0], [1.0]), "k"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
