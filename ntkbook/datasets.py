"""Small data sets made here or shipped by scikit-learn (nothing is downloaded).

Inputs have shape ``(n, d)``; labels are ``(n,)`` floats (``+1/-1`` for two classes).
Randomness comes from an explicit ``seed`` (int) or JAX ``key``, so every call is reproducible.
"""

from __future__ import annotations

from typing import Any, Callable

import jax
import numpy as np

from ntkbook import _checks


def two_point(angle: float = np.pi / 3, targets: tuple[float, float] = (1.0, -1.0)):
    """Two unit-norm inputs at ``angle`` radians apart, ``x1 = (1, 0)``; returns ``x (2, 2)``,
    ``y (2,)``. The NTK on them is a 2 x 2 matrix, so training can be drawn in the plane."""
    angle = _checks.positive(angle, "angle")
    x = np.array([[1.0, 0.0], [np.cos(angle), np.sin(angle)]])
    return x, np.asarray(_checks.vector(targets, "targets", 2, "x"))


def unit_circle(n: int, endpoint: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``n`` equally spaced points on the unit circle: angles ``(n,)`` in ``[0, 2 pi)`` and
    ``x = (cos, sin)`` of shape ``(n, 2)``."""
    n = _checks.integer(n, "n", 1, _checks.MAX_ELEMENTS // 2)
    gamma = np.linspace(0, 2 * np.pi, n, endpoint=endpoint)
    return gamma, np.stack([np.cos(gamma), np.sin(gamma)], axis=1)


def _default_target(x: np.ndarray) -> np.ndarray:
    return np.sin(x) + 0.3 * np.sin(3 * x)


def regression_1d(
    n: int = 40,
    noise: float = 0.1,
    seed: int = 0,
    low: float = -3.0,
    high: float = 3.0,
    target: Callable[[np.ndarray], np.ndarray] = _default_target,
) -> tuple[np.ndarray, np.ndarray]:
    """Noisy samples of a 1-D function: ``x (n, 1)`` sorted uniform in ``[low, high]`` and
    ``y = target(x) + noise * N(0, 1)`` of shape ``(n,)``."""
    n = _checks.integer(n, "n", 1, _checks.MAX_ELEMENTS)
    noise = _checks.positive(noise, "noise", strict=False)
    low = float(_checks.finite_array(low, "low"))
    high = float(_checks.finite_array(high, "high"))
    if not high > low:
        raise ValueError(f"high must be > low, got low={low}, high={high}")
    rng = np.random.default_rng(_checks.seed(seed))
    x = np.sort(rng.uniform(low, high, n))
    fx = _checks.finite_array(target(x), "target(x)")
    if fx.shape != (n,):
        raise ValueError(f"target(x) must return shape ({n},), got {fx.shape}")
    y = fx + noise * rng.normal(size=n)
    return x[:, None], y


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.4, seed: int = 0):
    """Two concentric circles (scikit-learn's ``make_circles``): ``x (n, 2)``, ``y`` in {+1, -1}
    (+1 on the inner circle)."""
    from sklearn.datasets import make_circles

    n = _checks.integer(n, "n", 2, _checks.MAX_ELEMENTS // 2)
    noise = _checks.positive(noise, "noise", strict=False)
    factor = _checks.positive(factor, "factor")
    if factor >= 1:
        raise ValueError(f"factor must be in (0, 1) (inner radius / outer radius), got {factor}")
    x, y = make_circles(n, noise=noise, factor=factor, random_state=_checks.seed(seed))
    return x, np.where(y == 1, 1.0, -1.0)


def moons(n: int = 200, noise: float = 0.05, seed: int = 0):
    """Two interleaving half-moons (``make_moons``): ``x (n, 2)``, ``y`` in {+1, -1}."""
    from sklearn.datasets import make_moons

    n = _checks.integer(n, "n", 2, _checks.MAX_ELEMENTS // 2)
    noise = _checks.positive(noise, "noise", strict=False)
    x, y = make_moons(n, noise=noise, random_state=_checks.seed(seed))
    return x, np.where(y == 1, 1.0, -1.0)


def digits_pair(
    a: int = 0, b: int = 1, n: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A two-class problem from scikit-learn's shipped 8x8 digits: images of digit ``a``
    (label +1) and ``b`` (label -1), each scaled to unit norm; ``x (n, 64)``, ``y (n,)``.
    With ``n`` given, a random subset of that size (fixed by ``seed``)."""
    from sklearn.datasets import load_digits

    for name, v in (("a", a), ("b", b)):
        if _checks.integer(v, name, 0) > 9:
            raise ValueError(f"{name} must be a digit 0-9, got {v}")
    if a == b:
        raise ValueError(f"a and b must differ, got {a} twice")
    data = load_digits()
    mask = np.isin(data.target, [a, b])
    x = data.data[mask].astype(float)
    y = np.where(data.target[mask] == a, 1.0, -1.0)
    if n is not None:
        n = _checks.integer(n, "n", 2)
        if n > len(y):
            raise ValueError(f"n must be <= {len(y)} (images of {a} and {b}), got {n}")
        idx = np.sort(np.random.default_rng(_checks.seed(seed)).choice(len(y), n, replace=False))
        x, y = x[idx], y[idx]
    return x / np.linalg.norm(x, axis=1, keepdims=True), y


def flip_labels(y: Any, p: float, key: Any = 0) -> np.ndarray:
    """Flip the sign of exactly ``round(p * n)`` labels chosen at random (+1/-1 labels)."""
    y = np.asarray(_checks.vector(y, "y"))
    p = _checks.positive(p, "p", strict=False)
    if not 0 <= p <= 1:
        raise ValueError(f"p must be a probability in [0, 1], got {p}")
    n_flip = int(round(float(p) * len(y)))
    idx = np.asarray(jax.random.permutation(_checks.key(key), len(y)))[:n_flip]
    out = y.copy()
    out[idx] = -out[idx]
    return out


def random_labels(n: int, key: Any = 0) -> np.ndarray:
    """``n`` independent uniformly random labels in {+1, -1}."""
    n = _checks.integer(n, "n", 1, _checks.MAX_ELEMENTS)
    return np.where(np.asarray(jax.random.bernoulli(_checks.key(key), 0.5, (n,))), 1.0, -1.0)


def digits_binary(
    positive: Any = (0, 2, 4, 6, 8),
    n_train: int = 200,
    n_test: int = 400,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A two-class problem on all ten 8x8 digits: label +1 for the digits in ``positive``,
    -1 for the others (default: even against odd). Images are scaled to unit norm.

    Returns disjoint random splits ``x_train (n_train, 64)``, ``y_train (n_train,)``,
    ``x_test (n_test, 64)``, ``y_test (n_test,)``, fixed by ``seed``.
    """
    from sklearn.datasets import load_digits

    pos = np.atleast_1d(np.asarray(positive))
    if pos.ndim != 1 or pos.size == 0 or not np.issubdtype(pos.dtype, np.integer) \
            or np.any((pos < 0) | (pos > 9)) or len(set(pos.tolist())) == 10:
        raise ValueError(f"positive must be a non-empty proper subset of the digits 0-9, "
                         f"got {positive!r}")
    n_train = _checks.integer(n_train, "n_train", 1)
    n_test = _checks.integer(n_test, "n_test", 1)
    data = load_digits()
    if n_train + n_test > len(data.target):
        raise ValueError(f"n_train + n_test must be <= {len(data.target)}, "
                         f"got {n_train + n_test}")
    x = data.data.astype(float)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = np.where(np.isin(data.target, pos), 1.0, -1.0)
    idx = np.random.default_rng(seed).permutation(len(y))
    tr, te = idx[:n_train], idx[n_train:n_train + n_test]
    return x[tr], y[tr], x[te], y[te]
