"""Closed-form gradient flow against numerical integration and real gradient descent."""

import jax
import numpy as np
from scipy.integrate import solve_ivp

from ntkbook.backend import enable_x64
from ntkbook.dynamics import gradient_flow, ntk_gp
from ntkbook.empirical import empirical_ntk, linearize
from ntkbook.infinite import nngp_ntk
from ntkbook.kernels import gaussian
from ntkbook.nets import MLP
from ntkbook.train import train_gd

enable_x64()
RNG = np.random.default_rng(4)
X = RNG.normal(size=(6, 2))
XT = RNG.normal(size=(3, 2))
Y = np.sin(2 * X[:, 0])


def test_closed_form_matches_numerical_integration():
    k, kt = np.asarray(gaussian(X, None, 1.0)), np.asarray(gaussian(XT, X, 1.0))
    u0, f0 = RNG.normal(size=6), RNG.normal(size=3)
    ts = np.array([0.0, 0.3, 1.0, 5.0, 40.0])
    sol = gradient_flow(k, Y, ts, u0, kt, f0)

    def rhs(_, z):
        r = z[:6] - Y
        return np.concatenate([-k @ r, -kt @ r])

    ref = solve_ivp(rhs, (0, ts[-1]), np.concatenate([u0, f0]), t_eval=ts, rtol=1e-11,
                    atol=1e-12, method="DOP853")
    np.testing.assert_allclose(sol.train, ref.y[:6].T, atol=1e-8)
    np.testing.assert_allclose(sol.test, ref.y[6:].T, atol=1e-8)
    loss = 0.5 * np.sum((ref.y[:6].T - Y) ** 2, axis=1)
    np.testing.assert_allclose(sol.loss, loss, atol=1e-8)
    np.testing.assert_allclose(sol.mode_residuals.sum(1), 2 * sol.loss, rtol=1e-10)


def test_infinite_time_is_kernel_regression():
    k, kt = np.asarray(gaussian(X, None, 1.0)), np.asarray(gaussian(XT, X, 1.0))
    sol = gradient_flow(k, Y, [np.inf], k_test_train=kt)
    np.testing.assert_allclose(sol.train[0], Y, atol=1e-10)
    np.testing.assert_allclose(sol.test[0], kt @ np.linalg.solve(k, Y), atol=1e-8)


def test_singular_kernel_converges_to_minimum_norm_fit():
    # a rank-2 linear kernel on 6 points: the flow converges to the least-squares projection
    k = X @ X.T
    sol = gradient_flow(k, Y, [1e6, np.inf], k_test_train=XT @ X.T)
    w = np.linalg.lstsq(X, Y, rcond=None)[0]
    np.testing.assert_allclose(sol.train[1], X @ w, atol=1e-8)
    np.testing.assert_allclose(sol.test[1], XT @ w, atol=1e-8)
    np.testing.assert_allclose(sol.test[0], sol.test[1], atol=1e-6)


def test_small_step_gradient_descent_of_linearised_and_wide_networks():
    x = X / np.linalg.norm(X, axis=1, keepdims=True)
    net = MLP(2, 1024, 2)
    p0 = net.init(0)
    k, kt = empirical_ntk(net, p0, x), empirical_ntk(net, p0, XT, x)
    lr, steps = 0.02, 250
    sol = gradient_flow(k, Y, np.arange(0, steps + 1, 25) * lr, net(p0, x), kt, net(p0, XT))
    lin = train_gd(linearize(net, p0), p0, x, Y, lr, steps, 25, x_test=XT)
    # Euler steps of a linear ODE: error O(lr)
    np.testing.assert_allclose(lin.train, sol.train, atol=5e-3)
    np.testing.assert_allclose(lin.test, sol.test, atol=5e-3)
    wide = train_gd(net, p0, x, Y, lr, steps, 25, x_test=XT)
    # the real network follows the kernel flow up to its O(1/sqrt(width)) drift
    np.testing.assert_allclose(wide.train, sol.train, atol=4e-2)
    np.testing.assert_allclose(wide.test, sol.test, atol=4e-2)
    assert np.abs(wide.train - sol.train).max() > np.abs(lin.train - sol.train).max()


def test_ntk_gp_matches_sampled_initialisations():
    x = X / np.linalg.norm(X, axis=1, keepdims=True)
    xt = XT / np.linalg.norm(XT, axis=1, keepdims=True)
    xa = np.vstack([x, xt])
    nngp, ntk = (np.asarray(a) for a in nngp_ntk(xa, None, 2, "relu", 1.0, 0.1))
    ts = np.array([0.0, 0.7, np.inf])
    mean, cov = ntk_gp(ntk[:6, :6], nngp[:6, :6], ntk[6:, :6], nngp[6:, :6], nngp[6:, 6:], Y, ts)
    # sample initial functions from the NNGP and push each through the linear flow
    f0 = jax.random.multivariate_normal(jax.random.PRNGKey(0), np.zeros(9),
                                        nngp + 1e-12 * np.eye(9), (40000,))
    f0 = np.asarray(f0)
    for i, t in enumerate(ts):
        # the flow is affine in (y - u0): its test map A(t) column by column, from gradient_flow
        a = np.stack([gradient_flow(ntk[:6, :6], e, [t], k_test_train=ntk[6:, :6]).test[0]
                      for e in np.eye(6)], axis=1)
        outs = f0[:, 6:] + (Y[None, :] - f0[:, :6]) @ a.T
        np.testing.assert_allclose(outs.mean(0), mean[i], atol=0.05)
        np.testing.assert_allclose(np.cov(outs.T), cov[i], atol=0.05 * np.abs(cov[0]).max())
    np.testing.assert_allclose(mean[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(cov[0], nngp[6:, 6:], atol=1e-10)
    np.testing.assert_allclose(mean[-1], ntk[6:, :6] @ np.linalg.solve(ntk[:6, :6], Y), atol=1e-8)
