"""Gradient descent of many networks at once, and the output-space geometry of gradient flow.

:func:`train_ensemble` trains ``E`` independently initialised copies of an
:class:`~ntkbook.nets.MLP` with full-batch gradient descent in one ``vmap``-ed, jitted loop
(one compilation for the whole ensemble). Member ``e`` starts at its own ``w0_e`` and trains the
output-scaled model of Chizat et al. (2019) *with its random initial function kept*::

    f_e(w, x) = f(w0_e, x) + alpha_e * (f(w, x) - f(w0_e, x))

on the loss ``1/(2 alpha_e^2) sum_i (f_e(w, x_i) - y_i)^2``. For ``alpha = 1`` this is the plain
network. Every member starts from the random outputs ``u0 = f(w0_e, X)`` of its network, and at
initialisation its output dynamics in the time ``t = step * lr`` are ``du/dt = -H(w0_e)(u - y)``
whatever ``alpha`` is (``H`` the empirical NTK of ``f``): ``alpha`` only changes how far the
weights must travel (``1/alpha`` times farther), hence how much the kernel changes on the way.
Large ``alpha`` is the lazy (kernel) regime; small ``alpha`` the rich one.

The helpers :func:`residual_modes` and :func:`h_ellipse` give the quantities drawn in output
space: the residual ``u - y`` in the NTK's eigenbasis, and the level sets of the
``H``-weighted loss ``1/2 (u - y)^T H (u - y)``, whose Euclidean gradient flow is the output
flow ``du/dt = -H (u - y)``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks
from ntkbook.dynamics import eigh_desc
from ntkbook.nets import MLP, mlp_init, param_norm

NTK_MODES = ("all", "ends", "none")


class EnsembleResult(NamedTuple):
    """What :func:`train_ensemble` records for ``E`` members at ``R`` recorded steps.

    Attributes:
        steps: recorded step numbers, shape ``(R,)`` (0 is the initialisation).
        alpha: the output scale of each member, shape ``(E,)``.
        loss: ``1/2 |u - y|^2`` (the unscaled loss), shape ``(E, R)``.
        train: training outputs ``u``, shape ``(E, R, n)``.
        test: test outputs, shape ``(E, R, m)``, or ``None``.
        weight_change: ``|w - w0| / |w0|``, shape ``(E, R)``.
        ntk: empirical NTK ``H(w)`` of the unscaled network on the training inputs: shape
            ``(E, R, n, n)`` with ``ntk="all"`` (every recorded step), ``(E, 2, n, n)`` with
            ``ntk="ends"`` (first and last step), ``None`` with ``ntk="none"``.
        params0: the initial parameters, a list of ``(W, b)`` with a leading axis ``E``.
    """

    steps: np.ndarray
    alpha: jax.Array
    loss: jax.Array
    train: jax.Array
    test: jax.Array | None
    weight_change: jax.Array
    ntk: jax.Array | None
    params0: Any


def _check_keys(keys: Any) -> jax.Array:
    """``E`` PRNG keys: an int ``E`` (keys split from ``PRNGKey(0)``), a list of int seeds, or
    an ``(E, 2)`` array of raw keys."""
    if isinstance(keys, (int, np.integer)) and not isinstance(keys, bool):
        n = _checks.integer(keys, "keys", 1, 10**6)
        return jax.random.split(jax.random.PRNGKey(0), n)
    if isinstance(keys, (list, tuple)) and keys and all(
            isinstance(k, (int, np.integer)) and not isinstance(k, bool) for k in keys):
        return jnp.stack([jax.random.PRNGKey(_checks.seed(k, "keys")) for k in keys])
    arr = getattr(keys, "shape", None)
    if arr is not None and len(arr) == 2 and arr[1] == 2 and arr[0] >= 1 and \
            np.dtype(keys.dtype) == np.uint32:
        return jnp.asarray(keys)
    raise ValueError(
        "keys must be a number of members E >= 1, a non-empty list of int seeds, "
        f"or an (E, 2) array of PRNG keys, got {keys!r}"
    )


def _flat_jacobian(net: MLP, params: Any, x: jax.Array) -> jax.Array:
    jac = jax.jacrev(lambda p: net(p, x))(params)
    leaves = jax.tree_util.tree_leaves(jac)
    return jnp.concatenate([leaf.reshape(x.shape[0], -1) for leaf in leaves], axis=1)


@lru_cache(maxsize=32)
def _ensemble_fn(net: MLP, record_every: int, n_records: int, has_test: bool, ntk_mode: str):
    def ntk(p, x):
        jac = _flat_jacobian(net, p, x)
        return jac @ jac.T

    def member(p0, alpha, lr, x, y, x_test):
        f0 = net(p0, x)
        f0_test = net(p0, x_test)

        def model(p, xx, base):
            return base + alpha * (net(p, xx) - base)

        def loss_fn(p):
            r = model(p, x, f0) - y
            return 0.5 / alpha**2 * jnp.sum(r**2)

        grad = jax.grad(loss_fn)

        def record(p):
            out = model(p, x, f0)
            delta = jax.tree_util.tree_map(lambda a, b: a - b, p, p0)
            rec = {"loss": 0.5 * jnp.sum((out - y) ** 2), "train": out,
                   "weight_change": param_norm(delta) / param_norm(p0)}
            if has_test:
                rec["test"] = model(p, x_test, f0_test)
            if ntk_mode == "all":
                rec["ntk"] = ntk(p, x)
            return rec

        def inner(_, q):
            g = grad(q)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, q, g)

        def outer(q, _):
            q = jax.lax.fori_loop(0, record_every, inner, q)
            return q, record(q)

        first = record(p0)
        last, recs = jax.lax.scan(outer, p0, None, length=n_records)
        out = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, recs)
        if ntk_mode == "ends":
            out["ntk"] = jnp.stack([ntk(p0, x), ntk(last, x)])
        return out

    batched = jax.vmap(member, in_axes=(0, 0, None, None, None, None))
    return jax.jit(batched)


def train_ensemble(
    net: MLP,
    keys: Any,
    x: Any,
    y: Any,
    lr: float,
    steps: int,
    record_every: int = 1,
    x_test: Any | None = None,
    alpha: Any = 1.0,
    ntk: str = "ends",
) -> EnsembleResult:
    """Full-batch gradient descent of ``E`` networks, each from its own initialisation.

    Args:
        net: the architecture (an :class:`~ntkbook.nets.MLP`).
        keys: ``E`` (members initialised from ``jax.random.split(PRNGKey(0), E)``), a list of
            ``E`` int seeds, or an ``(E, 2)`` array of PRNG keys.
        x: training inputs ``(n, d)``; y: targets ``(n,)``.
        lr: learning rate > 0; the gradient-flow time of step ``k`` is ``k * lr``.
        steps: number of steps >= 0, a multiple of ``record_every``.
        record_every: record every this many steps.
        x_test: optional test inputs ``(m, d)`` whose outputs are recorded too.
        alpha: output scale ``> 0`` (module docstring), a scalar or one per member ``(E,)``.
        ntk: when to take the ``(n, n)`` empirical NTK of the unscaled network on ``x``:
            ``"all"`` (every recorded step), ``"ends"`` (first and last step) or ``"none"``.

    Returns:
        An :class:`EnsembleResult`.
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an ntkbook.nets.MLP, got {type(net).__name__}")
    key_arr = _check_keys(keys)
    e = key_arr.shape[0]
    x = _checks.matrix(x, "x", dim=net.in_dim, dim_name="the network's in_dim")
    y = _checks.vector(y, "y", x.shape[0], "x")
    lr = _checks.positive(lr, "lr")
    steps = _checks.integer(steps, "steps", 0, _checks.MAX_STEPS)
    record_every = _checks.integer(record_every, "record_every", 1, _checks.MAX_STEPS)
    if steps % record_every:
        raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
    has_test = x_test is not None
    xt = _checks.matrix(x_test, "x_test", dim=net.in_dim, dim_name="the network's in_dim") \
        if has_test else x
    a = _checks.finite_array(alpha, "alpha")
    if a.ndim == 0:
        a = np.full(e, float(a))
    if a.shape != (e,) or np.any(a <= 0):
        raise ValueError(f"alpha must be a number > 0 or an array of {e} numbers > 0 "
                         f"(one per member), got shape {a.shape}")
    ntk = _checks.choice(ntk, "ntk", NTK_MODES)
    params0 = _ensemble_init_fn(net)(key_arr)  # bit for bit mlp_init's draws, one compilation
    fn = _ensemble_fn(net, record_every, steps // record_every, has_test, ntk)
    out = fn(params0, jnp.asarray(a), lr, x, y, xt)
    return EnsembleResult(
        steps=np.arange(0, steps + 1, record_every),
        alpha=jnp.asarray(a),
        loss=out["loss"],
        train=out["train"],
        test=out["test"] if has_test else None,
        weight_change=out["weight_change"],
        ntk=out.get("ntk"),
        params0=params0,
    )


def residual_modes(k_train: Any, y: Any, u: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The residual ``u - y`` in the eigenbasis of the kernel: ``c_i = <v_i, u - y>``.

    Args:
        k_train: symmetric PSD kernel matrix ``(n, n)`` (the NTK on the training inputs).
        y: targets ``(n,)``.
        u: outputs ``(..., n)`` (any leading axes, e.g. ``(E, R, n)`` trajectories).

    Returns:
        ``(coords, eigenvalues, eigenvectors)``: ``coords`` of shape ``(..., n)`` (column ``i``
        for the ``i``-th largest eigenvalue), eigenvalues ``(n,)`` in decreasing order and
        eigenvectors ``(n, n)`` as columns, the same as
        :func:`ntkbook.dynamics.gradient_flow` uses. ``coords[..., i]**2`` is what
        ``GradientFlow.mode_residuals`` predicts.
    """
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    n = k.shape[0]
    y = _checks.vector(y, "y", n, "k_train")
    u = jnp.asarray(_checks.finite_array(u, "u"))
    if u.ndim < 1 or u.shape[-1] != n:
        raise ValueError(f"u must have shape (..., {n}) to match k_train, got {u.shape}")
    lam, v = eigh_desc(k)
    return (u - y) @ v, lam, v


def h_ellipse(k_train: Any, center: Any, level: float, num: int = 200) -> jax.Array:
    """Points of the level set ``{u : (u - center)^T K (u - center) = level}`` in the plane.

    For a positive definite ``2 x 2`` kernel ``K = V diag(lam) V^T`` this is an ellipse with
    semi-axes ``sqrt(level / lam_i)`` along the eigenvectors ``v_i`` (long along the *small*
    eigenvalue's direction).

    Args:
        k_train: ``(2, 2)`` symmetric positive definite matrix.
        center: ``(2,)`` the centre (the targets ``y``).
        level: value ``> 0`` of the quadratic form.
        num: number of points (>= 3); the curve is closed (last point = first).

    Returns:
        Points of shape ``(num, 2)``.
    """
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    if k.shape != (2, 2):
        raise ValueError(f"k_train must be a 2 x 2 matrix, got shape {k.shape}")
    c = _checks.vector(center, "center", 2, "k_train")
    level = _checks.positive(level, "level")
    num = _checks.integer(num, "num", 3, _checks.MAX_ELEMENTS // 2)
    lam, v = eigh_desc(k)
    if not float(lam[1]) > 10 * float(jnp.finfo(lam.dtype).eps) * float(lam[0]):  # rounding
        raise ValueError("k_train must be positive definite (its level sets are not ellipses)")
    phi = jnp.linspace(0.0, 2 * jnp.pi, num)
    circle = jnp.stack([jnp.cos(phi), jnp.sin(phi)], axis=1)  # (num, 2)
    return c + (circle * jnp.sqrt(level / lam)) @ v.T


@lru_cache(maxsize=32)
def _ensemble_init_fn(net: MLP):
    # every layer's random draws in one compiled program (drawn eagerly, each weight shape
    # compiles the random-number generator anew, which costs seconds)
    return jax.jit(jax.vmap(lambda k: mlp_init(net, k)))
