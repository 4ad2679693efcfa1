"""The lazy regime in batches: many gradient-descent runs and lazy ratios, one compilation.

The lazy-regime experiments train the same architecture many times: several random
initialisations, several widths, the network *and* its linearisation, or the output-scaled
model ``f_a(w, x) = alpha (f(w, x) - f(w0, x))`` of Chizat et al. (2019) for a range of
``alpha``. :func:`ntkbook.train.train_gd` handles one run at a time and compiles anew for every
model, and for the book's small problems compiling costs far more than running. Here a batch of
runs is one ``jax.vmap``, and a list of models (e.g. all widths of a sweep) is traced into one
``jax.jit``, so a whole sweep costs a single compilation.

- :func:`init_many`: initial parameters for many seeds (and architectures) in one compilation.
- :func:`stack_params` / :func:`unstack_params`: a list of parameter pytrees <-> one pytree whose
  leaves carry a leading batch axis ``B``.
- :func:`train_many`: full-batch gradient descent for a batch of initialisations (and targets,
  output scales) of one model or a list of models, optionally on the linearised or the centred,
  output-scaled model. It records what :func:`~ntkbook.train.train_gd` records, plus the
  empirical NTK at every record.
- :func:`lazy_ratios`: :func:`ntkbook.bounds.lazy_ratio` for a batch of initialisations and
  output scales, of one model or a list of models (the same algorithm, traced once and
  vectorised).
- :func:`relative_change`: ``|A_t - A_0| / |A_0|`` along a recorded trajectory (e.g. the NTK).

Conventions as in :mod:`ntkbook.train`: loss ``L(w) = loss_scale/2 * sum_i (f(w, x_i) - y_i)^2``,
with ``loss_scale = 1/alpha**2`` for the output-scaled model, update ``w <- w - lr grad L(w)``.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks
from ntkbook.bounds import LazyRatio, lazy_ratio
from ntkbook.empirical import linearize
from ntkbook.nets import MLP, centered
from ntkbook.train import TrainResult


def stack_params(params_list: Sequence[Any]) -> Any:
    """Stack ``B`` parameter pytrees of identical structure into one pytree whose leaves have a
    leading axis of size ``B`` (the batch layout :func:`train_many` and :func:`lazy_ratios` use)."""
    if not isinstance(params_list, (list, tuple)) or len(params_list) == 0:
        raise ValueError("params_list must be a non-empty list of parameter pytrees")
    structs = {jax.tree_util.tree_structure(p) for p in params_list}
    if len(structs) != 1:
        raise ValueError("params_list must hold pytrees of one structure (one architecture)")
    shapes = {tuple(np.shape(leaf) for leaf in jax.tree_util.tree_leaves(p)) for p in params_list}
    if len(shapes) != 1:
        raise ValueError("params_list must hold pytrees with leaves of identical shapes")
    return jax.tree_util.tree_map(lambda *leaves: np.stack([np.asarray(v) for v in leaves]),
                                  *params_list)


def unstack_params(params: Any) -> list[Any]:
    """Inverse of :func:`stack_params`: the ``B`` pytrees of a batched pytree (NumPy leaves)."""
    b = _batch_size(params, "params")
    host = jax.tree_util.tree_map(np.asarray, params)
    return [jax.tree_util.tree_map(lambda leaf: leaf[i], host) for i in range(b)]


def init_many(net: Any, seeds: Sequence[int]) -> Any:
    """Initial parameters of an :class:`~ntkbook.nets.MLP` (or a list of them) for every seed,
    batched: leaves with a leading axis ``B = len(seeds)``, in the layout of ``net.init``.

    Every weight and bias is ``N(0, 1)`` (then scaled as in :func:`ntkbook.nets.mlp_init` for
    the standard parameterisation). For seed ``s`` the draws are the entries of one vector
    ``z_s = jax.random.normal(jax.random.PRNGKey(s), (N,))``, ``N`` the largest parameter count
    in the list, consumed in the order of ``jax.tree_util.tree_leaves`` (row-major within a
    leaf); a smaller network uses a prefix of ``z_s``. The values therefore differ from
    ``net.init(s)``, which draws layer by layer: that compiles the random-number generator once
    per weight shape and costs seconds, while this is a single small compilation for all
    networks and seeds. Leaves are NumPy arrays; a list of networks gives a list back.
    """
    many = isinstance(net, (list, tuple))
    nets = list(net) if many else [net]
    if not nets or not all(isinstance(n, MLP) for n in nets):
        raise ValueError("net must be an ntkbook.nets.MLP or a non-empty list of them")
    try:
        arr = np.asarray(list(seeds) if isinstance(seeds, range) else seeds)
    except Exception:
        arr = np.zeros(0)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer) \
            or np.any(arr < 0) or np.any(arr >= _checks.SEED_LIMIT):
        raise ValueError(
            f"seeds must be a non-empty list of integers in [0, 2**32) (larger seeds would "
            f"alias smaller ones), got {seeds!r:.60}")
    n_max = max(n.n_params for n in nets)
    _checks.size(n_max * arr.size, "init_many (parameters x seeds)", "entries")
    draw = jax.jit(jax.vmap(lambda s: jax.random.normal(jax.random.PRNGKey(s), (n_max,))))
    z = np.asarray(draw(jnp.asarray(arr.astype(np.uint32))))  # (B, n_max)
    out = []
    for n in nets:
        params, pos = [], 0
        for (n_in, n_out), (sw, sb) in zip(zip(n.sizes[:-1], n.sizes[1:]), _init_scales(n)):
            w = z[:, pos:pos + n_in * n_out].reshape(-1, n_in, n_out) * sw
            pos += n_in * n_out
            b = z[:, pos:pos + n_out] * sb
            pos += n_out
            params.append((w, b))
        out.append(params)
    return out if many else out[0]


def _init_scales(net: MLP) -> list[tuple[float, float]]:
    """Factors applied to the ``N(0, 1)`` draws, per layer, as in :func:`ntkbook.nets.mlp_init`."""
    if net.parameterization == "standard":
        return [(net.w_std / n_in**0.5, net.b_std) for n_in in net.sizes[:-1]]
    return [(1.0, 1.0)] * (len(net.sizes) - 1)


def _batch_size(params: Any, name: str) -> int:
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(f"{name} must be a pytree with at least one array leaf")
    sizes = {np.shape(leaf)[0] if np.ndim(leaf) else None for leaf in leaves}
    if None in sizes or len(sizes) != 1:
        raise ValueError(
            f"{name} must be batched: every leaf needs the same leading axis B "
            "(use ntkbook.lazy.stack_params)"
        )
    return sizes.pop()


def _batched_vector(v: Any, name: str, b: int, n: int | None) -> tuple[jax.Array, int | None]:
    """``v`` of shape ``(n,)`` (shared, axis None) or ``(b, n)`` (one per run, axis 0); ``n=None``
    means scalars: ``()`` or ``(b,)``."""
    arr = _checks.finite_array(v, name)
    shared = (n,) if n is not None else ()
    if arr.shape == shared:
        return jnp.asarray(arr), None
    if arr.shape == (b,) + shared:
        return jnp.asarray(arr), 0
    what = f"({n},) or ({b}, {n})" if n is not None else f"a scalar or shape ({b},)"
    raise ValueError(f"{name} must have shape {what} for a batch of {b} runs, got {arr.shape}")


def _model(f: Callable, p0: Any, alpha: Any, linearized: bool) -> tuple[Callable, Any]:
    """The trained model and its loss scale: ``f``, its linearisation at ``p0``, and/or the
    centred output-scaled version ``alpha (g - g(p0))`` with loss scale ``1/alpha**2``."""
    g = linearize(f, p0) if linearized else f
    if alpha is None:
        return g, 1.0
    g0 = centered(g, p0, 1.0)
    return (lambda p, x: alpha * g0(p, x)), 1.0 / alpha**2


def _as_list(value: Any, k: int, name: str, kind: type) -> list:
    """``value`` for each of ``k`` models: one shared value or a list of ``k``."""
    if isinstance(value, (list, tuple)):
        if len(value) != k or not all(isinstance(v, kind) for v in value):
            raise ValueError(f"{name} must be one {kind.__name__} or a list of {k} of them")
        return list(value)
    if not isinstance(value, kind):
        raise ValueError(f"{name} must be a {kind.__name__}, got {value!r}")
    return [value] * k


def _models_and_params(f: Any, params0: Any) -> tuple[list, list, bool]:
    """Normalise ``f``/``params0`` (one model and its batch, or lists of both) to lists."""
    many = isinstance(f, (list, tuple))
    fs = list(f) if many else [f]
    if not fs or not all(callable(g) for g in fs):
        raise ValueError("f must be a model f(params, x) -> (n,) or a non-empty list of models")
    if many:
        if not isinstance(params0, (list, tuple)) or len(params0) != len(fs):
            raise ValueError(
                f"params0 must be a list of {len(fs)} batched pytrees, one per model in f")
        ps = list(params0)
    else:
        ps = [params0]
    return fs, ps, many


def _alpha_batch(alpha: Any, b: int) -> tuple[jax.Array, int | None]:
    arr, axis = _batched_vector(alpha, "alpha", b, None)
    if np.any(np.asarray(arr) <= 0):
        raise ValueError("alpha must hold output scales > 0")
    return arr, axis


def _check_output(f: Callable, params: Any, x: jax.Array) -> None:
    """``f(params[0], x)`` must give ``(n,)`` outputs (catches a batch that belongs to another
    model, or a list of layers passed where a list of batches was meant)."""
    p_first = jax.tree_util.tree_map(
        lambda leaf: jax.ShapeDtypeStruct(np.shape(leaf)[1:], jnp.result_type(leaf)), params)
    try:
        out = jax.eval_shape(f, p_first, x)
    except Exception as err:  # any failure means the pair does not fit
        raise ValueError(f"params0 does not fit its model f: {err}") from err
    if getattr(out, "shape", None) != (x.shape[0],):
        raise ValueError(f"f(params0[b], x) must return shape ({x.shape[0]},), got {out}")


def _train_one_fn(f, x, lr, n_records, record_every, x_test, has_alpha, linearized, record_ntk):
    """The (unbatched) training run of one model from one initialisation."""
    has_test = x_test is not None

    def one(p0, y1, a1):
        model, scale = _model(f, p0, a1 if has_alpha else None, linearized)
        flat0, unravel = jax.flatten_util.ravel_pytree(p0)
        norm0 = jnp.linalg.norm(flat0)

        def out(w, z):
            return model(unravel(w), z)

        def loss(w):
            return 0.5 * scale * jnp.sum((out(w, x) - y1) ** 2)

        grad = jax.grad(loss)

        def record(w):
            u = out(w, x)
            rec = [0.5 * scale * jnp.sum((u - y1) ** 2), u, jnp.linalg.norm(w - flat0) / norm0]
            rec.append(out(w, x_test) if has_test else jnp.zeros(0))
            if record_ntk:
                jac = jax.jacrev(out)(w, x)
                rec.append(jac @ jac.T)
            return tuple(rec)

        def outer(w, i):
            # record, then take record_every steps (none after the last record): `record` is
            # traced once, which keeps the compiled program small
            rec = record(w)
            n_steps = jnp.where(i < n_records, record_every, 0)
            return jax.lax.fori_loop(0, n_steps, lambda _, v: v - lr * grad(v), w), rec

        w_end, recs = jax.lax.scan(outer, flat0, jnp.arange(n_records + 1))
        return recs, unravel(w_end)

    return one


def train_many(
    f: Any,
    params0: Any,
    x: Any,
    y: Any,
    lr: float,
    steps: int,
    record_every: int = 1,
    *,
    x_test: Any | None = None,
    alpha: Any | None = None,
    linearized: bool | Sequence[bool] = False,
    record_ntk: bool | Sequence[bool] = True,
) -> TrainResult | list[TrainResult]:
    """Full-batch gradient descent for a batch of runs (of one or several models), compiled once.

    Run ``b`` of a model starts at ``w0 = params0[b]`` and trains, chosen by the options:

    - the model ``f`` itself (default);
    - ``linearized=True``: its first-order Taylor model at ``w0``
      (:func:`ntkbook.empirical.linearize`);
    - ``alpha`` given: the centred, output-scaled model ``alpha (g(w) - g(w0))`` (``g`` the model
      above) on the loss scaled by ``1/alpha**2``, as in :func:`ntkbook.nets.centered`.

    ``f`` may also be a list of models (e.g. several widths) with ``params0`` the list of their
    batched initial parameters and ``linearized`` / ``record_ntk`` one flag or one per model:
    all of them are then traced into one program (one compilation for the whole sweep) and a
    list of results comes back.

    Args:
        f: model ``f(params, x) -> (n,)`` (e.g. an :class:`~ntkbook.nets.MLP`), or a list.
        params0: batched initial parameters, leaves with a leading axis ``B``
            (:func:`stack_params`), or a list of those (one per model).
        x: training inputs ``(n, d)``; y: targets ``(n,)`` (shared) or ``(B, n)``.
        lr: learning rate > 0; steps: number of steps >= 0, a multiple of ``record_every`` >= 1.
        x_test: optional inputs ``(m, d)`` whose outputs are recorded too.
        alpha: ``None``, a scalar or ``(B,)`` output scales > 0.
        linearized: train the linearised model instead of ``f`` (bool or list of bools).
        record_ntk: record the empirical NTK of the trained model at every record.

    Returns:
        A :class:`~ntkbook.train.TrainResult` (a list of them if ``f`` is a list) of NumPy
        arrays whose fields carry a leading batch axis: ``loss (B, R)``, ``train (B, R, n)``,
        ``test (B, R, m)`` or ``None``, ``weight_change (B, R)`` (``|w - w0| / |w0|``),
        ``ntk (B, R, n, n)`` or ``None``, ``params`` (batched final parameters);
        ``steps = ntk_steps = (R,)`` step numbers, ``R = steps / record_every + 1`` (record 0 is
        the initialisation).
    """
    fs, ps, many = _models_and_params(f, params0)
    sizes = [_batch_size(p, "params0") for p in ps]
    x = _checks.matrix(x, "x")
    n = x.shape[0]
    lin_flags = _as_list(linearized, len(fs), "linearized", bool)
    ntk_flags = _as_list(record_ntk, len(fs), "record_ntk", bool)
    lr = _checks.positive(lr, "lr")
    steps = _checks.integer(steps, "steps", 0, _checks.MAX_STEPS)
    record_every = _checks.integer(record_every, "record_every", 1, _checks.MAX_STEPS)
    if steps % record_every:
        raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
    if x_test is not None:
        x_test = _checks.matrix(x_test, "x_test", dim=x.shape[1], dim_name="x")
    batched = []
    for g, p, b in zip(fs, ps, sizes):
        yy, y_axis = _batched_vector(y, "y", b, n)
        aa, a_axis = _alpha_batch(alpha, b) if alpha is not None else (jnp.zeros(()), None)
        _check_output(g, p, x)
        batched.append((yy, y_axis, aa, a_axis))
    n_records = steps // record_every
    fns = [
        jax.vmap(_train_one_fn(g, x, lr, n_records, record_every, x_test, alpha is not None,
                               lin, rec), in_axes=(0, y_axis, a_axis))
        for g, lin, rec, (_, y_axis, _, a_axis) in zip(fs, lin_flags, ntk_flags, batched)
    ]
    args = [(p, yy, aa) for p, (yy, _, aa, _) in zip(ps, batched)]
    outs = jax.device_get(jax.jit(lambda a: [fn(*arg) for fn, arg in zip(fns, a)])(args))
    record_steps = np.arange(0, steps + 1, record_every)
    results = [
        TrainResult(
            steps=record_steps,
            loss=recs[0],
            train=recs[1],
            test=recs[3] if x_test is not None else None,
            weight_change=recs[2],
            ntk_steps=record_steps if rec else np.zeros(0, dtype=int),
            ntk=recs[4] if rec else None,
            params=params,
        )
        for (recs, params), rec in zip(outs, ntk_flags)
    ]
    return results if many else results[0]


def lazy_ratios(
    f: Any,
    params0: Any,
    x: Any,
    y: Any,
    alpha: Any | None = None,
    iters: int = 4,
    key: Any = 0,
) -> LazyRatio | list[LazyRatio]:
    """:func:`ntkbook.bounds.lazy_ratio` for a batch of initialisations, compiled once.

    Entry ``b`` is ``kappa(w0) = |y(w0) - ybar| |D^2 y(w0)| / |D y(w0)|^2`` of ``f`` at
    ``w0 = params0[b]``, or, with ``alpha``, of the centred output-scaled model
    ``alpha (f(w) - f(w0))`` (whose residual is ``|ybar|``), for which ``kappa`` is exactly
    proportional to ``1/alpha``. As in :func:`train_many`, ``f`` may be a list of models with
    ``params0`` the list of their batches (one compilation for all; a list comes back).

    Args:
        f: model ``f(params, x) -> (n,)``, or a list; params0: batched parameters (leading
            axis ``B``), or a list of those.
        x: inputs ``(n, d)``; y: targets ``(n,)``.
        alpha: ``None``, a scalar or ``(B,)`` output scales > 0.
        iters, key: as in :func:`ntkbook.bounds.hessian_norm`.

    Returns:
        A :class:`~ntkbook.bounds.LazyRatio` of ``(B,)`` NumPy arrays (kappa and its three
        factors), or a list of them.
    """
    fs, ps, many = _models_and_params(f, params0)
    sizes = [_batch_size(p, "params0") for p in ps]
    x = _checks.matrix(x, "x")
    y = _checks.vector(y, "y", x.shape[0], "x")
    iters = _checks.integer(iters, "iters", 1)
    key = _checks.key(key)
    for g, p in zip(fs, ps):
        _check_output(g, p, x)
    has_alpha = alpha is not None
    alphas = [_alpha_batch(alpha, b) if has_alpha else (jnp.zeros(()), None) for b in sizes]

    def one_fn(g):
        def one(p0, a1):
            model = _model(g, p0, a1, False)[0] if has_alpha else g
            return lazy_ratio(model, p0, x, y, iters=iters, key=key)

        return one

    fns = [jax.vmap(one_fn(g), in_axes=(0, a_axis)) for g, (_, a_axis) in zip(fs, alphas)]
    args = [(p, aa) for p, (aa, _) in zip(ps, alphas)]
    outs = jax.device_get(jax.jit(lambda a: [fn(*arg) for fn, arg in zip(fns, a)])(args))
    outs = [LazyRatio(*o) for o in outs]
    for i, o in enumerate(outs):
        zero = np.flatnonzero(np.asarray(o.jacobian_norm) == 0)
        if zero.size:
            where = f"model {i}, " if many else ""
            raise ValueError(
                f"params0: the Jacobian of f is zero at {where}initialisation(s) "
                f"{zero.tolist()[:10]}, so the lazy ratio kappa is undefined there")
    return outs if many else outs[0]


def relative_change(traj: Any) -> np.ndarray:
    """``|A_t - A_0|_F / |A_0|_F`` for a recorded trajectory of matrices ``A_t``.

    ``traj`` has shape ``(..., R, n, k)`` (e.g. ``TrainResult.ntk``, ``(B, R, n, n)``), with
    ``A_0 = traj[..., 0, :, :]``; the result has shape ``(..., R)`` and starts at 0.
    """
    arr = _checks.finite_array(traj, "traj")
    if arr.ndim < 3:
        raise ValueError(f"traj must have shape (..., R, n, k), got {arr.shape}")
    first = arr[..., :1, :, :]
    den = np.linalg.norm(first, axis=(-2, -1))
    if np.any(den == 0):
        raise ValueError("traj must not start at zero (the relative change is undefined)")
    return np.linalg.norm(arr - first, axis=(-2, -1)) / den


# --- Whole width sweeps in one compilation -------------------------------------------------
#
# `train_many` and `lazy_ratios` trace one program per model: a sweep over six widths compiles
# six loops, and compiling costs far more than running them. The two functions below take the
# same arguments for a list of MLPs that differ only in width, and compile once. Both are
# exact re-arrangements of the same arithmetic (the library's tests check them against
# `train_many` / `lazy_ratios`), so a notebook can swap them in without changing a result.


def _same_family(nets: Any, name: str = "f") -> list[MLP]:
    """A list of MLPs that differ at most in width (same input, depth, activation, scales)."""
    many = nets if isinstance(nets, (list, tuple)) else [nets]
    if not many or not all(isinstance(n, MLP) for n in many):
        raise ValueError(f"{name} must be an ntkbook.nets.MLP or a non-empty list of them")
    keys = {(n.in_dim, n.depth, n.activation, n.w_std, n.b_std, n.parameterization)
            for n in many}
    if len(keys) != 1 or many[0].depth < 1:
        raise ValueError(f"{name} must hold MLPs with at least one hidden layer that differ only "
                         "in width (same in_dim, depth, activation, w_std, b_std, "
                         "parameterization)")
    return list(many)


def _run_scales(net: MLP) -> tuple[float, float]:
    """``(scale of the weights, scale of the bias)`` of every layer fed by hidden units."""
    return net.layer_scales()[-1]


def _masked_apply(net: MLP, params: Any, x: jax.Array, mask: jax.Array,
                  hidden_scale: jax.Array) -> jax.Array:
    """``net`` evaluated on parameters zero-padded to ``net.width`` units, of which only those
    with ``mask == 1`` exist; ``hidden_scale`` replaces the weight scale of every layer fed by
    hidden units (``w_std / sqrt(m)`` for the true width ``m`` in the NTK parameterisation).
    Padded units contribute nothing and every derivative with respect to them is zero."""
    from ntkbook.nets import _PHI

    act = _PHI[net.activation]
    (sw0, sb0), (_, sb) = net.layer_scales()[0], _run_scales(net)
    a = x
    for i, (w, b) in enumerate(params):
        sw = sw0 if i == 0 else hidden_scale
        bs = sb0 if i == 0 else sb
        h = sw * (a @ w) + bs * b
        if i < len(params) - 1:
            a = mask * act(h)
    return h[:, 0]


def _pad_batch(net_max: MLP, net: MLP, params: Any) -> list:
    """Zero-pad a batch of ``net`` parameters (leading axis ``B``) to the width of ``net_max``."""
    out = []
    for i, (w, b) in enumerate(params):
        w, b = np.asarray(w), np.asarray(b)
        pad_in = 0 if i == 0 else net_max.width - net.width
        pad_out = 0 if i == len(params) - 1 else net_max.width - net.width
        out.append((np.pad(w, ((0, 0), (0, pad_in), (0, pad_out))),
                    np.pad(b, ((0, 0), (0, pad_out)))))
    return out


def _real_positions(net_max: MLP, net: MLP) -> np.ndarray:
    """Positions, in the flattened padded parameters, of the flattened unpadded ones (in order)."""
    pos, offset = [], 0
    shapes_max = [(s, t) for s, t in zip(net_max.sizes[:-1], net_max.sizes[1:])]
    shapes = [(s, t) for s, t in zip(net.sizes[:-1], net.sizes[1:])]
    for (s_max, t_max), (s, t) in zip(shapes_max, shapes):
        pos.append(offset + np.arange(s_max * t_max).reshape(s_max, t_max)[:s, :t].ravel())
        offset += s_max * t_max
        pos.append(offset + np.arange(t))
        offset += t_max
    return np.concatenate(pos)


def lazy_ratios_padded(
    f: Any,
    params0: Any,
    x: Any,
    y: Any,
    alpha: Any | None = None,
    iters: int = 4,
    key: Any = 0,
) -> LazyRatio | list[LazyRatio]:
    """:func:`lazy_ratios` for MLPs of several widths in **one** compiled, vectorised call.

    Every run is zero-padded to the largest width and evaluated with a mask, so all widths share
    one program (``lazy_ratios`` traces one per width; for small problems compiling dominates).
    The padded units have no effect on the outputs and all derivatives with respect to them are
    zero, and the Lanczos start vector of each run is the one :func:`ntkbook.bounds.lazy_ratio`
    draws for the unpadded network, placed on its real coordinates: the results equal those of
    ``lazy_ratios`` up to rounding (when every network has at least 40 parameters, the number
    of Lanczos steps). The price is arithmetic on the padding: use it when the widths are few
    or the runs at the largest width dominate anyway.

    Args:
        f: an :class:`~ntkbook.nets.MLP` or a list of MLPs that differ only in width.
        params0: batched parameters (leading axis ``B``, :func:`init_many`), or one per model.
        x: inputs ``(n, d)``; y: targets ``(n,)``.
        alpha: ``None``, a scalar or ``(B,)`` output scales (the centred model
            ``alpha (f - f(w0))``, as in :func:`lazy_ratios`), or, for a list of models, a list
            with one such entry per model (``None`` entries: the plain network).
        iters, key: as in :func:`ntkbook.bounds.hessian_norm`.

    Returns:
        A :class:`~ntkbook.bounds.LazyRatio` of ``(B,)`` arrays, or a list, one per model.
    """
    from ntkbook.bounds import _top_eigenpair

    many = isinstance(f, (list, tuple))
    nets = _same_family(f)
    ps = list(params0) if many else [params0]
    if len(ps) != len(nets):
        raise ValueError(f"params0 must be a list of {len(nets)} batched pytrees, one per model")
    sizes = [_batch_size(p, "params0") for p in ps]
    x = _checks.matrix(x, "x", dim=nets[0].in_dim, dim_name="the network's in_dim")
    n = x.shape[0]
    y = _checks.vector(y, "y", n, "x")
    iters = _checks.integer(iters, "iters", 1)
    key = _checks.key(key)
    if many and isinstance(alpha, (list, tuple)):
        if len(alpha) != len(nets):
            raise ValueError(f"alpha must be one entry per model ({len(nets)}), got {len(alpha)}")
        alphas = list(alpha)
    else:
        alphas = [alpha] * len(nets)
    for g, p in zip(nets, ps):
        _check_output(g, p, x)
    net_max = max(nets, key=lambda g: g.width)
    padded, masks, scales, avals, centre, v0_index = [], [], [], [], [], []
    for k, (g, p, b, a) in enumerate(zip(nets, ps, sizes, alphas)):
        padded.append(_pad_batch(net_max, g, p))
        masks.append(np.tile(np.arange(net_max.width) < g.width, (b, 1)).astype(float))
        scales.append(np.full(b, _run_scales(g)[0]))
        if a is None:
            avals.append(np.ones(b))
            centre.append(np.zeros(b))
        else:
            aa = np.asarray(_alpha_batch(a, b)[0])
            avals.append(np.broadcast_to(aa, (b,)).astype(float))
            centre.append(np.ones(b))
        v0_index.append(np.full(b, k))
    params = jax.tree_util.tree_map(lambda *leaves: np.concatenate(leaves), *padded)
    positions = [_real_positions(net_max, g) for g in nets]
    n_flat = net_max.n_params
    steps = min(min(g.n_params for g in nets), 40)
    dtype = jnp.result_type(float)

    def start_vectors():
        # the start vector lazy_ratio draws for each unpadded model, on its real coordinates
        rows = [jnp.zeros(n_flat, dtype).at[pos].set(
            jax.random.normal(key, (pos.size,), dtype)) for pos in positions]
        return jnp.stack(rows)

    def one(p0, mask, scale, a1, c1, v0):
        flat0, unravel = jax.flatten_util.ravel_pytree(p0)
        base = _masked_apply(net_max, p0, x, mask, scale)

        def out(w):
            return a1 * (_masked_apply(net_max, unravel(w), x, mask, scale) - c1 * base)

        residual = jnp.linalg.norm(out(flat0) - y)
        jac = jax.jacrev(out)(flat0)
        jac_norm = jnp.sqrt(jnp.linalg.eigvalsh(jac @ jac.T)[-1])

        def hvp(u, v):
            g = lambda w: jax.grad(lambda z: out(z) @ u)(w)  # noqa: E731
            return jax.jvp(g, (flat0,), (v,))[1]

        def second_dir(v):
            d1 = lambda w: jax.jvp(out, (w,), (v,))[1]  # noqa: E731
            return jax.jvp(d1, (flat0,), (v,))[1]

        def step(carry, _):
            u, v = carry
            _, v = _top_eigenpair(lambda z: hvp(u, z), v, steps)
            s = second_dir(v)
            return (s / jnp.linalg.norm(s), v), jnp.linalg.norm(s)

        u0 = jnp.ones(n, dtype) / jnp.sqrt(n)
        _, norms = jax.lax.scan(step, (u0, v0), None, length=iters)
        hess = jnp.max(norms)
        return residual * hess / jac_norm**2, residual, jac_norm, hess

    @jax.jit
    def run(params, masks, scales, avals, centre, idx):
        v0 = start_vectors()[idx]
        return jax.vmap(one)(params, masks, scales, avals, centre, v0)

    cat = [np.concatenate(v) for v in (masks, scales, avals, centre, v0_index)]
    outs = jax.device_get(run(params, *cat))
    bounds = np.cumsum([0] + sizes)
    res = [LazyRatio(*(o[lo:hi] for o in outs)) for lo, hi in zip(bounds[:-1], bounds[1:])]
    return res if many else res[0]


def _pack_runs(nets: list[MLP], params: list, run_ids: list[tuple[int, int]]) -> dict:
    """Concatenate the hidden units of the runs ``(model, index)`` of two-layer MLPs into one
    wide layer: ``W1 (d, U)``, ``b1 (U,)``, ``w2 (U,)``, ``b2 (R,)``, with the run of every unit
    (``seg``, sorted) and its output-weight scale."""
    w1, b1, w2, b2, seg, scale = [], [], [], [], [], []
    for r, (k, i) in enumerate(run_ids):
        (wa, ba), (wb, bb) = params[k]
        w1.append(np.asarray(wa)[i])
        b1.append(np.asarray(ba)[i])
        w2.append(np.asarray(wb)[i][:, 0])
        b2.append(np.asarray(bb)[i][0])
        seg.append(np.full(nets[k].width, r))
        scale.append(np.full(nets[k].width, _run_scales(nets[k])[0]))
    theta = (np.concatenate(w1, axis=1), np.concatenate(b1), np.concatenate(w2), np.stack(b2))
    return {"theta": theta, "seg": np.concatenate(seg), "scale": np.concatenate(scale)}


def train_many_packed(
    f: Any,
    params0: Any,
    x: Any,
    y: Any,
    lr: float,
    steps: int,
    record_every: int = 1,
    *,
    x_test: Any | None = None,
    alpha: Any | None = None,
    linearized: bool | Sequence[bool] = False,
    record_ntk: bool | Sequence[bool] = True,
) -> TrainResult | list[TrainResult]:
    """:func:`train_many` for two-layer MLPs of several widths, compiled **once** and without
    padding.

    Runs are independent, so gradient descent on all of them is gradient descent on the sum of
    their losses over the union of their parameters. Here the hidden units of every run (every
    seed of every width) are laid side by side in one wide hidden layer, each run keeping its
    own output scale ``w_std / sqrt(m)`` and output bias, and each run's output is the sum over
    its own units. One training loop for the whole sweep (two when some models are linearised)
    replaces one loop per width, with no arithmetic wasted on padding. The recorded quantities
    are those of :func:`train_many` (its tests check the two agree run by run): per run the
    loss, training and test outputs, ``|w - w0| / |w0|`` and the empirical NTK of the trained
    model (from the Jacobian of the summed outputs, whose columns belong to one run each).

    Args:
        f: a two-layer :class:`~ntkbook.nets.MLP` (``depth=1``) or a list of them that differ
            only in width; other arguments as in :func:`train_many`. ``alpha`` may also be a list
            with one entry per model, as in :func:`lazy_ratios_padded`, but ``None`` and
            numbers cannot be mixed (the centred model is all or nothing).

    Returns:
        A :class:`~ntkbook.train.TrainResult` (a list, one per model) exactly as
        :func:`train_many` returns it.
    """
    many = isinstance(f, (list, tuple))
    nets = _same_family(f)
    if nets[0].depth != 1:
        raise ValueError("f must hold two-layer MLPs (depth=1); use train_many for deeper ones")
    ps = list(params0) if many else [params0]
    if len(ps) != len(nets):
        raise ValueError(f"params0 must be a list of {len(nets)} batched pytrees, one per model")
    sizes = [_batch_size(p, "params0") for p in ps]
    x = _checks.matrix(x, "x", dim=nets[0].in_dim, dim_name="the network's in_dim")
    n = x.shape[0]
    lin_flags = _as_list(linearized, len(nets), "linearized", bool)
    ntk_flags = _as_list(record_ntk, len(nets), "record_ntk", bool)
    lr = _checks.positive(lr, "lr")
    steps = _checks.integer(steps, "steps", 0)
    record_every = _checks.integer(record_every, "record_every", 1)
    if steps % record_every:
        raise ValueError(f"steps ({steps}) must be a multiple of record_every ({record_every})")
    has_test = x_test is not None
    x_t = _checks.matrix(x_test, "x_test", dim=x.shape[1], dim_name="x") if has_test else x
    if many and isinstance(alpha, (list, tuple)):
        if len(alpha) != len(nets) or len({a is None for a in alpha}) != 1:
            raise ValueError(f"alpha must be one entry per model ({len(nets)}), all None or all "
                             "output scales")
        alphas = list(alpha)
    else:
        alphas = [alpha] * len(nets)
    has_alpha = alphas[0] is not None
    for g, p in zip(nets, ps):
        _check_output(g, p, x)
    ys, avs = [], []
    for b, a in zip(sizes, alphas):
        yy, axis = _batched_vector(y, "y", b, n)
        ys.append(np.broadcast_to(np.asarray(yy), (b, n)))
        aa = np.asarray(_alpha_batch(a, b)[0]) if has_alpha else np.ones(())
        avs.append(np.broadcast_to(aa, (b,)).astype(float))
    from ntkbook.nets import _PHI

    act = _PHI[nets[0].activation]
    (sw0, sb0), (_, sb) = nets[0].layer_scales()[0], _run_scales(nets[0])
    groups = {}  # (linearized, record_ntk) -> runs (model, index) packed together
    for k, (b, lin, rec) in enumerate(zip(sizes, lin_flags, ntk_flags)):
        groups.setdefault((lin, rec), []).extend((k, i) for i in range(b))
    packs = []
    for (lin, rec), runs in groups.items():
        pack = _pack_runs(nets, ps, runs)
        pack.update(lin=lin, rec=rec, runs=runs,
                    y=np.stack([ys[k][i] for k, i in runs]),
                    alpha=np.array([avs[k][i] for k, i in runs]))
        packs.append(pack)
    n_records = steps // record_every

    def make_loop(pack):
        seg, n_runs = jnp.asarray(pack["seg"]), len(pack["runs"])
        unit_scale = jnp.asarray(pack["scale"])

        def segsum(v):  # (U, ...) -> (R, ...)
            return jax.ops.segment_sum(v, seg, n_runs, indices_are_sorted=True)

        def apply(theta, z):  # (n, R): every run's network on the inputs z
            w1, b1, w2, b2 = theta
            a = act(sw0 * (z @ w1) + sb0 * b1)
            return segsum((a * (unit_scale * w2)).T).T + sb * b2

        def run(theta0, yy, aa):
            def base(theta, z):
                if not pack["lin"]:
                    return apply(theta, z)
                delta = jax.tree_util.tree_map(lambda p, q: p - q, theta, theta0)
                out, tangent = jax.jvp(lambda q: apply(q, z), (theta0,), (delta,))
                return out + tangent

            if has_alpha:
                f0, f0_test = base(theta0, x), base(theta0, x_t)

                def model(theta, z, z0):
                    return aa * (base(theta, z) - z0)
            else:
                f0 = f0_test = None

                def model(theta, z, z0):
                    return base(theta, z)

            scale = 1.0 / aa**2 if has_alpha else jnp.ones(n_runs)

            def losses(theta):
                return 0.5 * scale * jnp.sum((model(theta, x, f0).T - yy) ** 2, axis=1)

            grad = jax.grad(lambda theta: jnp.sum(losses(theta)))

            def sq_norms(theta):  # squared norm of every run's parameters, (R,)
                w1, b1, w2, b2 = theta
                return segsum(jnp.sum(w1**2, axis=0) + b1**2 + w2**2) + b2**2

            norm0 = jnp.sqrt(sq_norms(theta0))

            def record(theta):
                u = model(theta, x, f0).T
                delta = jax.tree_util.tree_map(lambda p, q: p - q, theta, theta0)
                rec = [0.5 * scale * jnp.sum((u - yy) ** 2, axis=1), u,
                       jnp.sqrt(sq_norms(delta)) / norm0,
                       model(theta, x_t, f0_test).T if has_test else jnp.zeros((n_runs, 0))]
                if pack["rec"]:
                    jw1, jb1, jw2, jb2 = jax.jacrev(lambda q: model(q, x, f0).sum(1))(theta)
                    feats = jnp.concatenate([jw1, jb1[:, None], jw2[:, None]], axis=1)
                    per_unit = jnp.einsum("iku,jku->uij", feats, feats)
                    rec.append(segsum(per_unit) + jnp.einsum("ir,jr->rij", jb2, jb2))
                return tuple(rec)

            def outer(theta, i):
                rec = record(theta)
                n_steps = jnp.where(i < n_records, record_every, 0)

                def gd(_, q):
                    return jax.tree_util.tree_map(lambda p, g: p - lr * g, q, grad(q))

                return jax.lax.fori_loop(0, n_steps, gd, theta), rec

            theta_end, recs = jax.lax.scan(outer, theta0, jnp.arange(n_records + 1))
            return recs, theta_end

        return run

    loops = [make_loop(p) for p in packs]
    args = [(p["theta"], p["y"], p["alpha"]) for p in packs]
    outs = jax.device_get(jax.jit(lambda a: [fn(*arg) for fn, arg in zip(loops, a)])(args))
    record_steps = np.arange(0, steps + 1, record_every)
    per_run = {}
    for pack, (recs, theta_end) in zip(packs, outs):
        w1, b1, w2, b2 = theta_end
        seg = pack["seg"]
        for r, (k, i) in enumerate(pack["runs"]):
            units = seg == r
            final = [(w1[:, units], b1[units]), (w2[units][:, None], b2[r:r + 1])]
            per_run[k, i] = ([np.swapaxes(v, 0, 1)[r] if v.ndim > 1 else v[r]
                              for v in recs], final)
    results = []
    for k, (b, rec) in enumerate(zip(sizes, ntk_flags)):
        runs = [per_run[k, i] for i in range(b)]
        fields = [np.stack([run[0][j] for run in runs]) for j in range(len(runs[0][0]))]
        params = jax.tree_util.tree_map(lambda *leaves: np.stack(leaves),
                                        *[run[1] for run in runs])
        results.append(TrainResult(
            steps=record_steps, loss=fields[0], train=fields[1],
            test=fields[3] if has_test else None, weight_change=fields[2],
            ntk_steps=record_steps if rec else np.zeros(0, dtype=int),
            ntk=fields[4] if rec else None, params=params))
    return results if many else results[0]
