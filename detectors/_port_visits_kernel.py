"""Numba kernel of the port-visit state machine (see :mod:`detectors.port_visits`).

States per vessel: at sea (``cur == -1``) or in port ``cur`` (a visit that began at row
``start`` and was last seen inside the polygon at row ``last_in``). The in-port gap state
is not stored: it is the time between two consecutive rows of an open visit, checked
when the second arrives.
"""

from __future__ import annotations

import numba
import numpy as np

from ais._numba import helper, njit, readonly
from ports._pip import locate_many, point_in_port, within_port_nm


@helper                 # one build, not one per constant argument (ais._numba.helper)
def _emit(k, cur, start, last_in, is_open, t, min_dwell_s, out_start, out_end, out_port,
          out_open):
    if t[last_in] - t[start] >= min_dwell_s:
        out_start[k] = start
        out_end[k] = last_in
        out_port[k] = cur
        out_open[k] = is_open
        return k + 1
    return k


@njit(parallel=True)
def port_visits_kernel(t, lat, lon, inside, offsets, min_dwell_s, gap_s, exit_buffer_nm,
                       vx, vy, ring_off, poly_ring, port_poly, bbox,
                       out_start, out_end, out_port, out_open, counts):
    """Find the visits of every vessel.

    Vessel v is rows ``offsets[v]:offsets[v+1]`` (sorted by time, no NaN positions);
    ``inside[i]`` is the first port whose polygon contains row i, or -1
    (:func:`ports._pip.locate_many` with no buffer). The polygons themselves are only
    consulted on the rare rows where that is not enough: overlapping ports and the
    exit buffer. Visits of vessel v are written to
    ``out_*[offsets[v] : offsets[v] + counts[v]]``: first and last row inside the
    polygon, port index, and whether the visit was still open at the vessel's last row.
    The outputs have one slot per row, so each vessel writes only inside its own slice.
    """
    n_vessels = offsets.shape[0] - 1
    for v in numba.prange(n_vessels):
        a = offsets[v]
        b = offsets[v + 1]
        k = a
        cur = -1
        start = -1
        last_in = -1
        for i in range(a, b):
            q = inside[i]
            if cur >= 0:
                if t[i] - t[i - 1] > gap_s:
                    # an in-port gap longer than gap_hours splits the visit
                    k = _emit(k, cur, start, last_in, False, t, min_dwell_s,
                              out_start, out_end, out_port, out_open)
                    cur = -1
                elif q == cur:
                    last_in = i
                    continue
                elif q >= 0:
                    if point_in_port(lat[i], lon[i], cur, vx, vy, ring_off, poly_ring,
                                     port_poly, bbox):
                        last_in = i          # overlapping ports: stay where we are
                        continue
                    # inside a neighbouring port: the visit moves there at once
                    k = _emit(k, cur, start, last_in, False, t, min_dwell_s,
                              out_start, out_end, out_port, out_open)
                    cur = q
                    start = i
                    last_in = i
                    continue
                elif within_port_nm(lat[i], lon[i], cur, exit_buffer_nm, vx, vy, ring_off,
                                    poly_ring, port_poly, bbox):
                    continue
                else:
                    k = _emit(k, cur, start, last_in, False, t, min_dwell_s,
                              out_start, out_end, out_port, out_open)
                    cur = -1
                    continue
            if q >= 0:
                cur = q
                start = i
                last_in = i
        if cur >= 0:
            k = _emit(k, cur, start, last_in, True, t, min_dwell_s,
                      out_start, out_end, out_port, out_open)
        counts[v] = k - a


def run(t: np.ndarray, lat: np.ndarray, lon: np.ndarray, offsets: np.ndarray,
        min_dwell_s: float, gap_s: float, exit_buffer_nm: float, arrays: tuple):
    """Call the kernel and return the compacted (start, end, port, open) arrays."""
    n = len(t)
    out_start = np.empty(n, dtype=np.int64)
    out_end = np.empty(n, dtype=np.int64)
    out_port = np.empty(n, dtype=np.int32)
    out_open = np.empty(n, dtype=np.bool_)
    counts = np.zeros(max(len(offsets) - 1, 0), dtype=np.int64)
    if n:
        inside = np.empty(n, dtype=np.int32)
        lat, lon = readonly(lat), readonly(lon)      # one specialisation of each kernel
        locate_many(lat, lon, 0.0, *arrays, inside)
        port_visits_kernel(t, lat, lon, inside, offsets, float(min_dwell_s), float(gap_s),
                           float(exit_buffer_nm), *arrays,
                           out_start, out_end, out_port, out_open, counts)
    # vessel v's visits are the first counts[v] slots of its slice: their row numbers
    # (one per visit) rather than a mask built from arrays of every row
    first = offsets[:-1]
    total = int(counts.sum())
    keep = np.repeat(first - (np.cumsum(counts) - counts), counts) + np.arange(total, dtype=np.int64)
    return out_start[keep], out_end[keep], out_port[keep], out_open[keep]
