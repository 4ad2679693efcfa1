"""Every public function rejects bad input with a ValueError that names the argument."""

import numpy as np
import pytest

from ntkbook import bounds, datasets, dynamics, empirical, infinite, kernels, methods
from ntkbook.nets import MLP, centered

X = np.random.default_rng(8).normal(size=(5, 3))
K = X @ X.T + np.eye(5)
Y = np.ones(5)
NAN = X.copy()
NAN[0, 0] = np.nan
NET = MLP(3, 8, 1)
P = NET.init(0)
NOT_SYM = K.copy()
NOT_SYM[0, 1] += 1.0

CASES = [
    (lambda: kernels.linear(X, np.ones((2, 4))), "x2"),
    (lambda: kernels.linear(np.ones(3)), "x1"),
    (lambda: kernels.polynomial(X, X, degree=-1), "degree"),
    (lambda: kernels.polynomial(X, X, degree=1.5), "degree"),
    (lambda: kernels.polynomial(X, X, c=-1.0), "c"),
    (lambda: kernels.gaussian(X, X, bandwidth=0.0), "bandwidth"),
    (lambda: kernels.gaussian(NAN), "x1"),
    (lambda: kernels.gaussian(X, [[np.inf, 0, 0]]), "x2"),
    (lambda: kernels.polynomial_features(X, degree=-2), "degree"),
    (lambda: kernels.random_fourier_features(X, 0), "n_features"),
    (lambda: kernels.random_fourier_features(X, 10, bandwidth=-1), "bandwidth"),
    (lambda: kernels.random_fourier_features(X, 10, key="seed"), "key"),
    (lambda: infinite.nngp_ntk(X, depth=-1), "depth"),
    (lambda: infinite.nngp_ntk(X, activation="tanh"), "activation"),
    (lambda: infinite.nngp_ntk(X, w_std=0.0), "w_std"),
    (lambda: infinite.nngp_ntk(X, b_std=-0.1), "b_std"),
    (lambda: infinite.nngp_ntk(X, np.ones((2, 2))), "x2"),
    (lambda: infinite.nngp_ntk(NAN), "x1"),
    (lambda: MLP(3, 0), "width"),
    (lambda: MLP(0, 4), "in_dim"),
    (lambda: MLP(3, 4, depth=-1), "depth"),
    (lambda: MLP(3, 4, activation="sigmoid"), "activation"),
    (lambda: MLP(3, 4, parameterization="mup"), "parameterization"),
    (lambda: NET(P, np.ones((2, 4))), "x"),
    (lambda: NET(P, NAN), "x"),
    (lambda: centered(NET, P, alpha=0.0), "alpha"),
    (lambda: empirical.empirical_ntk(NET, P, np.ones((2, 4))), "x1"),
    (lambda: empirical.empirical_ntk(NET, P, X, block_size=0), "block_size"),
    (lambda: empirical.jacobian_features(NET, P, NAN), "x"),
    (lambda: dynamics.gradient_flow(NOT_SYM, Y, [1.0]), "k_train"),
    (lambda: dynamics.gradient_flow(-K, Y, [1.0]), "k_train"),
    (lambda: dynamics.gradient_flow(K, np.ones(4), [1.0]), "y"),
    (lambda: dynamics.gradient_flow(K, Y, [-1.0]), "t"),
    (lambda: dynamics.gradient_flow(K, Y, [np.nan]), "t"),
    (lambda: dynamics.gradient_flow(K, Y, [1.0], u0=np.ones(3)), "u0"),
    (lambda: dynamics.gradient_flow(K, Y, [1.0], k_test_train=np.ones((2, 4))), "k_test_train"),
    (lambda: dynamics.gradient_flow(K, Y, [1.0], k_test_train=np.ones((2, 5)),
                                    f0_test=np.ones(3)), "f0_test"),
    (lambda: dynamics.ntk_gp(K, K, np.ones((2, 5)), np.ones((2, 5)), np.eye(3), Y, [1.0]),
     "nngp_test"),
    (lambda: methods.kernel_ridge(K, Y, np.ones((2, 5)), ridge=-1.0), "ridge"),
    (lambda: methods.kernel_ridge(NOT_SYM, Y, np.ones((2, 5)), 0.1), "k_train"),
    (lambda: methods.kernel_ridge(K, Y, np.ones((2, 4)), 0.1), "k_test_train"),
    (lambda: methods.kernel_ridge(K, [1.0, np.nan, 0, 0, 0], np.ones((2, 5)), 0.1), "y"),
    (lambda: methods.ridge_primal(X, Y, np.ones((2, 4)), 0.1), "features_test"),
    (lambda: methods.kernel_ridge_loo(K, Y, ridge=-1), "ridge"),
    (lambda: methods.nadaraya_watson(-np.ones((2, 5)), Y), "k_test_train"),
    (lambda: methods.nadaraya_watson(np.ones((2, 5)), np.ones(3)), "y"),
    (lambda: methods.kernel_pca(NOT_SYM, 2), "K"),
    (lambda: methods.kernel_pca(K, 0), "n_components"),
    (lambda: methods.kernel_pca(K, 9), "n_components"),
    (lambda: methods.kernel_pca_fit(K, 2).transform(np.ones((2, 4))), "k_test_train"),
    (lambda: methods.gp_posterior(K, Y, np.ones((2, 5)), np.ones(3)), "k_test_diag"),
    (lambda: methods.gp_posterior(K, Y, np.ones((2, 5)), np.ones(2), noise=-1), "noise"),
    (lambda: bounds.rkhs_norm(NOT_SYM, Y), "K"),
    (lambda: bounds.rkhs_norm(np.ones((5, 5)), Y), "K"),
    (lambda: bounds.generalization_bound(K, np.ones(6)), "y"),
    (lambda: bounds.lazy_ratio(NET, P, X, np.ones(4)), "y"),
    (lambda: bounds.hessian_norm(NET, P, X, iters=0), "iters"),
    (lambda: datasets.unit_circle(0), "n"),
    (lambda: datasets.regression_1d(10, noise=-1), "noise"),
    (lambda: datasets.digits_pair(3, 3), "a and b"),
    (lambda: datasets.digits_pair(3, 12), "b"),
    (lambda: datasets.flip_labels(Y, -0.1), "p"),
    (lambda: datasets.random_labels(0), "n"),
    (lambda: datasets.two_point(angle=0.0), "angle"),
]


@pytest.mark.parametrize("call, name", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError) as info:
        call()
    assert name in str(info.value)
    assert "Traceback" not in str(info.value) and len(str(info.value)) < 300
