"""Property-based tests (hypothesis): kernels, infinite-width kernels, gradient flow, kernel ridge
regression and the input checks, against independent float64 references.

Float32 cases run with x64 switched off for the test (``float32`` fixture); references are
plain NumPy/SciPy/scikit-learn in float64. Shapes come from a few fixed sizes so that the jitted
functions compile a handful of times, not once per example.
"""

import re

import jax
import numpy as np
import pytest
import scipy.linalg
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.kernel_ridge import KernelRidge

from ntkbook import _checks, dynamics, infinite, kernels, methods, spectral_bias

FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


# float64 unless a test asks for the float32 fixture (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("float64")


def points(n_choices=(3, 7), d_choices=(1, 3), scale=(0.1, 10.0)):
    """``(n, d)`` float64 arrays with entries ``offset + spread * N(0, 1)``."""

    @st.composite
    def build(draw):
        n = draw(st.sampled_from(n_choices))
        d = draw(st.sampled_from(d_choices))
        seed = draw(st.integers(0, 2**31 - 1))
        spread = draw(st.floats(*scale))
        return spread * np.random.default_rng(seed).normal(size=(n, d))

    return build()


def ref_nngp_ntk(x1, x2, depth, act, w, b):
    """Textbook NNGP/NTK recursion in float64 NumPy (arccos/arcsin of the correlation)."""
    d = x1.shape[1]
    q1 = w * w * np.sum(x1**2, 1) / d + b * b
    q2 = w * w * np.sum(x2**2, 1) / d + b * b
    s = w * w * x1 @ x2.T / d + b * b
    t = s.copy()
    for _ in range(depth):
        if act == "relu":
            n = np.sqrt(np.outer(q1, q2))
            rho = np.clip(s / np.where(n > 0, n, 1), -1, 1)
            th = np.arccos(rho)
            k = n * (np.sin(th) + (np.pi - th) * rho) / (2 * np.pi)
            kd = (np.pi - th) / (2 * np.pi)
            d1, d2 = q1 / 2, q2 / 2
        else:
            a1, a2 = 1 + 2 * q1, 1 + 2 * q2
            k = 2 / np.pi * np.arcsin(np.clip(2 * s / np.sqrt(np.outer(a1, a2)), -1, 1))
            kd = 4 / np.pi / np.sqrt(np.outer(a1, a2) - 4 * s * s)
            d1, d2 = 2 / np.pi * np.arcsin(2 * q1 / a1), 2 / np.pi * np.arcsin(2 * q2 / a2)
        s = w * w * k + b * b
        t = s + t * w * w * kd
        q1, q2 = w * w * d1 + b * b, w * w * d2 + b * b
    return s, t


def assert_psd_symmetric(m, rtol):
    m = np.asarray(m, np.float64)
    scale = np.abs(m).max()
    np.testing.assert_allclose(m, m.T, atol=rtol * scale)
    assert np.linalg.eigvalsh((m + m.T) / 2).min() >= -rtol * scale * m.shape[0]


# ------------------------------------------------------------------------------ kernels
@FAST
@given(x=points(), offset=st.sampled_from([0.0, 1.0, -50.0, 1e3, 1e5]),
       bandwidth=st.floats(0.02, 50.0))
def test_gaussian_float32_matches_float64_anywhere(float32, x, offset, bandwidth):
    # data far from the origin with a small bandwidth: the expansion |a|^2 + |b|^2 - 2ab would
    # lose every digit in float32 (error 1 at offset 1e3, bandwidth 0.05)
    xs = offset + bandwidth * x
    k = np.asarray(kernels.gaussian(xs, bandwidth=bandwidth))
    assert k.dtype == np.float32
    diff = xs[:, None, :] - xs[None, :, :]
    ref = np.exp(-np.sum(diff**2, -1) / (2 * bandwidth**2))
    np.testing.assert_allclose(k, ref, atol=2e-6)
    assert_psd_symmetric(k, 1e-5)
    np.testing.assert_array_equal(np.diag(k), 1.0)


@FAST
@given(x=points(), x2=points(n_choices=(2, 5)), degree=st.integers(0, 4),
       c=st.floats(0.0, 3.0))
def test_polynomial_and_linear_against_numpy(x, x2, degree, c):
    assume(x.shape[1] == x2.shape[1])
    np.testing.assert_allclose(kernels.polynomial(x, x2, degree, c), (x @ x2.T + c) ** degree,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(kernels.linear(x, x2), x @ x2.T, rtol=1e-12, atol=1e-12)
    assert_psd_symmetric(kernels.polynomial(x, None, degree, c), 1e-9)


@FAST
@given(x=points(scale=(1e-3, 1e3)))
def test_squared_distances_are_exact_for_translated_data(float32, x):
    shifted = x + 1e4  # float32 spacing at 1e4 is 1e-3: only the centring keeps the digits
    d2 = np.asarray(kernels.squared_distances(shifted))
    ref = np.sum((x[:, None, :] - x[None, :, :]) ** 2, -1)
    np.testing.assert_allclose(d2, ref, rtol=1e-5, atol=1e-5 * ref.max())


# -------------------------------------------------------------------- infinite width
ACT_W_B = st.tuples(st.sampled_from(["relu", "erf"]), st.floats(0.5, 3.0), st.floats(0.0, 1.0))


@FAST
@given(x=points(), depth=st.sampled_from([0, 1, 2, 5, 12]), params=ACT_W_B,
       near=st.booleans())
def test_nngp_ntk_float32_matches_float64_reference(float32, x, depth, params, near):
    act, w, b = params
    if near:  # a near-duplicate pair: rho close to 1, where arccos(rho) loses half the digits
        x = x.copy()
        x[1] = x[0] * (1 + 1e-3) + 1e-4
    x = np.float32(x).astype(np.float64)  # the reference sees the same rounded inputs
    s, t = (np.asarray(a, np.float64) for a in infinite.nngp_ntk(x, None, depth, act, w, b))
    rs, rt = ref_nngp_ntk(x, x, depth, act, w, b)
    np.testing.assert_allclose(s, rs, atol=2e-5 * np.abs(rs).max())
    np.testing.assert_allclose(t, rt, atol=2e-4 * np.abs(rt).max())
    assert_psd_symmetric(s, 1e-5)
    assert_psd_symmetric(t, 1e-5)


@FAST
@given(x=points(), depth=st.sampled_from([1, 3, 50, 200]), b=st.floats(0.0, 1.0),
       act=st.sampled_from(["relu", "erf"]))
def test_nngp_ntk_diagonal_is_the_variance_recursion(x, depth, b, act):
    # the diagonal follows the scalar recursions q' = w^2 E[phi(u)^2] + b^2 and
    # Theta' = q' + Theta w^2 E[phi'(u)^2] exactly, whatever the depth
    w = np.sqrt(2.0)
    s, t = (np.asarray(a) for a in infinite.nngp_ntk(x, None, depth, act, w, b))
    q = w * w * np.sum(x**2, 1) / x.shape[1] + b * b
    th = q.copy()
    for _ in range(depth):
        if act == "relu":
            q_next, kd = q / 2, 0.5
        else:
            q_next, kd = 2 / np.pi * np.arcsin(2 * q / (1 + 2 * q)), 4 / np.pi / np.sqrt(1 + 4 * q)
        q = w * w * q_next + b * b
        th = q + th * w * w * kd
    np.testing.assert_allclose(np.diag(s), q, rtol=1e-12)
    np.testing.assert_allclose(np.diag(t), th, rtol=1e-10)


@FAST
@given(x=points(n_choices=(4,)), depth=st.integers(100, 400), w=st.floats(0.8, 1.6),
       b=st.floats(0.0, 0.5))
def test_deep_relu_kernels_stay_finite_or_are_refused(float32, x, depth, w, b):
    # deep ReLU kernels scale like (w^2/2)^depth: representable ones must come out right,
    # others must be refused with a message, never inf, NaN or an all-zero matrix
    try:
        s, t = infinite.nngp_ntk(x, None, depth, "relu", w, b)
    except ValueError as err:
        assert "depth" in str(err) and ("largest" in str(err) or "smallest" in str(err))
        return
    s, t = np.asarray(s, np.float64), np.asarray(t, np.float64)
    assert np.all(np.isfinite(s)) and np.all(np.isfinite(t))
    assert np.all(np.diag(s) > 0) and np.all(np.diag(t) > 0)
    rs, rt = ref_nngp_ntk(np.float32(x).astype(float), np.float32(x).astype(float), depth,
                          "relu", w, b)
    np.testing.assert_allclose(s, rs, rtol=5e-3)
    np.testing.assert_allclose(t, rt, rtol=5e-3)


@settings(max_examples=6, deadline=None)
@given(x=points(n_choices=(3,), d_choices=(3,)), act=st.sampled_from(["relu", "erf"]))
def test_gradients_of_analytic_kernels_are_finite_and_match_differences(x, act):
    # jax.grad through the diagonal (rho = 1) used to give NaN (arccos'(1) = -inf); the
    # gradient in the inputs is checked in test_hardening, here the one in w_std (depth 2)
    depth = 2

    def total(w):
        return infinite.nngp_ntk(x, None, depth, act, w, 0.2)[1].sum()

    gw = float(jax.grad(total)(1.3))
    h = 1e-3  # the reference's arccos near rho = 1 is noisy at 1e-9: a smaller h amplifies it
    fd = (ref_nngp_ntk(x, x, depth, act, 1.3 + h, 0.2)[1].sum()
          - ref_nngp_ntk(x, x, depth, act, 1.3 - h, 0.2)[1].sum()) / (2 * h)
    np.testing.assert_allclose(gw, fd, rtol=1e-4)


# ---------------------------------------------------------------- flow and regression
def psd_matrices(n_choices=(3, 6)):
    @st.composite
    def build(draw):
        n = draw(st.sampled_from(n_choices))
        rank = draw(st.integers(1, n))
        seed = draw(st.integers(0, 2**31 - 1))
        a = np.random.default_rng(seed).normal(size=(n, rank))
        return a @ a.T + draw(st.sampled_from([0.0, 1e-3, 1.0])) * np.eye(n)

    return build()


@FAST
@given(k=psd_matrices(), seed=st.integers(0, 1000), t=st.floats(0.0, 20.0))
def test_gradient_flow_matches_matrix_exponential(k, seed, t):
    rng = np.random.default_rng(seed)
    n = k.shape[0]
    y, u0 = rng.normal(size=n), rng.normal(size=n)
    flow = dynamics.gradient_flow(k, y, [0.0, t, np.inf], u0=u0)
    expected = y + scipy.linalg.expm(-k * t) @ (u0 - y)
    np.testing.assert_allclose(flow.train[0], u0, atol=1e-10)
    np.testing.assert_allclose(flow.train[1], expected, atol=1e-8 * (1 + np.abs(u0 - y).max()))
    assert np.all(np.diff(np.asarray(flow.loss)) <= 1e-10)  # the loss never increases
    lam = np.linalg.eigvalsh(k)
    if lam.min() > 1e-6 * lam.max():  # t = inf fits the targets (a well-posed limit)
        np.testing.assert_allclose(flow.train[2], y, atol=1e-6)


def test_gradient_flow_under_jit_and_grad():
    k = np.array([[2.0, 0.5], [0.5, 1.0]])
    y = np.array([1.0, -1.0])
    jitted = jax.jit(lambda kk, yy, tt: dynamics.gradient_flow(kk, yy, tt).train)
    np.testing.assert_allclose(jitted(k, y, 0.7)[0], dynamics.gradient_flow(k, y, 0.7).train[0])
    # d loss / dt = -(u - y)^T K (u - y)
    def loss(t):
        return dynamics.gradient_flow(k, y, t).loss[0]

    u = np.asarray(dynamics.gradient_flow(k, y, 0.7).train[0])
    np.testing.assert_allclose(jax.grad(loss)(0.7), -(u - y) @ k @ (u - y), rtol=1e-10)


@FAST
@given(k=psd_matrices(), ridge=st.floats(1e-3, 10.0), seed=st.integers(0, 1000))
def test_kernel_ridge_matches_scikit_learn(k, ridge, seed):
    rng = np.random.default_rng(seed)
    n = k.shape[0]
    y = rng.normal(size=n)
    k_test = rng.normal(size=(2, n))
    ours = methods.kernel_ridge(k, y, k_test, ridge)
    ref = KernelRidge(alpha=ridge, kernel="precomputed").fit(k, y).predict(k_test)
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-9)


def test_kernel_ridge_gradient_in_the_ridge():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    k, y, kx = a @ a.T, rng.normal(size=5), rng.normal(size=(2, 5))

    def pred(r):
        return methods.kernel_ridge(k, y, kx, r).sum()

    def ref(r):
        return (kx @ np.linalg.solve(k + r * np.eye(5), y)).sum()

    np.testing.assert_allclose(jax.grad(pred)(0.3), (ref(0.3 + 1e-6) - ref(0.3 - 1e-6)) / 2e-6,
                               rtol=1e-6)
    g = jax.grad(lambda s: kernels.gaussian(np.eye(3), bandwidth=s).sum())(0.8)
    np.testing.assert_allclose(g, 6 * np.exp(-1 / 0.64) * 2 / 0.8**3, rtol=1e-10)


@FAST
@given(lam=hnp.arrays(np.float64, st.integers(1, 6),  # zero or well above the float floor
                     elements=st.one_of(st.just(0.0), st.floats(1e-3, 10.0))),
       t=st.lists(st.one_of(st.floats(0.0, 100.0), st.just(np.inf)), min_size=1, max_size=3))
def test_predicted_loss_is_finite_with_zero_eigenvalues(lam, t):
    p = np.ones_like(lam)
    loss = np.asarray(spectral_bias.predicted_loss(lam, p, t))
    assert np.all(np.isfinite(loss))
    null = lam <= lam.size * np.finfo(float).eps * lam.max()
    ref = [0.5 * np.sum(np.where(null, 1.0, 0.0) * p) if np.isinf(tt)
           else 0.5 * np.sum(np.exp(-2 * lam * tt) * p) for tt in t]
    np.testing.assert_allclose(loss, ref, rtol=1e-12, atol=1e-300)


# ------------------------------------------------------------------------ input checks
def junk():
    return st.one_of(
        st.none(), st.text(max_size=5), st.just(np.array(["1.0", "2.0"])),
        st.just(np.ones((3, 2)) + 1j), st.just(np.array([1.0, None], dtype=object)),
        st.just([[1.0, 2.0], [3.0]]), st.just({"a": 1}), st.just(object()),
    )


CALLS = {
    "x1": lambda v: kernels.gaussian(v),
    "x": lambda v: kernels.polynomial_features(v),
    "k_train": lambda v: dynamics.gradient_flow(v, np.ones(2), 1.0),
    "y": lambda v: methods.kernel_ridge(np.eye(2), v, np.ones((1, 2)), 0.1),
    "bandwidth": lambda v: kernels.gaussian(np.ones((2, 2)), bandwidth=v),
    "ridge": lambda v: methods.kernel_ridge(np.eye(2), np.ones(2), np.ones((1, 2)), v),
    "w_std": lambda v: infinite.nngp_ntk(np.ones((2, 2)), w_std=v),
    "t": lambda v: dynamics.gradient_flow(np.eye(2), np.ones(2), v),
}


@settings(max_examples=60, deadline=None)
@given(arg=st.sampled_from(sorted(CALLS)), value=junk())
def test_junk_is_refused_with_a_message_naming_the_argument(arg, value):
    with pytest.raises((TypeError, ValueError)) as info:
        CALLS[arg](value)
    msg = str(info.value)
    assert re.search(rf"\b{arg}\b", msg) and len(msg) < 400, msg


@FAST
@given(shape=st.tuples(st.integers(0, 3), st.integers(0, 3)), bad=st.sampled_from(
    [np.nan, np.inf, -np.inf]), where=st.integers(0, 100))
def test_non_finite_and_empty_inputs_are_refused(shape, bad, where):
    x = np.ones(shape)
    if x.size:
        x.flat[where % x.size] = bad
    with pytest.raises(ValueError, match="x1"):
        infinite.nngp_ntk(x)


@FAST
@given(value=st.floats(1e-300, 1e300))
def test_scales_outside_float32_are_refused_not_turned_into_inf(float32, value):
    try:
        k = kernels.gaussian(np.ones((2, 1)) * [[0.0], [1.0]], bandwidth=value)
    except ValueError as err:
        assert "bandwidth" in str(err)
        assert not (1.1e-19 <= value <= 1.9e19)
        return
    assert np.all(np.isfinite(np.asarray(k)))


def test_seeds_and_step_counts():
    with pytest.raises(ValueError, match="key"):
        kernels.random_fourier_features(np.ones((2, 2)), 4, key=2**32)
    with pytest.raises(ValueError, match="key"):
        kernels.random_fourier_features(np.ones((2, 2)), 4, key=-1)
    with pytest.raises(ValueError, match="depth"):
        infinite.nngp_ntk(np.ones((2, 2)), depth=3.0)
    with pytest.raises(ValueError, match="depth"):
        infinite.nngp_ntk(np.ones((2, 2)), depth=10**9)
    assert issubclass(_checks.InputTypeError, TypeError)
    assert issubclass(_checks.InputTypeError, ValueError)
