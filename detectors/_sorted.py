"""Binary search and median inside kernels, small enough to compile fast.

numba's own ``np.searchsorted`` and ``np.median`` are generic: ``searchsorted`` is compiled
again for each ``side`` (a literal string) and array type, ``median`` brings a quickselect
with complex-number comparisons and NaN handling, compiled per array layout. On the first
run after an install they cost 3.5 s of compile for the demo (``python
benchmarks/compile_cost.py``); these two do the same for the kernels' sorted numeric
columns, each compiled once per argument types.
"""

from __future__ import annotations

import numpy as np

from ais._numba import helper, njit


@helper
def search_sorted(a, lo, hi, v, right):
    """Where ``v`` goes in the sorted part ``a[lo:hi]``, as an index of ``a``: before the
    elements equal to it (``right`` False, numpy's ``side="left"``) or after them
    (``right`` True, ``side="right"``). ``lo + np.searchsorted(a[lo:hi], v, side)``.
    A :func:`ais._numba.helper`: compiled once per array and value type, not again for
    each constant ``lo`` or ``right`` of a call (as an ``njit`` function called from a
    kernel is: six builds for the dark-period and identity kernels' calls)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        x = a[mid]
        if x < v or (right and x == v):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit
def median(a):
    """``np.median`` of the 1-D float64 array ``a`` (which it leaves unchanged): the middle
    value, the mean of the two middle ones for an even count; NaN when ``a`` is empty or
    holds a NaN (as numpy). Callers pass writable contiguous arrays: one build."""
    n = a.shape[0]
    if n == 0:
        return np.nan
    w = np.empty(n, dtype=np.float64)
    for i in range(n):
        x = a[i]
        if x != x:
            return np.nan
        w[i] = x
    k = (n - 1) >> 1
    lo = 0
    hi = n - 1
    while lo < hi:                     # quickselect: w[k] the k-th smallest, w[:k] <= it <= w[k+1:]
        mid = (lo + hi) >> 1
        p = w[mid]
        i = lo
        j = hi
        while i <= j:
            while w[i] < p:
                i += 1
            while w[j] > p:
                j -= 1
            if i <= j:
                t = w[i]
                w[i] = w[j]
                w[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    m = w[k]
    if n & 1:
        return m
    m2 = w[k + 1]
    for i in range(k + 2, n):
        if w[i] < m2:
            m2 = w[i]
    return (m + m2) / 2
