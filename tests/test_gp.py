"""ntkbook.gp against independent computations: quadrature, brute-force random networks,
Monte Carlo, and the NNGP recursion of ntkbook.infinite."""

import jax
import numpy as np
import pytest
from scipy import integrate, special, stats

from ntkbook import gp
from ntkbook.backend import enable_x64
from ntkbook.infinite import nngp_ntk
from ntkbook.nets import MLP

enable_x64()
PHI = {"relu": lambda z: np.maximum(z, 0.0), "erf": special.erf}


def _quadrature(q1, q2, c, activation):
    """E[phi(u) phi(v)] by 2-D quadrature over independent standard normals (z1, z2):
    u = sqrt(q1) z1, v = (c / sqrt(q1)) z1 + sqrt(q2 - c^2/q1) z2."""
    phi = PHI[activation]
    a, s = c / np.sqrt(q1), np.sqrt(max(q2 - c**2 / q1, 0.0))

    def integrand(z2, z1):
        dens = np.exp(-(z1**2 + z2**2) / 2) / (2 * np.pi)
        return phi(np.sqrt(q1) * z1) * phi(a * z1 + s * z2) * dens

    val, _ = integrate.dblquad(integrand, -9, 9, -9, 9, epsabs=1e-10, epsrel=1e-9)
    return val


@pytest.mark.parametrize("activation", ["relu", "erf"])
@pytest.mark.parametrize("q1, q2, c", [(1.0, 1.0, 0.3), (2.0, 0.5, -0.7), (0.7, 1.3, 0.0),
                                       (1.5, 1.5, 1.45)])
def test_dual_activation_matches_quadrature(activation, q1, q2, c):
    expected = _quadrature(q1, q2, c, activation)
    got = float(gp.dual_activation(q1, q2, c, activation))
    assert abs(got - expected) < 1e-6 * max(1.0, abs(expected))


def test_dual_activation_diagonal_and_broadcast():
    q = np.array([0.5, 1.0, 4.0])
    np.testing.assert_allclose(gp.dual_activation(q, q, q, "relu"), q / 2, rtol=1e-12)
    erf_diag = [integrate.quad(lambda z, s=s: special.erf(np.sqrt(s) * z) ** 2
                               * np.exp(-z**2 / 2) / np.sqrt(2 * np.pi), -12, 12)[0] for s in q]
    np.testing.assert_allclose(gp.dual_activation(q, q, q, "erf"), erf_diag, rtol=1e-8)
    out = gp.dual_activation(np.ones((3, 1)), 1.0, np.linspace(-1, 1, 4)[None, :], "relu")
    assert out.shape == (3, 4)


def _two_inputs(r, angle):
    return np.array([[r, 0.0], [r * np.cos(angle), r * np.sin(angle)]])


@pytest.mark.parametrize("activation, w_std, b_std", [("relu", 1.5, 1.0), ("relu", 1.4, 0.0),
                                                      ("erf", 1.0, 0.3), ("erf", 3.0, 0.2)])
def test_correlation_flow_matches_nngp_recursion(activation, w_std, b_std):
    depth = 6
    angles = [0.3, 1.2, 2.5]
    x = np.vstack([_two_inputs(1.3, a) for a in angles])
    q1 = w_std**2 * 1.3**2 / 2 + b_std**2
    rho1 = np.array([(w_std**2 * 1.3**2 * np.cos(a) / 2 + b_std**2) / q1 for a in angles])
    qs, rhos = gp.correlation_flow(rho1, depth, activation, w_std, b_std, q=q1)
    assert qs.shape == (depth + 1,) and rhos.shape == (depth + 1, 3)
    for layers in range(depth + 1):
        k, _ = nngp_ntk(x, None, layers, activation, w_std, b_std)
        k = np.asarray(k)
        np.testing.assert_allclose(qs[layers], k[0, 0], rtol=1e-10)
        corr = [k[2 * i, 2 * i + 1] / np.sqrt(k[2 * i, 2 * i] * k[2 * i + 1, 2 * i + 1])
                for i in range(3)]
        np.testing.assert_allclose(rhos[layers], corr, rtol=1e-9, atol=1e-12)


def test_relu_correlation_flows_to_one_and_erf_chaos_has_fixed_point_below_one():
    _, rho = gp.correlation_flow([-0.5, 0.0, 0.9], 200, "relu", 1.0, 0.5, q=1.0)
    assert np.all(rho[-1] > 1 - 1e-8)
    _, rho = gp.correlation_flow([0.1, 0.5, 0.99], 200, "erf", 4.0, 0.3, q=1.0)
    assert np.ptp(rho[-1]) < 1e-8 and rho[-1, 0] < 0.9


@pytest.mark.parametrize("parameterization", ["ntk", "standard"])
def test_readout_features_reproduce_the_output(parameterization):
    net = MLP(2, 16, 3, "erf", w_std=1.3, b_std=0.4, parameterization=parameterization)
    params = net.init(3)
    x = np.random.default_rng(0).normal(size=(7, 2))
    feats = np.asarray(gp.readout_features(net, params, x))
    assert feats.shape == (7, 17)
    w, b = params[-1]
    if parameterization == "ntk":   # f = features @ [w; b] with N(0, 1) readout weights
        expected = feats @ np.concatenate([np.asarray(w)[:, 0], np.asarray(b)])
    else:                           # standard: w ~ N(0, w^2/n), b ~ N(0, b^2) carry the scales
        expected = feats @ np.concatenate([np.asarray(w)[:, 0] * np.sqrt(16) / 1.3,
                                           np.asarray(b) / 0.4])
    np.testing.assert_allclose(np.asarray(net(params, x)), expected, rtol=1e-10, atol=1e-12)


def test_readout_kernel_expectation_is_the_nngp_for_one_hidden_layer():
    # one hidden layer: E[features features^T] = NNGP exactly, at any width
    x = np.array([[-2.0], [0.5], [3.0]])
    nngp, _ = nngp_ntk(x, None, 1, "relu", 1.5, 1.0)
    net = MLP(1, 5, 1, "relu", 1.5, 1.0)
    grams = [np.asarray(gp.readout_features(net, net.init(s), x)) for s in range(3000)]
    brute = np.mean([f @ f.T for f in grams], axis=0)
    sampled = np.asarray(gp.readout_kernel_samples(7, x, 5, 1, 20000, "relu", 1.5, 1.0).mean(0))
    tol = 0.05 * np.abs(np.asarray(nngp)).max()
    np.testing.assert_allclose(brute, nngp, atol=tol)
    np.testing.assert_allclose(sampled, nngp, atol=tol)


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_readout_kernel_concentrates_at_the_nngp(activation):
    x = np.array([[-1.0, 0.5], [0.3, 2.0]])
    nngp = np.asarray(nngp_ntk(x, None, 2, activation, 1.2, 0.3)[0])
    spreads = []
    for width in (16, 256, 4096):
        ks = np.asarray(gp.readout_kernel_samples(1, x, width, 2, 400, activation, 1.2, 0.3))
        err = np.abs(ks.mean(0) - nngp).max() / np.abs(nngp).max()
        assert err < 0.2 if width == 16 else err < 0.03
        spreads.append(ks[:, 0, 0].std())
    # fluctuations of the random kernel shrink like 1/sqrt(width)
    slope = np.polyfit(np.log([16, 256, 4096]), np.log(spreads), 1)[0]
    assert -0.6 < slope < -0.4, slope


def test_sample_outputs_has_the_distribution_of_brute_force_networks():
    # width 3: far from Gaussian, so this checks the whole distribution, not just a covariance
    x = np.array([[-1.5], [0.7]])
    net = MLP(1, 3, 2, "relu", w_std=1.5, b_std=0.5)
    keys = jax.random.split(jax.random.PRNGKey(11), 20000)
    brute = np.asarray(jax.vmap(lambda k: net(net.init(k), x))(keys))
    fast = np.asarray(gp.sample_outputs(5, x, 3, 2, 20000, "relu", 1.5, 0.5))[:, :, 0]
    for i in range(2):
        assert stats.ks_2samp(brute[:, i], fast[:, i]).pvalue > 1e-3
        kurt_b, kurt_f = stats.kurtosis(brute[:, i]), stats.kurtosis(fast[:, i])
        assert kurt_b > 1.0 and abs(kurt_b - kurt_f) < 0.25 * kurt_b
    np.testing.assert_allclose(np.cov(fast.T), np.cov(brute.T), rtol=0.08)


def test_two_outputs_are_uncorrelated_and_each_matches_the_nngp():
    x = np.array([[-1.0], [2.0]])
    f = np.asarray(gp.sample_outputs(2, x, 512, 2, 8000, "erf", 1.3, 0.2, n_outputs=2))
    assert f.shape == (8000, 2, 2)
    nngp = np.asarray(nngp_ntk(x, None, 2, "erf", 1.3, 0.2)[0])
    for o in range(2):
        np.testing.assert_allclose(np.cov(f[:, :, o].T), nngp, atol=0.05 * nngp.max())
    cross = f[:, :, 0].T @ f[:, :, 1] / f.shape[0]
    assert np.abs(cross).max() < 5 * nngp.max() / np.sqrt(f.shape[0])


@pytest.mark.parametrize("call, name", [
    (lambda: gp.dual_activation(-1.0, 1.0, 0.0), "q1"),
    (lambda: gp.dual_activation(1.0, -1.0, 0.0), "q2"),
    (lambda: gp.dual_activation(1.0, 1.0, 2.0), "c"),
    (lambda: gp.dual_activation(1.0, 1.0, np.nan), "c"),
    (lambda: gp.dual_activation(1.0, 1.0, 0.0, "tanh"), "activation"),
    (lambda: gp.correlation_flow(1.5, 3), "rho"),
    (lambda: gp.correlation_flow(0.5, -1), "depth"),
    (lambda: gp.correlation_flow(0.5, 3, w_std=0.0), "w_std"),
    (lambda: gp.correlation_flow(0.5, 3, b_std=-1.0), "b_std"),
    (lambda: gp.correlation_flow(0.5, 3, q=0.0), "q"),
    (lambda: gp.readout_features("net", None, np.ones((2, 1))), "net"),
    (lambda: gp.readout_features(MLP(2, 4, 0), None, np.ones((2, 2))), "net"),
    (lambda: gp.readout_features(MLP(2, 4, 1), MLP(2, 4, 1).init(0), np.ones((2, 3))), "x"),
    (lambda: gp.readout_kernel_samples(0, np.ones(3), 4), "x"),
    (lambda: gp.readout_kernel_samples(0, np.ones((2, 1)), 0), "width"),
    (lambda: gp.readout_kernel_samples(0, np.ones((2, 1)), 4, n_samples=0), "n_samples"),
    (lambda: gp.readout_kernel_samples("seed", np.ones((2, 1)), 4), "key"),
    (lambda: gp.sample_outputs(0, np.ones((2, 1)), 4, n_outputs=0), "n_outputs"),
    (lambda: gp.sample_outputs(0, np.ones((2, 1)), 4, activation="tanh"), "activation"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
