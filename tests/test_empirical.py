"""Empirical NTK: the three strategies agree, blockwise equals whole, autodiff equals a hand
derivation, and the linearised model behaves as a first-order Taylor expansion."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.empirical import empirical_ntk, jacobian_features, linearize
from ntkbook.nets import MLP

enable_x64()
RNG = np.random.default_rng(3)
X1 = RNG.normal(size=(6, 3))
X2 = RNG.normal(size=(4, 3))


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("depth", [0, 1, 3])
def test_structured_matches_generic_strategies(parameterization, activation, depth):
    net = MLP(3, 16, depth, activation, w_std=1.3, b_std=0.4, parameterization=parameterization)
    p = net.init(7)
    generic = lambda q, x: net(q, x)  # noqa: E731  (hides the MLP from the structured path)
    k_s = empirical_ntk(net, p, X1, X2)
    k_j = empirical_ntk(generic, p, X1, X2, strategy="jacobian")
    k_v = empirical_ntk(generic, p, X1, X2, strategy="ntvp")
    np.testing.assert_allclose(k_s, k_j, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(k_v, k_j, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("strategy", ["structured", "jacobian", "ntvp"])
def test_blockwise_equals_whole(strategy):
    net = MLP(3, 32, 2)
    p = net.init(0)
    f = net if strategy == "structured" else (lambda q, x: net(q, x))
    whole = empirical_ntk(f, p, X1, X2, strategy=strategy)
    blocks = empirical_ntk(f, p, X1, X2, strategy=strategy, block_size=3)
    np.testing.assert_allclose(blocks, whole, rtol=1e-12)
    # x2=None computes the upper block triangle only (the diagonal blocks by a symmetric path)
    square = empirical_ntk(f, p, X1, X1, strategy=strategy)
    for size in (None, 4):
        got = empirical_ntk(f, p, X1, strategy=strategy, block_size=size)
        np.testing.assert_allclose(got, square, rtol=1e-12)


def test_one_hidden_layer_matches_hand_derivation():
    # f(x) = a . phi(W x / sqrt(d)) / sqrt(m): by the chain rule,
    # K(x, x') = (1/m) sum_j [phi(z_j) phi(z'_j) + a_j^2 phi'(z_j) phi'(z'_j) x.x'/d]
    m, d = 50, 3
    net = MLP(d, m, 1, "erf")
    (w, _), (a, _) = net.init(11)
    a = a[:, 0]
    z1, z2 = X1 @ w / np.sqrt(d), X2 @ w / np.sqrt(d)
    phi, dphi = jax.scipy.special.erf, lambda z: 2 / np.sqrt(np.pi) * np.exp(-(z**2))
    hand = (phi(z1) @ phi(z2).T + (dphi(z1) * a**2) @ dphi(z2).T * (X1 @ X2.T) / d) / m
    np.testing.assert_allclose(empirical_ntk(net, net.init(11), X1, X2), hand, rtol=1e-10)


def test_kernel_is_gram_of_jacobian_features_and_psd():
    net = MLP(3, 20, 2)
    p = net.init(1)
    phi = jacobian_features(net, p, X1)
    assert phi.shape == (6, net.n_params)
    k = empirical_ntk(net, p, X1)
    np.testing.assert_allclose(phi @ phi.T, k, rtol=1e-10)
    assert np.linalg.eigvalsh(np.asarray(k)).min() > -1e-10


def test_single_column_by_forward_mode():
    net = MLP(3, 64, 4)
    p = net.init(2)
    col = empirical_ntk(lambda q, x: net(q, x), p, X1, X1[:1], strategy="ntvp")
    np.testing.assert_allclose(col[:, 0], empirical_ntk(net, p, X1)[:, 0], rtol=1e-10)


def test_linearize_is_first_order_taylor():
    net = MLP(3, 32, 2, "erf")
    p0 = net.init(5)
    f_lin = linearize(net, p0)
    np.testing.assert_allclose(f_lin(p0, X1), net(p0, X1), rtol=1e-12)
    d = jax.tree_util.tree_map(lambda a: 1e-3 * jnp.ones_like(a), p0)
    p1 = jax.tree_util.tree_map(lambda a, b: a + b, p0, d)
    # the Taylor remainder is second order: halving the step quarters it
    r1 = np.abs(net(p1, X1) - f_lin(p1, X1)).max()
    p_half = jax.tree_util.tree_map(lambda a, b: a + b / 2, p0, d)
    r_half = np.abs(net(p_half, X1) - f_lin(p_half, X1)).max()
    assert 3.5 < r1 / r_half < 4.5
    # and its NTK anywhere equals the NTK of the network at p0
    np.testing.assert_allclose(empirical_ntk(f_lin, p1, X1), empirical_ntk(net, p0, X1),
                               rtol=1e-10)


def test_model_with_wrong_output_shape_is_rejected():
    net = MLP(3, 8, 1)
    with pytest.raises(ValueError, match="outputs of shape"):
        empirical_ntk(lambda q, x: net(q, x)[:, None], net.init(0), X1)
    with pytest.raises(ValueError, match="x1"):
        empirical_ntk(net, net.init(0), np.ones((2, 5)))
    with pytest.raises(ValueError, match="x2"):
        empirical_ntk(net, net.init(0), X1, np.ones((2, 5)))
    with pytest.raises(ValueError, match="strategy"):
        empirical_ntk(net, net.init(0), X1, strategy="fast")
    with pytest.raises(ValueError, match="structured"):
        empirical_ntk(lambda q, x: net(q, x), net.init(0), X1, strategy="structured")
