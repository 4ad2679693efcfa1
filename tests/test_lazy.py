"""Batched lazy-regime machinery, checked against single runs of train_gd / lazy_ratio, dense
Jacobians and the closed-form dynamics of gradient descent on a linear model."""

import jax
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.bounds import lazy_ratio
from ntkbook.empirical import empirical_ntk, jacobian_features, linearize
from ntkbook.lazy import (init_many, lazy_ratios, relative_change, stack_params, train_many,
                           unstack_params)
from ntkbook.nets import MLP, centered
from ntkbook.train import train_gd

enable_x64()
RNG = np.random.default_rng(11)
X = np.linspace(-2, 2, 7)[:, None]
Y = np.sin(2 * X[:, 0])
NET = MLP(1, 24, 1, "relu", b_std=1.0)
P0 = [NET.init(s) for s in range(3)]
PB = stack_params(P0)


def test_stack_and_unstack_roundtrip():
    back = unstack_params(PB)
    assert len(back) == 3
    for p, q in zip(P0, back):
        for a, b in zip(jax.tree_util.tree_leaves(p), jax.tree_util.tree_leaves(q)):
            np.testing.assert_array_equal(a, b)


def _compare(batched, single, i, rtol=1e-9):
    np.testing.assert_allclose(batched.loss[i], single.loss, rtol=rtol, atol=1e-13)
    np.testing.assert_allclose(batched.train[i], single.train, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(batched.weight_change[i], single.weight_change, rtol=rtol,
                               atol=1e-13)


def test_train_many_matches_train_gd_for_every_run():
    xt = np.linspace(-2.5, 2.5, 5)[:, None]
    res = train_many(NET, PB, X, Y, lr=0.05, steps=60, record_every=20, x_test=xt)
    assert res.loss.shape == (3, 4) and res.train.shape == (3, 4, 7)
    assert res.test.shape == (3, 4, 5) and res.ntk.shape == (3, 4, 7, 7)
    assert res.steps.tolist() == [0, 20, 40, 60]
    for i, p0 in enumerate(P0):
        one = train_gd(NET, p0, X, Y, lr=0.05, steps=60, record_every=20, x_test=xt,
                       ntk_steps=[0, 20, 40, 60])
        _compare(res, one, i)
        np.testing.assert_allclose(res.test[i], one.test, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(res.ntk[i], one.ntk, rtol=1e-8, atol=1e-12)
        final = unstack_params(res.params)[i]
        np.testing.assert_allclose(NET(final, X), one.train[-1], rtol=1e-9)


def test_linearized_runs_match_train_gd_and_the_closed_form():
    lr, steps = 0.05, 40
    res = train_many(NET, PB, X, Y, lr=lr, steps=steps, record_every=10, linearized=True)
    for i, p0 in enumerate(P0):
        one = train_gd(linearize(NET, p0), p0, X, Y, lr=lr, steps=steps, record_every=10)
        _compare(res, one, i)
        # GD on a linear model: u_k - y = (I - lr K0)^k (u_0 - y), K0 the NTK at p0
        k0 = np.asarray(empirical_ntk(NET, p0, X))
        u0 = np.asarray(NET(p0, X))
        step = np.eye(len(Y)) - lr * k0
        for r, k in enumerate(res.steps):
            expected = Y + np.linalg.matrix_power(step, int(k)) @ (u0 - Y)
            np.testing.assert_allclose(res.train[i, r], expected, rtol=1e-8, atol=1e-10)
        # its NTK never changes
        np.testing.assert_allclose(relative_change(res.ntk[i]), 0.0, atol=1e-10)


def test_alpha_scaled_runs_match_train_gd_with_centered_and_loss_scale():
    alphas = np.array([0.5, 2.0, 30.0])
    p0 = P0[0]
    res = train_many(NET, stack_params([p0] * 3), X, Y, lr=0.05, steps=30, record_every=10,
                     alpha=alphas)
    for i, a in enumerate(alphas):
        one = train_gd(centered(NET, p0, a), p0, X, Y, lr=0.05, steps=30, record_every=10,
                       ntk_steps=[0, 30], loss_scale=1 / a**2)
        _compare(res, one, i)
        np.testing.assert_allclose(res.ntk[i, [0, -1]], one.ntk, rtol=1e-8, atol=1e-12)
    # the centred model starts at zero; its NTK is alpha^2 times that of the network
    np.testing.assert_allclose(res.train[:, 0], 0.0, atol=1e-12)
    k0 = np.asarray(empirical_ntk(NET, p0, X))
    np.testing.assert_allclose(res.ntk[:, 0], alphas[:, None, None] ** 2 * k0, rtol=1e-9)


def test_batched_targets():
    ys = np.stack([Y, -Y, 2 * Y])
    res = train_many(NET, PB, X, ys, lr=0.05, steps=20, record_every=10, record_ntk=False)
    assert res.ntk is None and res.ntk_steps.size == 0
    for i in range(3):
        one = train_gd(NET, P0[i], X, ys[i], lr=0.05, steps=20, record_every=10)
        _compare(res, one, i)


def test_lazy_ratios_match_lazy_ratio_and_dense_jacobians():
    r = lazy_ratios(NET, PB, X, Y)
    assert r.kappa.shape == (3,)
    for i, p0 in enumerate(P0):
        one = lazy_ratio(NET, p0, X, Y)
        for a, b in zip(r, one):
            np.testing.assert_allclose(a[i], b, rtol=1e-8)
        jac = np.asarray(jacobian_features(NET, p0, X))
        np.testing.assert_allclose(r.jacobian_norm[i], np.linalg.svd(jac, compute_uv=False)[0],
                                   rtol=1e-8)
        np.testing.assert_allclose(r.residual[i], np.linalg.norm(NET(p0, X) - Y), rtol=1e-10)


def test_lazy_ratios_alpha_is_exactly_inverse_in_alpha():
    alphas = np.array([0.1, 1.0, 10.0, 1000.0])
    p0 = P0[1]
    r = lazy_ratios(NET, stack_params([p0] * 4), X, Y, alpha=alphas)
    np.testing.assert_allclose(r.residual, np.linalg.norm(Y), rtol=1e-12)
    np.testing.assert_allclose(r.kappa * alphas, r.kappa[1], rtol=1e-8)
    one = lazy_ratio(centered(NET, p0, 10.0), p0, X, Y)
    np.testing.assert_allclose(r.kappa[2], one.kappa, rtol=1e-8)


def test_relative_change_by_hand():
    traj = np.array([[[3.0, 0.0], [0.0, 4.0]], [[3.0, 0.0], [0.0, 4.0]], [[0.0, 0.0], [0.0, 4.0]]])
    np.testing.assert_allclose(relative_change(traj), [0.0, 0.0, 3.0 / 5.0])
    assert relative_change(np.stack([traj, 2 * traj])).shape == (2, 3)


@pytest.mark.parametrize("call, name", [
    (lambda: stack_params([]), "params_list"),
    (lambda: stack_params([P0[0], MLP(1, 5, 1).init(0)]), "params_list"),
    (lambda: train_many(NET, P0[0], X, Y, 0.1, 10), "params0"),
    (lambda: train_many(NET, PB, X, Y[:5], 0.1, 10), "y"),
    (lambda: train_many(NET, PB, X, np.ones((2, 7)), 0.1, 10), "y"),
    (lambda: train_many(NET, PB, np.ones(7), Y, 0.1, 10), "x"),
    (lambda: train_many(NET, PB, X, Y, 0.0, 10), "lr"),
    (lambda: train_many(NET, PB, X, Y, 0.1, -1), "steps"),
    (lambda: train_many(NET, PB, X, Y, 0.1, 10, record_every=3), "steps"),
    (lambda: train_many(NET, PB, X, Y, 0.1, 10, x_test=np.ones((3, 2))), "x_test"),
    (lambda: train_many(NET, PB, X, Y, 0.1, 10, alpha=[1.0, -1.0, 2.0]), "alpha"),
    (lambda: train_many(NET, PB, X, Y, 0.1, 10, alpha=[1.0, 2.0]), "alpha"),
    (lambda: train_many("net", PB, X, Y, 0.1, 10), "f"),
    (lambda: lazy_ratios(NET, PB, X, Y[:3]), "y"),
    (lambda: lazy_ratios(NET, PB, X, Y, alpha=0.0), "alpha"),
    (lambda: lazy_ratios(NET, PB, X, Y, iters=0), "iters"),
    (lambda: lazy_ratios(NET, P0[0], X, Y), "params0"),
    (lambda: relative_change(np.ones((3, 2))), "traj"),
    (lambda: relative_change(np.zeros((2, 2, 2))), "traj"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_lists_of_models_give_the_same_as_separate_calls():
    small = MLP(1, 8, 1, "relu", b_std=1.0)
    p_small = stack_params([small.init(s) for s in range(2)])
    both = train_many([NET, small, NET], [PB, p_small, PB], X, Y, lr=0.05, steps=20,
                      record_every=10, linearized=[False, False, True],
                      record_ntk=[True, True, False])
    assert isinstance(both, list) and len(both) == 3
    alone = train_many(small, p_small, X, Y, lr=0.05, steps=20, record_every=10)
    np.testing.assert_allclose(both[1].loss, alone.loss, rtol=1e-12)
    np.testing.assert_allclose(both[1].ntk, alone.ntk, rtol=1e-12)
    lin = train_many(NET, PB, X, Y, lr=0.05, steps=20, record_every=10, linearized=True)
    np.testing.assert_allclose(both[2].train, lin.train, rtol=1e-12)
    assert both[2].ntk is None
    ratios = lazy_ratios([NET, small], [PB, p_small], X, Y)
    np.testing.assert_allclose(ratios[1].kappa, lazy_ratios(small, p_small, X, Y).kappa,
                               rtol=1e-10)


@pytest.mark.parametrize("call, name", [
    (lambda: train_many([NET, NET], PB, X, Y, 0.1, 10), "params0"),
    (lambda: train_many([NET, NET], [PB, PB], X, Y, 0.1, 10, linearized=[True]), "linearized"),
    (lambda: train_many(NET, PB, X, Y, 0.1, 10, record_ntk="yes"), "record_ntk"),
    (lambda: train_many([], [], X, Y, 0.1, 10), "f"),
    (lambda: lazy_ratios([NET], [PB, PB], X, Y), "params0"),
])
def test_bad_lists_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_init_many_layout_and_values_by_hand():
    small = MLP(1, 8, 1, "relu", b_std=1.0)
    both = init_many([NET, small], [5, 7])
    assert isinstance(both, list) and len(both) == 2
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (NET.n_params,)))
    p = unstack_params(both[1])[1]  # seed 7 of the small net: a prefix of z
    flat = np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(p)])
    np.testing.assert_array_equal(flat, z[:small.n_params])
    for a, b in zip(jax.tree_util.tree_leaves(p), jax.tree_util.tree_leaves(small.init(0))):
        assert a.shape == b.shape
    one = init_many(NET, [3])
    assert jax.tree_util.tree_structure(one) == jax.tree_util.tree_structure(
        jax.tree_util.tree_map(lambda a: a[None], NET.init(0)))
    # standard parameterisation: weights scaled by w_std / sqrt(n_in), biases by b_std
    std = MLP(3, 16, 1, "erf", w_std=2.0, b_std=0.5, parameterization="standard")
    ps = unstack_params(init_many(std, [1]))[0]
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (std.n_params,)))
    np.testing.assert_allclose(ps[0][0].ravel(), z[:48] * 2.0 / np.sqrt(3))
    np.testing.assert_allclose(ps[0][1], z[48:64] * 0.5)
    np.testing.assert_allclose(ps[1][0].ravel(), z[64:80] * 2.0 / 4.0)


@pytest.mark.parametrize("call, name", [
    (lambda: init_many(NET, []), "seeds"),
    (lambda: init_many(NET, [1.5]), "seeds"),
    (lambda: init_many(NET, [-1]), "seeds"),
    (lambda: init_many("net", [0]), "net"),
    (lambda: init_many([NET, "net"], [0]), "net"),
])
def test_init_many_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
