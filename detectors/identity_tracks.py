"""Shared MMSIs: one MMSI's positions split into the tracks of the ships that broadcast it.

Definition (DESIGN.md, contract): a ``shared_mmsi`` anomaly is one MMSI carrying two or
more ships at once: its positions split into tracks that are each plausible on their own
and mutually impossible at ``max_speed_kn`` [50], each with at least
``shared_min_positions`` [10] positions over at least ``shared_min_hours`` [1] and
overlapping in time. A few stray fixes are spoofing jumps, not a second ship: they stay on
a ship's track, where the cleaning's spoofing rule (:mod:`detectors.cleaning`) flags them.

**Segmentation** (the idea of Global Fishing Watch's gpsdio-segment). A vessel's
positions, in time order, are dealt out one by one to open tracks. A position can join a
track when it lies within ``segment_speed_kn`` [25] x (hours since one of the track's
last ``track_lookback_positions`` [3] fixes + ``track_time_tolerance_minutes`` [15]/60)
of that fix: receive times, above all from satellites, can be minutes off, so every
interval is padded (GFW pads by 15 min); looking back past the last fix lets a track step
over one wrong fix. Among the tracks it can join, the position goes to the best score

    score = w * exp(-(v / segment_penalty_speed_kn)^2) / h,   w = a / sqrt(1 + a^2)

with ``h`` the padded hours, ``v`` the distance over ``h`` and ``a`` the track's positions
over ``shared_min_positions``: recent, near and established tracks win, and a young track
(a stray fix) needs a much better fit to take a position from an established one (GFW's
metric and its down-weighting of short segments, without its course/speed projection,
hence a penalty speed of 12.5 kn, a cargo ship under way, rather than GFW's 5). When no
track can take the position it opens a new one. At most ``max_open_tracks`` [20] are open
(opening another closes the one silent longest), so junk positions cost a bounded amount.
Tracks are built at ``segment_speed_kn`` (GFW's 25 kn), a ship's speed, rather than at the
50 kn of impossibility: otherwise, after a few hours of silence, a track could jump to
another ship 150 nm away.

**Decision.**

- A track is **kept** when it has at least ``shared_min_positions`` positions spanning
  at least ``shared_min_hours``.
- A kept track is an **echo** of a larger kept track it overlaps when fewer than
  ``shared_min_positions`` of its fixes lie off the larger track's path (farther than
  ``echo_distance_nm`` [2] from where that ship sailed within ``echo_max_shift_hours``
  [3]): they are that ship's own positions sent with wrong times (a real feed, GFW's
  338013000, has a dozen such fixes 0.6 to 1.9 h early), not a second ship. Echoes are
  not kept.
- Two kept tracks **overlap** when each has a position inside the time span common to
  both (a track lying wholly inside a silence of the other never was on the air with it),
  and are **mutually impossible** when the consecutive positions that switch between them
  in that span imply, at the median, more than ``max_speed_kn`` (over at least one
  second, as in the cleaning): two tracks 40 nm apart heard alternately every hour (40 kn)
  may be one fast ship; every 30 minutes (80 kn) they cannot.
- An MMSI with two overlapping, mutually impossible kept tracks is **shared**. Its kept tracks get labels: 0
  for the one with most positions, then 1, 2, ... by first position. Every other row
  (stray fixes, short tracks, echoes, rows without a time or a position) takes the label
  whose latest fix before it is nearest (:func:`~detectors._identity_tracks_kernel.fill_labels`).
  An MMSI that is not shared is all track 0, whatever its stray fixes.

One ``shared_mmsi`` row per period in which kept tracks overlap (the overlap intervals of
all such pairs merged): ``start_utc``/``end_utc`` bound it; ``evidence`` gives each track's
positions, span and first fix, and how the consecutive positions that switch between the
tracks compare with ``max_speed_kn``.

Longitudes wrap at +-180 degrees: distances are haversine (:mod:`ports._geo`) and the
path distance of echoes wraps longitudes, so a ship crossing the antimeridian is one
track. Positions of one vessel with equal times are dealt out in (lat, lon) order, so the
labels do not depend on the input's row order. Defaults: ``max_speed_kn`` is the
cleaning's (the same config key); ``shared_min_positions`` 10 and 1 h are DESIGN.md's (GFW
treats segments under 10 messages as short); 25 kn, 15 min and 20 open tracks are GFW
gpsdio-segment's (max_knots, buffer_hours, max_open_segments); 3 fixes of lookback (GFW:
5), the 12.5 kn penalty (half of ``segment_speed_kn``) and the echo thresholds are this
project's.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from ais.schema import vessel_offsets
from detectors import _identity_tracks_kernel as _k
from detectors._frames import check_non_negative, utc_ns
from ports._geo import haversine_nm_array
from detectors._identity_rows import SHARED_MMSI, identity_frame

MIN_SECONDS = 1.0
TRACK_COLUMNS = ("mmsi", "track", "n_positions", "first_utc", "last_utc", "shared")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrackParams:
    """Thresholds of the track segmentation (units in the names)."""

    max_speed_kn: float = 50.0
    segment_speed_kn: float = 25.0
    segment_penalty_speed_kn: float = 12.5
    track_time_tolerance_minutes: float = 15.0
    shared_min_positions: int = 10
    shared_min_hours: float = 1.0
    track_lookback_positions: int = 3
    max_open_tracks: int = 20
    echo_max_shift_hours: float = 3.0
    echo_distance_nm: float = 2.0

    def __post_init__(self):
        check_non_negative(self, ("max_speed_kn", "segment_speed_kn",
                                  "segment_penalty_speed_kn", "track_time_tolerance_minutes",
                                  "shared_min_hours",
                                  "echo_max_shift_hours", "echo_distance_nm"))
        if 0 in (self.max_speed_kn, self.segment_speed_kn, self.segment_penalty_speed_kn):
            raise ConfigError(None, "a speed of 0 would make every move impossible",
                              "set max_speed_kn (default 50) and segment_speed_kn (default "
                              "25) to positive speeds in knots")
        if self.segment_speed_kn > self.max_speed_kn:
            raise ConfigError(None, f"segment_speed_kn = {self.segment_speed_kn!r} is above "
                              f"max_speed_kn = {self.max_speed_kn!r}: a track would join "
                              "moves the shared-MMSI rule calls impossible",
                              "set segment_speed_kn to at most max_speed_kn")
        for name, low in (("shared_min_positions", 1), ("track_lookback_positions", 1),
                          ("max_open_tracks", 2)):
            n = getattr(self, name)
            if isinstance(n, bool) or not isinstance(n, int) or n < low:
                raise ConfigError(None, f"{name} = {n!r} is not a whole number >= {low}",
                                  f"set {name} to a count of at least {low}")


@dataclasses.dataclass(frozen=True)
class TrackSplit:
    """What :func:`split_tracks` found.

    ``track``: int64 label per row of the input, in the input's row order (0 the main or
    only track). ``shared``: ``shared_mmsi`` rows of the identity table. ``tracks``: one
    row per (mmsi, track) of the shared MMSIs: :data:`TRACK_COLUMNS`."""

    track: np.ndarray
    shared: pd.DataFrame
    tracks: pd.DataFrame


def _sort_order(mmsi, ns, lat, lon) -> np.ndarray:
    """Row order by (mmsi, time with NaT last, lat, lon, input row): equal-time fixes of
    one vessel always meet the segmentation in the same order. Frames already sorted by
    (mmsi, time), as ``ais`` delivers them, cost one pass plus a small sort of the
    equal-time groups."""
    n = len(mmsi)
    t = ns.copy()
    t[ns == np.iinfo(np.int64).min] = np.iinfo(np.int64).max
    if n > 1 and bool(np.all((mmsi[1:] > mmsi[:-1])
                             | ((mmsi[1:] == mmsi[:-1]) & (t[1:] >= t[:-1])))):
        order = np.arange(n)
    else:
        order = np.lexsort((t, mmsi))
    ms, ts = mmsi[order], t[order]
    tie = np.r_[False, (ms[1:] == ms[:-1]) & (ts[1:] == ts[:-1])]
    if tie.any():
        first = np.r_[tie[1:], False] & ~tie                 # first row of each tie group
        group = np.cumsum(first)
        rows = np.flatnonzero(tie | first)
        sub = order[rows]
        la = np.where(np.isnan(lat[sub]), np.inf, lat[sub])
        lo = np.where(np.isnan(lon[sub]), np.inf, lon[sub])
        order[rows] = sub[np.lexsort((sub, lo, la, group[rows]))]
    return order


def split_tracks(positions: pd.DataFrame, params: TrackParams = TrackParams(), *,
                 imos: Mapping[int, int] | None = None) -> TrackSplit:
    """Track labels of every row of ``positions`` and the ``shared_mmsi`` rows.

    ``positions``: the positions frame (columns mmsi, timestamp, lat, lon; any row order;
    rows without a time or position are labelled but not used). Run it before the
    cleaning, on every position: the cleaning and the detectors then work per (mmsi,
    track). ``imos``: mmsi -> IMO for the rows' ``imo`` column.
    """
    if not isinstance(params, TrackParams):
        raise TypeError("params must be a TrackParams")
    n = len(positions)
    if n == 0:
        return TrackSplit(np.zeros(0, dtype=np.int64), identity_frame([]), empty_tracks())
    mmsi_in = positions["mmsi"].to_numpy(dtype=np.int64)
    ts = utc_ns(positions["timestamp"])
    # the frame's own arrays (read only; ``_sort_order`` copies what it changes): the
    # positions are most of a run's memory, and every array here is 8 bytes a row
    ns_in = ts.array.asi8
    lat_in = positions["lat"].to_numpy(dtype=np.float64)
    lon_in = positions["lon"].to_numpy(dtype=np.float64)
    order = _sort_order(mmsi_in, ns_in, lat_in, lon_in)
    mmsi = np.ascontiguousarray(mmsi_in[order])
    ns = ns_in[order]
    lat = np.ascontiguousarray(lat_in[order])
    lon = np.ascontiguousarray(lon_in[order])
    del ts, ns_in, lat_in, lon_in, mmsi_in
    t = ns.astype(np.float64)
    t /= 1e9
    t[ns == np.iinfo(np.int64).min] = np.nan
    offsets = vessel_offsets(mmsi)
    local, counts = _k.assign_tracks(t, lat, lon, offsets, params.segment_speed_kn,
                                     params.track_time_tolerance_minutes * 60.0,
                                     params.max_open_tracks, params.track_lookback_positions,
                                     params.shared_min_positions,
                                     params.segment_penalty_speed_kn)
    vessel = np.repeat(np.arange(len(counts)), np.diff(offsets))
    toff = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=toff[1:])
    gid = np.where(local >= 0, toff[vessel] + local, -1)
    del vessel, local
    n_tracks = int(toff[-1])

    rows_of = _TrackRows(gid, n_tracks)
    size = rows_of.size
    first_ns = ns[rows_of.first] if n_tracks else np.zeros(0, dtype=np.int64)
    last_ns = ns[rows_of.last] if n_tracks else np.zeros(0, dtype=np.int64)
    kept = (size >= params.shared_min_positions) & \
        ((last_ns - first_ns) / 1e9 >= params.shared_min_hours * 3600.0)
    track_vessel = np.repeat(np.arange(len(counts)), counts)
    kept_per_vessel = np.bincount(track_vessel[kept], minlength=len(counts))

    label_of_track = np.zeros(n_tracks, dtype=np.int64)
    n_labels = np.ones(len(counts), dtype=np.int64)
    rows, summaries = [], []
    imos = imos or {}
    for v in np.flatnonzero(kept_per_vessel >= 2):
        gids = np.arange(toff[v], toff[v + 1])[kept[toff[v]:toff[v + 1]]]
        by_size = sorted(gids, key=lambda g: (-size[g], first_ns[g], g))
        by_size = _drop_echoes(by_size, rows_of, t, lat, lon, ns, first_ns, last_ns, params)
        periods = _overlap_periods(by_size, rows_of, ns, first_ns, last_ns, t, lat, lon,
                                   params.max_speed_kn)
        if not periods:
            continue
        ranked = [by_size[0]] + sorted(by_size[1:], key=lambda g: (first_ns[g], g))
        label_of_track[toff[v]:toff[v + 1]] = -1
        for lab, g in enumerate(ranked):
            label_of_track[g] = lab
        n_labels[v] = len(ranked)
        m = int(mmsi[offsets[v]])
        for lo, hi, members in periods:
            rows.append(_shared_row(m, lo, hi, members, ranked, rows_of, t, lat, lon, ns,
                                    size, params, imos.get(m)))
        summaries.append(v)
    label = np.where(gid >= 0, label_of_track[np.maximum(gid, 0)], -1)
    del gid, rows_of
    filled = _k.fill_labels(np.ascontiguousarray(label), lat, lon, offsets, n_labels)
    del label
    out = np.empty(n, dtype=np.int64)
    out[order] = filled
    return TrackSplit(out, identity_frame(rows),
                      _track_table(mmsi, ns, filled, offsets, summaries))


def label_messages(messages: pd.DataFrame, positions: pd.DataFrame) -> np.ndarray:
    """The track of each message without a position (a static report), int64 per row of
    ``messages`` (columns mmsi, timestamp): the track of its MMSI's position nearest in
    time (``positions`` with the ``track`` column :func:`split_tracks` labels). A
    transponder sends its static data between its position reports, so the ship heard
    nearest in time sent it; only the MMSIs with a second track need looking at, every
    other message (and one without a time) is track 0. Ties go to the earlier position."""
    out = np.zeros(len(messages), dtype=np.int64)
    if not len(messages) or not len(positions) or "track" not in positions.columns:
        return out
    track = positions["track"].to_numpy(dtype=np.int64)
    shared = np.unique(positions["mmsi"].to_numpy(dtype=np.int64)[track > 0])
    if not len(shared):
        return out
    pos = positions[positions["mmsi"].isin(shared) & positions["timestamp"].notna()]
    fixes = pd.DataFrame({"mmsi": pos["mmsi"].to_numpy(dtype=np.int64),
                          "t": pd.to_datetime(pos["timestamp"], utc=True).dt.as_unit("ns"),
                          "label": pos["track"].to_numpy(dtype=np.int64)})
    fixes = fixes.sort_values(["t", "mmsi", "label"], kind="mergesort")
    times = pd.to_datetime(messages["timestamp"], utc=True).dt.as_unit("ns")
    m = messages["mmsi"].to_numpy(dtype=np.int64)
    rows = np.flatnonzero(np.isin(m, shared) & times.notna().to_numpy())
    if not len(rows):
        return out
    want = pd.DataFrame({"row": rows, "mmsi": m[rows], "t": times.iloc[rows].to_numpy()})
    want = want.sort_values("t", kind="mergesort")
    got = pd.merge_asof(want, fixes, on="t", by="mmsi", direction="nearest")
    out[got["row"].to_numpy()] = got["label"].fillna(0).to_numpy(dtype=np.int64)
    return out


class _TrackRows:
    """Row indices of each global track, in time order (rows are time-sorted per vessel):
    ``rows_of[g]``; ``size``, ``first`` and ``last`` row of every track, vectorised."""

    def __init__(self, gid: np.ndarray, n_tracks: int):
        ok = np.flatnonzero(gid >= 0)
        self.by = ok[np.argsort(gid[ok], kind="stable")]
        self.bounds = np.searchsorted(gid[self.by], np.arange(n_tracks + 1))
        self.size = np.diff(self.bounds)
        self.first = self.by[self.bounds[:-1]] if n_tracks else self.by[:0]
        self.last = self.by[self.bounds[1:] - 1] if n_tracks else self.by[:0]

    def __getitem__(self, g) -> np.ndarray:
        return self.by[self.bounds[g]:self.bounds[g + 1]]


def _overlap(a, b, rows_of, ns, first_ns, last_ns) -> tuple[int, int] | None:
    """[lo, hi] (ns) common to tracks a and b when each has a fix inside it, else None."""
    lo = max(first_ns[a], first_ns[b])
    hi = min(last_ns[a], last_ns[b])
    if hi > lo and _has_fix_in(ns[rows_of[a]], lo, hi) and _has_fix_in(ns[rows_of[b]], lo, hi):
        return int(lo), int(hi)
    return None


def _drop_echoes(by_size, rows_of, t, lat, lon, ns, first_ns, last_ns, params) -> list:
    """Kept tracks, largest first, without the *echo* tracks: a track overlapping a larger
    one with fewer than ``shared_min_positions`` fixes off that track's path (within
    ``echo_distance_nm`` of where it sailed within ``echo_max_shift_hours``): positions of
    the larger track's ship sent with wrong times, not a second ship."""
    live: list = []
    for b in by_size:
        echo = False
        for a in live:
            if _overlap(a, b, rows_of, ns, first_ns, last_ns) is None:
                continue
            ra, rb = rows_of[a], rows_of[b]
            on_path = _k.echo_mask(t[rb], lat[rb], lon[rb], t[ra], lat[ra], lon[ra],
                                   params.echo_max_shift_hours * 3600.0,
                                   params.echo_distance_nm)
            if int(np.sum(~on_path)) < params.shared_min_positions:
                echo = True
                break
        if not echo:
            live.append(b)
    return live


def _switch_speeds(rows_a, rows_b, lo, hi, t, lat, lon) -> tuple[np.ndarray, np.ndarray]:
    """(distance nm, implied speed kn, over at least one second) of every pair of
    consecutive fixes inside [lo, hi] that switches between track a and track b."""
    a = rows_a[(t[rows_a] >= lo) & (t[rows_a] <= hi)]
    b = rows_b[(t[rows_b] >= lo) & (t[rows_b] <= hi)]
    rows = np.concatenate([a, b])
    which = np.r_[np.zeros(len(a), dtype=bool), np.ones(len(b), dtype=bool)]
    order = np.argsort(rows, kind="stable")            # rows are in time order
    rows, which = rows[order], which[order]
    sw = np.flatnonzero(which[1:] != which[:-1])
    i, j = rows[sw], rows[sw + 1]
    dist = haversine_nm_array(lat[i], lon[i], lat[j], lon[j])
    return dist, dist / (np.maximum(t[j] - t[i], MIN_SECONDS) / 3600.0)


def _overlap_periods(gids, rows_of, ns, first_ns, last_ns, t, lat, lon,
                     max_speed_kn) -> list[tuple[int, int, set]]:
    """Merged intervals [lo, hi] (ns) in which two kept tracks were both on the air and
    mutually impossible (the median speed implied by the consecutive fixes switching
    between them above ``max_speed_kn``), each with the set of tracks in it."""
    spans = []
    for x in range(len(gids)):
        for y in range(x + 1, len(gids)):
            a, b = gids[x], gids[y]
            span = _overlap(a, b, rows_of, ns, first_ns, last_ns)
            if span is None:
                continue
            _, speed = _switch_speeds(rows_of[a], rows_of[b], span[0] / 1e9, span[1] / 1e9,
                                      t, lat, lon)
            if len(speed) and np.median(speed) > max_speed_kn:
                spans.append((span[0], span[1], {int(a), int(b)}))
    spans.sort(key=lambda s: (s[0], s[1]))
    merged: list[tuple[int, int, set]] = []
    for lo, hi, members in spans:
        if merged and lo <= merged[-1][1]:
            plo, phi, pm = merged[-1]
            merged[-1] = (plo, max(phi, hi), pm | members)
        else:
            merged.append((lo, hi, set(members)))
    return merged


def _has_fix_in(times: np.ndarray, lo: float, hi: float) -> bool:
    i = np.searchsorted(times, lo, side="left")
    return i < len(times) and times[i] <= hi


def _utc(ns_value: int) -> pd.Timestamp:
    return pd.Timestamp(int(ns_value), tz="UTC")


def _iso(ns_value: int) -> str:
    return _utc(ns_value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _shared_row(m, lo, hi, members, ranked, rows_of, t, lat, lon, ns, size, params,
                imo) -> dict:
    labels = {g: ranked.index(g) for g in members}
    rows = np.sort(np.concatenate([rows_of[g][(ns[rows_of[g]] >= lo) & (ns[rows_of[g]] <= hi)]
                                   for g in members]))
    row_label = np.empty(len(rows), dtype=np.int64)
    for g in members:
        row_label[np.isin(rows, rows_of[g])] = labels[g]
    switch = np.flatnonzero(row_label[1:] != row_label[:-1])
    a, b = rows[switch], rows[switch + 1]
    dist = haversine_nm_array(lat[a], lon[a], lat[b], lon[b])
    hours = np.maximum(t[b] - t[a], MIN_SECONDS) / 3600.0
    speed = dist / hours
    impossible = int(np.sum(speed > params.max_speed_kn))
    parts = [f"{len(members)} tracks on the air at once"]
    if len(switch):
        parts.append(f"{len(switch)} consecutive positions switch between them, "
                     f"{impossible} at an impossible speed (median "
                     f"{np.median(speed):,.0f} kn, max_speed_kn {params.max_speed_kn:g}), "
                     f"up to {dist.max():,.0f} nm apart")
    for g in sorted(members, key=lambda g: labels[g]):
        r0 = rows_of[g][0]
        parts.append(f"track {labels[g]}: {size[g]} positions "
                     f"{_iso(ns[r0])} to {_iso(ns[rows_of[g][-1]])}, first at "
                     f"{lat[r0]:.4f} {lon[r0]:.4f}")
    return {"kind": SHARED_MMSI, "mmsi": m, "imo": imo, "start_utc": _utc(lo),
            "end_utc": _utc(hi), "before": "", "after": "", "evidence": "; ".join(parts),
            "field": "position"}


def empty_tracks() -> pd.DataFrame:
    """The track table without rows (:data:`TRACK_COLUMNS`, their dtypes)."""
    return pd.DataFrame({"mmsi": pd.Series([], dtype="int64"),
                         "track": pd.Series([], dtype="int64"),
                         "n_positions": pd.Series([], dtype="int64"),
                         "first_utc": pd.Series([], dtype="datetime64[ns, UTC]"),
                         "last_utc": pd.Series([], dtype="datetime64[ns, UTC]"),
                         "shared": pd.Series([], dtype=bool)})


def _track_table(mmsi, ns, label, offsets, shared_vessels) -> pd.DataFrame:
    if not shared_vessels:
        return empty_tracks()
    rows = np.concatenate([np.arange(offsets[v], offsets[v + 1]) for v in shared_vessels])
    rows = rows[ns[rows] != np.iinfo(np.int64).min]
    frame = pd.DataFrame({"mmsi": mmsi[rows], "track": label[rows], "ns": ns[rows]})
    g = frame.groupby(["mmsi", "track"], sort=True)["ns"].agg(["size", "min", "max"])
    return pd.DataFrame({
        "mmsi": g.index.get_level_values(0).to_numpy(dtype=np.int64),
        "track": g.index.get_level_values(1).to_numpy(dtype=np.int64),
        "n_positions": g["size"].to_numpy(dtype=np.int64),
        "first_utc": pd.to_datetime(g["min"].to_numpy(), utc=True).as_unit("ns"),
        "last_utc": pd.to_datetime(g["max"].to_numpy(), utc=True).as_unit("ns"),
        "shared": np.ones(len(g), dtype=bool)})
