"""Which device JAX runs on, and the float64 switch.

JAX picks a GPU when its CUDA build is installed and one is visible, the CPU otherwise;
``JAX_PLATFORMS=cpu`` forces the CPU (the book's saved outputs are made that way).
"""

from __future__ import annotations

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
