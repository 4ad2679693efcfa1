"""Which device JAX runs on, the float64 switch, and the compilation cache.

JAX picks a GPU when its CUDA build is installed and one is visible, the CPU otherwise;
``JAX_PLATFORMS=cpu`` forces the CPU (the book's saved outputs are made that way).

Compiled functions are kept on disk (JAX's persistent compilation cache), so a second
"Run all" of a chapter, or a later session, skips most of XLA's compile time. ``import ntkbook``
switches it on; the cache lives in ``$NTKBOOK_JAX_CACHE`` or else
``$XDG_CACHE_HOME/ntkbook/jax`` (``~/.cache/ntkbook/jax``). It is safe to delete at any time
(it only holds compiled code, keyed by JAX version, device and program), and
``NTKBOOK_JAX_CACHE=off`` leaves JAX's own setting alone.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax


def device_summary() -> str:
    """One line: backend, devices (kind and count) and whether float64 is on."""
    devices = jax.devices()
    kinds = sorted({d.device_kind for d in devices})
    x64 = "on" if jax.config.jax_enable_x64 else "off"
    return (
        f"backend: {jax.default_backend()}; devices: {len(devices)} x {', '.join(kinds)}; "
        f"float64: {x64}"
    )


def enable_x64(on: bool = True) -> None:
    """Switch JAX's default float to float64 (``on=True``) or back to float32."""
    jax.config.update("jax_enable_x64", bool(on))


def cache_dir() -> Path | None:
    """Where :func:`enable_compilation_cache` keeps compiled code (None: switched off)."""
    setting = os.environ.get("NTKBOOK_JAX_CACHE", "")
    if setting.lower() in ("off", "0", "false", "no"):
        return None
    if setting:
        return Path(setting).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ntkbook" / "jax"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Keep compiled XLA programs on disk (at ``path`` or :func:`cache_dir`); returns the folder.

    Does nothing (returns None) when the cache is switched off with ``NTKBOOK_JAX_CACHE=off``,
    when JAX already has a cache folder (``JAX_COMPILATION_CACHE_DIR``), or when the folder
    cannot be created (a read-only home): the book then runs as before, compiling afresh.
    """
    if jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    folder = Path(path).expanduser() if path is not None else cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    # the book's programs compile in 0.05-2 s each: keep all but the trivial ones
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
    return folder
