"""Regression tests for issue 12 (no silent wrong answers), one per class of problem found:
precision, shapes and structure, edge values, integers, sizes and differentiability."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ntkbook import (_checks, bounds, dynamics, empirical, infinite, kernels, lazy, methods,
                     nets, spectral_bias, spectrum, train)
from ntkbook.nets import MLP

X = np.random.default_rng(0).normal(size=(6, 3))
Y = np.linspace(-1, 1, 6)
NET = MLP(3, 8, 1)
P = NET.init(0)


# float64 unless a test asks for the float32 fixture (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("float64")


# ------------------------------------------------------------------------------ precision
def test_gaussian_near_1000_with_small_bandwidth_in_float32(float32):
    x = 1000 + 0.05 * np.random.default_rng(1).normal(size=(30, 2))
    k = np.asarray(kernels.gaussian(x, bandwidth=0.05))
    diff = x[:, None] - x[None]
    ref = np.exp(-np.sum(diff**2, -1) / (2 * 0.05**2))
    assert np.abs(k - ref).max() < 1e-5  # the |a|^2 + |b|^2 - 2ab expansion was off by 1.0


@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_deep_kernels_keep_the_diagonal_recursion_in_float32(float32, activation):
    # w_std = sqrt(2), b = 0: ReLU keeps q; the NTK diagonal grows linearly
    s, t = infinite.nngp_ntk(X, None, 150, activation, np.sqrt(2), 0.0 if activation == "relu"
                             else 0.3)
    s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(t))
    if activation == "relu":
        q = 2 * np.sum(X**2, 1) / 3
        np.testing.assert_allclose(np.diag(s), q, rtol=1e-5)
        np.testing.assert_allclose(np.diag(t), 151 * q, rtol=1e-4)
    assert np.linalg.eigvalsh(s).min() > -1e-5 * s.max()


def test_unrepresentable_kernels_are_refused_in_float32(float32):
    with pytest.raises(ValueError, match="smallest"):
        infinite.nngp_ntk(X, None, 300, "relu", 1.0)  # (1/2)^300: below float32
    with pytest.raises(ValueError, match="largest"):
        infinite.nngp_ntk(X, None, 300, "relu", 2.0)
    with pytest.raises(ValueError, match="x1"):
        kernels.linear(np.full((2, 2), 1e39))  # finite in float64, inf in float32
    with pytest.raises(ValueError, match="overflows"):
        kernels.linear(np.full((2, 2), 1e20))


def test_erf_with_huge_inputs_and_w_std_stays_finite(float32):
    x = 1e6 * X
    s, t = infinite.nngp_ntk(x, None, 3, "erf", 30.0, 0.1)
    assert np.all(np.isfinite(np.asarray(s))) and np.all(np.isfinite(np.asarray(t)))
    assert np.abs(np.asarray(s)).max() <= 30.0**2 + 0.1**2


# ------------------------------------------------------------------- shapes and structure
def test_models_with_column_or_scalar_outputs_are_refused():
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        train.train_gd(lambda p, x: NET(p, x)[:, None], P, X, Y, 0.1, 2)
    with pytest.raises(ValueError, match=r"shape \(n,\)"):
        train.train_gd(lambda p, x: jnp.sum(NET(p, x)), P, X, Y, 0.1, 2)


@pytest.mark.parametrize("other", [MLP(3, 16, 1), MLP(3, 8, 2), MLP(3, 8, 0)])
def test_parameters_of_another_architecture_are_refused(other):
    q = other.init(0)
    for call in (lambda: NET(q, X), lambda: empirical.empirical_ntk(NET, q, X),
                 lambda: train.train_gd(NET, q, X, Y, 0.1, 2),
                 lambda: lazy.lazy_ratios(NET, lazy.stack_params([q]), X, Y, iters=1),
                 lambda: lazy.train_many(NET, lazy.stack_params([q]), X, Y, 0.1, 2)):
        with pytest.raises(ValueError, match="params"):
            call()


@pytest.mark.parametrize("bad", [np.zeros((3, 0)), np.ones((3, 2)) + 1j, None,
                                 np.array([["1", "2"]]), np.array([[1.0, None]], object)])
def test_empty_complex_string_and_none_inputs_are_refused(bad):
    with pytest.raises((TypeError, ValueError), match="x1"):
        kernels.gaussian(bad)
    with pytest.raises((TypeError, ValueError), match="x1"):
        infinite.nngp_ntk(bad)


# --------------------------------------------------------------------------- edge values
def test_predicted_loss_at_infinity_with_a_zero_eigenvalue():
    loss = spectral_bias.predicted_loss([2.0, 0.0], [1.0, 4.0], [0.0, np.inf])
    np.testing.assert_allclose(loss, [2.5, 2.0])


def test_lazy_ratio_with_a_zero_jacobian():
    zero = [(jnp.zeros_like(w), jnp.zeros_like(b)) for w, b in P]
    with pytest.raises(ValueError, match="Jacobian"):
        bounds.lazy_ratio(NET, zero, X, Y, iters=1)
    with pytest.raises(ValueError, match="Jacobian"):
        lazy.lazy_ratios(NET, lazy.stack_params([zero]), X, Y, iters=1)
    linear = bounds.lazy_ratio(lambda w, x: x @ w, jnp.ones(3), X, Y, iters=1)
    assert float(linear.kappa) == 0.0 and float(linear.hessian_norm) == 0.0


def test_kernel_pca_refuses_round_off_directions_of_a_float32_kernel():
    x = np.stack([np.linspace(-1, 1, 12), np.zeros(12)], 1)
    k = np.asarray(x @ x.T + 1.0, np.float32)  # centred: rank 1
    assert methods.kernel_pca(k, 1).shape == (12, 1)
    with pytest.raises(ValueError, match="numerical rank"):
        methods.kernel_pca(k, 2)


def test_tolerances_follow_the_dtype():
    lam32 = np.float32([1.0, 0.5, 3e-8])
    assert spectrum.numerical_rank(lam32) == 2
    with pytest.raises(ValueError, match="rtol"):
        spectrum.numerical_rank(lam32, rtol=1e-10)
    assert spectrum.numerical_rank(np.float64([1.0, 0.5, 3e-8])) == 3
    g = np.cos(2 * np.pi * (np.arange(20)[None] - np.arange(20)[:, None]) / 20)
    k32 = np.exp(g - 1).astype(np.float32)
    mu = spectral_bias.circulant_spectrum(k32)
    np.testing.assert_allclose(mu, np.fft.rfft(k32[0].astype(float)).real, atol=1e-5)


# ------------------------------------------------------------------------------ integers
def test_seeds_steps_and_memory_limits():
    for bad in (2**32, -1):
        with pytest.raises(ValueError, match="key"):
            NET.init(bad)
        with pytest.raises(ValueError, match="seeds"):
            lazy.init_many(NET, [bad])
    for bad in (10.0, 2.5):
        with pytest.raises(ValueError, match="steps"):
            train.train_gd(NET, P, X, Y, 0.1, bad)
    with pytest.raises(ValueError, match="ntk_steps"):
        train.train_gd(NET, P, X, Y, 0.1, 4, ntk_steps=[2.5])
    for bad in (np.inf, np.nan, -1.0, 0.0):
        with pytest.raises(ValueError, match="memory_limit"):
            empirical.empirical_ntk(NET, P, X, memory_limit=bad)


# ---------------------------------------------------------------------------------- sizes
def test_absurd_sizes_are_refused_up_front():
    with pytest.raises(ValueError, match="depth"):
        infinite.nngp_ntk(X, depth=10**9)
    with pytest.raises(ValueError, match="parameters"):
        MLP(3, 10**7, 2)
    with pytest.raises(ValueError, match="depth"):
        MLP(3, 4, 10**9)
    with pytest.raises(ValueError, match="polynomial_features"):
        kernels.polynomial_features(np.ones((2, 64)), 12)
    with pytest.raises(ValueError, match="kernel matrix"):
        kernels.gaussian(np.zeros((100_000, 1)))


def test_circulant_eigenvalues_by_fft_for_large_n():
    n = 50_000
    j = np.arange(n)
    c = np.exp(-np.minimum(j, n - j) / 10.0)
    mu = np.asarray(spectrum.circulant_eigenvalues(c))
    # closed form: sum_j exp(-|j|/10) cos(2 pi m j / n) over the circle (two geometric series)
    r = np.exp(-1 / 10.0)
    m = np.array([0, 1, 7, 1000])
    z = r * np.exp(2j * np.pi * m / n)
    ref = (1 + 2 * np.real(z / (1 - z)))  # the tail r^(n/2) is 0 in float64
    np.testing.assert_allclose(mu[m], ref, rtol=1e-10)


# ----------------------------------------------------------------------- differentiability
@pytest.mark.parametrize("activation", ["relu", "erf"])
def test_grad_of_the_analytic_kernels_is_finite_on_the_diagonal(activation):
    # d/dx Sigma(x, x) for ReLU, b = 0: (w^2/2)^L * 2 w^2 x / d; and no NaN anywhere
    xs = jnp.asarray(X)
    g = jax.grad(lambda z: infinite.nngp_ntk(z, None, 3, activation)[1].sum())(xs)
    assert np.all(np.isfinite(np.asarray(g)))
    if activation == "relu":
        gd = jax.grad(lambda z: jnp.trace(infinite.nngp_ntk(z, None, 3)[0]))(xs)
        np.testing.assert_allclose(gd, (1 / 2) ** 3 * 2 * np.asarray(X) / 3, rtol=1e-10)


def test_traced_scalars_are_supported():
    g = jax.grad(lambda s: kernels.gaussian(X, bandwidth=s).sum())(0.9)
    assert np.isfinite(float(g)) and float(g) > 0
    g = jax.grad(lambda w: infinite.nngp_ntk(X, None, 2, "relu", w)[1].sum())(1.2)
    assert np.isfinite(float(g)) and float(g) > 0
    k = X @ X.T + np.eye(6)
    g = jax.grad(lambda r: methods.kernel_ridge(k, Y, k[:2], r).sum())(0.5)
    assert np.isfinite(float(g))
    out = jax.jit(lambda kk: dynamics.gradient_flow(kk, Y, [1.0, np.inf]).train)(k)
    np.testing.assert_allclose(out, dynamics.gradient_flow(k, Y, [1.0, np.inf]).train,
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError, match="traced"):
        jax.jit(lambda kk: methods.nadaraya_watson(kk, Y))(np.abs(k))


def test_input_type_error_is_both():
    with pytest.raises(_checks.InputTypeError):
        kernels.linear(None)
    assert issubclass(_checks.InputTypeError, TypeError)
    assert issubclass(_checks.InputTypeError, ValueError)
    assert isinstance(nets.MLP(3, 4), nets.MLP)
