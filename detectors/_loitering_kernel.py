"""Numba kernels of the loitering detector (see :mod:`detectors.loitering`).

:func:`find_loiters`: per vessel (``prange`` over the offsets layout), the maximal runs
of rows i..j in which every row is ``far`` from the ports and every two consecutive rows
are at most ``max_gap_s`` apart with an implied speed below ``max_speed_kn``; a run
lasting at least ``min_s`` is kept. Counted first, then written into each vessel's own
slice of the output. :func:`loiter_stats` gives each run's path length, fastest step
and median position.
"""

from __future__ import annotations

import numba
import numpy as np

from ports._geo import haversine_nm, implied_speed_kn
from ais._numba import njit
from detectors._wrap import median_position


@njit(inline="always")
def _slow_step(t, lat, lon, j, max_gap_s, max_speed_kn):
    dt = t[j + 1] - t[j]
    if dt > max_gap_s:
        return False
    d = haversine_nm(lat[j], lon[j], lat[j + 1], lon[j + 1])
    return implied_speed_kn(d, dt) < max_speed_kn


@njit
def _vessel_loiters(t, lat, lon, far, a, b, max_gap_s, max_speed_kn, min_s, out_i, out_j, w):
    write = out_i.shape[0] > 0
    n = 0
    i = a
    while i < b:
        if not far[i]:
            i += 1
            continue
        j = i
        while j + 1 < b and far[j + 1] and _slow_step(t, lat, lon, j, max_gap_s, max_speed_kn):
            j += 1
        if j > i and t[j] - t[i] >= min_s:
            if write:
                out_i[w + n] = i
                out_j[w + n] = j
            n += 1
        i = j + 1
    return n


@njit(parallel=True)
def _count(t, lat, lon, far, offsets, max_gap_s, max_speed_kn, min_s, counts):
    empty = np.empty(0, dtype=np.int64)
    for v in numba.prange(offsets.shape[0] - 1):
        counts[v] = _vessel_loiters(t, lat, lon, far, offsets[v], offsets[v + 1], max_gap_s,
                                    max_speed_kn, min_s, empty, empty, np.int64(0))


@njit(parallel=True)
def _fill(t, lat, lon, far, offsets, max_gap_s, max_speed_kn, min_s, first, out_i, out_j):
    for v in numba.prange(offsets.shape[0] - 1):
        _vessel_loiters(t, lat, lon, far, offsets[v], offsets[v + 1], max_gap_s, max_speed_kn,
                        min_s, out_i, out_j, first[v])


def find_loiters(t, lat, lon, far, offsets, max_gap_s, max_speed_kn, min_s):
    """(first row, last row) of every loitering run, vessel by vessel in time order."""
    n_vessels = offsets.shape[0] - 1
    counts = np.zeros(n_vessels, dtype=np.int64)
    args = (float(max_gap_s), float(max_speed_kn), float(min_s))
    if n_vessels:
        _count(t, lat, lon, far, offsets, *args, counts)
    first = np.zeros(n_vessels + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    out_i = np.empty(first[-1], dtype=np.int64)
    out_j = np.empty(first[-1], dtype=np.int64)
    if first[-1]:
        _fill(t, lat, lon, far, offsets, *args, first[:-1].copy(), out_i, out_j)
    return out_i, out_j


@njit
def loiter_stats(t, lat, lon, ri, rj, out_path_nm, out_max_kn, out_lat, out_lon):
    """Per run ri[e]..rj[e]: path length (nm), fastest implied speed between consecutive
    rows (kn) and median position."""
    for e in range(ri.shape[0]):
        path = 0.0
        fastest = 0.0
        for j in range(ri[e], rj[e]):
            d = haversine_nm(lat[j], lon[j], lat[j + 1], lon[j + 1])
            path += d
            s = implied_speed_kn(d, t[j + 1] - t[j])
            if s > fastest:
                fastest = s
        out_path_nm[e] = path
        out_max_kn[e] = fastest
        la, lo = median_position(lat[ri[e]:rj[e] + 1], lon[ri[e]:rj[e] + 1])
        out_lat[e] = la
        out_lon[e] = lo
