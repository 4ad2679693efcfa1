"""Closed-form NNGP/NTK against Monte Carlo over random networks and against empirical NTKs."""

import jax
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.empirical import empirical_ntk
from ntkbook import infinite
from ntkbook.infinite import nngp_ntk
from ntkbook.nets import MLP

enable_x64()
X = np.random.default_rng(1).normal(size=(5, 3))


def _output_covariance(net, n_nets, x):
    keys = jax.random.split(jax.random.PRNGKey(42), n_nets)
    outs = jax.vmap(lambda k: net(net.init(k), x))(keys)
    return np.cov(np.asarray(outs).T, bias=True)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_nngp_matches_monte_carlo_one_hidden_layer(activation):
    # with one hidden layer the output covariance equals the NNGP at any width
    net = MLP(3, 32, 1, activation, w_std=1.4, b_std=0.3)
    mc = _output_covariance(net, 20000, X)
    nngp, _ = nngp_ntk(X, None, 1, activation, w_std=1.4, b_std=0.3)
    np.testing.assert_allclose(mc, nngp, atol=0.04 * np.abs(nngp).max())


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_nngp_matches_monte_carlo_deep(activation):
    net = MLP(3, 256, 2, activation, w_std=1.2, b_std=0.2)
    mc = _output_covariance(net, 3000, X)
    nngp, _ = nngp_ntk(X, None, 2, activation, w_std=1.2, b_std=0.2)
    np.testing.assert_allclose(mc, nngp, atol=0.08 * np.abs(nngp).max())


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_empirical_ntk_converges_like_inverse_sqrt_width(activation):
    _, ntk = nngp_ntk(X, None, 2, activation, w_std=1.0, b_std=0.1)
    widths = np.array([64, 256, 1024, 4096])
    errs = []
    for w in widths:
        net = MLP(3, int(w), 2, activation, b_std=0.1)
        e = [np.linalg.norm(empirical_ntk(net, net.init(s), X) - ntk) / np.linalg.norm(ntk)
             for s in range(6)]
        errs.append(np.mean(e))
    slope = np.polyfit(np.log(widths), np.log(errs), 1)[0]
    assert -0.7 < slope < -0.3, slope
    assert errs[-1] < 0.06


def test_cross_kernel_blocks_and_psd():
    y = np.random.default_rng(2).normal(size=(4, 3))
    for act in ["relu", "erf"]:
        k_full, t_full = nngp_ntk(np.vstack([X, y]), None, 3, act, 1.0, 0.5)
        k_xy, t_xy = nngp_ntk(X, y, 3, act, 1.0, 0.5)
        np.testing.assert_allclose(k_xy, k_full[:5, 5:], rtol=1e-10)
        np.testing.assert_allclose(t_xy, t_full[:5, 5:], rtol=1e-10)
        for m in (k_full, t_full):
            assert np.linalg.eigvalsh(np.asarray(m)).min() > -1e-10


def test_diagonal_is_safe_for_repeated_and_zero_inputs():
    x = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [1e-9, 0.0]])
    for act in ["relu", "erf"]:
        for b in [0.0, 0.5]:
            k, t = nngp_ntk(x, None, 4, act, 1.0, b)
            assert np.all(np.isfinite(k)) and np.all(np.isfinite(t))
            np.testing.assert_allclose(k[0, 1], k[0, 0], rtol=1e-12)


def test_relu_one_layer_matches_hand_formula_on_the_circle():
    # Arc-cosine kernel of degree 1 for unit inputs in d = 2 (Cho & Saul, 2009), by hand
    g = np.linspace(0, np.pi, 7)
    x = np.stack([np.cos(g), np.sin(g)], 1)
    k, t = nngp_ntk(x[:1], x, 1, "relu")
    theta = g
    sigma1 = np.cos(g) / 2
    k_hand = (1 / 2) * (np.sin(theta) + (np.pi - theta) * np.cos(theta)) / (2 * np.pi)
    t_hand = k_hand + sigma1 * (np.pi - theta) / (2 * np.pi)
    np.testing.assert_allclose(k[0], k_hand, atol=1e-12)
    np.testing.assert_allclose(t[0], t_hand, atol=1e-12)


def test_float32_angle_polynomial_against_numpy():
    # the float32 path computes arccos(1 - u) from u = 1 - rho with a polynomial (A&S 4.4.46):
    # check it everywhere, and relative to the angle near u = 0 (where arccos(rho) would lose
    # half the digits)
    u = np.concatenate([np.linspace(0, 2, 200_001), np.logspace(-30, -1, 301)])
    u32 = np.float32(u).astype(np.float64)
    got = np.asarray(infinite._angle(jax.numpy.asarray(u, jax.numpy.float32)), np.float64)
    exact = 2 * np.arctan2(np.sqrt(u32), np.sqrt(2 - u32))
    np.testing.assert_allclose(got, exact, atol=3e-7)
    small = u32 < 1e-2
    np.testing.assert_allclose(got[small], exact[small], rtol=1e-6)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_float32_kernels_match_float64(activation):
    x = np.random.default_rng(3).normal(size=(40, 4))
    f32 = jax.numpy.float32
    s, log_s, t, log_t = infinite._nngp_ntk(jax.numpy.asarray(x, f32), jax.numpy.asarray(x, f32),
                                            4, activation, 1.2, 0.3)
    k32 = (s * jax.numpy.exp(log_s), t * jax.numpy.exp(log_t))
    k64 = nngp_ntk(x, None, 4, activation, 1.2, 0.3)
    for a, b in zip(k32, k64):
        assert a.dtype == f32
        # the angle comes from 1 - rho without cancellation: float32 accuracy everywhere
        np.testing.assert_allclose(np.asarray(a, np.float64), b, rtol=0, atol=1e-5 * abs(b).max())


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_concrete_numpy_path_matches_traced_jax_path(request, activation, precision):
    # concrete inputs run the recursion in NumPy, traced ones (here under jit) in JAX: same
    # dtype, and the same values up to the rounding of each backend's elementwise functions
    request.getfixturevalue(precision)
    dtype = np.dtype(precision)
    x = np.random.default_rng(4).normal(size=(30, 3)) * np.array([1.0, 0.1, 3.0])
    kw = dict(depth=5, activation=activation, w_std=1.3, b_std=0.2)
    for square, args in ((True, (x,)), (False, (x[:11], x[7:]))):
        plain = nngp_ntk(*args, **kw)
        traced = jax.jit(lambda *a: nngp_ntk(*a, **kw))(*args)
        for p, t in zip(plain, traced):
            assert p.dtype == t.dtype == dtype
            tol = 2e-6 if dtype == np.float32 else 1e-13
            np.testing.assert_allclose(p, t, rtol=tol, atol=tol * np.abs(t).max())
    got = infinite.h_infinity(x)
    want = jax.jit(infinite.h_infinity)(x)
    assert got.dtype == want.dtype == dtype
    tol = 2e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * np.abs(want).max())
