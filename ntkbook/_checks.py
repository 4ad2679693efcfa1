"""Input checks shared by every public function.

Each check runs on concrete (NumPy-convertible) values before any JAX tracing, so bad input
fails with a ``ValueError`` that names the argument and says what was expected.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np


def _is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def finite_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a float NumPy array; raise if it holds NaN/inf or is not numeric."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a numeric array, got {type(x).__name__}") from err
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold only finite values (found NaN or inf)")
    return arr


def matrix(x: Any, name: str, dim: int | None = None, dim_name: str = "") -> Any:
    """Check that ``x`` is an ``(n, d)`` array of finite values (``d == dim`` if given).

    Tracers (inside ``jit``/``grad``) are only shape-checked and returned unchanged; concrete
    input is returned as a JAX array.
    """
    shape = getattr(x, "shape", None)
    if _is_tracer(x):
        arr = x
    else:
        arr = finite_array(x, name)
        shape = arr.shape
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), got shape {tuple(shape)}")
    if shape[0] < 1:
        raise ValueError(f"{name} must hold at least one row, got shape {tuple(shape)}")
    if dim is not None and shape[1] != dim:
        what = f" to match {dim_name}" if dim_name else ""
        raise ValueError(f"{name} must have {dim} columns{what}, got shape {tuple(shape)}")
    return arr if _is_tracer(x) else jax.numpy.asarray(arr)


def pair(x1: Any, x2: Any | None) -> tuple[Any, Any]:
    """Check ``x1`` (n1, d) and ``x2`` (n2, d) (``x2=None`` means ``x2 = x1``)."""
    x1 = matrix(x1, "x1")
    if x2 is None:
        return x1, x1
    return x1, matrix(x2, "x2", dim=x1.shape[1], dim_name="x1")


def vector(x: Any, name: str, n: int | None = None, n_name: str = "") -> Any:
    """Check that ``x`` is a finite 1-D array (of length ``n`` if given)."""
    arr = finite_array(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {arr.shape}")
    if n is not None and arr.shape[0] != n:
        what = f" (one entry per row of {n_name})" if n_name else ""
        raise ValueError(f"{name} must have length {n}{what}, got {arr.shape[0]}")
    return jax.numpy.asarray(arr)


def targets(y: Any, n: int, n_name: str) -> Any:
    """Check targets: shape (n,) or (n, k), finite."""
    arr = finite_array(y, "y")
    if arr.ndim not in (1, 2) or arr.shape[0] != n:
        raise ValueError(
            f"y must have shape ({n},) or ({n}, k) to match {n_name}, got shape {arr.shape}"
        )
    return jax.numpy.asarray(arr)


def square_symmetric(k: Any, name: str, psd: bool = False) -> Any:
    """Check a finite, symmetric ``(n, n)`` matrix; with ``psd=True`` also PSD."""
    arr = finite_array(k, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {arr.shape}")
    scale = max(float(np.max(np.abs(arr))), 1e-300)
    tol = 1e-5 if arr.dtype == np.float32 else 1e-6
    if np.max(np.abs(arr - arr.T)) > tol * scale:
        raise ValueError(f"{name} must be symmetric")
    if psd:
        lam_min = float(np.linalg.eigvalsh((arr + arr.T) / 2)[0])
        if lam_min < -1e-6 * scale * arr.shape[0]:
            raise ValueError(
                f"{name} must be positive semi-definite (smallest eigenvalue {lam_min:.3g})"
            )
    return jax.numpy.asarray(arr)


def positive(value: Any, name: str, strict: bool = True) -> float:
    """Check a finite real number > 0 (``strict``) or >= 0."""
    try:
        v = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real number, got {value!r}") from err
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        bound = "> 0" if strict else ">= 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return v


def integer(value: Any, name: str, minimum: int) -> int:
    """Check an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``options``."""
    if value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r}")
    return value


def key(value: Any, name: str = "key") -> Any:
    """Check a JAX PRNG key (``jax.random.PRNGKey(seed)``) or accept an int seed."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return jax.random.PRNGKey(int(value))
    shape = getattr(value, "shape", None)
    if shape is None or (tuple(shape) != (2,) and not jax.dtypes.issubdtype(
            getattr(value, "dtype", None), jax.dtypes.prng_key)):
        raise ValueError(f"{name} must be a jax.random.PRNGKey or an int seed, got {value!r}")
    return value
