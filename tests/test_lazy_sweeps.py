"""Whole width sweeps in one compilation: lazy_ratios_padded and train_many_packed must give
what lazy_ratios and train_many give run by run; train_ensemble's compiled initialisation must be
mlp_init's draws."""

import jax
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.flow import train_ensemble
from ntkbook.nets import mlp_init
from ntkbook.lazy import (init_many, lazy_ratios, lazy_ratios_padded, train_many,
                          train_many_packed)
from ntkbook.nets import MLP

enable_x64()
X = np.linspace(-2, 2, 6)[:, None]
Y = np.sin(2 * X[:, 0])
XT = np.linspace(-2.5, 2.5, 5)[:, None]


def _nets(depth=1, act="erf", widths=(12, 20, 41)):
    return [MLP(1, m, depth, act, b_std=1.0) for m in widths]


@pytest.mark.parametrize("depth", [1, 2])
def test_padded_lazy_ratios_equal_the_unpadded_ones(depth):
    nets = _nets(depth)
    params = init_many(nets, range(2))
    alphas = np.array([0.3, 30.0])
    ref = lazy_ratios(nets, params, X, Y) + [lazy_ratios(nets[0], params[0], X, Y,
                                                         alpha=alphas)]
    got = lazy_ratios_padded(nets + [nets[0]], params + [params[0]], X, Y,
                             alpha=[None] * len(nets) + [alphas])
    for r, g in zip(ref, got):
        for a, b in zip(r, g):
            np.testing.assert_allclose(b, a, rtol=1e-10)


def test_padded_lazy_ratio_scales_like_one_over_alpha():
    net = _nets()[1]
    p = init_many(net, [3, 3, 3])
    alphas = np.array([1.0, 10.0, 100.0])
    r = lazy_ratios_padded(net, p, X, Y, alpha=alphas)
    np.testing.assert_allclose(r.kappa * alphas, r.kappa[0], rtol=1e-8)
    np.testing.assert_allclose(r.residual, np.linalg.norm(Y), rtol=1e-12)


@pytest.mark.parametrize("alpha", [None, np.array([0.5, 2.0])])
def test_packed_training_equals_train_many_run_by_run(alpha):
    nets = _nets(act="relu")
    params = init_many(nets, range(2))
    kw = dict(x_test=XT, linearized=[False, True, False], record_ntk=[True, False, True])
    ref = train_many(nets, params, X, Y, 0.05, 40, 10, alpha=alpha, **kw)
    got = train_many_packed(nets, params, X, Y, 0.05, 40, 10, alpha=alpha, **kw)
    for r, g in zip(ref, got):
        np.testing.assert_array_equal(g.steps, r.steps)
        for field in ("loss", "train", "test", "weight_change", "ntk"):
            a, b = getattr(r, field), getattr(g, field)
            if a is None:
                assert b is None
                continue
            assert b.shape == a.shape
            np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-11)
        for a, b in zip(jax.tree_util.tree_leaves(r.params), jax.tree_util.tree_leaves(g.params)):
            assert b.shape == a.shape
            np.testing.assert_allclose(b, a, rtol=1e-8, atol=1e-11)


def test_packed_training_ntk_is_the_jacobian_gram_matrix():
    # independent of train_many: the recorded NTK at step 0 is J J^T from jax.jacrev
    net = _nets()[0]
    p = init_many(net, [5])
    res = train_many_packed(net, p, X, Y, 0.05, 10, 10)
    p0 = jax.tree_util.tree_map(lambda a: a[0], p)
    flat, unravel = jax.flatten_util.ravel_pytree(p0)
    jac = jax.jacrev(lambda w: net(unravel(w), X))(flat)
    np.testing.assert_allclose(res.ntk[0, 0], jac @ jac.T, rtol=1e-10)


def test_sweeps_reject_bad_input():
    nets = _nets()
    params = init_many(nets, range(2))
    with pytest.raises(ValueError, match="differ only"):
        lazy_ratios_padded([nets[0], MLP(1, 8, 1, "relu", b_std=1.0)], params[:2], X, Y)
    with pytest.raises(ValueError, match="depth=1"):
        deep = _nets(depth=2)
        train_many_packed(deep, init_many(deep, range(2)), X, Y, 0.1, 10, 10)
    with pytest.raises(ValueError, match="params0"):
        train_many_packed(nets, params[:2], X, Y, 0.1, 10, 10)
    with pytest.raises(ValueError, match="alpha"):
        train_many_packed(nets, params, X, Y, 0.1, 10, 10, alpha=[None, 1.0, 1.0])


def test_ensemble_initialisation_is_mlp_init_member_by_member():
    # train_ensemble draws all members' parameters in one compiled call; its weight change is
    # measured from them, so the recorded NTK at step 0 must be that of mlp_init's draws
    net = MLP(2, 16, 1, "relu", np.sqrt(2), 0.0)
    x = np.array([[1.0, 0.0], [0.6, 0.8]])
    y = np.array([1.0, -1.0])
    keys = jax.random.split(jax.random.PRNGKey(4), 3)
    run = train_ensemble(net, keys, x, y, 0.05, 20, record_every=5, ntk="all",
                         alpha=np.array([0.1, 1.0, 10.0]))
    for member, key in enumerate(keys):
        params = mlp_init(net, key)
        jac = jax.jacrev(lambda p: net(p, x))(params)
        flat = np.concatenate([np.asarray(j).reshape(len(x), -1)
                               for j in jax.tree_util.tree_leaves(jac)], axis=1)
        np.testing.assert_allclose(np.asarray(run.ntk[member, 0]), flat @ flat.T,
                                   rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        train_ensemble(net, keys, x, y, 0.05, 20, alpha=-1.0)
