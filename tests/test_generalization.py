"""Chapter 10's bounds and spectral risk against independent computations."""

import numpy as np
import pytest
from sklearn.kernel_ridge import KernelRidge

from ntkbook.backend import enable_x64
from ntkbook.bounds import (arora_bound, flow_rkhs_norm, generalization_bound, heldout_bound,
                            rademacher_rkhs_ball, rademacher_rkhs_monte_carlo,
                            rademacher_rkhs_sup, ramp_loss, rkhs_norm)
from ntkbook.dynamics import gradient_flow
from ntkbook.infinite import h_infinity
from ntkbook.kernels import gaussian, polynomial, polynomial_features
from ntkbook.spectrum import eigenlearning

enable_x64()
RNG = np.random.default_rng(10)


def _sphere(n, d, rng=RNG):
    x = rng.normal(size=(n, d))
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_rkhs_sup_equals_sup_over_explicit_features():
    # K = Phi Phi^T: sup_{|w| <= B} (1/n) sum_i sigma_i w . phi(x_i) = B |Phi^T sigma| / n
    x = RNG.normal(size=(9, 2))
    phi = np.asarray(polynomial_features(x, 3, 1.0))
    k = np.asarray(polynomial(x, None, 3, 1.0))
    sigma = np.where(RNG.random((5, 9)) < 0.5, 1.0, -1.0)
    expected = 2.5 * np.linalg.norm(sigma @ phi, axis=1) / 9
    np.testing.assert_allclose(rademacher_rkhs_sup(k, sigma, 2.5), expected, rtol=1e-10)
    # and no function of norm B does better: random directions w with |w| = B
    w = RNG.normal(size=(2000, phi.shape[1]))
    w *= 2.5 / np.linalg.norm(w, axis=1, keepdims=True)
    achieved = (sigma[0] @ phi @ w.T) / 9
    assert achieved.max() <= expected[0] + 1e-12
    assert achieved.max() > 0.8 * expected[0]


def test_rademacher_monte_carlo_below_bound_and_close_for_many_points():
    x = _sphere(400, 5)
    k = np.asarray(h_infinity(x))
    bound = rademacher_rkhs_ball(k, 3.0)
    np.testing.assert_allclose(bound, 3.0 * np.sqrt(400 / 2) / 400)  # tr H^inf = n / 2
    mc = rademacher_rkhs_monte_carlo(k, 3.0, draws=400, seed=1)
    # Jensen: E sqrt(s^T K s) <= sqrt(E s^T K s) = sqrt(tr K); the gap is small when
    # s^T K s concentrates
    assert mc <= bound
    assert mc > 0.9 * bound
    # brute force over sign vectors for a tiny problem: the exact expectation
    k4 = np.asarray(gaussian(RNG.normal(size=(4, 2)), None, 1.0))
    signs = np.array(np.meshgrid(*[[-1.0, 1.0]] * 4)).reshape(4, -1).T
    exact = np.mean([np.sqrt(s @ k4 @ s) for s in signs]) / 4
    np.testing.assert_allclose(rademacher_rkhs_monte_carlo(k4, 1.0, draws=20000, seed=2),
                               exact, rtol=0.02)


def test_min_norm_interpolant_three_ways():
    x = _sphere(30, 4)
    xt = _sphere(7, 4)
    y = np.sign(RNG.normal(size=30))
    k, kt = np.asarray(h_infinity(x)), np.asarray(h_infinity(xt, x))
    flow = gradient_flow(k, y, [1e7], k_test_train=kt)
    sk = KernelRidge(alpha=1e-10, kernel="precomputed").fit(k, y).predict(kt)
    np.testing.assert_allclose(np.asarray(flow.test[0]), sk, rtol=1e-5, atol=1e-6)
    # and its RKHS norm: sqrt(a^T K a) with a the sklearn dual coefficients
    a = KernelRidge(alpha=1e-10, kernel="precomputed").fit(k, y).dual_coef_
    lam, v = np.linalg.eigh(k)
    np.testing.assert_allclose(flow_rkhs_norm(lam, v.T @ y, np.inf), np.sqrt(a @ k @ a),
                               rtol=1e-5)
    np.testing.assert_allclose(rkhs_norm(k, y), np.sqrt(a @ k @ a), rtol=1e-5)


def test_flow_rkhs_norm_at_finite_time_against_direct_coefficients():
    x = _sphere(20, 3)
    y = np.sign(RNG.normal(size=20))
    k = np.asarray(h_infinity(x))
    lam, v = np.linalg.eigh(k)
    for t in (0.3, 4.0):
        # f_t = k(., X) a_t with a_t = K^-1 (I - expm(-K t)) y, by scipy's matrix exponential
        from scipy.linalg import expm
        a_t = np.linalg.solve(k, (np.eye(20) - expm(-k * t)) @ y)
        np.testing.assert_allclose(flow_rkhs_norm(lam, v.T @ y, t), np.sqrt(a_t @ k @ a_t),
                                   rtol=1e-8)
    norms = flow_rkhs_norm(lam, v.T @ y, np.array([0.0, 1.0, 10.0, np.inf]))
    assert norms[0] == 0 and np.all(np.diff(norms) > 0)


def test_arora_bound_terms_by_hand():
    x = _sphere(60, 6)
    y = np.sign(RNG.normal(size=60))
    k = np.asarray(h_infinity(x))
    b = arora_bound(k, y, delta=0.1)
    q = y @ np.linalg.solve(k, y)
    assert b.train_loss < 1e-10
    np.testing.assert_allclose(b.complexity, np.sqrt(2 * q / 60), rtol=1e-8)
    np.testing.assert_allclose(b.complexity, generalization_bound(k, y), rtol=1e-8)
    j = np.ceil(np.sqrt(q / 2))
    np.testing.assert_allclose(b.total, 2 * j / np.sqrt(60)
                               + 3 * np.sqrt(np.log(2 * j * (j + 1) / 0.1) / 120), rtol=1e-8)
    # at t = 0 the predictor is 0: ramp loss 1, norm 0 (radius j = 1)
    b0 = arora_bound(k, y, delta=0.1, t=0.0)
    assert b0.train_loss == 1.0 and b0.norm == 0.0
    # the training ramp loss at time t, from the flow's training outputs
    bt = arora_bound(k, y, delta=0.1, t=np.array([2.0, np.inf]))
    u = np.asarray(gradient_flow(k, y, [2.0]).train[0])
    np.testing.assert_allclose(bt.train_loss[0], ramp_loss(u, y), rtol=1e-8)


def test_arora_bound_with_precomputed_eigendecomposition():
    x = _sphere(30, 4)
    y = np.sign(RNG.normal(size=30))
    k = np.asarray(h_infinity(x))
    lam, v = np.linalg.eigh(k)
    a = arora_bound(k, y, 0.05, t=[0.5, np.inf])
    b = arora_bound(k, y, 0.05, t=[0.5, np.inf], eig=(lam[::-1], v[:, ::-1]))
    np.testing.assert_allclose(a.total, b.total, rtol=1e-10)


def test_arora_bound_scale_invariant():
    x = _sphere(40, 5)
    y = np.sign(RNG.normal(size=40))
    k = np.asarray(h_infinity(x))
    a, b = arora_bound(k, y), arora_bound(7.0 * k, y)
    np.testing.assert_allclose(a.total, b.total, rtol=1e-8)


def test_ramp_loss_dominates_zero_one_error():
    u = RNG.normal(size=500)
    y = np.sign(RNG.normal(size=500))
    assert ramp_loss(u, y) >= np.mean(np.sign(u) != y)
    assert ramp_loss([0.5, -2.0, 0.0], [1.0, 1.0, -1.0]) == pytest.approx((0.5 + 1 + 1) / 3)


def test_heldout_bound_coverage_by_simulation():
    # errors ~ Bernoulli(0.2) on m = 200 points: the bound must hold in >= 1 - delta of draws
    errors = (np.random.default_rng(3).random((4000, 200)) < 0.2).astype(float)
    bounds = np.array([heldout_bound(e, delta=0.1) for e in errors])
    assert np.mean(bounds >= 0.2) >= 0.9
    assert heldout_bound([0.0, 1.0], 0.5) == pytest.approx(0.5 + np.sqrt(np.log(2) / 4))


def test_eigenlearning_against_monte_carlo_krr():
    # population: 800 fixed points on the sphere (H^inf has a power-law spectrum there);
    # kernel ridge regression on n of them drawn at random, error over the population
    rng = np.random.default_rng(4)
    pop = _sphere(800, 5, rng)
    k = np.asarray(h_infinity(pop))
    lam, v = np.linalg.eigh(k)
    lam, v = lam[::-1] / 800, v[:, ::-1]
    f_star = np.sign(pop[:, 0] + 0.3 * pop[:, 1])
    coef = v.T @ f_star / np.sqrt(800)  # coordinates in eigenfunctions sqrt(N) v_k
    for n, ridge, noise in [(30, 1e-3, 0.5), (80, 1e-1, 0.3), (60, 0.0, 0.3), (30, 3.0, 0.0)]:
        pred = eigenlearning(np.maximum(lam, 0), coef, n, ridge, noise)
        errs = []
        for _ in range(80):
            idx = rng.choice(800, n, replace=False)
            y = f_star[idx] + noise * rng.normal(size=n)
            a = np.linalg.solve(k[np.ix_(idx, idx)] + ridge * np.eye(n), y)
            errs.append(np.mean((k[:, idx] @ a - f_star) ** 2))
        np.testing.assert_allclose(np.mean(errs), pred.excess_risk, rtol=0.07)
        np.testing.assert_allclose(pred.variance.sum(), (pred.overfitting - 1) * noise**2,
                                   rtol=1e-8)
    # a wrong normalisation of the ridge (ridge / n instead of ridge) is caught
    wrong = eigenlearning(np.maximum(lam, 0), coef, 30, 3.0 / 30, 0.0).excess_risk
    assert abs(wrong - np.mean(errs)) > 0.1 * np.mean(errs)


def test_bad_input():
    k = np.eye(3)
    with pytest.raises(ValueError, match="y must hold labels"):
        arora_bound(k, [1.0, 0.5, -1.0])
    with pytest.raises(ValueError, match="delta"):
        arora_bound(k, [1.0, 1.0, -1.0], delta=1.5)
    with pytest.raises(ValueError, match="signs"):
        rademacher_rkhs_sup(k, np.ones(4), 1.0)
    with pytest.raises(ValueError, match="B"):
        rademacher_rkhs_ball(k, -1.0)
    with pytest.raises(ValueError, match="positive semi-definite"):
        rademacher_rkhs_ball(-k, 1.0)
    with pytest.raises(ValueError, match="eig"):
        arora_bound(k, [1.0, 1.0, -1.0], eig=(np.ones(2), np.eye(2)))
    with pytest.raises(ValueError, match="errors"):
        heldout_bound([0.0, 0.5])
    with pytest.raises(ValueError, match="n must be smaller"):
        eigenlearning([1.0, 0.5], [1.0, 0.0], 3)
