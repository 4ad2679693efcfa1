"""Random networks as Gaussian processes: the NNGP kernel map, its depth dynamics, and exact
sampling of wide random networks.

Network and conventions as in :mod:`ntkbook.infinite` (NTK parameterisation, ``depth`` hidden
layers of ``width`` units, one linear readout, all weights and biases ``N(0, 1)``):
``h^1 = w_std/sqrt(d) W^1 x + b_std b^1``,
``h^{l+1} = w_std/sqrt(n) W^{l+1} phi(h^l) + b_std b^{l+1}``.

- :func:`dual_activation`: the Gaussian expectation ``E[phi(u) phi(v)]`` with
  ``(u, v) ~ N(0, [[q1, c], [c, q2]])``, in closed form (arc-cosine kernel for ReLU, Cho & Saul
  2009; Williams 1997 for erf). One NNGP layer is ``Sigma -> w_std^2 E[phi(u) phi(v)] + b_std^2``.
- :func:`correlation_flow`: the length and correlation maps of Poole et al. (2016) iterated
  over depth for two inputs of equal length: ``q_l`` and ``rho_l`` for ``l = 1 .. depth + 1``.
- :func:`readout_features`: the last hidden layer of a network as a feature map; its Gram
  matrix is the covariance of the output given the hidden layers (the random-features kernel,
  which tends to the NNGP as the width grows).
- :func:`readout_kernel_samples` / :func:`sample_outputs`: exact samples of that random kernel
  and of the outputs of random MLPs at a few inputs, without forming ``width x width`` matrices.
  Given layer ``l`` at ``m`` inputs, the units of layer ``l + 1`` are i.i.d.
  ``N(0, w_std^2/n A A^T + b_std^2)`` vectors (``A`` the ``(m, n)`` activations), so a layer
  costs ``O(m^2 width)`` per network instead of ``O(width^2)``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import erf

from ntkbook import _checks, nets
from ntkbook.nets import MLP

ACTIVATIONS = ("relu", "erf")
_PHI = {"relu": jax.nn.relu, "erf": erf}


def _dual(q1: jax.Array, q2: jax.Array, c: jax.Array, activation: str) -> jax.Array:
    if activation == "relu":
        norm = jnp.sqrt(q1 * q2)
        safe = jnp.where(norm > 0, norm, 1.0)
        rho = jnp.clip(c / safe, -1.0, 1.0)
        theta = jnp.arccos(rho)
        val = norm * (jnp.sqrt(1.0 - rho**2) + (jnp.pi - theta) * rho) / (2 * jnp.pi)
        return jnp.where(norm > 0, val, 0.0)
    arg = 2 * c / jnp.sqrt((1 + 2 * q1) * (1 + 2 * q2))
    return 2 / jnp.pi * jnp.arcsin(jnp.clip(arg, -1.0, 1.0))


def dual_activation(q1: Any, q2: Any, c: Any, activation: str = "relu") -> jax.Array:
    """``E[phi(u) phi(v)]`` for ``(u, v) ~ N(0, [[q1, c], [c, q2]])`` in closed form.

    - ``"relu"``: ``sqrt(q1 q2)/(2 pi) (sin t + (pi - t) cos t)``, ``cos t = c / sqrt(q1 q2)``;
    - ``"erf"``: ``2/pi arcsin(2 c / sqrt((1 + 2 q1)(1 + 2 q2)))``.

    Args:
        q1, q2: variances (>= 0), arrays that broadcast together with ``c``.
        c: covariances, ``|c| <= sqrt(q1 q2)``.
        activation: ``"relu"`` or ``"erf"``.

    Returns:
        The expectations, shape of the broadcast inputs.
    """
    activation = _checks.choice(activation, "activation", ACTIVATIONS)
    q1 = _checks.finite_array(q1, "q1")
    q2 = _checks.finite_array(q2, "q2")
    c = _checks.finite_array(c, "c")
    if np.any(q1 < 0):
        raise ValueError("q1 must hold variances >= 0")
    if np.any(q2 < 0):
        raise ValueError("q2 must hold variances >= 0")
    try:
        q1, q2, c = np.broadcast_arrays(q1, q2, c)
    except ValueError as err:
        raise ValueError(f"q1, q2 and c must broadcast together: {err}") from err
    if np.any(np.abs(c) > np.sqrt(q1 * q2) * (1 + 1e-9) + 1e-12):
        raise ValueError("c must satisfy |c| <= sqrt(q1 q2) (a valid 2 x 2 covariance)")
    return _dual(jnp.asarray(q1), jnp.asarray(q2), jnp.asarray(c), activation)


def correlation_flow(
    rho: Any,
    depth: int,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
    q: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Length and correlation of two inputs' pre-activations through ``depth`` hidden layers.

    Start from first-layer pre-activations with common variance ``q`` and correlations ``rho``
    and iterate the infinite-width maps (Poole et al., 2016)
    ``q_{l+1} = w_std^2 E[phi(u)^2] + b_std^2`` with ``u ~ N(0, q_l)`` and
    ``rho_{l+1} = (w_std^2 E[phi(u) phi(v)] + b_std^2) / q_{l+1}`` with
    ``(u, v) ~ N(0, q_l [[1, rho_l], [rho_l, 1]])``.

    Args:
        rho: starting correlations in ``[-1, 1]``, shape ``(k,)`` (a scalar is ``(1,)``).
        depth: number of hidden layers (>= 0).
        activation: ``"relu"`` or ``"erf"``; w_std > 0, b_std >= 0: the layer scales.
        q: the common first-layer variance (> 0).

    Returns:
        ``(q_l, rho_l)`` of shapes ``(depth + 1,)`` and ``(depth + 1, k)``; row 0 is the first
        layer and row ``depth`` the output, so ``rho_l[depth]`` is the correlation of the NNGP
        kernel of :func:`ntkbook.infinite.nngp_ntk` with ``depth`` hidden layers.
    """
    depth = _checks.integer(depth, "depth", 0, 10_000)
    activation = _checks.choice(activation, "activation", ACTIVATIONS)
    w2 = _checks.positive(w_std, "w_std", squared=True) ** 2
    b2 = _checks.positive(b_std, "b_std", strict=False, squared=True) ** 2
    q = _checks.positive(q, "q")
    r = np.atleast_1d(_checks.finite_array(rho, "rho"))
    if r.ndim != 1 or np.any(np.abs(r) > 1):
        raise ValueError("rho must be a scalar or 1-D array of correlations in [-1, 1]")
    qs, rhos = [q], [r]
    for _ in range(depth):
        q_l, r_l = qs[-1], rhos[-1]
        q_next = w2 * float(_dual(jnp.asarray(q_l), jnp.asarray(q_l), jnp.asarray(q_l),
                                  activation)) + b2
        c_next = w2 * np.asarray(_dual(jnp.asarray(q_l), jnp.asarray(q_l),
                                       jnp.asarray(r_l * q_l), activation)) + b2
        qs.append(q_next)
        rhos.append(np.clip(c_next / q_next, -1.0, 1.0))
    return np.asarray(qs), np.stack(rhos)


def readout_features(net: MLP, params: Any, x: Any) -> jax.Array:
    """The last hidden layer of ``net`` as a feature map: ``[w_std/sqrt(n) phi(h^L), b_std]``.

    The output is linear in the readout weights ``(w, b)``, ``f(x) = features(x) @ [w; b]``
    in the NTK parameterisation, and with ``w, b ~ N(0, 1)`` (or the ``N(0, w_std^2/n)``,
    ``N(0, b_std^2)`` of the standard one, which gives the same output distribution)
    ``features @ features.T`` is the covariance of the outputs given the hidden layers.
    Training only the readout is linear regression on these features.

    Args:
        net: an :class:`~ntkbook.nets.MLP` with ``depth >= 1``; params: its parameters.
        x: inputs, shape ``(m, in_dim)``.

    Returns:
        Features of shape ``(m, width + 1)`` (the last column is the constant ``b_std``).
    """
    if not isinstance(net, MLP):
        raise ValueError(f"net must be an ntkbook.nets.MLP, got {type(net).__name__}")
    if net.depth < 1:
        raise ValueError("net must have depth >= 1 (a hidden layer to read out)")
    x = _checks.matrix(x, "x", dim=net.in_dim, dim_name="the network's in_dim")
    _, inputs = net.forward(params, x)
    a = inputs[-1]
    scale = net.w_std / np.sqrt(a.shape[1])
    return jnp.concatenate([scale * a, jnp.full((a.shape[0], 1), net.b_std, a.dtype)], axis=1)


def _psd_root(k: jax.Array) -> jax.Array:
    """Symmetric square roots of a batch of PSD matrices ``(..., m, m)`` (singular ones too)."""
    lam, v = jnp.linalg.eigh((k + jnp.swapaxes(k, -1, -2)) / 2)
    return (v * jnp.sqrt(jnp.maximum(lam, 0.0))[..., None, :]) @ jnp.swapaxes(v, -1, -2)


_BLOCK = 64  # units drawn at a time: one compiled program serves every width


@partial(jax.jit, static_argnames=("depth", "activation"))
def _kernel_chunk(key, k0, width, depth, activation, w2, b2):
    """Kernel samples ``(chunk, m, m)`` for ``chunk = k0.shape[0]`` networks.

    Units are drawn in blocks of ``_BLOCK`` (those past ``width`` masked out), in a loop whose
    trip count is a traced value, so changing ``width`` does not recompile."""
    chunk, m = k0.shape[0], k0.shape[1]
    k = k0
    phi = _PHI[activation]
    n_blocks = (width + _BLOCK - 1) // _BLOCK
    for layer in range(depth):
        root = _psd_root(k)
        key_l = jax.random.fold_in(key, layer)

        def body(i, acc, root=root, key_l=key_l):
            z = jax.random.normal(jax.random.fold_in(key_l, i), (chunk, m, _BLOCK), k0.dtype)
            live = (i * _BLOCK + jnp.arange(_BLOCK)) < width
            a = jnp.where(live, phi(root @ z), 0.0)
            return acc + a @ jnp.swapaxes(a, 1, 2)

        acc = jax.lax.fori_loop(0, n_blocks, body, jnp.zeros_like(k))
        k = w2 * acc / width + b2
    return k


def _check_sampler_args(x, width, depth, n_samples, activation, w_std, b_std):
    x = np.asarray(_checks.matrix(x, "x"))
    width = _checks.integer(width, "width", 1, 10**8)
    depth = _checks.integer(depth, "depth", 0, nets.MAX_DEPTH)
    n_samples = _checks.integer(n_samples, "n_samples", 1)
    _checks.size(n_samples * x.shape[0] ** 2, "n_samples kernels of shape (m, m)", "entries")
    _checks.size(n_samples * x.shape[0] * width * max(depth, 1), "the samples' hidden units",
                 "draws", 10**12)
    activation = _checks.choice(activation, "activation", ACTIVATIONS)
    w_std = _checks.positive(w_std, "w_std", squared=True)
    b_std = _checks.positive(b_std, "b_std", strict=False, squared=True)
    return x, width, depth, n_samples, activation, w_std, b_std


def readout_kernel_samples(
    key: Any,
    x: Any,
    width: int,
    depth: int = 1,
    n_samples: int = 1000,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
) -> jax.Array:
    """Samples of the random kernel ``K = features @ features.T`` of :func:`readout_features`.

    Each sample is what one randomly initialised MLP with ``depth`` hidden layers of ``width``
    units gives at the inputs ``x``: the covariance of its output given its hidden layers,
    ``w_std^2/n phi(h^L) phi(h^L)^T + b_std^2``. The layers are drawn exactly, one ``(m, m)``
    covariance at a time (see the module docstring), so ``width`` may be large. As the width
    grows the samples concentrate at the NNGP kernel of :func:`ntkbook.infinite.nngp_ntk`.

    Args:
        key: PRNG key or int seed; x: inputs, shape ``(m, d)`` (keep ``m`` small, say <= 50).
        width (>= 1), depth (>= 0), n_samples (>= 1), activation, w_std, b_std: the networks.

    Returns:
        Shape ``(n_samples, m, m)``.
    """
    x, width, depth, n_samples, activation, w_std, b_std = _check_sampler_args(
        x, width, depth, n_samples, activation, w_std, b_std)
    key = _checks.key(key)
    m, d = x.shape
    dtype = jnp.result_type(float)
    k0 = jnp.asarray(w_std**2 * (x @ x.T) / d + b_std**2, dtype)
    chunk = min(n_samples, 1024)
    k0 = jnp.broadcast_to(k0, (chunk, m, m))
    out = [_kernel_chunk(jax.random.fold_in(key, i), k0, width, depth, activation,
                         w_std**2, b_std**2) for i in range(-(-n_samples // chunk))]
    return jnp.concatenate(out)[:n_samples]


def sample_outputs(
    key: Any,
    x: Any,
    width: int,
    depth: int = 1,
    n_samples: int = 1000,
    activation: str = "relu",
    w_std: float = 1.0,
    b_std: float = 0.0,
    n_outputs: int = 1,
) -> jax.Array:
    """Outputs of ``n_samples`` independently initialised MLPs at the inputs ``x``, exactly.

    Same distribution as ``MLP(d, width, depth, activation, w_std, b_std)(net.init(key), x)``
    over keys, drawn layer by layer through :func:`readout_kernel_samples`. With
    ``n_outputs > 1`` each network has that many readout units sharing the hidden layers
    (independent readout weights).

    Returns:
        Shape ``(n_samples, m, n_outputs)``.
    """
    n_outputs = _checks.integer(n_outputs, "n_outputs", 1, 10**6)
    key = _checks.key(key)
    k_kernel, k_out = jax.random.split(key)
    k = readout_kernel_samples(k_kernel, x, width, depth, n_samples, activation, w_std, b_std)
    z = jax.random.normal(k_out, (k.shape[0], k.shape[1], n_outputs), k.dtype)
    return _psd_root(k) @ z
