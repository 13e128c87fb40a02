"""Numba settings for every kernel, in one place.

``cache=True`` so compiled kernels are reused across processes (tests, CLI runs).
No fastmath: positions use NaN for "not available" and fastmath assumes no NaN.
Thresholds are passed as arguments, never read from globals (numba freezes globals
at compile time).
"""

from __future__ import annotations

import numba

KERNEL = dict(cache=True, nogil=True)


def njit(*args, **kwargs):
    """``numba.njit`` with the project's settings (``parallel`` may be added per kernel)."""
    opts = {**KERNEL, **kwargs}
    if args and callable(args[0]):
        return numba.njit(**opts)(args[0])
    return numba.njit(*args, **opts)
