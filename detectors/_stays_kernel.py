"""Numba kernel of the stays behind unlisted stops (see :mod:`detectors.stops`).

:func:`find_stays`: per vessel (``prange`` over the offsets layout), the stays: from an
anchor fix i, the following fixes j while each lies within ``radius_nm`` of fix i and
follows the one before by at most ``max_gap_s``; when the last of them is at least
``min_s`` after fix i, fixes i..j-1 are a stay and the search goes on after it, else it
goes on from fix i + 1 (the stay-point method of Li et al. 2008). Counted first, then
written into each vessel's own slice. :func:`stay_points` gives each stay's median
position.
"""

from __future__ import annotations

import numba
import numpy as np

from ports._geo import haversine_nm
from ais._numba import njit
from detectors._wrap import median_position


@njit
def _vessel_stays(t, lat, lon, a, b, radius_nm, max_gap_s, min_s, out_i, out_j, w):
    write = out_i.shape[0] > 0
    n = 0
    i = a
    while i < b:
        j = i + 1
        while (j < b and t[j] - t[j - 1] <= max_gap_s
               and haversine_nm(lat[i], lon[i], lat[j], lon[j]) <= radius_nm):
            j += 1
        if j - 1 > i and t[j - 1] - t[i] >= min_s:
            if write:
                out_i[w + n] = i
                out_j[w + n] = j - 1
            n += 1
            i = j
        else:
            i += 1
    return n


@njit(parallel=True)
def _count(t, lat, lon, offsets, radius_nm, max_gap_s, min_s, counts):
    empty = np.empty(0, dtype=np.int64)
    for v in numba.prange(offsets.shape[0] - 1):
        counts[v] = _vessel_stays(t, lat, lon, offsets[v], offsets[v + 1], radius_nm,
                                  max_gap_s, min_s, empty, empty, np.int64(0))


@njit(parallel=True)
def _fill(t, lat, lon, offsets, radius_nm, max_gap_s, min_s, first, out_i, out_j):
    for v in numba.prange(offsets.shape[0] - 1):
        _vessel_stays(t, lat, lon, offsets[v], offsets[v + 1], radius_nm, max_gap_s, min_s,
                      out_i, out_j, first[v])


def find_stays(t, lat, lon, offsets, radius_nm, max_gap_s, min_s):
    """(first row, last row) of every stay, vessel by vessel in time order."""
    n_vessels = offsets.shape[0] - 1
    counts = np.zeros(n_vessels, dtype=np.int64)
    args = (float(radius_nm), float(max_gap_s), float(min_s))
    if n_vessels:
        _count(t, lat, lon, offsets, *args, counts)
    first = np.zeros(n_vessels + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    out_i = np.empty(first[-1], dtype=np.int64)
    out_j = np.empty(first[-1], dtype=np.int64)
    if first[-1]:
        _fill(t, lat, lon, offsets, *args, first[:-1].copy(), out_i, out_j)
    return out_i, out_j


@njit
def stay_points(lat, lon, ri, rj, out_lat, out_lon):
    """Median position of each stay's fixes ri[e]..rj[e]."""
    for e in range(ri.shape[0]):
        la, lo = median_position(lat[ri[e]:rj[e] + 1], lon[ri[e]:rj[e] + 1])
        out_lat[e] = la
        out_lon[e] = lo
