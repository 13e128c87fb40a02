"""The contract row order of the positions table, computed in numba.

Rows are ordered by (mmsi, timestamp with NaT last, source, line), stable: the order of
``np.lexsort((line, source_rank, time_key, mmsi))``, which
``ais.schema.sort_by_vessel_time`` gives on frames. Here it costs one pass per key
instead of a comparison sort over all rows: a stable two-pass radix sort by MMSI (AIS
MMSIs fit in 30 bits), then every vessel's slice is checked and, only where its rows are
out of (time, source, line) order, merge-sorted (stable). A feed read in arrival order is
almost sorted within each vessel, so most slices cost one check. MMSIs outside
0..2**30-1 (decoded tables may carry anything) fall back to ``np.lexsort``.
"""

from __future__ import annotations

import numba
import numpy as np

from ais._numba import njit, pays_in_parallel, prefetch

__all__ = ["sort_order", "merged_order", "time_key", "take_columns"]

_RADIX_BITS = 15
_MMSI_LIMIT = 1 << (2 * _RADIX_BITS)
NAT_KEY = np.iinfo(np.int64).max
# rows read through an order are prefetched this many rows ahead (see ``prefetch``)
AHEAD = 32


def time_key(ns: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Sort key of timestamps in ns (``missing`` rows last)."""
    key = np.asarray(ns, dtype=np.int64).copy()
    key[missing] = NAT_KEY
    return key


@njit
def _radix_by_mmsi(mmsi, order):
    """Stable LSD radix sort of row indices by ``mmsi`` (0 <= mmsi < 2**30)."""
    n = len(mmsi)
    size = 1 << 15
    mask = size - 1
    tmp = np.empty(n, dtype=np.int64)
    count = np.zeros(size + 1, dtype=np.int64)
    for i in range(n):
        count[(mmsi[i] & mask) + 1] += 1
    for b in range(size):
        count[b + 1] += count[b]
    for i in range(n):
        d = mmsi[i] & mask
        tmp[count[d]] = i
        count[d] += 1
    count[:] = 0
    for i in range(n):
        count[(mmsi[i] >> 15) + 1] += 1
    for b in range(size):
        count[b + 1] += count[b]
    for k in range(n):
        if k + AHEAD < n:
            prefetch(mmsi, tmp[k + AHEAD])
        i = tmp[k]
        d = mmsi[i] >> 15
        order[count[d]] = i
        count[d] += 1


@njit(inline="always")
def _less(a, b, t, src, line):
    """Row ``a`` goes strictly before row ``b`` by (time, source, line)."""
    if t[a] != t[b]:
        return t[a] < t[b]
    if src[a] != src[b]:
        return src[a] < src[b]
    return line[a] < line[b]


@njit
def _merge_sort(idx, lo, hi, t, src, line, buf):
    """Stable bottom-up merge sort of ``idx[lo:hi]`` by (time, source, line)."""
    n = hi - lo
    width = 1
    while width < n:
        for left in range(lo, hi, 2 * width):
            mid = min(left + width, hi)
            right = min(left + 2 * width, hi)
            if mid >= right or not _less(idx[mid], idx[mid - 1], t, src, line):
                continue            # already in order (stable: equal keys stay put)
            i, j, k = left, mid, 0
            while i < mid and j < right:
                if _less(idx[j], idx[i], t, src, line):
                    buf[k] = idx[j]
                    j += 1
                else:
                    buf[k] = idx[i]
                    i += 1
                k += 1
            while i < mid:
                buf[k] = idx[i]
                i += 1
                k += 1
            while j < right:
                buf[k] = idx[j]
                j += 1
                k += 1
            for q in range(k):
                idx[left + q] = buf[q]
        width *= 2


@njit
def _order_within_vessels(order, mmsi, t, src, line):
    """Sort each vessel's slice of ``order`` by (time, source, line), stably; returns
    the number of slices that needed it."""
    n = len(order)
    buf = np.empty(n, dtype=np.int64)
    fixed = 0
    a = np.int64(0)       # not a literal: one compiled version of _merge_sort, not two
    while a < n:
        b = a + 1
        m = mmsi[order[a]]
        ordered = True
        while b < n and mmsi[order[b]] == m:
            if b + AHEAD < n:
                r = order[b + AHEAD]
                prefetch(mmsi, r)
                prefetch(t, r)
            if ordered and _less(order[b], order[b - 1], t, src, line):
                ordered = False
            b += 1
        if not ordered:
            _merge_sort(order, a, b, t, src, line, buf)
            fixed += 1
        a = b
    return fixed


@njit
def _merge_runs(mmsi, run_starts, run_ends, order):
    """Row order of runs each sorted by MMSI: vessel by vessel (ascending), each vessel's
    block of every run in run order. Returns the rows written."""
    pos = run_starts.copy()
    k = 0
    while True:
        best = -1
        for r in range(len(pos)):
            if pos[r] < run_ends[r] and (best < 0 or mmsi[pos[r]] < mmsi[pos[best]]):
                best = r
        if best < 0:
            return k
        m = mmsi[pos[best]]
        for r in range(best, len(pos)):
            p = pos[r]
            while p < run_ends[r] and mmsi[p] == m:
                order[k] = p
                k += 1
                p += 1
            pos[r] = p


def merged_order(mmsi: np.ndarray, time: np.ndarray, source: np.ndarray, line: np.ndarray,
                 runs: list[int]) -> np.ndarray:
    """``sort_order`` of rows made of consecutive runs (lengths ``runs``), each already in
    that order: the runs' vessel blocks merged, then each vessel's rows checked and
    merge-sorted (stable) only where runs overlap in time."""
    mmsi = np.ascontiguousarray(mmsi, dtype=np.int64)
    bounds = np.r_[0, np.cumsum(np.asarray(runs, dtype=np.int64))].astype(np.int64)
    order = np.empty(len(mmsi), dtype=np.int64)
    _merge_runs(mmsi, bounds[:-1].copy(), bounds[1:].copy(), order)
    _order_within_vessels(order, mmsi, np.ascontiguousarray(time, dtype=np.int64),
                          np.ascontiguousarray(source, dtype=np.int64),
                          np.ascontiguousarray(line, dtype=np.int64))
    return order


def sort_order(mmsi: np.ndarray, time: np.ndarray, source: np.ndarray,
               line: np.ndarray) -> np.ndarray:
    """Row order by (mmsi, time, source, line), stable.

    ``time``: int64 keys (``time_key``); ``source``: int64 ranks in name order.
    """
    mmsi = np.ascontiguousarray(mmsi, dtype=np.int64)
    time = np.ascontiguousarray(time, dtype=np.int64)
    source = np.ascontiguousarray(source, dtype=np.int64)
    line = np.ascontiguousarray(line, dtype=np.int64)
    n = len(mmsi)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if mmsi.min() < 0 or mmsi.max() >= _MMSI_LIMIT:
        return np.lexsort((line, source, time, mmsi))
    order = np.empty(n, dtype=np.int64)
    _radix_by_mmsi(mmsi, order)
    _order_within_vessels(order, mmsi, time, source, line)
    return order


@njit
def _take_column(order, col, out):
    """``out[:] = col[order]``, the rows ``AHEAD`` prefetched."""
    n = len(order)
    for k in range(n):
        if k + AHEAD < n:
            prefetch(col, order[k + AHEAD])
        out[k] = col[order[k]]


@njit(parallel=True)
def _take_ints(order, cols, outs):
    for c in numba.prange(len(cols)):      # the columns on both cores
        _take_column(order, cols[c], outs[c])


@njit
def _take_ints_serial(order, cols, outs):
    """``_take_ints`` on one thread: for a worker thread while the caller's own thread
    runs parallel kernels (numba's default thread pool takes one parallel call at a time)."""
    for c in range(len(cols)):
        _take_column(order, cols[c], outs[c])


def take_columns(order: np.ndarray, columns: list[np.ndarray],
                 parallel: bool = True) -> list[np.ndarray]:
    """``[c[order] for c in columns]`` column by column in numba (every column 8 bytes
    wide; float64 columns travel as their bits, read where they are). Each column comes
    back in an array of its own (not rows of one 2-D block), so that a frame made of them
    can let one column go while keeping the others (``ais.schema.sort_by_vessel_time``
    with ``consume``)."""
    order = np.ascontiguousarray(order, dtype=np.int64)
    kinds = []
    cols = []
    for c in columns:
        c = np.ascontiguousarray(c)
        if c.dtype.itemsize != 8:
            c = c.astype(np.int64 if c.dtype.kind in "iub" else np.float64)
        kinds.append(c.dtype)
        v = c.view(np.int64)
        v.flags.writeable = False       # all alike for numba (a column may be read-only)
        cols.append(v)
    outs = tuple(np.empty(len(order), dtype=np.int64) for _ in cols)
    # the parallel build only where it pays (``ais._numba.PARALLEL_MIN_ROWS``): on fewer
    # rows a run does not compile it at all
    kernel = _take_ints.parallel if parallel and pays_in_parallel(len(order)) else _take_ints_serial
    if cols:
        kernel(order, tuple(cols), outs)
    return [outs[k].view(kinds[k]) for k in range(len(cols))]
