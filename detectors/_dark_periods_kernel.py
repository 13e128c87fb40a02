"""Numba kernels of the dark-period detector (see :mod:`detectors.dark_periods`).

Two jobs:

- :func:`find_gaps`: per vessel (``prange`` over the offsets layout), the rows bounding
  each silence longer than ``gap_s`` and the open silence from the vessel's last row to
  ``data_end``. Counted first, then written into each vessel's own slice of the output.
- :class:`ReceptionIndex`: for each gap, the number of distinct other vessels with a
  position within ``radius_nm`` of the gap's start or end fix received while the gap
  lasted. All positions are indexed once in a grid of cells an eighth of the radius
  square (in degrees of latitude), sorted by (cell, vessel, time): each (cell, vessel)
  is a *run* of rows. A gap visits only the cells meeting the bounding box of the
  circle around each fix; in a cell whose four corners all lie within the radius every
  row does (distance grows with the longitude difference along a parallel and is
  unimodal along a meridian, so the farthest point of a cell is a corner), and a
  vessel counts as soon as a binary search finds one of its rows inside the gap's time
  slice; in a cell crossing the circle the vessel's rows in that slice are checked one
  by one, stopping at the first within the radius; a cell that cannot reach the circle
  (triangle inequality through its centre) is skipped. Cost: a few binary searches per
  (cell, vessel) near the fix, not a pass over the feed.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from detectors._geo import haversine_nm, nm_to_deg_lat, nm_to_deg_lon
from detectors._numba import njit


@njit
def _vessel_gaps(t, a, b, gap_s, data_end, out_i, out_j, k):
    """Write the gaps of rows a:b from slot k (when out_i is not None); return the count."""
    n = 0
    for i in range(a + 1, b):
        if t[i] - t[i - 1] > gap_s:
            if out_i.shape[0] > 0:
                out_i[k + n] = i - 1
                out_j[k + n] = i
            n += 1
    if b > a and data_end - t[b - 1] > gap_s:
        if out_i.shape[0] > 0:
            out_i[k + n] = b - 1
            out_j[k + n] = -1
        n += 1
    return n


@njit(parallel=True)
def _count_gaps(t, offsets, gap_s, data_end, counts):
    empty = np.empty(0, dtype=np.int64)
    for v in numba.prange(offsets.shape[0] - 1):
        counts[v] = _vessel_gaps(t, offsets[v], offsets[v + 1], gap_s, data_end,
                                 empty, empty, 0)


@njit(parallel=True)
def _fill_gaps(t, offsets, gap_s, data_end, first, out_i, out_j):
    for v in numba.prange(offsets.shape[0] - 1):
        _vessel_gaps(t, offsets[v], offsets[v + 1], gap_s, data_end, out_i, out_j, first[v])


def find_gaps(t, offsets, gap_s, data_end):
    """(row before, row after or -1 when open) of every gap, vessel by vessel in time
    order. ``t`` float64 epoch seconds sorted within each vessel."""
    n_vessels = offsets.shape[0] - 1
    counts = np.zeros(n_vessels, dtype=np.int64)
    if n_vessels:
        _count_gaps(t, offsets, float(gap_s), float(data_end), counts)
    first = np.zeros(n_vessels + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    out_i = np.empty(first[-1], dtype=np.int64)
    out_j = np.empty(first[-1], dtype=np.int64)
    if first[-1]:
        _fill_gaps(t, offsets, float(gap_s), float(data_end), first[:-1].copy(), out_i, out_j)
    return out_i, out_j


# ---- reception index -------------------------------------------------------------

INSIDE_MARGIN = 1e-9   # relative: a cell counts as inside only with room for rounding
CELLS_PER_RADIUS = 8


class ReceptionIndex:
    """All positions in (cell, vessel, time) order, for :meth:`count_others`.

    Cells are ``cell_deg`` degrees square, numbered ``iy * nx + ix`` from (-90, -180).
    Longitudes are not wrapped across the antimeridian (cells beyond +-180 are simply
    absent), like the rest of the project's geometry.
    """

    def __init__(self, t, lat, lon, mmsi, radius_nm):
        self.radius_nm = float(radius_nm)
        self.cell_deg = max(self.radius_nm / 60.0 / CELLS_PER_RADIUS, 1e-4)
        self.nx = int(math.ceil(360.0 / self.cell_deg)) + 2
        key = cell_keys(lat, lon, self.cell_deg, self.nx)
        order = np.lexsort((t, mmsi, key))
        self.key = np.ascontiguousarray(key[order])
        self.t = np.ascontiguousarray(t[order])
        self.lat = np.ascontiguousarray(lat[order])
        self.lon = np.ascontiguousarray(lon[order])
        self.mmsi = np.ascontiguousarray(mmsi[order])
        n = len(order)
        if n:
            starts = np.flatnonzero(np.r_[True, (self.key[1:] != self.key[:-1])
                                          | (self.mmsi[1:] != self.mmsi[:-1])])
        else:
            starts = np.zeros(0, dtype=np.int64)
        self.run_off = np.r_[starts, n].astype(np.int64)
        self.run_key = np.ascontiguousarray(self.key[starts])
        self.run_mmsi = np.ascontiguousarray(self.mmsi[starts])

    def count_others(self, own, lat0, lon0, lat1, lon1, t_lo, t_hi):
        """Distinct other vessels near either fix with ``t_lo < t < t_hi``, per gap.
        A NaN fix (the end of an open gap) is skipped."""
        out = np.zeros(own.shape[0], dtype=np.int64)
        if own.shape[0] and self.t.shape[0]:
            _count_others(self.run_key, self.run_mmsi, self.run_off, self.t, self.lat,
                          self.lon, self.cell_deg, self.nx, self.radius_nm,
                          np.ascontiguousarray(own, dtype=np.int64),
                          np.ascontiguousarray(lat0, dtype=np.float64),
                          np.ascontiguousarray(lon0, dtype=np.float64),
                          np.ascontiguousarray(lat1, dtype=np.float64),
                          np.ascontiguousarray(lon1, dtype=np.float64),
                          np.ascontiguousarray(t_lo, dtype=np.float64),
                          np.ascontiguousarray(t_hi, dtype=np.float64), out)
        return out


def cell_keys(lat, lon, cell_deg, nx):
    iy = np.floor((lat + 90.0) / cell_deg).astype(np.int64)
    ix = np.floor((lon + 180.0) / cell_deg).astype(np.int64)
    return iy * nx + ix


@njit
def _cell_inside(flat, flon, iy, ix, cell_deg, radius_nm):
    """True when all four corners of cell (iy, ix) lie within ``radius_nm`` of the fix."""
    la0 = iy * cell_deg - 90.0
    lo0 = ix * cell_deg - 180.0
    limit = radius_nm * (1.0 - INSIDE_MARGIN)
    for la in (la0, la0 + cell_deg):
        for lo in (lo0, lo0 + cell_deg):
            if not haversine_nm(flat, flon, la, lo) <= limit:
                return False
    return True


@njit
def _cell_outside(flat, flon, iy, ix, cell_deg, radius_nm):
    """True when no point of cell (iy, ix) can lie within ``radius_nm`` of the fix:
    distance(fix, centre) - (farthest corner from the centre) > radius, by the triangle
    inequality on the sphere."""
    la0 = iy * cell_deg - 90.0
    lo0 = ix * cell_deg - 180.0
    cla = la0 + 0.5 * cell_deg
    clo = lo0 + 0.5 * cell_deg
    half = max(haversine_nm(cla, clo, la0, lo0), haversine_nm(cla, clo, la0 + cell_deg, lo0))
    return haversine_nm(flat, flon, cla, clo) - half * (1.0 + INSIDE_MARGIN) > radius_nm


@njit
def _scan_fix(run_key, run_mmsi, run_off, t, lat, lon, cell_deg, nx, radius_nm, own,
              flat, flon, t_lo, t_hi, buf, n):
    """Visit the cells around fix (flat, flon). With an empty ``buf`` count the runs an
    upper bound needs; else append each other vessel found near the fix during
    (t_lo, t_hi) to ``buf`` from ``n``. Returns the new n."""
    if not (flat == flat and flon == flon):
        return n
    dlat = nm_to_deg_lat(radius_nm)
    dlon = nm_to_deg_lon(radius_nm, min(abs(flat) + dlat, 89.9))
    iy0 = int(math.floor((flat - dlat + 90.0) / cell_deg))
    iy1 = int(math.floor((flat + dlat + 90.0) / cell_deg))
    ix0 = max(int(math.floor((flon - dlon + 180.0) / cell_deg)), 0)
    ix1 = min(int(math.floor((flon + dlon + 180.0) / cell_deg)), nx - 1)
    counting = buf.shape[0] == 0
    for iy in range(iy0, iy1 + 1):
        for ix in range(ix0, ix1 + 1):
            k = iy * nx + ix
            r0 = np.searchsorted(run_key, k, side="left")
            r1 = np.searchsorted(run_key, k, side="right")
            if r0 == r1:
                continue
            if counting:
                n += r1 - r0
                continue
            if _cell_outside(flat, flon, iy, ix, cell_deg, radius_nm):
                continue
            inside = _cell_inside(flat, flon, iy, ix, cell_deg, radius_nm)
            for r in range(r0, r1):
                if run_mmsi[r] == own:
                    continue
                lo = run_off[r]
                hi = run_off[r + 1]
                a = lo + np.searchsorted(t[lo:hi], t_lo, side="right")
                b = lo + np.searchsorted(t[lo:hi], t_hi, side="left")
                if a >= b:
                    continue
                if inside:
                    buf[n] = run_mmsi[r]
                    n += 1
                    continue
                for q in range(a, b):
                    if haversine_nm(flat, flon, lat[q], lon[q]) <= radius_nm:
                        buf[n] = run_mmsi[r]
                        n += 1
                        break
    return n


@njit(parallel=True)
def _count_others(run_key, run_mmsi, run_off, t, lat, lon, cell_deg, nx, radius_nm, own,
                  lat0, lon0, lat1, lon1, t_lo, t_hi, out):
    empty = np.empty(0, dtype=np.int64)
    for g in numba.prange(own.shape[0]):
        bound = _scan_fix(run_key, run_mmsi, run_off, t, lat, lon, cell_deg, nx, radius_nm,
                          own[g], lat0[g], lon0[g], t_lo[g], t_hi[g], empty, 0)
        bound = _scan_fix(run_key, run_mmsi, run_off, t, lat, lon, cell_deg, nx, radius_nm,
                          own[g], lat1[g], lon1[g], t_lo[g], t_hi[g], empty, bound)
        if bound == 0:
            out[g] = 0
            continue
        buf = np.empty(bound, dtype=np.int64)
        n = _scan_fix(run_key, run_mmsi, run_off, t, lat, lon, cell_deg, nx, radius_nm,
                      own[g], lat0[g], lon0[g], t_lo[g], t_hi[g], buf, 0)
        n = _scan_fix(run_key, run_mmsi, run_off, t, lat, lon, cell_deg, nx, radius_nm,
                      own[g], lat1[g], lon1[g], t_lo[g], t_hi[g], buf, n)
        if n == 0:
            out[g] = 0
            continue
        s = np.sort(buf[:n])
        c = 1
        for q in range(1, n):
            if s[q] != s[q - 1]:
                c += 1
        out[g] = c
