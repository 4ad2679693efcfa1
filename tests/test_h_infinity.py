"""``infinite.h_infinity`` against Monte Carlo and against a wide network's empirical NTK."""

import numpy as np
import pytest

from ntkbook.infinite import h_infinity, nngp_ntk


def _inputs(n=6, d=4, seed=0):
    x = np.random.default_rng(seed).normal(size=(n, d))
    x[1] *= 3.0  # not all on the sphere
    return x


def test_matches_monte_carlo_over_hidden_weights():
    x = _inputs()
    w = np.random.default_rng(1).normal(size=(400_000, x.shape[1]))
    active = (x @ w.T >= 0).astype(float)  # (n, samples)
    mc = (x @ x.T) * (active @ active.T) / w.shape[0]
    np.testing.assert_allclose(np.asarray(h_infinity(x)), mc, atol=4e-3 * np.abs(mc).max())


def test_is_the_ntk_of_a_wide_two_layer_net_with_frozen_output():
    # hand-derived gradient: df/dw_r = m^{-1/2} a_r 1{w_r.x >= 0} x
    x = _inputs(seed=2)
    m = 200_000
    rng = np.random.default_rng(3)
    w = rng.normal(size=(m, x.shape[1]))
    a = rng.choice([-1.0, 1.0], size=m)
    grads = (a[None, :] * (x @ w.T >= 0))[:, :, None] * x[:, None, :] / np.sqrt(m)  # (n, m, d)
    emp = np.einsum("imd,jmd->ij", grads, grads)
    np.testing.assert_allclose(np.asarray(h_infinity(x)), emp, atol=6e-3 * np.abs(emp).max())


def test_unit_sphere_values_and_not_a_multiple_of_the_both_layer_ntk():
    x = _inputs(seed=4)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    h = np.asarray(h_infinity(x))
    np.testing.assert_allclose(np.diag(h), 0.5, rtol=1e-6)
    _, ntk = nngp_ntk(x, depth=1)
    ratio = np.asarray(ntk) / h
    assert np.ptp(ratio[np.abs(h) > 1e-3]) > 0.1  # no constant factor relates them


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="x2"):
        h_infinity(np.ones((3, 2)), np.ones((3, 4)))
    with pytest.raises(ValueError, match="x1"):
        h_infinity(np.array([[np.nan, 1.0]]))
