"""Shared pytest setup, loaded before any test or notebook is collected.

JAX runs on the CPU in the tests: the committed notebook outputs were made that way, and a GPU
(or its absence) must not change what nbval compares. nbval starts each notebook's kernel with
``--nbval-current-env``, so the kernel inherits this process's environment, this variable
included. ``MPLBACKEND`` is dropped for the same reason: a non-inline backend exported in the
shell would make the notebooks' figures vanish from their outputs.
"""

import os

import pytest

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.pop("MPLBACKEND", None)

# Property tests (hypothesis) draw the same examples on every run: a test run is reproducible,
# and CI cannot fail on a case that no earlier run saw. No example database on disk.
from hypothesis import settings  # noqa: E402

settings.register_profile("ntkbook", derandomize=True, database=None, print_blob=True)
settings.load_profile("ntkbook")


@pytest.fixture
def float64():
    """JAX in float64 for the test (modules opt in with ``pytest.mark.usefixtures``)."""
    import jax

    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", old)


@pytest.fixture
def float32(float64):
    """Run the test body in JAX's default float32, then restore the previous setting."""
    import jax

    old = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    yield
    jax.config.update("jax_enable_x64", old)
