"""Chapter 11 machinery: RDI/AUX training, the frozen-layer NTK, ridge paths and kernel SVMs.

Each result is checked against an independent computation: trained networks against kernel
ridge regression, closed forms against least squares, the infinite-width kernel against the
empirical kernel of a wide network, our SVM wrapper against scikit-learn with a callable kernel.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from sklearn.svm import SVC

from ntkbook.backend import enable_x64
from ntkbook.empirical import empirical_ntk, jacobian_features, linearize
from ntkbook.infinite import nngp_ntk, ntk_frozen
from ntkbook.methods import (kernel_ridge, kernel_ridge_path, select_then_cv, svm_candidates,
                             svm_predict)
from ntkbook.nets import MLP
from ntkbook.train import aux_solution, train_regularized

enable_x64()
RNG = np.random.default_rng(11)
X = RNG.normal(size=(12, 3))
Y = np.sign(X[:, 0] + 0.3 * RNG.normal(size=12))
XT = RNG.normal(size=(7, 3))


@pytest.mark.parametrize("method", ["rdi", "aux"])
def test_regularized_linear_model_converges_to_kernel_ridge(method):
    net = MLP(3, 64, 1, "erf", b_std=0.5)
    p0 = net.init(0)
    lin = linearize(net, p0)
    ridge = 0.7
    k = empirical_ntk(net, p0, X)
    lr = 1.0 / (float(np.linalg.eigvalsh(np.asarray(k))[-1]) + ridge)
    res = train_regularized(lin, p0, X, Y, lr, 3000, ridge, method, record_every=1000,
                            x_test=XT)
    # centred: outputs start at 0 and end at KRR with the empirical NTK on y
    np.testing.assert_allclose(res.test[0], 0.0, atol=1e-12)
    want = kernel_ridge(k, Y, empirical_ntk(net, p0, XT, X), ridge)
    np.testing.assert_allclose(res.test[-1], want, atol=1e-6)
    np.testing.assert_allclose(res.train[-1], kernel_ridge(k, Y, k, ridge), atol=1e-6)
    if method == "aux":
        _, b = aux_solution(k, Y, ridge)
        np.testing.assert_allclose(res.aux, b, atol=1e-6)
        # the auxiliary term absorbs exactly the training residual
        np.testing.assert_allclose(res.train[-1] + np.sqrt(ridge) * res.aux, Y, atol=1e-6)
    else:
        assert res.aux is None


def test_rdi_wide_network_matches_kernel_ridge_with_the_analytic_ntk():
    net = MLP(3, 4096, 1, "relu", b_std=0.2)
    p0 = net.init(1)
    ridge = 1.0
    _, k = nngp_ntk(X, depth=1, b_std=0.2)
    _, kt = nngp_ntk(XT, X, depth=1, b_std=0.2)
    lr = 1.0 / (float(np.linalg.eigvalsh(np.asarray(k))[-1]) + ridge)
    res = train_regularized(net, p0, X, Y, lr, 600, ridge, "rdi", record_every=600,
                            x_test=XT)
    want = np.asarray(kernel_ridge(k, Y, kt, ridge))
    err = np.linalg.norm(np.asarray(res.test[-1]) - want) / np.linalg.norm(want)
    assert err < 0.05
    # without the penalty the same network would interpolate: the ridge really acts
    assert np.max(np.abs(np.asarray(res.train[-1]) - Y)) > 0.1


def test_aux_closed_form_is_the_minimum_norm_least_squares_solution():
    phi = RNG.normal(size=(6, 15))  # an explicit feature matrix J, so K = J J^T
    y = RNG.normal(size=6)
    u0 = RNG.normal(size=6)
    ridge = 0.3
    aug = np.hstack([phi, np.sqrt(ridge) * np.eye(6)])  # model u0 + J dw + sqrt(ridge) b
    sol = np.linalg.lstsq(aug, y - u0, rcond=None)[0]  # minimum-norm solution
    c, b = aux_solution(phi @ phi.T, y, ridge, u0=u0)
    np.testing.assert_allclose(phi.T @ np.asarray(c), sol[:15], atol=1e-10)
    np.testing.assert_allclose(b, sol[15:], atol=1e-10)


@pytest.mark.parametrize("depth,frozen", [(1, 1), (2, 1), (3, 2), (3, 1)])
def test_frozen_ntk_matches_wide_network_with_frozen_layers(depth, frozen):
    width = 3000
    net = MLP(3, width, depth, "relu", 1.2, 0.3)
    params = net.init(5)
    x = X[:6]

    def f(trained, xx):  # only the layers after the frozen ones are parameters
        return net(list(params[:frozen]) + list(trained), xx)

    trained = params[frozen:]
    jac = jacobian_features(f, trained, x)
    empirical = np.asarray(jac @ jac.T)
    want = np.asarray(ntk_frozen(x, depth=depth, frozen=frozen, w_std=1.2, b_std=0.3))
    assert np.linalg.norm(empirical - want) < 0.08 * np.linalg.norm(want)
    # and it is really a different kernel from the full NTK
    full = np.asarray(nngp_ntk(x, depth=depth, w_std=1.2, b_std=0.3)[1])
    assert np.linalg.norm(full - want) > 0.2 * np.linalg.norm(want)


def test_frozen_ntk_end_points_are_ntk_and_nngp():
    nngp, ntk = nngp_ntk(X, XT, depth=3, w_std=1.3, b_std=0.4)
    np.testing.assert_allclose(ntk_frozen(X, XT, 3, 0, w_std=1.3, b_std=0.4), ntk, rtol=1e-10)
    np.testing.assert_allclose(ntk_frozen(X, XT, 3, 3, w_std=1.3, b_std=0.4), nngp, rtol=1e-10)
    with pytest.raises(ValueError, match="frozen"):
        ntk_frozen(X, depth=2, frozen=3)


def test_kernel_ridge_path_agrees_with_kernel_ridge():
    _, k = nngp_ntk(X, depth=2, b_std=0.1)
    _, kt = nngp_ntk(XT, X, depth=2, b_std=0.1)
    ridges = [0.01, 1.0, 30.0]
    path = kernel_ridge_path(k, Y, kt, ridges)
    for r, row in zip(ridges, path):
        np.testing.assert_allclose(row, kernel_ridge(k, Y, kt, r), rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="ridges"):
        kernel_ridge_path(k, Y, kt, [0.0])


def test_svm_predict_matches_svc_with_a_callable_kernel():
    x = RNG.normal(size=(40, 3))
    y = (x[:, 0] * x[:, 1] > 0).astype(int) + (x[:, 2] > 1)  # three classes
    xt = RNG.normal(size=(25, 3))

    def kernel(a, b):
        return np.asarray(nngp_ntk(a, b, depth=2, b_std=0.5)[1])

    ours = svm_predict(kernel(x, x), y, kernel(xt, x), 3.0)
    ref = SVC(kernel=kernel, C=3.0).fit(x, y).predict(xt)
    np.testing.assert_array_equal(ours, ref)
    assert len(set(ref)) > 1


def test_select_then_cv_picks_the_best_candidate_and_reports_folds():
    y = np.repeat([0, 1], 20)
    good = lambda tr, te: y[te]  # noqa: E731
    bad = lambda tr, te: 1 - y[te]  # noqa: E731
    res = select_then_cv({"bad": bad, "good": good}, y, n_folds=4)
    assert res.best == "good" and res.selection == {"bad": 0.0, "good": 1.0}
    np.testing.assert_array_equal(res.cv, np.ones(4))
    with pytest.raises(ValueError, match="candidates"):
        select_then_cv({}, y)


def test_bad_input():
    with pytest.raises(ValueError, match="method"):
        train_regularized(lambda p, x: x[:, 0] * p, jnp.ones(()), X, Y, 0.1, 1, 1.0, "l2")
    with pytest.raises(ValueError, match="ridge"):
        train_regularized(lambda p, x: x[:, 0] * p, jnp.ones(()), X, Y, 0.1, 1, -1.0)
    with pytest.raises(ValueError, match="c "):
        svm_predict(np.eye(3), np.arange(3), np.eye(3), 0.0)


def test_svm_candidates_slice_the_precomputed_kernel():
    x = RNG.normal(size=(30, 2))
    y = (x[:, 0] > 0).astype(int)
    k = np.asarray(nngp_ntk(x, depth=1, b_std=0.5)[1])
    cands = svm_candidates({"ntk": k}, y, [0.5, 5.0])
    assert list(cands) == ["ntk, C=0.5", "ntk, C=5"]
    tr, te = np.arange(20), np.arange(20, 30)
    ref = SVC(kernel="precomputed", C=5.0).fit(k[:20, :20], y[:20]).predict(k[20:, :20])
    np.testing.assert_array_equal(cands["ntk, C=5"](tr, te), ref)
