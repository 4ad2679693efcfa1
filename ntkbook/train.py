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
