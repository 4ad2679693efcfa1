"""The finite-width (empirical) NTK from automatic differentiation, and the linearised model.

For a model ``f(params, x) -> (n,)`` the empirical NTK is
``K(x, x') = <grad_w f(x, w), grad_w f(x', w)>``, i.e. ``K = J1 @ J2.T`` with ``J`` the
``(n, P)`` Jacobian of the outputs with respect to all ``P`` parameters (the feature map
``phi(x) = grad_w f(x, w0)``). Three ways to get it:

- ``"structured"`` (an :class:`~ntkbook.nets.MLP` only): never forms ``J``. For a dense layer
  ``h = s_w a W + s_b b`` the weight gradient is the outer product of the layer input ``a`` and
  the back-propagated signal ``delta = df/dh``, so the layer's share of the kernel is
  ``(s_w^2 A1 A2^T + s_b^2) * (D1 D2^T)`` (elementwise product of two Gram matrices).
- ``"jacobian"``: form ``J1`` and ``J2`` (one reverse-mode gradient per row, vmapped) and
  contract them.
- ``"ntvp"``: NTK-vector products, ``K e_j = J1 (J2^T e_j)``: the ``vjp`` of row ``j`` alone,
  then one ``jvp`` over ``x1`` per column; memory ``O(P)`` per column held. With ``x2`` a single
  point this gives a whole kernel column in one pass.

The generic strategies, like neural-tangents' default ``vmap_axes=0``, assume that ``f`` treats
the rows of ``x`` independently (``f(params, x)[i]`` depends on ``x[i]`` only), as every model in
this book does; the kernel of a single input is what the NTK is defined on anyway. With
``x2=None`` only the blocks on and above the diagonal are computed (half the work).

``"auto"`` takes the structured path for an MLP; otherwise Jacobian contraction (fewer flops)
when the Jacobians of one block fit in ``memory_limit`` bytes, NTK-vector products if not.
Inputs are processed in blocks of ``block_size`` rows so memory stays bounded for large ``n``.
"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from ntkbook import _checks
from ntkbook.nets import MLP

STRATEGIES = ("auto", "structured", "jacobian", "ntvp")


def _as_mlp(f: Any) -> MLP | None:
    """The MLP behind ``f`` (the net itself or its bound ``__call__``), else ``None``."""
    if isinstance(f, MLP):
        return f
    owner = getattr(f, "__self__", None)
    return owner if isinstance(owner, MLP) else None


@jax.jit
def _flatten_jac(jac: Any) -> jax.Array:
    leaves = jax.tree_util.tree_leaves(jac)
    return jnp.concatenate([leaf.reshape(leaf.shape[0], -1) for leaf in leaves], axis=1)


def _row_grad(f: Callable) -> Callable:
    """``(params, xi) -> grad_w f(params, xi[None])[0]`` for one row ``xi`` of shape ``(d,)``
    (rows are independent)."""
    return jax.grad(lambda p, xi: f(p, xi[None])[0])


@lru_cache(maxsize=64)
def _jacobian_fn(f: Callable) -> Callable:
    """``(params, x) -> J``, ``(n, P)``: one gradient per row, vmapped. (Reverse mode over the
    whole batch, ``jacrev``, would back-propagate all ``n`` rows for every one of the ``n``
    outputs: ``n`` times the work.)"""
    grad = _row_grad(f)
    return jax.jit(lambda p, x: _flatten_jac(jax.vmap(grad, in_axes=(None, 0))(p, x)))


_NTVP_CHUNK = 32  # columns whose tangents are held at once: memory O(_NTVP_CHUNK * P)


@lru_cache(maxsize=64)
def _ntvp_fn(f: Callable) -> Callable:
    """``(params, x1, x2) -> K``: column ``j`` is ``J1 t_j`` with ``t_j = grad f(x2[j])`` (one
    ``vjp`` of that row alone) pushed through ``f(., x1)`` by one ``jvp``; columns go
    ``_NTVP_CHUNK`` at a time."""
    grad = _row_grad(f)

    def block(p, x1, x2):
        def column(xj):
            return jax.jvp(lambda q: f(q, x1), (p,), (grad(p, xj),))[1]

        n2 = x2.shape[0]
        size = min(n2, _NTVP_CHUNK)
        chunks = -(-n2 // size)
        padded = jnp.concatenate([x2, jnp.repeat(x2[:1], chunks * size - n2, 0)])
        cols = jax.lax.map(jax.vmap(column), padded.reshape(chunks, size, -1))
        return cols.reshape(chunks * size, -1)[:n2].T

    return jax.jit(block)


@jax.jit
def _gram(a: jax.Array, b: jax.Array) -> jax.Array:
    return a @ b.T


@jax.jit
def _backprop_signals(net_params, net_scales, preacts, dphis):
    """delta^l = df/dh^l for every layer, each ``(n, n_l)``; delta of the output is 1."""
    deltas = [jnp.ones_like(preacts[-1])]
    for i in range(len(preacts) - 2, -1, -1):
        w_next = net_params[i + 1][0]
        s_next = net_scales[i + 1][0]
        deltas.insert(0, s_next * (deltas[0] @ w_next.T) * dphis[i])
    return deltas


def _mlp_signals(net: MLP, params, x):
    preacts, inputs = net.forward(params, x)
    dphis = [net.dphi(h) for h in preacts[:-1]]
    deltas = _backprop_signals(params, net.layer_scales(), preacts, dphis)
    return inputs, deltas


@lru_cache(maxsize=64)
def _structured_fn(net: MLP) -> tuple[Callable, Callable]:
    """``(params, x1, x2) -> K`` and its symmetric twin ``(params, x) -> K(x, x)``, which
    propagates the signals once."""
    scales = net.layer_scales()

    def kernel(s1, s2):
        (a1, d1), (a2, d2) = s1, s2
        k = 0.0
        for (sw, sb), u1, u2, e1, e2 in zip(scales, a1, a2, d1, d2):
            k = k + (sw**2 * (u1 @ u2.T) + sb**2) * (e1 @ e2.T)
        return k

    def block(params, x1, x2):
        return kernel(_mlp_signals(net, params, x1), _mlp_signals(net, params, x2))

    def square(params, x):
        signals = _mlp_signals(net, params, x)
        return kernel(signals, signals)

    return jax.jit(block), jax.jit(square)


def _n_params(params: Any) -> int:
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(params))


def _check_model(f: Callable, params: Any, x: jax.Array, name: str = "x1") -> None:
    """``f(params, x)`` must run and give real outputs of shape ``(n,)``: a model with outputs
    ``(n, 1)`` or a scalar, or parameters of another architecture, are refused here."""
    if not callable(f):
        raise _checks.InputTypeError(f"f must be a model f(params, x) -> (n,), got {f!r:.40}")
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError("params must be a pytree with at least one array leaf")
    for leaf in leaves:
        dt = _checks.leaf_dtype(leaf)
        if dt.kind != "f":
            raise _checks.InputTypeError(f"params must hold real float arrays, found dtype {dt}")
    try:
        out = jax.eval_shape(f, params, x)
    except ValueError:
        raise
    except Exception as err:  # a shape mismatch deep inside f
        raise ValueError(
            f"f(params, {name}) failed for {name} of shape {tuple(x.shape)} (parameters of "
            f"another model?): {str(err)[:200]}") from err
    if getattr(out, "shape", None) != (x.shape[0],):
        raise ValueError(
            "f must map x of shape (n, d) to outputs of shape (n,), one number per row; "
            f"got {getattr(out, 'shape', out)} for {name} of shape {tuple(x.shape)}"
        )
    if np.dtype(out.dtype).kind != "f":
        raise ValueError(f"f must return real float outputs, got dtype {out.dtype}")


def empirical_ntk(
    f: Callable,
    params: Any,
    x1: Any,
    x2: Any | None = None,
    strategy: str = "auto",
    block_size: int | None = None,
    memory_limit: float = 2e9,
) -> jax.Array:
    """Empirical NTK ``K[i, j] = <grad f(x1[i]), grad f(x2[j])>``, shape ``(n1, n2)``.

    Args:
        f: a model ``f(params, x) -> (n,)``; an :class:`~ntkbook.nets.MLP` (or its bound call)
            enables the structured path.
        params: the parameters (any pytree) at which the kernel is taken.
        x1: inputs ``(n1, d)``; x2: inputs ``(n2, d)`` or ``None`` for ``x1``.
        strategy: ``"auto"``, ``"structured"``, ``"jacobian"`` or ``"ntvp"`` (module docstring).
        block_size: rows per block (default: everything at once when it fits).
        memory_limit: bytes allowed for the Jacobians of one pair of blocks.
    """
    strategy = _checks.choice(strategy, "strategy", STRATEGIES)
    memory_limit = _checks.positive(memory_limit, "memory_limit")
    if memory_limit < 1:
        raise ValueError(f"memory_limit must be a number of bytes >= 1, got {memory_limit!r}")
    if block_size is not None:
        block_size = _checks.integer(block_size, "block_size", 1)
    a, b = _checks.pair(x1, x2)
    net = _as_mlp(f)
    if net is not None:
        _checks.matrix(a, "x1", dim=net.in_dim, dim_name="the network's in_dim")
    if strategy == "structured" and net is None:
        raise ValueError("strategy='structured' needs f to be an ntkbook.nets.MLP")
    _check_model(f, params, a[:1])
    n_par = _n_params(params)
    itemsize = jnp.dtype(jnp.result_type(float)).itemsize
    if strategy == "auto":
        if net is not None:
            strategy = "structured"
        else:
            fits = (a.shape[0] + b.shape[0]) * n_par * itemsize <= memory_limit
            strategy = "jacobian" if fits or block_size is not None else "ntvp"
    if block_size is None:
        rows = a.shape[0] + b.shape[0]
        per_row = n_par * itemsize if strategy == "jacobian" else 4 * itemsize * max(
            net.width if net else 1, 1
        )
        block_size = max(1, min(rows, int(memory_limit // max(per_row, 1)) // 2))
    block_size = _checks.integer(block_size, "block_size", 1)
    if strategy == "structured":
        pair, square = _structured_fn(net)
    elif strategy == "ntvp":
        pair = _ntvp_fn(f)

        def square(p, u):
            return pair(p, u, u)
    else:
        jac = _jacobian_fn(f)

        def pair(p, u, v):
            return _gram(jac(p, u), jac(p, v))

        def square(p, u):
            j = jac(p, u)
            return _gram(j, j)

    return _blockwise(partial(pair, params), a, b, block_size,
                      partial(square, params) if x2 is None else None)


def _blockwise(
    fn: Callable, a: jax.Array, b: jax.Array, size: int, square: Callable | None = None
) -> jax.Array:
    """Assemble ``fn(a_block, b_block)`` over row blocks of ``a`` and ``b``.

    With ``square`` (``b`` is ``a``): only blocks on and above the diagonal are computed, the
    diagonal ones by ``square(a_block)``, and the rest is mirrored.
    """
    if a.shape[0] <= size and b.shape[0] <= size:
        return fn(a, b) if square is None else square(a)
    starts_a, starts_b = range(0, a.shape[0], size), range(0, b.shape[0], size)
    if square is None:
        return jnp.block([[fn(a[i:i + size], b[j:j + size]) for j in starts_b] for i in starts_a])
    blocks = {}
    for i in starts_a:
        blocks[i, i] = square(a[i:i + size])
        for j in starts_a:
            if j > i:
                blocks[i, j] = fn(a[i:i + size], a[j:j + size])
                blocks[j, i] = blocks[i, j].T
    return jnp.block([[blocks[i, j] for j in starts_a] for i in starts_a])


def jacobian_features(f: Callable, params: Any, x: Any) -> jax.Array:
    """The NTK feature map ``phi(x) = grad_w f(x, params)`` for every row: shape ``(n, P)``.

    Parameters are flattened in ``jax.tree_util`` leaf order; ``phi @ phi.T`` is the empirical NTK.
    """
    x = _checks.matrix(x, "x")
    _check_model(f, params, x[:1], "x")
    _checks.size(x.shape[0] * _n_params(params), "jacobian_features (n x P)", "entries")
    return _jacobian_fn(f)(params, x)


def linearize(f: Callable, params0: Any) -> Callable:
    """First-order Taylor model around ``params0``:
    ``f_lin(w, x) = f(w0, x) + grad_w f(x, w0) . (w - w0)``, computed with one ``jvp``.

    Its empirical NTK is constant, equal to that of ``f`` at ``params0``.
    """

    def f_lin(params, x):
        delta = jax.tree_util.tree_map(lambda p, p0: p - p0, params, params0)
        out, tangent = jax.jvp(lambda q: f(q, x), (params0,), (delta,))
        return out + tangent

    return f_lin


# --- Beyond the lazy regime: how far the kernel moves, and how random it is at initialisation ---


def kernel_distance(k1: Any, k2: Any) -> jax.Array:
    """Kernel distance of Fort et al. (2020): ``S = 1 - <K1, K2>_F / (|K1|_F |K2|_F)``.

    One minus the cosine of the angle between the two matrices seen as vectors: 0 when one is
    a positive multiple of the other, at most 2. ``k1`` and ``k2`` have the same shape
    ``(..., n1, n2)``; the leading axes broadcast and the result has shape ``(...)``.
    """
    a = _checks.finite_array(k1, "k1")
    b = _checks.finite_array(k2, "k2")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-2:] != b.shape[-2:]:
        raise ValueError(
            f"k1 and k2 must be matrices (..., n1, n2) of one shape, got {a.shape} and {b.shape}"
        )
    na = np.linalg.norm(a, axis=(-2, -1))
    nb = np.linalg.norm(b, axis=(-2, -1))
    if np.any(na == 0) or np.any(nb == 0):
        raise ValueError("k1 and k2 must be non-zero (the angle to a zero matrix is undefined)")
    inner = np.sum(a * b, axis=(-2, -1))
    return jnp.asarray(1.0 - inner / (na * nb))


def dispersion(samples: Any, axis: int = 0) -> jax.Array:
    """``E[K^2] / E[K]^2`` over independent samples of a random kernel (entrywise).

    ``samples`` holds draws along ``axis`` (e.g. ``(S, n1, n2)`` empirical NTKs of ``S``
    initialisations); the result has the remaining shape. It is 1 for a deterministic kernel
    (the infinite-width limit) and ``1 + Var[K] / E[K]^2`` in general.
    """
    arr = _checks.finite_array(samples, "samples")
    if arr.ndim < 1 or arr.shape[axis] < 2:
        raise ValueError(f"samples must hold at least two draws along axis {axis}")
    mean = arr.mean(axis)
    if np.any(mean == 0):
        raise ValueError("samples must have a non-zero mean (the dispersion is undefined)")
    return jnp.asarray((arr**2).mean(axis) / mean**2)


def _ntk_by_depth(params, x1, x2, depth, w_std, b_std, activation):
    """Empirical NTK of the depth-``depth`` network read out from the shared deep stack.

    ``params = (w1 (d, m), b1 (m,), wh (D-1, m, m), bh (D-1, m), v (m,), c ())`` in the NTK
    parameterisation (entries N(0, 1)); the depth-``L`` network uses layers ``1..L`` and the
    read-out ``(v, c)`` on layer ``L``. ``depth`` may be traced: layers above it are masked.
    Structured formula: layer ``l`` adds ``(s_w^2 A A'^T + s_b^2) * (delta delta'^T)``.
    """
    w1, b1, wh, bh, v, c = params
    phi, dphi = _activation_pair(activation)
    d, m = w1.shape
    n_hidden = wh.shape[0] + 1

    def forward(x):
        h1 = w_std / jnp.sqrt(d) * (x @ w1) + b_std * b1

        def step(h, wb):
            h_next = w_std / jnp.sqrt(m) * (phi(h) @ wb[0]) + b_std * wb[1]
            return h_next, h_next

        _, hs = jax.lax.scan(step, h1, (wh, bh))
        return jnp.concatenate([h1[None], hs])  # (D, n, m): pre-activations of every layer

    h1s, h2s = forward(x1), forward(x2)
    top1, top2 = h1s[depth - 1], h2s[depth - 1]
    readout = w_std**2 / m * (phi(top1) @ phi(top2).T) + b_std**2
    delta1 = w_std / jnp.sqrt(m) * v * dphi(top1)
    delta2 = w_std / jnp.sqrt(m) * v * dphi(top2)

    def back(carry, layer):
        # layer l = D, D-1, ..., 2 (index l - 2 into wh); delta is the signal at layer l
        d1, d2 = carry
        idx = layer - 2
        start = layer == depth
        alive = layer <= depth
        e1 = jnp.where(start, delta1, d1)
        e2 = jnp.where(start, delta2, d2)
        a1, a2 = phi(h1s[layer - 2]), phi(h2s[layer - 2])
        contrib = (w_std**2 / m * (a1 @ a2.T) + b_std**2) * (e1 @ e2.T)
        contrib = jnp.where(alive, contrib, 0.0)
        n1 = w_std / jnp.sqrt(m) * (e1 @ wh[idx].T) * dphi(h1s[layer - 2])
        n2 = w_std / jnp.sqrt(m) * (e2 @ wh[idx].T) * dphi(h2s[layer - 2])
        return (jnp.where(alive, n1, d1), jnp.where(alive, n2, d2)), contrib

    layers = jnp.arange(n_hidden, 1, -1)
    (e1, e2), contribs = jax.lax.scan(back, (delta1, delta2), layers)
    e1 = jnp.where(depth == 1, delta1, e1)
    e2 = jnp.where(depth == 1, delta2, e2)
    first = (w_std**2 / d * (x1 @ x2.T) + b_std**2) * (e1 @ e2.T)
    return readout + contribs.sum(0) + first


def _activation_pair(activation: str) -> tuple[Callable, Callable]:
    """The activation and its derivative, as :class:`~ntkbook.nets.MLP` uses them."""
    from ntkbook.nets import _DPHI, _PHI

    return _PHI[activation], _DPHI[activation]


@partial(jax.jit, static_argnames=("width", "max_depth", "n_samples", "activation"))
def _init_samples(key, x1, x2, depths, w_stds, b_std, width, max_depth, n_samples, activation):
    # one normal draw for everything, cut into the parameter stacks of the n_samples networks
    # (one random-number kernel to compile instead of one per shape: about 3x faster to compile)
    d, m = x1.shape[1], width
    shapes = [(d, m), (m,), (max_depth - 1, m, m), (max_depth - 1, m), (m,), ()]
    sizes = [int(np.prod(sh)) for sh in shapes]
    z = jax.random.normal(key, (n_samples, sum(sizes)))
    parts = jnp.split(z, np.cumsum(sizes)[:-1].tolist(), axis=1)
    stacks = tuple(p.reshape((n_samples,) + sh) for p, sh in zip(parts, shapes))

    def one(params, depth, w_std):
        return _ntk_by_depth(params, x1, x2, depth, w_std, b_std, activation)

    over_draws = jax.vmap(one, in_axes=(0, None, None))
    over_depths = jax.vmap(over_draws, in_axes=(None, 0, None))
    return jax.vmap(over_depths, in_axes=(None, None, 0))(stacks, depths, w_stds)


def ntk_init_samples(
    x1: Any,
    x2: Any | None = None,
    depths: Any = (1,),
    width: int = 32,
    w_std: Any = 2**0.5,
    b_std: float = 0.0,
    n_samples: int = 100,
    key: Any = 0,
    activation: str = "relu",
) -> jax.Array:
    """Empirical NTKs at initialisation of many random MLPs, for several depths and ``w_std``.

    The networks are those of :class:`~ntkbook.nets.MLP` in the NTK parameterisation (all
    weights and biases ``N(0, 1)``, ``width`` units per hidden layer, biases trained). For draw
    ``s`` one stack of ``max(depths)`` hidden layers and one read-out is drawn; the network of
    depth ``L`` is its first ``L`` layers with the read-out on top, so each depth on its own is
    an exact sample of its MLP (draws are shared across depths and ``w_std`` values, which
    makes the curves against depth smooth). One compilation for everything.

    Args:
        x1: inputs ``(n1, d)``; x2: inputs ``(n2, d)`` or ``None`` for ``x1``.
        depths: numbers of hidden layers (each >= 1); w_std: one scale or a sequence.
        width: hidden units per layer; b_std: bias scale (0: the biases do nothing).
        n_samples: independent initialisations; key: PRNG key or int seed.
        activation: ``"relu"`` or ``"erf"``.

    Returns:
        ``(len(w_std), len(depths), n_samples, n1, n2)``; the first axis is dropped when
        ``w_std`` is a scalar.
    """
    a, b = _checks.pair(x1, x2)
    width = _checks.integer(width, "width", 1)
    n_samples = _checks.integer(n_samples, "n_samples", 1)
    activation = _checks.choice(activation, "activation", ("relu", "erf"))
    b_std = _checks.positive(b_std, "b_std", strict=False)
    depth_arr = np.atleast_1d(np.asarray(depths))
    if depth_arr.ndim != 1 or not np.issubdtype(depth_arr.dtype, np.integer) \
            or np.any(depth_arr < 1):
        raise ValueError(f"depths must be a sequence of integers >= 1, got {depths!r}")
    scalar = np.ndim(w_std) == 0
    w_arr = np.atleast_1d(_checks.finite_array(w_std, "w_std"))
    if w_arr.ndim != 1 or np.any(w_arr <= 0):
        raise ValueError(f"w_std must be a number > 0 or a sequence of them, got {w_std!r}")
    out = _init_samples(_checks.key(key), a, b, jnp.asarray(depth_arr), jnp.asarray(w_arr),
                        b_std, width, int(depth_arr.max()), n_samples, activation)
    return out[0] if scalar else out
