"""Input checks shared by every public function.

Each check runs on concrete (NumPy-convertible) values before any JAX tracing, so bad input
fails with a ``ValueError`` that names the argument and says what was expected. Input of the
wrong *type* (``None``, strings, complex numbers, objects) raises :class:`InputTypeError`, which
is both a ``TypeError`` and a ``ValueError``.

Traced values (inside ``jax.jit``, ``jax.grad``, ``jax.vmap``) are accepted where a function
supports them: their shapes and dtypes are checked, their values cannot be. Where a function
needs concrete values, a traced argument is refused with a message that says so.

Finiteness is checked in the float type the computation will use (``float32`` unless
``ntkbook.backend.enable_x64()`` is on): a value that is finite in float64 but overflows
float32 is refused, not turned into ``inf``.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

MAX_ELEMENTS = 2**27  # largest array (entries) a function may allocate: 1 GiB in float64
MAX_PARAMS = 5 * 10**8  # largest network (parameters) the library builds
MAX_DEPTH = 100_000  # deepest analytic kernel recursion (a loop, linear in depth)
MAX_STEPS = 10**8  # most gradient-descent steps in one call
SEED_LIMIT = 2**32  # int seeds are 32-bit: larger ones would alias smaller ones


class InputTypeError(TypeError, ValueError):
    """An argument of the wrong type (e.g. ``None``, a string or a complex array)."""


def _is_tracer(x: Any) -> bool:
    return isinstance(x, jax.core.Tracer)


def namespace(*arrays: Any) -> Any:
    """``jax.numpy`` when any of ``arrays`` is a JAX array (or tracer), else ``numpy``: code
    written once for both runs concrete inputs in NumPy (nothing to compile for a new shape)
    and traced ones (``jax.jit``, ``jax.grad``) in JAX."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def is_traced(*xs: Any) -> bool:
    """Whether any of ``xs`` (or a leaf of it) is a JAX tracer."""
    return any(_is_tracer(leaf) for x in xs for leaf in jax.tree_util.tree_leaves(x))


def compute_dtype() -> np.dtype:
    """The float type JAX computes in now: float64 with x64 enabled, float32 otherwise."""
    return np.dtype(jnp.result_type(float))


def input_dtype(x: Any) -> np.dtype:
    """The float type ``x`` carries (float16/32/64), else the compute dtype."""
    dt = getattr(x, "dtype", None)
    try:
        dt = np.dtype(dt) if dt is not None else None
    except TypeError:
        dt = None
    if dt is not None and dt.kind == "f":
        return dt
    return compute_dtype()


def eps_of(*xs: Any) -> float:
    """Machine epsilon of the coarsest float type among the inputs and the compute dtype."""
    return max(float(np.finfo(input_dtype(x)).eps) for x in (*xs, None))


def leaf_dtype(x: Any) -> np.dtype:
    """The dtype of an array, tracer or scalar (without converting a tracer)."""
    dt = getattr(x, "dtype", None)
    return np.dtype(dt) if dt is not None else np.asarray(x).dtype


def _check_tracer_dtype(x: Any, name: str) -> None:
    kind = np.dtype(x.dtype).kind
    if kind == "c":
        raise InputTypeError(f"{name} must be real, got a complex array")
    if kind not in "fiub":
        raise InputTypeError(f"{name} must be a numeric array, got dtype {x.dtype}")


def _refuse_tracer(x: Any, name: str) -> None:
    if _is_tracer(x):
        raise InputTypeError(
            f"{name} is a traced value (inside jax.jit, jax.grad or jax.vmap); this function "
            f"needs a concrete array for {name}: call it outside the transformation"
        )


def finite_array(x: Any, name: str) -> np.ndarray:
    """Return ``x`` as a float64 NumPy array of real, finite values.

    Refuses ``None``, strings, complex and non-numeric objects (:class:`InputTypeError`),
    NaN/inf, and values that overflow the compute dtype (``ValueError``). Traced values are
    refused with a message saying that concrete values are needed.
    """
    _refuse_tracer(x, name)
    if x is None:
        raise InputTypeError(f"{name} must be a numeric array, got None")
    if isinstance(x, (str, bytes)):
        raise InputTypeError(f"{name} must be a numeric array, got a string {x!r:.40}")
    try:
        raw = np.asarray(x)
    except Exception as err:  # ragged nested lists, objects numpy cannot hold
        raise InputTypeError(f"{name} must be a rectangular numeric array ({err})") from err
    kind = raw.dtype.kind
    if kind == "c":
        raise InputTypeError(f"{name} must be real, got a complex array")
    if kind in "USV" or kind == "M" or kind == "m":
        raise InputTypeError(f"{name} must be a numeric array, got dtype {raw.dtype}")
    if kind == "O":
        flat = raw.reshape(-1)
        bad = [v for v in flat if not isinstance(v, (numbers.Real, np.number, np.bool_))
               or isinstance(v, complex)]
        if bad:
            raise InputTypeError(
                f"{name} must be a numeric array, found an entry {bad[0]!r:.40} "
                f"of type {type(bad[0]).__name__}"
            )
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError, OverflowError) as err:
        raise InputTypeError(f"{name} must be a numeric array, got {type(x).__name__}") from err
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold only finite values (found NaN or inf)")
    dt = compute_dtype()
    if dt != np.float64 and arr.size and float(np.max(np.abs(arr))) > float(np.finfo(dt).max):
        raise ValueError(
            f"{name} holds values too large for {dt} (max {float(np.max(np.abs(arr))):.3g}); "
            "rescale it or call ntkbook.backend.enable_x64()"
        )
    return arr


def array(x: Any, name: str) -> Any:
    """A real finite array as a JAX array; a tracer is dtype-checked and returned unchanged."""
    if _is_tracer(x):
        _check_tracer_dtype(x, name)
        return x
    return jnp.asarray(finite_array(x, name))


def size(n: int, name: str, what: str = "entries", limit: int = MAX_ELEMENTS) -> int:
    """Refuse an allocation of ``n`` items above ``limit`` up front, naming the cause."""
    if n > limit:
        raise ValueError(
            f"{name} asks for {n:.3g} {what}, more than this library allows ({limit:.3g}); "
            "use smaller sizes"
        )
    return n


def matrix(x: Any, name: str, dim: int | None = None, dim_name: str = "") -> Any:
    """Check that ``x`` is an ``(n, d)`` array of finite values (``d == dim`` if given),
    ``n, d >= 1``.

    Tracers (inside ``jit``/``grad``) are only shape- and dtype-checked and returned unchanged;
    concrete input is returned as a JAX array.
    """
    if _is_tracer(x):
        _check_tracer_dtype(x, name)
        arr, shape = x, tuple(x.shape)
    else:
        arr = finite_array(x, name)
        shape = arr.shape
    if len(shape) != 2:
        raise ValueError(f"{name} must be a 2-D array of shape (n, d), got shape {tuple(shape)}")
    if shape[0] < 1:
        raise ValueError(f"{name} must hold at least one row, got shape {tuple(shape)}")
    if shape[1] < 1:
        raise ValueError(f"{name} must hold at least one column (d >= 1), got shape {shape}")
    if dim is not None and shape[1] != dim:
        what = f" to match {dim_name}" if dim_name else ""
        raise ValueError(f"{name} must have {dim} columns{what}, got shape {tuple(shape)}")
    return arr if _is_tracer(x) else jnp.asarray(arr)


def pair(x1: Any, x2: Any | None) -> tuple[Any, Any]:
    """Check ``x1`` (n1, d) and ``x2`` (n2, d) (``x2=None`` means ``x2 = x1``); the
    ``(n1, n2)`` result must fit in memory."""
    x1 = matrix(x1, "x1")
    if x2 is not None:
        x2 = matrix(x2, "x2", dim=x1.shape[1], dim_name="x1")
    n2 = x1.shape[0] if x2 is None else x2.shape[0]
    size(x1.shape[0] * n2, "the kernel matrix of x1 and x2", "entries")
    return (x1, x1) if x2 is None else (x1, x2)


def vector(x: Any, name: str, n: int | None = None, n_name: str = "") -> Any:
    """Check that ``x`` is a finite 1-D array (of length ``n`` if given); tracers are
    shape-checked only."""
    arr = array(x, name) if _is_tracer(x) else finite_array(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {tuple(arr.shape)}")
    if n is not None and arr.shape[0] != n:
        what = f" (one entry per row of {n_name})" if n_name else ""
        raise ValueError(f"{name} must have length {n}{what}, got {arr.shape[0]}")
    return arr if _is_tracer(x) else jnp.asarray(arr)


def targets(y: Any, n: int, n_name: str) -> Any:
    """Check targets: shape (n,) or (n, k), finite."""
    arr = array(y, "y") if _is_tracer(y) else finite_array(y, "y")
    if arr.ndim not in (1, 2) or arr.shape[0] != n:
        raise ValueError(
            f"y must have shape ({n},) or ({n}, k) to match {n_name}, got shape "
            f"{tuple(arr.shape)}"
        )
    return arr if _is_tracer(y) else jnp.asarray(arr)


def square_symmetric(k: Any, name: str, psd: bool = False) -> Any:
    """Check a finite, symmetric ``(n, n)`` matrix; with ``psd=True`` also PSD.

    The tolerances scale with the precision of ``k`` (its own float type and the compute
    dtype). A traced ``k`` is only shape-checked.
    """
    if _is_tracer(k):
        _check_tracer_dtype(k, name)
        if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] < 1:
            raise ValueError(f"{name} must be a square (n, n) matrix, got shape {k.shape}")
        return k
    eps = eps_of(k)
    arr = finite_array(k, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] < 1:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {arr.shape}")
    scale = max(float(np.max(np.abs(arr))), 1e-300)
    tol = max(1e-6, 100 * eps)
    if np.max(np.abs(arr - arr.T)) > tol * scale:
        raise ValueError(f"{name} must be symmetric")
    if psd:
        lam_min = float(np.linalg.eigvalsh((arr + arr.T) / 2)[0])
        if lam_min < -max(1e-6, 100 * eps) * scale * arr.shape[0]:
            raise ValueError(
                f"{name} must be positive semi-definite (smallest eigenvalue {lam_min:.3g})"
            )
    return jnp.asarray(arr)


def positive(value: Any, name: str, strict: bool = True, squared: bool = False,
             traced_ok: bool = False) -> Any:
    """Check a finite real number > 0 (``strict``) or >= 0 that the compute dtype can hold
    (it must not overflow, and with ``strict`` not underflow to 0 either; with ``squared`` the
    same holds for its square, for scales that enter squared, like a bandwidth or ``w_std``).

    With ``traced_ok``, a traced scalar (e.g. under ``jax.grad``) is returned unchanged (its
    value cannot be checked); otherwise it is refused with a message saying so.
    """
    if _is_tracer(value):
        if not traced_ok:
            _refuse_tracer(value, name)
        _check_tracer_dtype(value, name)
        if value.ndim != 0:
            raise ValueError(f"{name} must be a scalar, got shape {value.shape}")
        return value
    if value is None or isinstance(value, (str, bytes, bool, np.bool_, complex,
                                           np.complexfloating)):
        raise InputTypeError(f"{name} must be a real number, got {value!r:.40}")
    if getattr(value, "ndim", 0) != 0:
        raise ValueError(f"{name} must be a scalar, got shape {np.shape(value)}")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError) as err:
        raise InputTypeError(f"{name} must be a real number, got {value!r:.40}") from err
    bound = "> 0" if strict else ">= 0"
    if not np.isfinite(v) or (v <= 0 if strict else v < 0):
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    dt = compute_dtype()
    info = np.finfo(dt)
    tiny, big = float(info.tiny), float(info.max)
    w = v * v if squared else v
    # an optional scale (strict=False, 0 allowed) may underflow to 0 harmlessly
    if v != 0 and not ((tiny <= w or not strict) and w <= big):
        what = f"{name}**2" if squared else name
        raise ValueError(
            f"{name}={v:.3g} is outside the range of {dt}: {what} must lie in "
            f"[{tiny:.1e}, {big:.1e}]; rescale or call ntkbook.backend.enable_x64()"
        )
    return v


def integer(value: Any, name: str, minimum: int, maximum: int | None = None) -> int:
    """Check an integer >= ``minimum`` (and <= ``maximum``). Floats are refused, not
    truncated, even when whole (``10.0``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        what = "" if maximum is None else f" and <= {maximum}"
        raise ValueError(
            f"{name} must be an integer >= {minimum}{what}, got {value!r:.40} "
            f"({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(
            f"{name} must be an integer <= {maximum} (larger is too much for this library), "
            f"got {value!r}"
        )
    return int(value)


def choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    """Check that ``value`` is one of ``options``."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {options}, got {value!r:.40}")
    return value


def seed(value: Any, name: str = "seed") -> int:
    """An int seed in ``[0, 2**32)`` (larger ones would alias smaller ones)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an int seed in [0, 2**32), got {value!r:.40}")
    if not 0 <= int(value) < SEED_LIMIT:
        raise ValueError(
            f"{name} must be an int seed in [0, 2**32) (larger or negative seeds alias "
            f"others), got {value!r}"
        )
    return int(value)


def key(value: Any, name: str = "key") -> Any:
    """Check a JAX PRNG key (``jax.random.PRNGKey(seed)``, a ``(2,)`` uint32 array, or a typed
    ``jax.random.key``) or accept an int seed in ``[0, 2**32)``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return jax.random.PRNGKey(seed(value, name))
    shape = getattr(value, "shape", None)
    dtype = getattr(value, "dtype", None)
    ok = False
    if shape is not None and dtype is not None:
        if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
            ok = tuple(shape) == ()
        else:
            ok = tuple(shape) == (2,) and np.dtype(dtype) == np.uint32
    if not ok:
        raise ValueError(
            f"{name} must be a jax.random.PRNGKey or an int seed in [0, 2**32), "
            f"got {value!r:.60}"
        )
    return value
