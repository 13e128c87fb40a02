"""Numba kernels of the track segmentation (see :mod:`detectors.identity_tracks`).

- :func:`assign_tracks`: per vessel (``prange`` over the offsets layout), each row with a
  position goes to the open track it can be reached from (from any of the track's last
  ``lookback`` fixes at no more than ``max_speed_kn`` over the time between them plus
  ``tolerance_s``); the best-scoring such track when several can (score in
  :mod:`detectors.identity_tracks`); a new track when none can. At most ``max_open``
  tracks are open; opening one more closes the one silent longest. Writes the vessel-local
  track number (0, 1, ... in order of creation; -1 for rows without a time or position)
  and returns the vessel's track count.
- :func:`fill_labels`: per vessel, rows whose track was not kept (label -1) take the kept
  label whose latest fix before them is nearest (see the function).
- :func:`echo_mask`: which fixes of one track lie on another's path within a time shift.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from detectors._sorted import search_sorted
from ports._geo import haversine_nm, point_segment_distance_nm
from ais._numba import njit

MIN_HOURS = 1.0 / 3600.0    # one second: receive times have one-second resolution


@njit
def _vessel_tracks(t, lat, lon, a, b, max_speed_kn, tolerance_s, max_open, lookback,
                   short_positions, penalty_speed_kn, out_track):
    slot_track = np.empty(max_open, dtype=np.int64)
    slot_last_t = np.empty(max_open, dtype=np.float64)
    slot_pos = np.zeros(max_open, dtype=np.int64)
    hist = np.empty((max_open, lookback), dtype=np.int64)
    v0 = penalty_speed_kn
    n_open = 0
    n_tracks = 0
    for i in range(a, b):
        if not (t[i] == t[i] and lat[i] == lat[i] and lon[i] == lon[i]):
            out_track[i] = -1
            continue
        best = -1
        best_score = 0.0
        for s in range(n_open):
            n_hist = min(slot_pos[s], lookback)
            score_s = -1.0
            for h in range(n_hist):
                j = hist[s, h]
                d = haversine_nm(lat[j], lon[j], lat[i], lon[i])
                hours = (t[i] - t[j] + tolerance_s) / 3600.0
                if hours < MIN_HOURS:
                    hours = MIN_HOURS
                if d > max_speed_kn * hours:
                    continue
                if n_open == 1:
                    # the only open track takes any row it can reach, whatever the score:
                    # the common case of one ship per MMSI costs one distance per row
                    score_s = 1.0
                    break
                v = d / hours
                score = math.exp(-(v / v0) ** 2) / hours
                if score > score_s:
                    score_s = score
            if score_s < 0.0:
                continue
            ratio = slot_pos[s] / short_positions
            score_s *= ratio / math.sqrt(1.0 + ratio * ratio)
            # best score; ties: the track heard most recently, then the older track
            if (best < 0 or score_s > best_score
                    or (score_s == best_score and (slot_last_t[s] > slot_last_t[best]
                                                   or (slot_last_t[s] == slot_last_t[best]
                                                       and slot_track[s] < slot_track[best])))):
                best = s
                best_score = score_s
        if best < 0:
            if n_open < max_open:
                best = n_open
                n_open += 1
            else:
                best = 0
                for s in range(1, n_open):
                    if (slot_last_t[s] < slot_last_t[best]
                            or (slot_last_t[s] == slot_last_t[best]
                                and slot_track[s] < slot_track[best])):
                        best = s
            slot_track[best] = n_tracks
            slot_pos[best] = 0
            n_tracks += 1
        hist[best, slot_pos[best] % lookback] = i
        slot_pos[best] += 1
        slot_last_t[best] = t[i]
        out_track[i] = slot_track[best]
    return n_tracks


@njit(parallel=True)
def _assign(t, lat, lon, offsets, max_speed_kn, tolerance_s, max_open, lookback,
            short_positions, penalty_speed_kn, out_track, out_counts):
    for v in numba.prange(offsets.shape[0] - 1):
        out_counts[v] = _vessel_tracks(t, lat, lon, offsets[v], offsets[v + 1], max_speed_kn,
                                       tolerance_s, max_open, lookback, short_positions,
                                       penalty_speed_kn, out_track)


def assign_tracks(t, lat, lon, offsets, max_speed_kn, tolerance_s, max_open, lookback,
                  short_positions, penalty_speed_kn):
    """(vessel-local track per row, -1 without time/position; tracks per vessel).

    Rows of vessel v are ``offsets[v]:offsets[v+1]``, sorted by time ``t`` (float epoch
    seconds, NaN for no time) with ties in a fixed order."""
    n = t.shape[0]
    track = np.full(n, -1, dtype=np.int64)
    counts = np.zeros(offsets.shape[0] - 1, dtype=np.int64)
    if n:
        _assign(t, lat, lon, offsets, float(max_speed_kn), float(tolerance_s), int(max_open),
                int(lookback), float(short_positions), float(penalty_speed_kn), track, counts)
    return track, counts


@njit
def _nearest_label(lat, lon, i, last, n_labels, prefer):
    """The label whose fix ``last[label]`` is nearest to row i (ties: ``prefer`` when it
    is among them, then the lowest label); -1 when no label has a fix."""
    best = -1
    best_d = math.inf
    for k in range(n_labels):
        j = last[k]
        if j < 0:
            continue
        d = haversine_nm(lat[j], lon[j], lat[i], lon[i])
        if not (d == d):
            d = math.inf
        if best < 0 or d < best_d or (d == best_d and k == prefer):
            best = k
            best_d = d
    return best


@njit(parallel=True)
def _fill(label, lat, lon, offsets, n_labels, out):
    for v in numba.prange(offsets.shape[0] - 1):
        a = offsets[v]
        b = offsets[v + 1]
        m = n_labels[v]
        if m <= 1:
            for i in range(a, b):
                out[i] = 0
            continue
        last = np.full(m, -1, dtype=np.int64)
        recent = np.int64(-1)     # not a literal: one version of _nearest_label
        for i in range(a, b):
            if label[i] >= 0:
                out[i] = label[i]
                last[label[i]] = i
                recent = label[i]
            else:
                out[i] = _nearest_label(lat, lon, i, last, m, recent)
        # leading rows: the kept fix after them that is nearest
        nxt = np.full(m, -1, dtype=np.int64)
        first = np.int64(-1)
        for i in range(b - 1, a - 1, -1):
            if label[i] >= 0:
                nxt[label[i]] = i
                first = label[i]
            elif out[i] < 0:
                out[i] = _nearest_label(lat, lon, i, nxt, m, first)
                if out[i] < 0:
                    out[i] = 0


def fill_labels(label, lat, lon, offsets, n_labels):
    """Labels with every -1 (a row of a track not kept, or without a position) replaced by
    the kept label whose latest fix before the row is nearest to it (the most recent kept
    label for a row without a position; for rows before any kept fix, the label whose
    first fix after is nearest). ``n_labels``: kept labels per vessel (0 or 1: all 0)."""
    out = np.zeros(label.shape[0], dtype=np.int64)
    if label.shape[0]:
        _fill(label, lat, lon, offsets, n_labels, out)
    return out


@njit
def echo_mask(t_b, lat_b, lon_b, t_a, lat_a, lon_a, shift_s, distance_nm):
    """For each fix of track B (times ``t_b``), whether it lies within ``distance_nm`` of
    track A's path (its fixes and the straight legs between consecutive ones) as A sailed
    it within ``shift_s`` seconds of the fix's time: a fix of A sent with a wrong time.
    ``t_a`` sorted."""
    n_b = t_b.shape[0]
    n_a = t_a.shape[0]
    out = np.zeros(n_b, dtype=np.bool_)
    for i in range(n_b):
        lo = search_sorted(t_a, 0, n_a, t_b[i] - shift_s, False)
        hi = search_sorted(t_a, 0, n_a, t_b[i] + shift_s, True)
        for j in range(lo, hi):
            if j + 1 < hi:
                d = point_segment_distance_nm(lat_b[i], lon_b[i], lat_a[j], lon_a[j],
                                              lat_a[j + 1], lon_a[j + 1])
            else:
                d = haversine_nm(lat_b[i], lon_b[i], lat_a[j], lon_a[j])
            if d <= distance_nm:
                out[i] = True
                break
    return out
