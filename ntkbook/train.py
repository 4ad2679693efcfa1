"""Full-batch gradient descent on the squared loss, jitted with ``lax.scan``.

Loss ``L(w) = loss_scale/2 * sum_i (f(w, x_i) - y_i)^2`` and update ``w <- w - lr grad L(w)``.
The loop records, after every ``record_every`` steps, what the book plots: the loss, the
training (and test) outputs and the relative weight change ``|w - w0| / |w0|``; it also
takes the empirical NTK on the training inputs at the steps listed in ``ntk_steps``.
Train an :class:`~ntkbook.nets.MLP` directly, or its linearisation
(:func:`ntkbook.empirical.linearize`), or the output-scaled model of
:func:`ntkbook.nets.centered` with ``loss_scale = 1/alpha**2``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks
from ntkbook.empirical import _check_model, empirical_ntk
from ntkbook.nets import param_norm


class TrainResult(NamedTuple):
    """What :func:`train_gd` records.

    Attributes:
        steps: recorded step numbers, shape ``(R,)`` (0 is the initialisation).
        loss: training loss at those steps, ``(R,)``.
        train: training outputs, ``(R, n)``.
        test: test outputs, ``(R, m)``, or ``None``.
        weight_change: ``|w - w0| / |w0|``, ``(R,)``.
        ntk_steps: the steps at which the NTK was taken, ``(S,)``.
        ntk: empirical NTK on the training inputs at those steps, ``(S, n, n)``, or ``None``.
        params: the final parameters.
    """

    steps: np.ndarray
    loss: jax.Array
    train: jax.Array
    test: jax.Array | None
    weight_change: jax.Array
    ntk_steps: np.ndarray
    ntk: jax.Array | None
    params: Any


@lru_cache(maxsize=8)  # one compilation per model and settings, however often it is trained
def _segment_fn(f: Callable, record_every: int, loss_scale: float, lr: float, has_test: bool):
    def loss_fn(p, x, y):
        r = f(p, x) - y
        return 0.5 * loss_scale * jnp.sum(r**2)

    grad = jax.grad(loss_fn)

    def record(p, p0, x, y, x_test):
        out = f(p, x)
        delta = jax.tree_util.tree_map(lambda a, b: a - b, p, p0)
        rec = (0.5 * loss_scale * jnp.sum((out - y) ** 2), out,
               param_norm(delta) / param_norm(p0))
        return rec + ((f(p, x_test),) if has_test else ())

    def run(p, p0, x, y, x_test, n_records):
        def inner(_, q):
            g = grad(q, x, y)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, q, g)

        def outer(q, _):
            q = jax.lax.fori_loop(0, record_every, inner, q)
            return q, record(q, p0, x, y, x_test)

        return jax.lax.scan(outer, p, None, length=n_records)

    return jax.jit(run, static_argnames="n_records"), jax.jit(record)


def _step_list(ntk_steps: Any, steps: int, record_every: int) -> np.ndarray:
    """Sorted unique whole step numbers (floats are refused, not truncated)."""
    arr = np.atleast_1d(_checks.finite_array(ntk_steps, "ntk_steps")) if np.size(ntk_steps) \
        else np.zeros(0)
    raw = np.asarray(ntk_steps).dtype if np.size(ntk_steps) else np.dtype(int)
    if arr.ndim != 1 or (raw.kind not in "iu" and np.size(ntk_steps)) or np.any(arr < 0) \
            or np.any(arr > steps) or np.any(arr % record_every):
        raise ValueError(
            f"ntk_steps must be integers, multiples of record_every ({record_every}) in "
            f"[0, {steps}], got {ntk_steps!r:.60}"
        )
    return np.unique(arr.astype(int))


def train_gd(
    f: Callable,
    params0: Any,
    x: Any,
    y: Any,
    lr: float,
    steps: int,
    record_every: int = 1,
    x_test: Any | None = None,
    ntk_steps: Any = (),
    loss_scale: float = 1.0,
) -> TrainResult:
    """Run ``steps`` steps of full-batch gradient descent from ``params0``.

    Args:
        f: model ``f(params, x) -> (n,)``.
        params0: initial parameters (the reference ``w0`` of the weight change).
        x: training inputs ``(n, d)``; y: targets ``(n,)``.
        lr: learning rate > 0. steps: number of steps >= 0.
        record_every: record every this many steps (``steps`` must be a multiple of it).
        x_test: optional test inputs ``(m, d)`` whose outputs are recorded too.
        ntk_steps: steps (multiples of ``record_every``, <= ``steps``) at which to take the NTK.
        loss_scale: factor in front of the loss (``1/alpha**2`` for the alpha-scaled model).
    """
    x = _checks.matrix(x, "x")
    y = _checks.vector(y, "y", x.shape[0], "x")
    lr = _checks.positive(lr, "lr")
    steps = _checks.integer(steps, "steps", 0, _checks.MAX_STEPS)
    record_every = _checks.integer(record_every, "record_every", 1, _checks.MAX_STEPS)
    loss_scale = _checks.positive(loss_scale, "loss_scale")
    if steps % record_every:
        raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
    if x_test is not None:
        x_test = _checks.matrix(x_test, "x_test", dim=x.shape[1], dim_name="x")
    _check_model(f, params0, x, "x")
    ntk_steps = _step_list(ntk_steps, steps, record_every)
    run, record = _segment_fn(f, record_every, loss_scale, lr, x_test is not None)
    xt = x if x_test is None else x_test
    recs = [jax.tree_util.tree_map(lambda a: a[None], record(params0, params0, x, y, xt))]
    ntks = []
    p, done = params0, 0
    for stop in [*ntk_steps.tolist(), steps]:
        if stop > done:
            p, rec = run(p, params0, x, y, xt, n_records=(stop - done) // record_every)
            recs.append(rec)
            done = stop
        if len(ntks) < len(ntk_steps) and stop == ntk_steps[len(ntks)]:
            ntks.append(empirical_ntk(f, p, x))
    stacked = [jnp.concatenate(parts) for parts in zip(*recs)]
    return TrainResult(
        steps=np.arange(0, steps + 1, record_every),
        loss=stacked[0],
        train=stacked[1],
        test=stacked[3] if x_test is not None else None,
        weight_change=stacked[2],
        ntk_steps=ntk_steps,
        ntk=jnp.stack(ntks) if ntks else None,
        params=p,
    )


# --- regularised training for noisy labels (chapter 11) ---------------------------------------

REGULARIZERS = ("rdi", "aux")


class RegularizedResult(NamedTuple):
    """What :func:`train_regularized` records.

    Attributes:
        steps: recorded step numbers, shape ``(R,)`` (0 is the initialisation).
        loss: the regularised training loss at those steps, ``(R,)``.
        train: network outputs on the training inputs (without the auxiliary term), ``(R, n)``.
        test: network outputs on ``x_test``, ``(R, m)``, or ``None``.
        aux: the auxiliary variables ``b`` at the end, ``(n,)`` (``None`` for ``"rdi"``).
        params: the final network parameters.
    """

    steps: np.ndarray
    loss: jax.Array
    train: jax.Array
    test: jax.Array | None
    aux: jax.Array | None
    params: Any


@lru_cache(maxsize=8)
def _regularized_fn(f: Callable, record_every: int, method: str, has_test: bool):
    def outputs(p, x, offset):
        return f(p, x) - offset

    def loss_fn(state, p0, x, y, u0, lr_ridge):
        p, b = state
        ridge = lr_ridge[1]
        r = outputs(p, x, u0) - y
        if method == "aux":
            return 0.5 * jnp.sum((r + jnp.sqrt(ridge) * b) ** 2)
        delta = jax.tree_util.tree_map(lambda a, c: a - c, p, p0)
        sq = sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(delta))
        return 0.5 * jnp.sum(r**2) + 0.5 * ridge * sq  # not param_norm**2: sqrt'(0) is inf

    grad = jax.grad(loss_fn)

    def record(state, p0, x, y, u0, x_test, t0, lr_ridge):
        rec = (loss_fn(state, p0, x, y, u0, lr_ridge), outputs(state[0], x, u0))
        return rec + ((outputs(state[0], x_test, t0),) if has_test else ())

    def run(state, p0, x, y, u0, x_test, t0, lr_ridge, n_records):
        lr = lr_ridge[0]

        def inner(_, s):
            g = grad(s, p0, x, y, u0, lr_ridge)
            return jax.tree_util.tree_map(lambda a, c: a - lr * c, s, g)

        def outer(s, _):
            s = jax.lax.fori_loop(0, record_every, inner, s)
            return s, record(s, p0, x, y, u0, x_test, t0, lr_ridge)

        return jax.lax.scan(outer, state, None, length=n_records)

    return jax.jit(run, static_argnames="n_records"), jax.jit(record)


def train_regularized(
    f: Callable,
    params0: Any,
    x: Any,
    y: Any,
    lr: float,
    steps: int,
    ridge: float,
    method: str = "rdi",
    record_every: int = 1,
    x_test: Any | None = None,
    centre: bool = True,
) -> RegularizedResult:
    """Full-batch gradient descent with one of the two regularisers of Hu, Li and Yu (2020).

    With ``g(w, x) = f(w, x) - f(w0, x)`` (``centre=True``, zero at initialisation) or
    ``g = f`` (``centre=False``), the losses are

    - ``"rdi"`` (distance to initialisation):
      ``1/2 sum_i (g(w, x_i) - y_i)^2 + ridge/2 |w - w0|^2``;
    - ``"aux"`` (one auxiliary variable per example, ``b = 0`` at the start):
      ``1/2 sum_i (g(w, x_i) + sqrt(ridge) b_i - y_i)^2``.

    In the kernel regime both converge to kernel ridge regression with ridge ``ridge``
    (Hu et al. write ``lambda^2`` for our ``ridge``). ``w`` and ``b`` take the step ``lr``.

    Args:
        f: model ``f(params, x) -> (n,)``; params0: the initialisation ``w0``.
        x: training inputs ``(n, d)``; y: targets ``(n,)``.
        lr: learning rate > 0; steps: number of steps >= 0 (a multiple of ``record_every``).
        ridge: the regularisation strength >= 0.
        method: ``"rdi"`` or ``"aux"``.
        record_every: record every this many steps.
        x_test: optional test inputs ``(m, d)``; centre: subtract the initial outputs.
    """
    x = _checks.matrix(x, "x")
    y = _checks.vector(y, "y", x.shape[0], "x")
    lr = _checks.positive(lr, "lr")
    steps = _checks.integer(steps, "steps", 0)
    ridge = _checks.positive(ridge, "ridge", strict=False)
    method = _checks.choice(method, "method", REGULARIZERS)
    record_every = _checks.integer(record_every, "record_every", 1)
    if steps % record_every:
        raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
    if x_test is not None:
        x_test = _checks.matrix(x_test, "x_test", dim=x.shape[1], dim_name="x")
    xt = x if x_test is None else x_test
    u0 = f(params0, x) if centre else jnp.zeros(x.shape[0], dtype=y.dtype)
    t0 = f(params0, xt) if centre else jnp.zeros(xt.shape[0], dtype=y.dtype)
    state = (params0, jnp.zeros_like(y))
    lr_ridge = jnp.asarray([lr, ridge], dtype=y.dtype)
    run, record = _regularized_fn(f, record_every, method, x_test is not None)
    recs = [jax.tree_util.tree_map(lambda a: a[None],
                                   record(state, params0, x, y, u0, xt, t0, lr_ridge))]
    if steps:
        state, rec = run(state, params0, x, y, u0, xt, t0, lr_ridge,
                         n_records=steps // record_every)
        recs.append(rec)
    stacked = [jnp.concatenate(parts) for parts in zip(*recs)]
    return RegularizedResult(
        steps=np.arange(0, steps + 1, record_every),
        loss=stacked[0],
        train=stacked[1],
        test=stacked[2] if x_test is not None else None,
        aux=state[1] if method == "aux" else None,
        params=state[0],
    )


def aux_solution(k_train: Any, y: Any, ridge: float, u0: Any | None = None):
    """Where AUX training of a linear model with kernel ``K`` converges, in closed form.

    Gradient descent from ``w0`` and ``b = 0`` on ``1/2 |u0 + J (w - w0) + sqrt(ridge) b - y|^2``
    stays in the row space of ``[J, sqrt(ridge) I]`` and ends at the minimum-norm solution:
    ``c = (K + ridge I)^{-1} (y - u0)``, ``w - w0 = J^T c`` (training outputs ``u0 + K c``) and
    ``b = sqrt(ridge) c``. Returns ``(c, b)``, each of shape ``(n,)``.
    """
    k = _checks.square_symmetric(k_train, "k_train", psd=True)
    y = _checks.vector(y, "y", k.shape[0], "k_train")
    ridge = _checks.positive(ridge, "ridge")
    u0 = jnp.zeros_like(y) if u0 is None else _checks.vector(u0, "u0", k.shape[0], "k_train")
    c = jnp.linalg.solve(k + ridge * jnp.eye(k.shape[0], dtype=k.dtype), y - u0)
    return c, jnp.sqrt(ridge) * c


class Checkpoints(NamedTuple):
    """What :func:`train_checkpoints` records at each of ``S`` chosen steps.

    Attributes:
        steps: the checkpoint steps, ``(S,)`` (increasing).
        params: list of ``S`` parameter pytrees, the weights at those steps.
        loss: training loss, ``(S,)``.
        train: training outputs ``u``, ``(S, n)``; test: test outputs ``(S, m)`` or ``None``.
        ntk: empirical NTK on the training inputs, ``(S, n, n)`` (``None`` with
            ``record_ntk=False``).
        ntk_test: empirical NTK between test and training inputs, ``(S, m, n)``, or ``None``.
    """

    steps: np.ndarray
    params: list
    loss: np.ndarray
    train: np.ndarray
    test: np.ndarray | None
    ntk: np.ndarray | None
    ntk_test: np.ndarray | None


@lru_cache(maxsize=16)
def _advance_fn(f: Callable, loss_scale: float, lr: float):
    """``(params, x, y, k) -> params`` after ``k`` gradient-descent steps; ``k`` is traced, so
    checkpoints at any steps share one compilation."""

    def loss_fn(p, x, y):
        return 0.5 * loss_scale * jnp.sum((f(p, x) - y) ** 2)

    grad = jax.grad(loss_fn)

    def advance(p, x, y, k):
        def body(_, q):
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, q, grad(q, x, y))

        return jax.lax.fori_loop(0, k, body, p)

    return jax.jit(advance)


def train_checkpoints(
    f: Callable,
    params0: Any,
    x: Any,
    y: Any,
    lr: float,
    checkpoints: Any,
    x_test: Any | None = None,
    loss_scale: float = 1.0,
    record_ntk: bool = True,
) -> Checkpoints:
    """Full-batch gradient descent (as :func:`train_gd`) that keeps the weights and the
    empirical NTK at chosen steps, e.g. on a logarithmic grid.

    The NTK is taken with :func:`ntkbook.empirical.empirical_ntk` on the training inputs and,
    with ``x_test``, between test and training inputs: what a kernel machine built from the
    network's kernel at that step needs.

    Args:
        f: model ``f(params, x) -> (n,)``; params0: initial parameters.
        x: training inputs ``(n, d)``; y: targets ``(n,)``; lr: learning rate > 0.
        checkpoints: steps >= 0 at which to record (sorted and de-duplicated; 0 is the start).
        x_test: optional test inputs ``(m, d)``.
        loss_scale: factor in front of the loss (``1/alpha**2`` for the alpha-scaled model).
        record_ntk: take the NTK at the checkpoints (``False``: weights and outputs only).
    """
    x = _checks.matrix(x, "x")
    y = _checks.vector(y, "y", x.shape[0], "x")
    lr = _checks.positive(lr, "lr")
    loss_scale = _checks.positive(loss_scale, "loss_scale")
    if not isinstance(record_ntk, bool):
        raise ValueError(f"record_ntk must be True or False, got {record_ntk!r}")
    steps = np.unique(np.asarray(checkpoints))
    if steps.ndim != 1 or steps.size == 0 or not np.issubdtype(steps.dtype, np.integer) \
            or steps[0] < 0:
        raise ValueError(f"checkpoints must be a non-empty list of integers >= 0, "
                         f"got {checkpoints!r}")
    n = x.shape[0]
    if x_test is not None:
        x_test = _checks.matrix(x_test, "x_test", dim=x.shape[1], dim_name="x")
        x_all = jnp.concatenate([x, x_test])
    else:
        x_all = x
    advance = _advance_fn(f, loss_scale, lr)
    params, losses, outs, ntks = [], [], [], []
    p, done = params0, 0
    for s in steps.tolist():
        p = advance(p, x, y, s - done)
        done = s
        out = np.asarray(f(p, x_all))
        params.append(p)
        losses.append(0.5 * loss_scale * np.sum((out[:n] - np.asarray(y)) ** 2))
        outs.append(out)
        if record_ntk:
            ntks.append(np.asarray(empirical_ntk(f, p, x_all, x)))
    outs_a = np.stack(outs)
    ntks_a = np.stack(ntks) if record_ntk else None
    has_test = x_test is not None
    return Checkpoints(
        steps=steps, params=params, loss=np.array(losses), train=outs_a[:, :n],
        test=outs_a[:, n:] if has_test else None,
        ntk=ntks_a[:, :n] if record_ntk else None,
        ntk_test=ntks_a[:, n:] if has_test and record_ntk else None,
    )
