"""Numba kernel of the spoofing-jump check (see :mod:`detectors.cleaning`)."""

from __future__ import annotations

import numba
import numpy as np

from ais._numba import helper, njit
from ports._geo import haversine_nm, implied_speed_kn


@helper                 # one build, not one per constant argument (ais._numba.helper)
def _is_jump(t, lat, lon, a, b, max_speed_kn, min_jump_nm, min_seconds):
    d = haversine_nm(lat[a], lon[a], lat[b], lon[b])
    dt = t[b] - t[a]
    if dt < min_seconds:
        dt = min_seconds
    return d > min_jump_nm and implied_speed_kn(d, dt) > max_speed_kn


@njit(parallel=True)
def jump_kernel(t, lat, lon, offsets, max_speed_kn, min_jump_nm, min_seconds,
                new_track_positions, out_spoofed, out_ref):
    """Flag the positions that jump away from the vessel's last trusted position.

    Vessel v is rows ``offsets[v]:offsets[v+1]`` sorted by time ``t`` (epoch seconds;
    NaN for a row without time, which is neither checked nor used as a reference). A row
    is flagged (``out_spoofed[i] = True``, ``out_ref[i]`` = row of the reference) when
    its distance from the reference exceeds ``min_jump_nm`` and the implied speed, over
    at least ``min_seconds``, exceeds ``max_speed_kn``. The reference is the last row not
    flagged, so an isolated outlier flags itself only, not the return to the track.
    When ``new_track_positions`` flagged rows in a row (no trusted row between them)
    follow one another plausibly, they are the vessel's track and the reference was the
    odd one out: all but the first are unflagged and the last becomes the reference.
    ``out_ref`` is -1 for rows not flagged.
    """
    n_vessels = offsets.shape[0] - 1
    for v in numba.prange(n_vessels):
        ref = -1
        run_start = -1
        run_last = -1
        run_len = 0
        for i in range(offsets[v], offsets[v + 1]):
            out_spoofed[i] = False
            out_ref[i] = -1
            if not (t[i] == t[i]):
                continue
            if ref < 0:
                ref = i
                continue
            if not _is_jump(t, lat, lon, ref, i, max_speed_kn, min_jump_nm, min_seconds):
                ref = i
                run_len = 0
                continue
            out_spoofed[i] = True
            out_ref[i] = ref
            if run_len > 0 and not _is_jump(t, lat, lon, run_last, i, max_speed_kn,
                                             min_jump_nm, min_seconds):
                run_len += 1
            else:
                run_start = i
                run_len = 1
            run_last = i
            if run_len >= new_track_positions:
                for q in range(run_start + 1, i + 1):
                    out_spoofed[q] = False
                    out_ref[q] = -1
                ref = i
                run_len = 0


def run(t, lat, lon, offsets, max_speed_kn, min_jump_nm, min_seconds, new_track_positions):
    """(spoofed bool array, reference row int64 array) for contiguous inputs."""
    n = t.shape[0]
    spoofed = np.zeros(n, dtype=np.bool_)
    ref = np.full(n, -1, dtype=np.int64)
    if n:
        jump_kernel(t, lat, lon, offsets, float(max_speed_kn), float(min_jump_nm),
                    float(min_seconds), int(new_track_positions), spoofed, ref)
    return spoofed, ref
