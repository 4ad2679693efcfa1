"""Chapter 12 helpers: the kernel distance against a direct formula and its invariances, the
dispersion of the NTK at initialisation against a hand-written NumPy network, and training
checkpoints against the NTK recomputed at the saved weights and against ``train_gd``."""

import jax
import numpy as np
import pytest

from ntkbook.backend import enable_x64
from ntkbook.datasets import digits_binary
from ntkbook.empirical import (
    _ntk_by_depth,
    dispersion,
    empirical_ntk,
    kernel_distance,
    ntk_init_samples,
)
from ntkbook.infinite import nngp_ntk
from ntkbook.nets import MLP, centered
from ntkbook.train import train_checkpoints, train_gd

enable_x64()
RNG = np.random.default_rng(12)


def _psd(n, rng=RNG):
    a = rng.normal(size=(n, n + 2))
    return a @ a.T


# --- kernel distance ---------------------------------------------------------------------


def test_kernel_distance_matches_direct_formula():
    k1, k2 = _psd(7), _psd(7)
    direct = 1 - np.trace(k1.T @ k2) / np.sqrt(np.trace(k1.T @ k1) * np.trace(k2.T @ k2))
    assert float(kernel_distance(k1, k2)) == pytest.approx(direct, rel=1e-12)


def test_kernel_distance_invariances():
    k1, k2 = _psd(6), _psd(6)
    s = float(kernel_distance(k1, k2))
    assert 0 < s < 1  # two PSD matrices have a non-negative Frobenius inner product
    assert float(kernel_distance(k2, k1)) == pytest.approx(s, rel=1e-12)
    assert float(kernel_distance(3.7 * k1, 0.2 * k2)) == pytest.approx(s, rel=1e-12)
    q, _ = np.linalg.qr(RNG.normal(size=(6, 6)))
    assert float(kernel_distance(q @ k1 @ q.T, q @ k2 @ q.T)) == pytest.approx(s, rel=1e-10)
    assert abs(float(kernel_distance(k1, 5 * k1))) < 1e-14
    assert float(kernel_distance(k1, -k1)) == pytest.approx(2.0)
    batch = kernel_distance(np.stack([k1, k1, k2]), k2)
    np.testing.assert_allclose(batch, [s, s, 0.0], atol=1e-14)


def test_kernel_distance_is_second_order_in_the_perturbation():
    # S(K, K + e D) = e^2 |D_perp|^2 / (2 |K|^2) + O(e^3), and a change along K costs nothing
    k = _psd(8)
    d = RNG.normal(size=(8, 8))
    d = d + d.T
    d_perp = d - np.sum(d * k) / np.sum(k * k) * k
    for e in (1e-2, 1e-3):
        pred = e**2 * np.sum(d_perp**2) / (2 * np.sum(k**2))
        assert float(kernel_distance(k, k + e * d)) == pytest.approx(pred, rel=20 * e)
        assert abs(float(kernel_distance(k, k + e * k))) < 1e-14


def test_kernel_distance_bad_input():
    with pytest.raises(ValueError, match="k1 and k2"):
        kernel_distance(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="non-zero"):
        kernel_distance(np.zeros((3, 3)), np.eye(3))
    with pytest.raises(ValueError, match="k1"):
        kernel_distance(np.array([np.nan]), np.eye(3))


# --- dispersion and NTK samples at initialisation ------------------------------------------


def test_dispersion_formula_and_bad_input():
    s = RNG.gamma(2.0, size=(500, 2, 3))
    np.testing.assert_allclose(dispersion(s), (s**2).mean(0) / s.mean(0) ** 2, rtol=1e-12)
    np.testing.assert_allclose(dispersion(np.ones((4, 2))), np.ones(2))
    with pytest.raises(ValueError, match="two draws"):
        dispersion(np.ones((1, 3)))
    with pytest.raises(ValueError, match="non-zero mean"):
        dispersion(np.array([1.0, -1.0]))


def _stack_to_mlp(stack, depth):
    """The MLP parameters of the depth-``depth`` network inside a drawn stack."""
    w1, b1, wh, bh, v, c = stack
    layers = [(w1, b1)] + [(wh[i], bh[i]) for i in range(depth - 1)]
    return layers + [(v[:, None], c[None])]


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_ntk_by_depth_matches_autodiff(activation):
    d, m, max_depth = 3, 5, 4
    k = iter(jax.random.split(jax.random.PRNGKey(0), 6))
    stack = (jax.random.normal(next(k), (d, m)), jax.random.normal(next(k), (m,)),
             jax.random.normal(next(k), (max_depth - 1, m, m)),
             jax.random.normal(next(k), (max_depth - 1, m)),
             jax.random.normal(next(k), (m,)), jax.random.normal(next(k), ()))
    x1, x2 = RNG.normal(size=(4, d)), RNG.normal(size=(3, d))
    for depth in range(1, max_depth + 1):
        net = MLP(d, m, depth, activation, w_std=1.3, b_std=0.4)
        generic = lambda q, x, net=net: net(q, x)  # noqa: E731  (autodiff Jacobians)
        want = empirical_ntk(generic, _stack_to_mlp(stack, depth), x1, x2, strategy="jacobian")
        got = _ntk_by_depth(stack, x1, x2, depth, 1.3, 0.4, activation)
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _numpy_ntk(x, depth, width, w_std, b_std, rng):
    """NTK(x, x) of one random ReLU MLP (NTK parameterisation), by hand-written backprop."""
    d = x.shape[0]
    sizes = [d] + [width] * depth + [1]
    ws = [rng.normal(size=(a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(size=b) for b in sizes[1:]]
    acts, pre = [x], []
    for i, (w, b) in enumerate(zip(ws, bs)):
        h = w_std / np.sqrt(sizes[i]) * acts[-1] @ w + b_std * b
        pre.append(h)
        acts.append(np.maximum(h, 0))
    delta = np.ones(1)
    total = 0.0
    for i in range(len(ws) - 1, -1, -1):
        # dh_i/dW_i[a, b] = w_std/sqrt(n_in) act_a, dh_i/db_i = b_std
        total += (w_std**2 / sizes[i] * acts[i] @ acts[i] + b_std**2) * delta @ delta
        if i:
            delta = w_std / np.sqrt(sizes[i]) * (ws[i] @ delta) * (pre[i - 1] > 0)
    return total


def test_dispersion_matches_numpy_monte_carlo():
    x = RNG.normal(size=(1, 3))
    depth, width, w_std, b_std, n = 3, 6, 1.6, 0.5, 4000
    ours = np.asarray(ntk_init_samples(x, depths=[depth], width=width, w_std=w_std,
                                       b_std=b_std, n_samples=n, key=1))[0, :, 0, 0]
    rng = np.random.default_rng(5)
    theirs = np.array([_numpy_ntk(x[0], depth, width, w_std, b_std, rng) for _ in range(n)])
    # means and second moments agree within a few standard errors
    for a, b in ((ours, theirs), (ours**2, theirs**2)):
        se = np.sqrt(a.var() / n + b.var() / n)
        assert abs(a.mean() - b.mean()) < 4 * se
    disp_ours, disp_theirs = float(dispersion(ours)), float(dispersion(theirs))
    assert disp_ours > 1.2  # narrow and deep: clearly random
    assert disp_ours == pytest.approx(disp_theirs, rel=0.1)


def test_wide_mean_approaches_infinite_ntk():
    x = RNG.normal(size=(2, 4))
    samples = np.asarray(ntk_init_samples(x, depths=[2], width=512, w_std=1.4, b_std=0.3,
                                          n_samples=40, key=2))[0]
    _, theta = nngp_ntk(x, depth=2, w_std=1.4, b_std=0.3)
    np.testing.assert_allclose(samples.mean(0), theta, rtol=0.03)
    assert float(dispersion(samples)[0, 0]) < 1.05  # 1 + O(depth / width)


def test_homogeneity_hides_w_std_without_biases():
    # ReLU without biases: f scales like w_std^(L+1), the NTK like w_std^(2L+2), so the ratio
    # E[K^2]/E[K]^2 cannot depend on w_std; with biases it does
    x = RNG.normal(size=(1, 3))
    w = [1.2, 1.6]
    s0 = np.asarray(ntk_init_samples(x, depths=[4], width=6, w_std=w, b_std=0.0,
                                     n_samples=300, key=3))
    # (some narrow ReLU networks are dead, with a zero kernel: compare without dividing)
    np.testing.assert_allclose(s0[1], (w[1] / w[0]) ** 10 * s0[0], rtol=1e-9, atol=1e-300)
    s1 = np.asarray(ntk_init_samples(x, depths=[4], width=6, w_std=w, b_std=0.5,
                                     n_samples=300, key=3))
    d1 = [float(dispersion(s1[i, 0])[0, 0]) for i in range(2)]
    assert abs(d1[1] - d1[0]) > 0.05


def test_ntk_init_samples_bad_input():
    x = np.ones((2, 3))
    with pytest.raises(ValueError, match="depths"):
        ntk_init_samples(x, depths=[0, 2])
    with pytest.raises(ValueError, match="w_std"):
        ntk_init_samples(x, w_std=[1.0, -1.0])
    with pytest.raises(ValueError, match="width"):
        ntk_init_samples(x, width=0)


# --- training checkpoints --------------------------------------------------------------------


def test_checkpoints_match_recomputed_ntk_and_train_gd():
    x, y = RNG.normal(size=(8, 3)), RNG.normal(size=8)
    xt = RNG.normal(size=(5, 3))
    net = MLP(3, 16, 2, b_std=0.3)
    p0 = net.init(4)
    f = centered(net, p0, 0.5)
    lr, steps = 0.05, [0, 3, 10, 25]
    rec = train_checkpoints(f, p0, x, y, lr, steps, x_test=xt, loss_scale=4.0)
    generic = lambda q, z: net(q, z)  # noqa: E731  (autodiff path, not the recorder's)
    for i, s in enumerate(steps):
        k = 0.25 * np.asarray(empirical_ntk(generic, rec.params[i],
                                            np.vstack([x, xt]), x, strategy="jacobian"))
        np.testing.assert_allclose(rec.ntk[i], k[:8], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(rec.ntk_test[i], k[8:], rtol=1e-9, atol=1e-12)
        ref = train_gd(f, p0, x, y, lr, s, record_every=1, x_test=xt, loss_scale=4.0)
        np.testing.assert_allclose(rec.train[i], ref.train[-1], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(rec.test[i], ref.test[-1], rtol=1e-9, atol=1e-12)
        assert rec.loss[i] == pytest.approx(float(ref.loss[-1]), rel=1e-9)
    assert rec.loss[-1] < rec.loss[0]


def test_checkpoints_bad_input():
    net = MLP(3, 4)
    p0 = net.init(0)
    x, y = np.ones((3, 3)), np.ones(3)
    with pytest.raises(ValueError, match="checkpoints"):
        train_checkpoints(net, p0, x, y, 0.1, [-1, 2])
    with pytest.raises(ValueError, match="checkpoints"):
        train_checkpoints(net, p0, x, y, 0.1, [0.5])
    with pytest.raises(ValueError, match="lr"):
        train_checkpoints(net, p0, x, y, 0.0, [1])
    with pytest.raises(ValueError, match="x_test"):
        train_checkpoints(net, p0, x, y, 0.1, [1], x_test=np.ones((2, 4)))


def test_digits_binary():
    xtr, ytr, xte, yte = digits_binary((0, 1, 2), n_train=50, n_test=30, seed=1)
    assert xtr.shape == (50, 64) and xte.shape == (30, 64)
    np.testing.assert_allclose(np.linalg.norm(xtr, axis=1), 1.0)
    assert set(np.unique(ytr)) <= {-1.0, 1.0}
    # disjoint splits: no training image appears among the test images
    assert not any(np.any(np.all(np.isclose(xte, row), axis=1)) for row in xtr)
    with pytest.raises(ValueError, match="positive"):
        digits_binary(tuple(range(10)))
    with pytest.raises(ValueError, match="n_train"):
        digits_binary(n_train=1500, n_test=400)
