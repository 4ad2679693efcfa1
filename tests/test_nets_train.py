"""Networks (parameterisations, alpha scaling) and the gradient-descent loop."""

import jax
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.empirical import empirical_ntk
from ntkbook.nets import MLP, centered, mlp_apply, mlp_init, param_norm
from ntkbook.train import train_gd

enable_x64()
RNG = np.random.default_rng(7)
X = RNG.normal(size=(8, 3))
Y = np.tanh(X[:, 0] - X[:, 1])


def test_parameterisations_agree_at_initialisation_but_not_in_gradient():
    a = MLP(3, 64, 2, "relu", 1.5, 0.3, "ntk")
    b = MLP(3, 64, 2, "relu", 1.5, 0.3, "standard")
    pa, pb = a.init(0), b.init(0)
    np.testing.assert_allclose(a(pa, X), b(pb, X), rtol=1e-10)
    ka, kb = empirical_ntk(a, pa, X), empirical_ntk(b, pb, X)
    assert np.linalg.norm(ka - kb) > 0.1 * np.linalg.norm(ka)


def test_shapes_and_parameter_count():
    net = MLP(3, 10, 2)
    p = mlp_init(net, jax.random.PRNGKey(1))
    assert [w.shape for w, _ in p] == [(3, 10), (10, 10), (10, 1)]
    assert net.n_params == sum(w.size + b.size for w, b in p) == 40 + 110 + 11
    assert mlp_apply(net, p, X).shape == (8,)


def test_centered_model_is_zero_at_init_and_scales_the_ntk():
    net = MLP(3, 32, 1, "erf")
    p0 = net.init(3)
    f = centered(net, p0, 5.0)
    np.testing.assert_allclose(f(p0, X), 0.0, atol=1e-12)
    np.testing.assert_allclose(empirical_ntk(f, p0, X), 25 * empirical_ntk(net, p0, X),
                               rtol=1e-10)


def test_train_records_are_consistent():
    net = MLP(3, 64, 1, "erf")
    p0 = net.init(4)
    res = train_gd(net, p0, X, Y, lr=0.1, steps=60, record_every=20, ntk_steps=[0, 60])
    assert res.steps.tolist() == [0, 20, 40, 60]
    assert res.loss.shape == (4,) and res.train.shape == (4, 8) and res.ntk.shape == (2, 8, 8)
    np.testing.assert_allclose(res.loss[0], 0.5 * np.sum((net(p0, X) - Y) ** 2), rtol=1e-12)
    np.testing.assert_allclose(res.train[-1], net(res.params, X), rtol=1e-12)
    np.testing.assert_allclose(res.loss[-1], 0.5 * np.sum((net(res.params, X) - Y) ** 2),
                               rtol=1e-12)
    assert res.weight_change[0] == 0 and np.all(np.diff(np.asarray(res.loss)) < 0)
    delta = jax.tree_util.tree_map(lambda a, b: a - b, res.params, p0)
    np.testing.assert_allclose(res.weight_change[-1], param_norm(delta) / param_norm(p0))
    np.testing.assert_allclose(res.ntk[0], empirical_ntk(net, p0, X), rtol=1e-12)
    np.testing.assert_allclose(res.ntk[1], empirical_ntk(net, res.params, X), rtol=1e-10)


def test_one_step_matches_hand_gradient():
    # one GD step on L = 1/2 |f - y|^2 of a depth-0 (linear) model: w1 = w0 - lr X^T (f - y) ...
    net = MLP(3, 1, 0)
    p0 = net.init(5)
    res = train_gd(net, p0, X, Y, lr=0.01, steps=1)
    (w, b), = p0
    s = 1 / np.sqrt(3)
    r = np.asarray(net(p0, X)) - Y
    w1 = np.asarray(w)[:, 0] - 0.01 * s * X.T @ r
    np.testing.assert_allclose(res.params[0][0][:, 0], w1, rtol=1e-12)


def test_bigger_alpha_moves_weights_less():
    net = MLP(3, 64, 1)
    p0 = net.init(6)
    moves = []
    for alpha in (1.0, 10.0, 100.0):
        f = centered(net, p0, alpha)
        r = train_gd(f, p0, X, Y, lr=0.05, steps=100, loss_scale=1 / alpha**2)
        moves.append(float(r.weight_change[-1]))
    assert moves[0] > moves[1] > moves[2]
    np.testing.assert_allclose(moves[1] / moves[2], 10, rtol=0.1)


@pytest.mark.parametrize("kwargs, match", [
    ({"lr": 0.0}, "lr"), ({"steps": -1}, "steps"), ({"record_every": 3, "steps": 10}, "multiple"),
    ({"ntk_steps": [5], "steps": 10, "record_every": 2}, "ntk_steps"),
])
def test_train_rejects_bad_settings(kwargs, match):
    net = MLP(3, 8, 1)
    args = {"lr": 0.1, "steps": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        train_gd(net, net.init(0), X, Y, **args)


def test_compilation_cache_folder(tmp_path, monkeypatch):
    from ntkbook import backend

    monkeypatch.setenv("NTKBOOK_JAX_CACHE", "off")
    assert backend.cache_dir() is None
    monkeypatch.setenv("NTKBOOK_JAX_CACHE", str(tmp_path / "c"))
    assert backend.cache_dir() == tmp_path / "c"
    monkeypatch.delenv("NTKBOOK_JAX_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert backend.cache_dir() == tmp_path / "ntkbook" / "jax"
