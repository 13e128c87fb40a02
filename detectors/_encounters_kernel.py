"""Numba kernels of the encounter detector (see :mod:`detectors.encounters`).

Four stages, each over plain arrays:

1. :func:`resample`: every vessel's positions on the common grid of times ``k * step_s``
   (``k`` an integer, so grids of all vessels line up), interpolated linearly between the
   two fixes around a grid time when they are at most ``max_gap_s`` apart (a grid time
   that is a fix's own time takes that fix). ``prange`` over the vessels of the offsets
   layout; counted first, then written into each vessel's own slice, so the grid points
   come out sorted by (vessel, k) with grid offsets per vessel.
2. :func:`close_pairs`: at each grid time, the pairs of vessels within ``dist_m``. Grid
   points are sorted by (k, cell) where a cell is a cube of a 3-D grid over the unit
   vectors of the positions, its side the chord of ``dist_m``: two points within
   ``dist_m`` along the sphere are within that chord in every coordinate, so they lie in
   the same or adjacent cubes. This works the same at the antimeridian and the poles (a
   longitude is only an angle of the unit vector). The key is ``(cx * n + cy) * n + cz``,
   so for each point the adjacent cubes lie in 3 key ranges (one per layer cx - 1, cx,
   cx + 1), each found by one binary search in the slice of its grid time; only pairs
   with the other vessel's index larger are kept, so each unordered pair is found once.
   No pass over all pairs of vessels, ever.
3. :func:`find_runs`: over the close pairs sorted by (vessel a, vessel b, k), runs of
   consecutive grid times; a run qualifies when it lasts at least ``min_s`` and each
   vessel's median speed over it (implied by consecutive grid positions) is below
   ``max_speed_kn``.
4. :func:`merge_runs` and :func:`event_stats`: qualifying runs of the same pair less than
   ``merge_s`` apart make one encounter; its median distance, the vessels' median speeds
   (over the steps inside its runs) and its mean position.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ports._geo import EARTH_RADIUS_NM, M_PER_NM, haversine_nm
from ais._numba import njit
from detectors._sorted import median
from detectors._wrap import interp_lon, mean_position



# ---- 1. the common grid ------------------------------------------------------------

@njit
def _vessel_grid(t, lat, lon, a, b, step_s, max_gap_s, out_k, out_lat, out_lon, w):
    """Grid points of rows a:b, written from slot w when ``out_k`` is not empty; the
    number of points."""
    if b <= a:
        return 0
    write = out_k.shape[0] > 0
    n = 0
    g = int(math.ceil(t[a] / step_s))
    g_last = int(math.floor(t[b - 1] / step_s))
    i = a
    while g <= g_last:
        tg = g * step_s
        while i + 1 < b and t[i + 1] <= tg:
            i += 1
        if t[i] == tg:
            if write:
                out_k[w + n] = g
                out_lat[w + n] = lat[i]
                out_lon[w + n] = lon[i]
            n += 1
            g += 1
        elif t[i + 1] - t[i] <= max_gap_s:
            if write:
                mix = (tg - t[i]) / (t[i + 1] - t[i])
                out_k[w + n] = g
                out_lat[w + n] = lat[i] + mix * (lat[i + 1] - lat[i])
                out_lon[w + n] = interp_lon(lon[i], lon[i + 1], mix)
            n += 1
            g += 1
        else:
            # a silence too long to interpolate across: go to the first grid time at or
            # after the fix that ends it
            g = max(g + 1, int(math.ceil(t[i + 1] / step_s)))
    return n


@njit(parallel=True)
def _count_grid(t, lat, lon, offsets, step_s, max_gap_s, counts):
    ek = np.empty(0, dtype=np.int64)
    ef = np.empty(0, dtype=np.float64)
    for v in numba.prange(offsets.shape[0] - 1):
        counts[v] = _vessel_grid(t, lat, lon, offsets[v], offsets[v + 1], step_s, max_gap_s,
                                 ek, ef, ef, np.int64(0))


@njit(parallel=True)
def _fill_grid(t, lat, lon, offsets, step_s, max_gap_s, first, out_k, out_lat, out_lon):
    for v in numba.prange(offsets.shape[0] - 1):
        _vessel_grid(t, lat, lon, offsets[v], offsets[v + 1], step_s, max_gap_s, out_k,
                     out_lat, out_lon, first[v])


def resample(t, lat, lon, offsets, step_s, max_gap_s):
    """(k int64, lat, lon, grid offsets) of every vessel's grid points, sorted by
    (vessel, k); vessel v's points are ``goff[v]:goff[v+1]``."""
    n_vessels = offsets.shape[0] - 1
    counts = np.zeros(n_vessels, dtype=np.int64)
    if n_vessels:
        _count_grid(t, lat, lon, offsets, float(step_s), float(max_gap_s), counts)
    goff = np.zeros(n_vessels + 1, dtype=np.int64)
    np.cumsum(counts, out=goff[1:])
    k = np.empty(goff[-1], dtype=np.int64)
    glat = np.empty(goff[-1], dtype=np.float64)
    glon = np.empty(goff[-1], dtype=np.float64)
    if goff[-1]:
        _fill_grid(t, lat, lon, offsets, float(step_s), float(max_gap_s), goff[:-1].copy(), k,
                   glat, glon)
    return k, glat, glon, goff


# ---- 2. close pairs at each grid time ------------------------------------------------

MIN_CELL = 2.0 / 2 ** 20     # at most ~2**20 cubes a side: keys stay inside int64


def cell_size(dist_m: float) -> float:
    """Side of the cubes (in Earth radii): the chord of ``dist_m``, with room for
    rounding."""
    chord = 2.0 * math.sin(min(dist_m / (EARTH_RADIUS_NM * M_PER_NM), math.pi) / 2.0)
    return max(chord * (1.0 + 1e-9) + 1e-12, MIN_CELL)


@njit(parallel=True)
def _cell_keys(lat, lon, c, n_side, out):
    for i in numba.prange(lat.shape[0]):
        p = math.radians(lat[i])
        q = math.radians(lon[i])
        x = math.cos(p) * math.cos(q)
        y = math.cos(p) * math.sin(q)
        z = math.sin(p)
        cx = int(math.floor((x + 1.0) / c)) + 1
        cy = int(math.floor((y + 1.0) / c)) + 1
        cz = int(math.floor((z + 1.0) / c)) + 1
        out[i] = (cx * n_side + cy) * n_side + cz


@njit(inline="always")
def _lower_bound(key, lo, hi, value):
    """First index in key[lo:hi] (sorted) whose key is >= value (hi when none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if key[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit
def _scan_step(s0, s1, key, vid, lat, lon, ok, dist_m, n_side, out_a, out_b, out_d, w):
    """Close pairs among the sorted points s0:s1 (one grid time), written from slot w
    when ``out_a`` is not empty; their number. Pairs hold sorted positions (a, b) with
    ``vid[a] < vid[b]``. For each point, the cubes adjacent along x are 3 key ranges,
    each from (cx + dx, cy - 1, cz - 1) to (cx + dx, cy + 1, cz + 1): they hold the 9
    adjacent cubes of that layer and the few others of the same columns, which the
    distance test rejects."""
    write = out_a.shape[0] > 0
    n = 0
    nn = n_side * n_side
    for p in range(s0, s1):
        if not ok[p]:
            continue
        kp = key[p]
        for dx in range(-1, 2):
            first = kp + dx * nn - n_side - 1
            last = kp + dx * nn + n_side + 1
            q = _lower_bound(key, s0, s1, first)
            while q < s1 and key[q] <= last:
                if vid[q] > vid[p] and ok[q]:
                    d = haversine_nm(lat[p], lon[p], lat[q], lon[q]) * M_PER_NM
                    if d <= dist_m:
                        if write:
                            out_a[w + n] = p
                            out_b[w + n] = q
                            out_d[w + n] = d
                        n += 1
                q += 1
    return n


@njit(parallel=True)
def _count_pairs(bounds, key, vid, lat, lon, ok, dist_m, n_side, counts):
    ei = np.empty(0, dtype=np.int64)
    ef = np.empty(0, dtype=np.float64)
    for s in numba.prange(bounds.shape[0] - 1):
        counts[s] = _scan_step(bounds[s], bounds[s + 1], key, vid, lat, lon, ok, dist_m,
                               n_side, ei, ei, ef, np.int64(0))


@njit(parallel=True)
def _fill_pairs(bounds, key, vid, lat, lon, ok, dist_m, n_side, first, out_a, out_b, out_d):
    for s in numba.prange(bounds.shape[0] - 1):
        _scan_step(bounds[s], bounds[s + 1], key, vid, lat, lon, ok, dist_m, n_side, out_a,
                   out_b, out_d, first[s])


def close_pairs(k, glat, glon, gvid, ok, dist_m):
    """(grid index a, grid index b, distance m) of every pair of grid points at the same
    grid time within ``dist_m`` of each other, both ``ok``, with ``gvid[a] < gvid[b]``."""
    n = len(k)
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64),
             np.empty(0, dtype=np.float64))
    if n < 2:
        return empty
    c = cell_size(float(dist_m))
    n_side = int(math.floor(2.0 / c)) + 4
    key = np.empty(n, dtype=np.int64)
    _cell_keys(glat, glon, c, n_side, key)
    span = int(k.max() - k.min()) + 1
    cube = n_side ** 3
    if span < (2 ** 62) // cube:        # one int64 key: a single sort, ~3x faster
        order = np.argsort((k - k.min()) * cube + key, kind="stable")
    else:
        order = np.lexsort((key, k))
    ks = k[order]
    bounds = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True]).astype(np.int64)
    key_s = np.ascontiguousarray(key[order])
    vid_s = np.ascontiguousarray(gvid[order])
    lat_s = np.ascontiguousarray(glat[order])
    lon_s = np.ascontiguousarray(glon[order])
    ok_s = np.ascontiguousarray(ok[order])
    counts = np.zeros(len(bounds) - 1, dtype=np.int64)
    _count_pairs(bounds, key_s, vid_s, lat_s, lon_s, ok_s, float(dist_m), n_side, counts)
    first = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    if first[-1] == 0:
        return empty
    a = np.empty(first[-1], dtype=np.int64)
    b = np.empty(first[-1], dtype=np.int64)
    d = np.empty(first[-1], dtype=np.float64)
    _fill_pairs(bounds, key_s, vid_s, lat_s, lon_s, ok_s, float(dist_m), n_side,
                first[:-1].copy(), a, b, d)
    return order[a], order[b], d


# ---- 3. runs of consecutive close grid times -------------------------------------------

@njit
def _median_speed_kn(glat, glon, g0, g1, step_h):
    """Median of the speeds implied by consecutive grid points g0..g1 (inclusive) of one
    vessel; NaN for a single point."""
    m = g1 - g0
    if m <= 0:
        return np.nan
    s = np.empty(m, dtype=np.float64)
    for j in range(m):
        s[j] = haversine_nm(glat[g0 + j], glon[g0 + j], glat[g0 + j + 1], glon[g0 + j + 1]) / step_h
    return median(s)


@njit
def find_runs(pa, pb, pk, va, vb, glat, glon, step_s, min_s, max_speed_kn):
    """Qualifying runs over close pairs sorted by (va, vb, k): arrays (first row, end
    row (exclusive), median speed of a, median speed of b). A run is a maximal stretch
    of one pair's rows at consecutive grid times; it qualifies when it lasts at least
    ``min_s`` and both median speeds are below ``max_speed_kn``. A vessel's grid points
    at consecutive grid times are consecutive in the grid arrays, so its track over a
    run is ``pa[r0]..pa[r1 - 1]``."""
    n = pa.shape[0]
    r0s = np.empty(n, dtype=np.int64)
    r1s = np.empty(n, dtype=np.int64)
    sa = np.empty(n, dtype=np.float64)
    sb = np.empty(n, dtype=np.float64)
    m = 0
    step_h = step_s / 3600.0
    r0 = 0
    while r0 < n:
        r1 = r0 + 1
        while r1 < n and va[r1] == va[r0] and vb[r1] == vb[r0] and pk[r1] == pk[r1 - 1] + 1:
            r1 += 1
        if (pk[r1 - 1] - pk[r0]) * step_s >= min_s and r1 - r0 >= 2:
            s1 = _median_speed_kn(glat, glon, pa[r0], pa[r1 - 1], step_h)
            s2 = _median_speed_kn(glat, glon, pb[r0], pb[r1 - 1], step_h)
            if s1 < max_speed_kn and s2 < max_speed_kn:
                r0s[m] = r0
                r1s[m] = r1
                sa[m] = s1
                sb[m] = s2
                m += 1
        r0 = r1
    return r0s[:m], r1s[:m], sa[:m], sb[:m]


# ---- 4. merging and the encounter's figures -------------------------------------------

@njit
def merge_runs(r0s, r1s, pk, va, vb, step_s, merge_s):
    """Groups of qualifying runs (in their pair, time order) that make one encounter:
    consecutive runs of the same pair whose gap (start of the later minus end of the
    earlier) is less than ``merge_s``. Returns (first run, end run (exclusive))."""
    n = r0s.shape[0]
    g0 = np.empty(n, dtype=np.int64)
    g1 = np.empty(n, dtype=np.int64)
    m = 0
    j = 0
    while j < n:
        e = j + 1
        while (e < n and va[r0s[e]] == va[r0s[j]] and vb[r0s[e]] == vb[r0s[j]]
               and (pk[r0s[e]] - pk[r1s[e - 1] - 1]) * step_s < merge_s):
            e += 1
        g0[m] = j
        g1[m] = e
        m += 1
        j = e
    return g0[:m], g1[:m]


@njit
def event_stats(g0, g1, r0s, r1s, pa, pb, pd, glat, glon, step_s, out_steps, out_dist,
                out_s1, out_s2, out_lat, out_lon):
    """Per encounter (runs g0[e]:g1[e]): number of close grid times, median distance,
    median speed of each vessel over the steps inside its runs, and the mean position of
    both vessels' grid points at its close grid times."""
    step_h = step_s / 3600.0
    for e in range(g0.shape[0]):
        n_rows = 0
        n_steps = 0
        for r in range(g0[e], g1[e]):
            n_rows += r1s[r] - r0s[r]
            n_steps += r1s[r] - r0s[r] - 1
        dist = np.empty(n_rows, dtype=np.float64)
        la = np.empty(2 * n_rows, dtype=np.float64)
        lo = np.empty(2 * n_rows, dtype=np.float64)
        s1 = np.empty(n_steps, dtype=np.float64)
        s2 = np.empty(n_steps, dtype=np.float64)
        i = 0
        j = 0
        for r in range(g0[e], g1[e]):
            for q in range(r0s[r], r1s[r]):
                dist[i] = pd[q]
                la[2 * i] = glat[pa[q]]
                lo[2 * i] = glon[pa[q]]
                la[2 * i + 1] = glat[pb[q]]
                lo[2 * i + 1] = glon[pb[q]]
                i += 1
                if q + 1 < r1s[r]:
                    s1[j] = haversine_nm(glat[pa[q]], glon[pa[q]], glat[pa[q] + 1],
                                         glon[pa[q] + 1]) / step_h
                    s2[j] = haversine_nm(glat[pb[q]], glon[pb[q]], glat[pb[q] + 1],
                                         glon[pb[q] + 1]) / step_h
                    j += 1
        out_steps[e] = n_rows
        out_dist[e] = median(dist)
        out_s1[e] = median(s1)
        out_s2[e] = median(s2)
        lat_e, lon_e = mean_position(la, lo)
        out_lat[e] = lat_e
        out_lon[e] = lon_e
