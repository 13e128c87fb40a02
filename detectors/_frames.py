"""Shared plumbing of the public detector functions: the rows a detector uses, times as
float seconds, the vessel each row belongs to, and threshold validation. Kernels never
see DataFrames; this is the DataFrame side of that boundary.

**The vessel of a row** is its (mmsi, track). ``track`` is the column
:func:`detectors.identity_tracks.split_tracks` labels: 0 for the only (or main) ship of
an MMSI, 1, 2, ... for the other ships sharing it. A frame without the column is all
track 0. Every per-vessel kernel takes rows sorted by (mmsi, track, timestamp) with one
``offsets`` slice per (mmsi, track) (:func:`vessel_slices`), and every event says its
``track``; an MMSI nobody shares is one slice, as it always was, so the split costs it
one comparison per row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from ais.schema import in_vessel_order, sort_by_vessel_time, vessel_offsets

TRACK = "track"


def utc_ns(ts: pd.Series) -> pd.Series:
    """``pd.to_datetime(ts, utc=True).dt.as_unit("ns")``: a datetime column in UTC with
    nanoseconds, the column itself (no copy) when it is one already. pandas copies the
    column in both of those calls whatever its dtype, and the detectors call this on
    every usable position (8 bytes a row each time, 37 MB on the e2e feed)."""
    dtype = ts.dtype
    if isinstance(dtype, pd.DatetimeTZDtype) and dtype.unit == "ns" and str(dtype.tz) == "UTC":
        return ts
    return pd.to_datetime(ts, utc=True).dt.as_unit("ns")


def epoch_seconds(ts: pd.Series) -> np.ndarray:
    """float64 seconds since the epoch of a datetime column (any unit; NaN for NaT)."""
    values = utc_ns(ts).array
    # the column's own int64 nanoseconds (no copy): one new array a call, the result,
    # rather than three (this runs in every detector over every usable position)
    ns = values.asi8
    out = ns.astype(np.float64)
    out /= 1e9
    nat = ns == np.iinfo(np.int64).min
    if nat.any():
        out[nat] = np.nan
    return out


def tracks_of(frame: pd.DataFrame) -> np.ndarray:
    """The ``track`` of every row as int64 (all 0 when the frame has no such column)."""
    if TRACK in frame.columns:
        return np.ascontiguousarray(frame[TRACK].to_numpy(dtype=np.int64))
    return np.zeros(len(frame), dtype=np.int64)


def vessel_slices(mmsi: np.ndarray, track: np.ndarray) -> np.ndarray:
    """``offsets`` of each (mmsi, track) slice of rows sorted by (mmsi, track, time)."""
    return vessel_offsets(mmsi, track if track.any() else None)


def vessel_keys(*pairs: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """One int64 key per vessel (mmsi, track) for each ``(mmsi, track)`` pair of arrays
    given, the same vessel getting the same key in all of them and keys ordered as (mmsi,
    track) are. Without a track other than 0 the keys are the MMSIs themselves (nothing
    is computed)."""
    mmsis = [np.asarray(m, dtype=np.int64) for m, _ in pairs]
    tracks = [np.asarray(t, dtype=np.int64) for _, t in pairs]
    if not any(t.any() for t in tracks):
        return mmsis
    coded = _vessel_codes(mmsis, tracks)
    if coded is not None:
        return coded
    m = np.concatenate(mmsis)
    t = np.concatenate(tracks)
    order = np.lexsort((t, m))
    ms, ts = m[order], t[order]
    new = np.r_[True, (ms[1:] != ms[:-1]) | (ts[1:] != ts[:-1])] if len(m) else np.zeros(0, bool)
    key = np.empty(len(m), dtype=np.int64)
    key[order] = np.cumsum(new) - 1
    return np.split(key, np.cumsum([len(x) for x in mmsis])[:-1])


def _vessel_codes(mmsis: list[np.ndarray], tracks: list[np.ndarray]) -> list[np.ndarray] | None:
    """:func:`vessel_keys` through one int64 code a row, ``(mmsi - lowest) * (highest
    track + 1) + track``, which orders as (mmsi, track) do: the distinct codes of every
    array (few: one a vessel) sorted, and each row's key its code's rank among them. The
    same keys as a lexsort of all the rows together, at two arrays of 8 bytes a row
    rather than seven. None when the codes would not fit (a negative track, MMSIs too
    far apart): the lexsort then decides."""
    lo = min((int(m.min()) for m in mmsis if len(m)), default=0)
    hi = max((int(m.max()) for m in mmsis if len(m)), default=0)
    t_lo = min((int(t.min()) for t in tracks if len(t)), default=0)
    t_hi = max((int(t.max()) for t in tracks if len(t)), default=0)
    if t_lo < 0 or (hi - lo + 1) * (t_hi + 1) >= 2**62:
        return None
    codes = []
    for m, t in zip(mmsis, tracks):
        c = m - lo
        c *= t_hi + 1
        c += t
        codes.append(c)
    distinct = np.unique(np.concatenate([_distinct(c) for c in codes]))
    return [np.searchsorted(distinct, c).astype(np.int64, copy=False) for c in codes]


def _distinct(code: np.ndarray) -> np.ndarray:
    """The distinct values of ``code`` (any order), without a sort of all of it when its
    rows are grouped in order (as the detectors' rows are)."""
    if len(code) > 1 and bool((code[1:] >= code[:-1]).all()):
        return code[np.r_[True, code[1:] != code[:-1]]]
    return np.unique(code)


def usable_positions(positions: pd.DataFrame) -> pd.DataFrame:
    """Rows the detectors use: a position and a time, not flagged ``spoofed``, sorted by
    (mmsi, track, timestamp, source, line) with a fresh index (no ``track`` column: track
    0). A frame already in that order, as ``ais`` delivers it and the cleaning returns
    it, is not sorted again (a stable sort of it would give the same order): the check
    looks at (source, line) only where a vessel has two rows at the same time."""
    ok = positions["lat"].notna() & positions["lon"].notna() & positions["timestamp"].notna()
    if "spoofed" in positions.columns:
        ok &= ~positions["spoofed"].fillna(False).astype(bool)
    pos = positions if bool(ok.all()) else positions.loc[ok]
    if len(pos) > 1 and not in_vessel_order(pos):
        pos = sort_by_vessel_time(pos)
    return pos.reset_index(drop=True)


def with_track(event_id_parts: tuple, track: int) -> tuple:
    """The parts of an event's id, with its track when it is not 0: an MMSI nobody shares
    keeps the ids it always had."""
    return event_id_parts + (f"track {int(track)}",) if track else event_id_parts


def check_non_negative(params, names) -> None:
    """Raise ``ConfigError`` unless every named field of ``params`` is a finite number >= 0."""
    for name in names:
        value = getattr(params, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise ConfigError(None, f"{name} = {value!r} is not a number >= 0",
                              f"set {name} to a finite non-negative number")
