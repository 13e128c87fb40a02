"""Numba kernel of the spoofing-jump check (see :mod:`detectors.cleaning`)."""

from __future__ import annotations

import numba
import numpy as np

from detectors._geo import haversine_nm, implied_speed_kn
from detectors._numba import njit


@njit(parallel=True)
def jump_kernel(t, lat, lon, offsets, max_speed_kn, min_jump_nm, min_seconds,
                out_spoofed, out_ref):
    """Flag the positions that jump away from the vessel's last trusted position.

    Vessel v is rows ``offsets[v]:offsets[v+1]`` sorted by time ``t`` (epoch seconds;
    NaN for a row without time, which is neither checked nor used as a reference). A row
    is flagged (``out_spoofed[i] = True``, ``out_ref[i]`` = row of the reference) when
    its distance from the reference exceeds ``min_jump_nm`` and the implied speed, over
    at least ``min_seconds``, exceeds ``max_speed_kn``. The reference is the last row not
    flagged, so an isolated outlier flags itself only, not the return to the track.
    ``out_ref`` is -1 for rows not flagged.
    """
    n_vessels = offsets.shape[0] - 1
    for v in numba.prange(n_vessels):
        ref = -1
        for i in range(offsets[v], offsets[v + 1]):
            out_spoofed[i] = False
            out_ref[i] = -1
            if not (t[i] == t[i]):
                continue
            if ref < 0:
                ref = i
                continue
            d = haversine_nm(lat[ref], lon[ref], lat[i], lon[i])
            dt = t[i] - t[ref]
            if dt < min_seconds:
                dt = min_seconds
            if d > min_jump_nm and implied_speed_kn(d, dt) > max_speed_kn:
                out_spoofed[i] = True
                out_ref[i] = ref
            else:
                ref = i


def run(t, lat, lon, offsets, max_speed_kn, min_jump_nm, min_seconds):
    """(spoofed bool array, reference row int64 array) for contiguous inputs."""
    n = t.shape[0]
    spoofed = np.zeros(n, dtype=np.bool_)
    ref = np.full(n, -1, dtype=np.int64)
    if n:
        jump_kernel(t, lat, lon, offsets, float(max_speed_kn), float(min_jump_nm),
                    float(min_seconds), spoofed, ref)
    return spoofed, ref
