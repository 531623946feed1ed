"""In-place inverse of a symmetric positive-definite float32 matrix, without holding the GIL.

Why not ``scipy.linalg.lapack.spotrf``/``spotri`` alone: scipy's f2py wrappers keep the GIL
for the whole factorisation, so two EASE fits in two threads (a run fits on the validation carve
and on all training data at once) queue one behind the other (measured: two 5k × 5k inverses in
two threads take 2.6× one). The same LAPACK routines of the OpenBLAS that scipy ships are
called here through ``ctypes``, which releases the GIL for the duration of a foreign call; when
that library or its symbols are not found (another scipy build), scipy's wrappers are used.
"""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path

import numpy as np
import scipy
from scipy.linalg import lapack

_COLUMN_MAJOR = 102
#: LAPACKE's 32-bit integers index up to n² < 2³¹ elements.
_MAX_N = 46_340


@functools.cache
def _lapacke() -> tuple[ctypes._CFuncPtr, ctypes._CFuncPtr] | None:
    """scipy's bundled OpenBLAS ``LAPACKE_spotrf`` / ``LAPACKE_spotri``, or None."""

    folder = Path(scipy.__file__).resolve().parent.parent / "scipy.libs"
    for path in sorted(folder.glob("libscipy_openblas-*.so")):
        try:
            library = ctypes.CDLL(str(path))
            factor, invert = library.scipy_LAPACKE_spotrf, library.scipy_LAPACKE_spotri
        except (OSError, AttributeError):
            continue
        for function in (factor, invert):
            function.restype = ctypes.c_int
            function.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
        return factor, invert
    return None


def spd_inverse_upper(matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """Invert symmetric positive-definite float32 ``matrix`` (C- or Fortran-ordered) in place.

    Returns (``upper``, LAPACK info): ``upper`` is a Fortran-ordered view of the same buffer
    whose upper triangle holds the inverse (the rest is left over); info > 0 when the matrix
    is not positive definite. LAPACK reads the buffer column-major: for a C-ordered buffer that
    is the transpose, the same symmetric matrix, so no copy is made either way.
    """
    n = len(matrix)
    contiguous = matrix.flags.c_contiguous or matrix.flags.f_contiguous  # a Gram from scipy is often F-ordered
    functions = _lapacke() if n <= _MAX_N and contiguous and matrix.dtype == np.float32 else None
    if functions is None:
        factor, info = lapack.spotrf(matrix.T, lower=False, overwrite_a=True, clean=False)
        if info != 0:
            return factor, info
        return lapack.spotri(factor, lower=False, overwrite_c=True)
    factor, invert = functions
    info = factor(_COLUMN_MAJOR, b"U", n, matrix.ctypes.data, n)
    if info == 0:
        info = invert(_COLUMN_MAJOR, b"U", n, matrix.ctypes.data, n)
    return (matrix if matrix.flags.f_contiguous else matrix.T), info
