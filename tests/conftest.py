"""Shared pytest setup, loaded before any test or notebook is collected.

JAX runs on the CPU in the tests: the committed notebook outputs were made that way, and a GPU
(or its absence) must not change what nbval compares. nbval starts each notebook's kernel with
``--nbval-current-env``, so the kernel inherits this process's environment, this variable
included. ``MPLBACKEND`` is dropped for the same reason: a non-inline backend exported in the
shell would make the notebooks' figures vanish from their outputs.
"""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.pop("MPLBACKEND", None)

# Property tests (hypothesis) draw the same examples on every run: a test run is reproducible,
# and CI cannot fail on a case that no earlier run saw. No example database on disk.
from hypothesis import settings  # noqa: E402

settings.register_profile("ntkbook", derandomize=True, database=None, print_blob=True)
settings.load_profile("ntkbook")
