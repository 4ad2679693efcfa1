"""ntkbook: the helper library of the book *Kernels and the Neural Tangent Kernel*.

One module per idea: ``kernels``, ``infinite``, ``nets``, ``empirical``, ``dynamics``,
``train``, ``methods``, ``bounds``, ``datasets``, ``viz``, ``backend``, and for single chapters
``manifold`` (diffusion maps) and ``spectrum`` (spectral filters, eigenvalue decay).
Inputs are ``(n, d)`` arrays; kernel functions return ``(n1, n2)`` matrices.
"""

__version__ = "0.1.0"
