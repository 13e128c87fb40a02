"""Numba kernels of the dark-period detector (see :mod:`detectors.dark_periods`).

Three jobs:

- :func:`count_own_messages`: per gap, the vessel's own messages without a usable
  position received while it lasted (two binary searches in the vessel's slice of the
  messages, sorted by (mmsi, time)).
- :func:`find_gaps`: per vessel (``prange`` over the offsets layout), the rows bounding
  each silence longer than ``gap_s`` and the open silence from the vessel's last row to
  ``data_end``. Counted first, then written into each vessel's own slice of the output.
- :class:`ReceptionIndex`: for each gap, the number of distinct other vessels with a
  position within ``radius_nm`` of the gap's start or end fix received while the gap
  lasted. All positions are indexed once, sorted by (cell, time bucket, vessel, time):
  cells are a quarter of the radius square (in degrees of latitude), buckets
  ``bucket_s`` long (the gap threshold), and each (cell, bucket, vessel) is a *run* of
  rows. For each fix a gap visits the cells meeting the bounding box of the circle
  around it and, in each, only the runs of the buckets its time span touches (two
  binary searches per cell). A cell that cannot reach the circle (triangle inequality
  through its centre) is skipped; in a cell whose four corners all lie within the
  radius every row does (distance grows with the longitude difference along a parallel
  and is unimodal along a meridian, so a cell's farthest point is a corner), so a run
  of a bucket lying wholly inside the gap counts at once, and otherwise one binary
  search tells whether the run has a row inside the gap; in a cell crossing the circle
  the run's rows inside the gap are checked one by one until one is within the radius.
  A vessel already counted for the gap is skipped at once (a marker per vessel), so
  the cost is a few binary searches per cell and per (cell, bucket, vessel) near the
  fix, never a pass over the feed or over one vessel's history.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ais._numba import njit
from detectors._sorted import search_sorted
from ports._geo import haversine_nm, nm_to_deg_lat, nm_to_deg_lon


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
                                 empty, empty, np.int64(0))


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


@njit
def _count_own(msg_t, msg_off, gap_vessel, t_lo, t_hi, out, first, last):
    for g in range(gap_vessel.shape[0]):
        v = gap_vessel[g]
        out[g] = 0
        first[g] = np.nan
        last[g] = np.nan
        if v < 0:
            continue
        a = msg_off[v]
        b = msg_off[v + 1]
        lo = search_sorted(msg_t, a, b, t_lo[g], True)
        hi = search_sorted(msg_t, a, b, t_hi[g], False)
        if hi > lo:
            out[g] = hi - lo
            first[g] = msg_t[lo]
            last[g] = msg_t[hi - 1]


def count_own_messages(msg_mmsi, msg_t, gap_mmsi, t_lo, t_hi):
    """Per gap, (how many, first time, last time) of the messages of its own vessel with
    ``t_lo < t < t_hi`` (times NaN when none). ``msg_mmsi``, ``msg_t`` (float64 epoch
    seconds): the messages sorted by (mmsi, time)."""
    n = len(gap_mmsi)
    out = np.zeros(n, dtype=np.int64)
    first = np.full(n, np.nan)
    last = np.full(n, np.nan)
    if n == 0 or len(msg_mmsi) == 0:
        return out, first, last
    starts = np.flatnonzero(np.r_[True, msg_mmsi[1:] != msg_mmsi[:-1]])
    vessels = msg_mmsi[starts]
    offsets = np.r_[starts, len(msg_mmsi)].astype(np.int64)
    k = np.searchsorted(vessels, gap_mmsi)
    found = (k < len(vessels)) & (vessels[np.minimum(k, len(vessels) - 1)] == gap_mmsi)
    gap_vessel = np.where(found, k, -1).astype(np.int64)
    _count_own(np.ascontiguousarray(msg_t, dtype=np.float64), offsets, gap_vessel,
               np.ascontiguousarray(t_lo, dtype=np.float64),
               np.ascontiguousarray(t_hi, dtype=np.float64), out, first, last)
    return out, first, last


# ---- reception index -------------------------------------------------------------

INSIDE_MARGIN = 1e-9   # relative: a cell counts as inside only with room for rounding
CELLS_PER_RADIUS = 4


class ReceptionIndex:
    """All positions in (cell, time bucket, vessel, time) order, for :meth:`count_others`.

    Cells are ``cell_deg`` degrees square, numbered ``iy * nx + ix`` from (-90, -180);
    the run key is ``cell * n_buckets + bucket``. A fix near the antimeridian is looked up
    on both sides of it (:func:`_scan_fix`): longitudes wrap (DESIGN.md).
    """

    def __init__(self, t, lat, lon, mmsi, radius_nm, bucket_s):
        self.radius_nm = float(radius_nm)
        self.cell_deg = max(self.radius_nm / 60.0 / CELLS_PER_RADIUS, 1e-4)
        self.nx = int(math.ceil(360.0 / self.cell_deg)) + 2
        self.bucket_s = float(bucket_s)
        n = len(t)
        self.t0 = float(t.min()) if n else 0.0
        # keep cell * n_buckets + bucket inside int64: coarser buckets only cost speed
        n_cells = (int(math.ceil(180.0 / self.cell_deg)) + 2) * self.nx
        span = float(t.max()) - self.t0 if n else 0.0
        max_buckets = (2 ** 62) // n_cells
        if span / self.bucket_s + 1 > max_buckets:
            self.bucket_s = span / (max_buckets - 1)
        # a row's arrays are made one after the other and let go as soon as they are used
        # (the index is built over every position: each array is 8 bytes a row)
        if n:
            b = t - self.t0
            b /= self.bucket_s
            np.floor(b, out=b)
            bucket = b.astype(np.int64)
            del b
        else:
            bucket = np.zeros(0, dtype=np.int64)
        self.n_buckets = int(bucket.max()) + 1 if n else 1
        self.vessels, vid = _vessel_ids(np.asarray(mmsi))
        key = cell_keys(lat, lon, self.cell_deg, self.nx)
        key *= self.n_buckets
        key += bucket
        del bucket
        order = np.lexsort((t, vid, key))
        key = key[order]
        vid = vid[order]
        if n:
            starts = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]) | (vid[1:] != vid[:-1])])
        else:
            starts = np.zeros(0, dtype=np.int64)
        self.run_off = np.r_[starts, n].astype(np.int64)
        self.run_key = np.ascontiguousarray(key[starts])
        self.run_vid = np.ascontiguousarray(vid[starts])
        del key, vid, starts
        self.t = np.ascontiguousarray(t[order])
        self.lat = np.ascontiguousarray(lat[order])
        self.lon = np.ascontiguousarray(lon[order])

    def _gap_args(self, own, lat0, lon0, lat1, lon1, t_lo, t_hi) -> tuple:
        own_vid = np.searchsorted(self.vessels, own)
        own_vid = np.where((own_vid < len(self.vessels))
                           & (self.vessels[np.minimum(own_vid, len(self.vessels) - 1)] == own),
                           own_vid, -1).astype(np.int64)
        return (self.run_key, self.run_vid, self.run_off, self.t, self.lat, self.lon,
                self.cell_deg, self.nx, self.n_buckets, self.t0, self.bucket_s,
                self.radius_nm, len(self.vessels), own_vid,
                *(np.ascontiguousarray(x, dtype=np.float64)
                  for x in (lat0, lon0, lat1, lon1, t_lo, t_hi)))

    def count_others(self, own, lat0, lon0, lat1, lon1, t_lo, t_hi):
        """Distinct other vessels (mmsi != ``own``) near either fix with
        ``t_lo < t < t_hi``, per gap. A NaN fix (the end of an open gap) is skipped."""
        out = np.zeros(len(own), dtype=np.int64)
        if len(own) == 0 or len(self.t) == 0:
            return out
        _count_others(*self._gap_args(own, lat0, lon0, lat1, lon1, t_lo, t_hi), out)
        return out

    def others(self, own, lat0, lon0, lat1, lon1, t_lo, t_hi):
        """The vessels :meth:`count_others` counts: (gap index, vessel key) arrays, each
        pair once, by gap. The Dask engine lists them per space-time cell and counts the
        distinct pairs of all cells (a vessel near a gap in two cells is one vessel)."""
        n = len(own)
        if n == 0 or len(self.t) == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        args = self._gap_args(own, lat0, lon0, lat1, lon1, t_lo, t_hi)
        counts = np.zeros(n, dtype=np.int64)
        _count_others(*args, counts)
        first = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=first[1:])
        out_v = np.empty(first[-1], dtype=np.int64)
        if first[-1]:
            _list_others(*args, first[:-1].copy(), out_v)
        gap = np.repeat(np.arange(n, dtype=np.int64), counts)
        return gap, self.vessels[out_v].astype(np.int64)


def _vessel_ids(mmsi):
    """``np.unique(mmsi, return_inverse=True)`` (ids as int64), without its sort when the
    rows are in vessel order already (as the detectors' rows are)."""
    if len(mmsi) > 1 and bool((mmsi[1:] >= mmsi[:-1]).all()):
        new = np.r_[True, mmsi[1:] != mmsi[:-1]]
        return mmsi[new], (np.cumsum(new) - 1).astype(np.int64)
    vessels, vid = np.unique(mmsi, return_inverse=True)
    return vessels, vid.astype(np.int64).ravel()


def cell_keys(lat, lon, cell_deg, nx):
    """``floor((lat + 90) / cell_deg) * nx + floor((lon + 180) / cell_deg)`` as int64,
    worked out in place (one float and one int array of the rows' length at a time)."""
    f = lat + 90.0
    f /= cell_deg
    np.floor(f, out=f)
    key = f.astype(np.int64)
    key *= nx
    del f
    f = lon + 180.0
    f /= cell_deg
    np.floor(f, out=f)
    key += f.astype(np.int64)
    return key


@njit(inline="always")
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


@njit(inline="always")
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
def _scan_fix(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets, t0,
              bucket_s, radius_nm, own, flat, flon, t_lo, t_hi, marker, g, out_v, w):
    """Mark (``marker[vid] = g``) every other vessel with a row within ``radius_nm`` of
    the fix received in (t_lo, t_hi); return how many were newly marked. When ``out_v``
    is not empty, each newly marked vessel is written to it from slot ``w``. Across the
    antimeridian: a circle reaching past +-180 is searched again with the fix's
    longitude 360 degrees round (distances do not change; the cells there do)."""
    if not (flat == flat and flon == flon):
        return 0
    found = _scan_near(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets, t0,
                       bucket_s, radius_nm, own, flat, flon, t_lo, t_hi, marker, g, out_v, w)
    dlon = nm_to_deg_lon(radius_nm, min(abs(flat) + nm_to_deg_lat(radius_nm), 89.9))
    if dlon < 180.0:
        if flon - dlon < -180.0:
            found += _scan_near(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx,
                                n_buckets, t0, bucket_s, radius_nm, own, flat, flon + 360.0,
                                t_lo, t_hi, marker, g, out_v, w + found)
        if flon + dlon > 180.0:
            found += _scan_near(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx,
                                n_buckets, t0, bucket_s, radius_nm, own, flat, flon - 360.0,
                                t_lo, t_hi, marker, g, out_v, w + found)
    return found


@njit
def _scan_near(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets, t0,
               bucket_s, radius_nm, own, flat, flon, t_lo, t_hi, marker, g, out_v, w):
    """:func:`_scan_fix` over the cells of the box around (flat, flon), longitudes taken
    as given (-180 to 180 is the box's part that exists)."""
    found = 0
    b_lo = int(math.floor((t_lo - t0) / bucket_s))
    b_hi = int(math.floor((t_hi - t0) / bucket_s))
    if b_lo < 0:
        b_lo = 0
    if b_hi > n_buckets - 1:
        b_hi = n_buckets - 1
    if b_hi < b_lo:
        return 0
    dlat = nm_to_deg_lat(radius_nm)
    dlon = nm_to_deg_lon(radius_nm, min(abs(flat) + dlat, 89.9))
    iy0 = int(math.floor((flat - dlat + 90.0) / cell_deg))
    iy1 = int(math.floor((flat + dlat + 90.0) / cell_deg))
    ix0 = max(int(math.floor((flon - dlon + 180.0) / cell_deg)), 0)
    ix1 = min(int(math.floor((flon + dlon + 180.0) / cell_deg)), nx - 1)
    for iy in range(iy0, iy1 + 1):
        for ix in range(ix0, ix1 + 1):
            base = (iy * nx + ix) * n_buckets
            r0 = search_sorted(run_key, 0, run_key.shape[0], base + b_lo, False)
            r1 = search_sorted(run_key, 0, run_key.shape[0], base + b_hi, True)
            if r0 == r1:
                continue
            if _cell_outside(flat, flon, iy, ix, cell_deg, radius_nm):
                continue
            inside = _cell_inside(flat, flon, iy, ix, cell_deg, radius_nm)
            for r in range(r0, r1):
                v = run_vid[r]
                if v == own or marker[v] == g:
                    continue
                lo = run_off[r]
                hi = run_off[r + 1]
                b = run_key[r] - base
                if b > b_lo and b < b_hi:
                    a = lo          # a bucket wholly inside the gap
                    e = hi
                else:
                    a = search_sorted(t, lo, hi, t_lo, True)
                    e = search_sorted(t, lo, hi, t_hi, False)
                if a >= e:
                    continue
                if inside:
                    marker[v] = g
                    if out_v.shape[0] > 0:
                        out_v[w + found] = v
                    found += 1
                    continue
                for q in range(a, e):
                    if haversine_nm(flat, flon, lat[q], lon[q]) <= radius_nm:
                        marker[v] = g
                        if out_v.shape[0] > 0:
                            out_v[w + found] = v
                        found += 1
                        break
    return found


@njit(parallel=True)
def _count_others(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets, t0,
                  bucket_s, radius_nm, n_vessels, own, lat0, lon0, lat1, lon1, t_lo, t_hi,
                  out):
    n = own.shape[0]
    n_chunks = min(n, 64)
    empty = np.empty(0, dtype=np.int64)
    for c in numba.prange(n_chunks):
        marker = np.full(n_vessels, -1, dtype=np.int64)
        for g in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            k = _scan_fix(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets,
                          t0, bucket_s, radius_nm, own[g], lat0[g], lon0[g], t_lo[g],
                          t_hi[g], marker, g, empty, np.int64(0))
            k += _scan_fix(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets,
                           t0, bucket_s, radius_nm, own[g], lat1[g], lon1[g], t_lo[g],
                           t_hi[g], marker, g, empty, np.int64(0))
            out[g] = k


@njit(parallel=True)
def _list_others(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets, t0,
                 bucket_s, radius_nm, n_vessels, own, lat0, lon0, lat1, lon1, t_lo, t_hi,
                 first, out_v):
    """:func:`_count_others`' vessels: gap g's from slot ``first[g]`` of ``out_v``
    (``first``: the cumulative counts of that pass)."""
    n = own.shape[0]
    n_chunks = min(n, 64)
    for c in numba.prange(n_chunks):
        marker = np.full(n_vessels, -1, dtype=np.int64)
        for g in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            k = _scan_fix(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets,
                          t0, bucket_s, radius_nm, own[g], lat0[g], lon0[g], t_lo[g],
                          t_hi[g], marker, g, out_v, first[g])
            _scan_fix(run_key, run_vid, run_off, t, lat, lon, cell_deg, nx, n_buckets,
                      t0, bucket_s, radius_nm, own[g], lat1[g], lon1[g], t_lo[g],
                      t_hi[g], marker, g, out_v, first[g] + k)
