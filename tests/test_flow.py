"""Ensemble gradient descent and output-space helpers against independent computations."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.empirical import empirical_ntk
from ntkbook.flow import h_ellipse, residual_modes, train_ensemble
from ntkbook.nets import MLP, centered
from ntkbook.train import train_gd

enable_x64()
RNG = np.random.default_rng(11)
X = RNG.normal(size=(5, 3))
XT = RNG.normal(size=(4, 3))
Y = np.cos(X[:, 0] + X[:, 2])


def test_linear_model_follows_the_exact_gradient_descent_recurrence():
    # depth 0: f(w, x) = w_std/sqrt(d) x.W + b_std b is linear in w with the constant kernel
    # H = w_std^2/d X X^T + b_std^2; GD is u_k - y = (I - lr H)^k (u_0 - y) for every alpha.
    net = MLP(3, 1, depth=0, w_std=1.3, b_std=0.4)
    h = 1.3**2 / 3 * X @ X.T + 0.4**2
    lr, steps = 0.05, 40
    alphas = np.array([1.0, 0.25, 4.0])
    res = train_ensemble(net, [3, 3, 3], X, Y, lr, steps, record_every=10, alpha=alphas)
    u0 = np.asarray(res.train[0, 0])
    step = np.eye(5) - lr * h
    for r, k in enumerate(res.steps):
        expected = Y + np.linalg.matrix_power(step, int(k)) @ (u0 - Y)
        for e in range(3):
            np.testing.assert_allclose(res.train[e, r], expected, atol=1e-10)
        np.testing.assert_allclose(res.loss[0, r], 0.5 * np.sum((expected - Y) ** 2), atol=1e-10)
    np.testing.assert_allclose(res.ntk[0, 0], h, atol=1e-10)
    np.testing.assert_allclose(res.ntk[0, 1], h, atol=1e-10)  # a linear model's kernel is fixed
    # the weights travel 1/alpha times as far
    np.testing.assert_allclose(res.weight_change[1, -1], 4 * res.weight_change[0, -1], rtol=1e-8)
    np.testing.assert_allclose(res.weight_change[2, -1], res.weight_change[0, -1] / 4, rtol=1e-8)


def test_members_match_train_gd_one_by_one():
    net = MLP(3, 32, 2, "erf", 1.2, 0.2)
    keys = jax.random.split(jax.random.PRNGKey(5), 3)
    alphas = np.array([1.0, 0.5, 3.0])
    lr, steps = 0.03, 60
    res = train_ensemble(net, keys, X, Y, lr, steps, record_every=20, x_test=XT, alpha=alphas,
                         ntk="all")
    assert res.train.shape == (3, 4, 5) and res.test.shape == (3, 4, 4)
    assert res.ntk.shape == (3, 4, 5, 5)
    for e in range(3):
        p0 = net.init(keys[e])
        a = float(alphas[e])
        fa = centered(net, p0, a)

        def model(p, x, fa=fa, p0=p0):  # the member's model, built from nets.centered
            return net(p0, x) + fa(p, x)

        ref = train_gd(model, p0, X, Y, lr, steps, 20, x_test=XT, loss_scale=1 / a**2,
                       ntk_steps=[0, steps])
        np.testing.assert_allclose(res.train[e], ref.train, atol=1e-9)
        np.testing.assert_allclose(res.test[e], ref.test, atol=1e-9)
        np.testing.assert_allclose(res.loss[e], np.asarray(ref.loss) * a**2, atol=1e-9)
        np.testing.assert_allclose(res.weight_change[e], ref.weight_change, atol=1e-9)
        # recorded kernels are those of the unscaled network (the model's kernel / alpha^2)
        np.testing.assert_allclose(res.ntk[e, 0], ref.ntk[0] / a**2, rtol=1e-8)
        np.testing.assert_allclose(res.ntk[e, -1], ref.ntk[1] / a**2, rtol=1e-8)
        np.testing.assert_allclose(res.ntk[e, 0], empirical_ntk(net, p0, X), rtol=1e-8)


def test_int_and_seed_keys_and_params0():
    net = MLP(3, 8, 1)
    a = train_ensemble(net, 2, X, Y, 0.01, 0)
    b = train_ensemble(net, jax.random.split(jax.random.PRNGKey(0), 2), X, Y, 0.01, 0)
    np.testing.assert_allclose(a.train, b.train)
    c = train_ensemble(net, [7], X, Y, 0.01, 0)
    p7 = net.init(7)
    np.testing.assert_allclose(c.train[0, 0], net(p7, X), atol=1e-12)
    np.testing.assert_allclose(c.params0[0][0][0], p7[0][0])
    assert a.ntk.shape == (2, 2, 5, 5) and a.test is None
    assert train_ensemble(net, 2, X, Y, 0.01, 0, ntk="none").ntk is None
    np.testing.assert_array_equal(a.steps, [0])


def test_residual_modes_against_numpy():
    a = RNG.normal(size=(4, 4))
    k = a @ a.T
    y = RNG.normal(size=4)
    u = RNG.normal(size=(3, 7, 4))
    coords, lam, v = residual_modes(k, y, u)
    lam_np, v_np = np.linalg.eigh(k)
    np.testing.assert_allclose(lam, lam_np[::-1], rtol=1e-10)
    # eigenvectors are defined up to sign: compare squared coordinates
    np.testing.assert_allclose(np.asarray(coords) ** 2, ((u - y) @ v_np[:, ::-1]) ** 2, atol=1e-10)
    np.testing.assert_allclose(np.sum(np.asarray(coords) ** 2, -1), np.sum((u - y) ** 2, -1),
                               rtol=1e-10)
    np.testing.assert_allclose(np.asarray(v).T @ np.asarray(v), np.eye(4), atol=1e-10)


def test_h_ellipse_lies_on_the_level_set():
    k = np.array([[3.0, 1.2], [1.2, 1.0]])
    c = np.array([0.5, -1.0])
    pts = np.asarray(h_ellipse(k, c, 2.0, num=50))
    d = pts - c
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", d, k, d), 2.0, rtol=1e-10)
    np.testing.assert_allclose(pts[0], pts[-1], atol=1e-12)
    lam = np.linalg.eigvalsh(k)
    # the longest radius is sqrt(level / smallest eigenvalue)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1).max(), np.sqrt(2.0 / lam[0]), rtol=1e-3)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"keys": 0}, "keys"),
        ({"keys": "a"}, "keys"),
        ({"keys": jnp.zeros((3, 3), dtype=jnp.uint32)}, "keys"),
        ({"x": np.ones((5, 2))}, "x"),
        ({"y": np.ones(4)}, "y"),
        ({"lr": 0.0}, "lr"),
        ({"steps": -1}, "steps"),
        ({"steps": 5, "record_every": 2}, "steps"),
        ({"record_every": 0}, "record_every"),
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": np.ones(3)}, "alpha"),
        ({"alpha": np.nan}, "alpha"),
        ({"x_test": np.ones((2, 4))}, "x_test"),
        ({"net": lambda p, x: x[:, 0]}, "net"),
        ({"ntk": "some"}, "ntk"),
    ],
)
def test_train_ensemble_bad_input(kwargs, name):
    args = {"net": MLP(3, 4, 1), "keys": 2, "x": X, "y": Y, "lr": 0.1, "steps": 2}
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        train_ensemble(**args)


def test_helpers_bad_input():
    k = np.array([[2.0, 0.5], [0.5, 1.0]])
    with pytest.raises(ValueError, match="u"):
        residual_modes(k, np.zeros(2), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="k_train"):
        residual_modes(np.array([[1.0, 2.0], [0.0, 1.0]]), np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="k_train"):
        h_ellipse(np.eye(3), np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="k_train"):
        h_ellipse(np.array([[1.0, 1.0], [1.0, 1.0]]), np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="center"):
        h_ellipse(k, np.zeros(3), 1.0)
    with pytest.raises(ValueError, match="level"):
        h_ellipse(k, np.zeros(2), -1.0)
    with pytest.raises(ValueError, match="num"):
        h_ellipse(k, np.zeros(2), 1.0, num=2)
