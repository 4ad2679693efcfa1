"""Fully connected networks (MLPs) in NTK or standard parameterisation, and the output scale α.

Parameters are a list of ``(W, b)`` pairs, ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape
``(n_out,)``; the last pair maps to one output. With ``parameterization="ntk"`` every entry is
``N(0, 1)`` and a layer computes ``h = w_std/sqrt(n_in) a W + b_std b``; with ``"standard"`` the
entries are ``N(0, w_std^2/n_in)`` and ``N(0, b_std^2)`` and a layer computes ``h = a W + b``.
Both give the same function at initialisation, but gradients (hence the NTK and training
dynamics) differ: only the NTK parameterisation has a finite kernel limit at a fixed step size.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf

from ntkbook import _checks

Params = list[tuple[jax.Array, jax.Array]]
PARAMETERIZATIONS = ("ntk", "standard")
MAX_DEPTH = 1000  # every layer is traced and compiled: deeper networks would not compile

_PHI: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "erf": erf,
}
_DPHI: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": lambda z: (z > 0).astype(z.dtype),
    "erf": lambda z: 2 / jnp.sqrt(jnp.pi) * jnp.exp(-(z**2)),
}


@dataclass(frozen=True)
class MLP:
    """An MLP ``(n, in_dim) -> (n,)`` with ``depth`` hidden layers of ``width`` units.

    ``params = net.init(key)``; ``net(params, x)`` evaluates it. The object only holds the
    architecture (it is hashable, so it can be a static argument of ``jax.jit``).
    """

    in_dim: int
    width: int
    depth: int = 1
    activation: str = "relu"
    w_std: float = 1.0
    b_std: float = 0.0
    parameterization: str = "ntk"

    def __post_init__(self) -> None:
        _checks.integer(self.in_dim, "in_dim", 1, _checks.MAX_PARAMS)
        _checks.integer(self.width, "width", 1, _checks.MAX_PARAMS)
        _checks.integer(self.depth, "depth", 0, MAX_DEPTH)
        _checks.choice(self.activation, "activation", tuple(_PHI))
        _checks.positive(self.w_std, "w_std", squared=True)
        _checks.positive(self.b_std, "b_std", strict=False, squared=True)
        _checks.choice(self.parameterization, "parameterization", PARAMETERIZATIONS)
        _checks.size(self.n_params, f"MLP(in_dim={self.in_dim}, width={self.width}, "
                     f"depth={self.depth})", "parameters", _checks.MAX_PARAMS)

    def check_params(self, params: Any, name: str = "params") -> None:
        """Refuse parameters that do not belong to this architecture: a list of
        ``depth + 1`` pairs ``(W, b)`` with ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape
        ``(n_out,)`` for the layer sizes ``[in_dim, width, ..., width, 1]``, real floats.
        Works on traced parameters too (only shapes and dtypes are looked at)."""
        sizes = self.sizes
        arch = f"MLP(in_dim={self.in_dim}, width={self.width}, depth={self.depth})"
        if not isinstance(params, (list, tuple)) or len(params) != len(sizes) - 1:
            got = len(params) if isinstance(params, (list, tuple)) else type(params).__name__
            raise ValueError(
                f"{name} must be a list of {len(sizes) - 1} (W, b) pairs for {arch}, got {got}"
            )
        for i, (layer, n_in, n_out) in enumerate(zip(params, sizes[:-1], sizes[1:])):
            if not isinstance(layer, (list, tuple)) or len(layer) != 2:
                raise ValueError(f"{name}[{i}] must be a pair (W, b) for {arch}")
            w, b = layer
            for what, leaf, shape in (("W", w, (n_in, n_out)), ("b", b, (n_out,))):
                got = tuple(leaf.shape if hasattr(leaf, "shape") else np.shape(leaf))
                if got != shape:
                    raise ValueError(
                        f"{name}[{i}] {what} must have shape {shape} for {arch}, got {got} "
                        "(parameters of another architecture?)"
                    )
                dt = _checks.leaf_dtype(leaf)
                if dt.kind != "f":
                    raise _checks.InputTypeError(
                        f"{name}[{i}] {what} must hold real floats, got dtype {dt}")

    @property
    def sizes(self) -> list[int]:
        """Layer widths ``[in_dim, width, ..., width, 1]``."""
        return [self.in_dim] + [self.width] * self.depth + [1]

    @property
    def n_params(self) -> int:
        """Number of trainable parameters."""
        s = self.sizes
        return sum(a * b + b for a, b in zip(s[:-1], s[1:]))

    def init(self, key: Any) -> Params:
        """Draw parameters with a PRNG key (or an int seed)."""
        return mlp_init(self, key)

    def __call__(self, params: Params, x: Any) -> jax.Array:
        """Outputs ``f(x)`` of shape ``(n,)`` for ``x`` of shape ``(n, in_dim)``."""
        return mlp_apply(self, params, x)

    def layer_scales(self) -> list[tuple[float, float]]:
        """Per layer, the factors ``(s_w, s_b)`` of the forward pass ``h = s_w a W + s_b b``."""
        s = self.sizes[:-1]
        if self.parameterization == "ntk":
            return [(self.w_std / n_in**0.5, self.b_std) for n_in in s]
        return [(1.0, 1.0) for _ in s]

    def forward(self, params: Params, x: jax.Array) -> tuple[list[jax.Array], list[jax.Array]]:
        """Pre-activations ``h^l`` (each ``(n, n_l)``) and the inputs of each layer ``a^{l-1}``.

        ``inputs[0] = x`` and ``inputs[l] = phi(h^l)``; ``preacts[-1]`` holds the output ``(n, 1)``.
        """
        self.check_params(params)
        phi = _PHI[self.activation]
        inputs, preacts = [x], []
        for i, ((w, b), (sw, sb)) in enumerate(zip(params, self.layer_scales())):
            h = sw * (inputs[-1] @ w) + sb * b
            preacts.append(h)
            if i < len(params) - 1:
                inputs.append(phi(h))
        return preacts, inputs

    def dphi(self, h: jax.Array) -> jax.Array:
        """Derivative of the activation at the pre-activations ``h``."""
        return _DPHI[self.activation](h)


def mlp_init(net: MLP, key: Any) -> Params:
    """Initial parameters of ``net``: a list of ``(W, b)`` pairs (see the module docstring)."""
    key = _checks.key(key)
    params = []
    sizes = net.sizes
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        key, kw, kb = jax.random.split(key, 3)
        w = _normal(kw, (n_in, n_out))
        b = _normal(kb, (n_out,))
        if net.parameterization == "standard":
            w, b = w * net.w_std / n_in**0.5, b * net.b_std
        params.append((w, b))
    return params


_MIN_DRAW = 4096  # every draw of up to 4096 numbers shares one compiled program


def _normal(key: Any, shape: tuple[int, ...]) -> jax.Array:
    """``jax.random.normal(key, shape)``, bit for bit, with few compilations.

    JAX's threefry generator (partitionable, its default) gives entry ``i`` of a draw a value
    that depends only on ``key`` and ``i``, so the draw is the first ``prod(shape)`` numbers of
    a 1-D draw of any longer length: we draw a power-of-two length (at least ``_MIN_DRAW``), so
    layers of many shapes share a few compiled programs instead of one each. Traced or typed
    keys, or another generator, take ``jax.random.normal`` directly.
    """
    n = math.prod(shape)
    raw_threefry = (jax.config.jax_default_prng_impl == "threefry2x32"
                    and not jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key))
    if _checks.is_traced(key) or not raw_threefry or not jax.config.jax_threefry_partitionable:
        return jax.random.normal(key, shape)
    size = max(_MIN_DRAW, 1 << (n - 1).bit_length())
    # sliced in NumPy: slicing a JAX array would compile a program per shape again
    return jnp.asarray(np.asarray(_normal_flat(key, size))[:n].reshape(shape))


@functools.partial(jax.jit, static_argnums=1)
def _normal_flat(key: Any, size: int) -> jax.Array:
    return jax.random.normal(key, (size,))


def mlp_apply(net: MLP, params: Params, x: Any) -> jax.Array:
    """Evaluate ``net``: ``x`` of shape ``(n, in_dim)`` -> outputs of shape ``(n,)``."""
    x = _checks.matrix(x, "x", dim=net.in_dim, dim_name="the network's in_dim")
    preacts, _ = net.forward(params, x)
    return preacts[-1][:, 0]


def centered(f: Callable, params0: Any, alpha: float = 1.0) -> Callable:
    """The output-scaled model of Chizat et al. (2019): ``f_a(w, x) = alpha (f(w, x) - f(w0, x))``.

    It is zero at ``w0 = params0`` for every input, and its NTK is ``alpha^2`` times that of ``f``.
    Train it on the loss ``1/(2 alpha^2) sum (f_a - y)^2``
    (``train_gd(..., loss_scale=1/alpha**2)``)
    so that the gradient-flow time scale does not depend on ``alpha``.
    """
    alpha = _checks.positive(alpha, "alpha")
    if isinstance(f, MLP):
        f.check_params(params0, "params0")

    def f_alpha(params, x):
        return alpha * (f(params, x) - f(params0, x))

    return f_alpha


def param_norm(params: Any) -> jax.Array:
    """Euclidean norm of all parameters stacked into one vector (concrete parameters: summed
    by NumPy, so that a new architecture compiles nothing)."""
    leaves = jax.tree_util.tree_leaves(params)
    if _checks.is_traced(leaves):
        return jnp.sqrt(sum(jnp.sum(p**2) for p in leaves))
    arrays = [np.asarray(p) for p in leaves]
    dtype = np.result_type(*arrays) if arrays else np.dtype(_checks.compute_dtype())
    total = sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays)
    return jnp.asarray(np.sqrt(total), dtype=dtype)
