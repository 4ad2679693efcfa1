"""ntkbook: the helper library of the book *Kernels and the Neural Tangent Kernel*.

One module per idea: ``kernels``, ``infinite``, ``nets``, ``empirical``, ``dynamics``,
``train``, ``methods``, ``bounds``, ``datasets``, ``viz``, ``backend``, and for single chapters
``manifold`` (diffusion maps), ``spectrum`` (spectral filters, eigenvalue decay), ``gp``
(dual activations, correlation flow, last-layer features), ``lazy`` (many networks trained
in one compiled sweep, lazy ratios), ``flow`` (ensembles of trained networks, residuals by
eigen-direction) and ``spectral_bias`` (Fourier features, label
projections, loss predicted from the spectrum).
Inputs are ``(n, d)`` arrays; kernel functions return ``(n1, n2)`` matrices (JAX arrays).

Speed: JAX compiles a program for every new input shape, which costs more than the arithmetic
of the book's small kernels. So the kernels of ``kernels`` and ``infinite`` and the Cholesky
solves of ``methods`` run in NumPy/SciPy for concrete inputs (same dtype, nothing to compile);
under ``jax.jit``, ``jax.grad`` or ``vmap`` the same code runs in JAX. Networks and training
loops are JAX programs, and compiled code is kept on disk (see ``ntkbook.backend``).
"""

__version__ = "0.1.0"

from ntkbook.backend import enable_compilation_cache as _enable_compilation_cache

_enable_compilation_cache()  # a second "Run all" reuses compiled code (see ntkbook.backend)
