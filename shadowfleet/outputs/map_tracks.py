"""Vessel tracks for map.html: cut at dark periods and at the map's edge, simplified.

- **Never across a dark period.** A track is cut wherever two consecutive positions are
  more than ``gap_hours`` apart (DESIGN.md's dark period, strictly more): a line drawn
  across a silence would look observed. The dark period has its own layer.
- **Antimeridian-safe.** Longitudes wrap at +-180 degrees (DESIGN.md). The map draws
  every longitude in one 360-degree window, ``[west, west + 360)``, whose edge is put in
  the widest band of longitudes with no data (:func:`lon_window`): Pacific data near 180
  degrees is drawn as one piece. A track that still crosses the edge is cut there, so no
  line runs across the world.
- **Simplified** with Douglas-Peucker (shapely's GEOS ``simplify``, on all segments at
  once): the tolerance starts at ``base_tolerance_deg`` (about 20 m, below what a screen
  shows at harbour zoom) and doubles until all tracks together keep at most
  ``point_budget`` vertices. Douglas-Peucker keeps real fixes only, and the extremes of a
  curve, so a route does not cut corners over land as sampling every n-th fix would.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import shapely

from shadowfleet.outputs._figures import epoch_seconds

COORD_DECIMALS = 4          # 1e-4 degree: 11 m, finer than the simplification tolerance


@dataclasses.dataclass(frozen=True)
class LonWindow:
    """Display longitudes lie in ``[west, west + 360)``."""

    west: float = -180.0

    def wrap(self, lon) -> np.ndarray:
        lon = np.asarray(lon, dtype=float)
        return np.mod(lon - self.west, 360.0) + self.west

    @staticmethod
    def follow(lon, ref) -> np.ndarray:
        """``lon`` moved by whole turns to lie within 180 degrees of ``ref`` (the short
        way from ``ref``: a line from ref to it never runs across the world)."""
        lon, ref = np.asarray(lon, dtype=float), np.asarray(ref, dtype=float)
        return ref + np.mod(lon - ref + 180.0, 360.0) - 180.0


def lon_window(lons) -> LonWindow:
    """The window whose edge lies in the widest band of 1-degree bins holding none of
    ``lons``; the usual -180..180 when that band touches the antimeridian or the data
    cover every bin."""
    lons = np.asarray(lons, dtype=float)
    lons = lons[np.isfinite(lons)]
    if not len(lons):
        return LonWindow()
    occupied = np.zeros(360, dtype=bool)
    occupied[(np.floor(np.mod(lons + 180.0, 360.0))).astype(np.int64) % 360] = True
    if occupied.all():
        return LonWindow()
    empty = np.r_[~occupied, ~occupied].astype(np.int8)
    edges = np.diff(np.r_[0, empty, 0])
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = np.minimum(ends - starts, 360)
    best = int(np.argmax(lengths))
    start, length = int(starts[best]) % 360, int(lengths[best])
    bins = (start + np.arange(length)) % 360
    if 0 in bins or 359 in bins:
        return LonWindow()
    return LonWindow(west=float(-180.0 + start + length / 2.0))


@dataclasses.dataclass(frozen=True)
class Fixes:
    """The chosen vessels' usable positions as arrays sorted by (mmsi, track, time): the
    ships of a shared MMSI (``track``, :mod:`detectors.identity_tracks`) are drawn apart,
    never joined by a line."""

    mmsi: np.ndarray          # int64
    t: np.ndarray             # float seconds since 1970
    lat: np.ndarray
    lon: np.ndarray           # as received, -180..180
    track: np.ndarray | None = None    # int64; None: all track 0

    def __post_init__(self):
        if self.track is None:
            object.__setattr__(self, "track", np.zeros(len(self.mmsi), dtype=np.int64))

    def subset(self, keep: np.ndarray) -> "Fixes":
        return Fixes(self.mmsi[keep], self.t[keep], self.lat[keep], self.lon[keep],
                     self.track[keep])

    def __len__(self) -> int:
        return len(self.mmsi)

    @classmethod
    def of(cls, positions: pd.DataFrame, mmsis) -> "Fixes":
        """Positions of ``mmsis``, without flagged spoofing jumps and missing fixes."""
        empty = cls(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0))
        if not len(positions) or not {"mmsi", "timestamp", "lat", "lon"} <= set(positions.columns):
            return empty
        keep = np.isin(positions["mmsi"].to_numpy(), np.asarray(list(mmsis), dtype=np.int64))
        if "spoofed" in positions:
            keep &= ~positions["spoofed"].fillna(False).to_numpy(dtype=bool)
        lat = positions["lat"].to_numpy(dtype=float)[keep]
        lon = positions["lon"].to_numpy(dtype=float)[keep]
        t = epoch_seconds(positions["timestamp"][keep])
        m = positions["mmsi"].to_numpy()[keep].astype(np.int64)
        k = (positions["track"].to_numpy()[keep].astype(np.int64) if "track" in positions
             else np.zeros(len(m), dtype=np.int64))
        ok = np.isfinite(lat) & np.isfinite(lon) & np.isfinite(t)
        m, t, lat, lon, k = m[ok], t[ok], lat[ok], lon[ok], k[ok]
        order = np.lexsort((t, k, m))
        return cls(m[order], t[order], lat[order], lon[order], k[order])

    def index_at(self, mmsi, times, side: str, track=None) -> np.ndarray:
        """Per (mmsi, time): the index of the vessel's first fix at or after the time
        (``side="left"``) or after it (``"right"``), as np.searchsorted on (mmsi, track,
        t); ``track`` per event (None: track 0)."""
        mmsi = np.asarray(mmsi, dtype=np.int64)
        times = np.asarray(times, dtype=float)
        track = (np.zeros(len(mmsi), dtype=np.int64) if track is None
                 else np.asarray(track, dtype=np.int64))
        out = np.zeros(len(mmsi), dtype=np.int64)
        # few events per vessel: one searchsorted per vessel over its own slice
        pairs = np.unique(np.c_[mmsi, track], axis=0) if len(mmsi) else np.zeros((0, 2), int)
        for m, k in pairs:
            rows = np.flatnonzero((mmsi == m) & (track == k))
            a = np.searchsorted(self.mmsi, m, side="left")
            b = np.searchsorted(self.mmsi, m, side="right")
            a, b = a + np.searchsorted(self.track[a:b], k, side="left"), \
                a + np.searchsorted(self.track[a:b], k, side="right")
            out[rows] = a + np.searchsorted(self.t[a:b], times[rows], side=side)
        return out


@dataclasses.dataclass(frozen=True)
class Tracks:
    """One entry per vessel that has fixes: its lines ([[lon, lat], ...] each) and counts."""

    mmsi: tuple[int, ...]
    lines: tuple[list, ...]              # per vessel: list of lines
    n_positions: tuple[int, ...]
    first_t: tuple[float, ...]
    last_t: tuple[float, ...]
    vertices: int                        # kept, all vessels together
    tolerance_deg: float                 # the simplification tolerance used


def segment_ids(fixes: Fixes, window: LonWindow, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(segment id per fix, display longitude per fix): a new segment starts at each
    vessel's first fix, after a silence of more than ``max_gap_s`` and where the track
    crosses the window's edge."""
    x = window.wrap(fixes.lon)
    new = np.ones(len(fixes), dtype=bool)
    if len(fixes) > 1:
        new[1:] = ((fixes.mmsi[1:] != fixes.mmsi[:-1])
                   | (fixes.track[1:] != fixes.track[:-1])
                   | (np.diff(fixes.t) > max_gap_s)
                   | (np.abs(np.diff(x)) > 180.0))
    return np.cumsum(new) - 1, x


def simplify_lines(x: np.ndarray, y: np.ndarray, seg: np.ndarray, *, point_budget: int,
                   base_tolerance_deg: float = 0.0002,
                   max_tolerance_deg: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
    """Douglas-Peucker over every segment at once. Returns (vertices (n, 2) as [x, y],
    segment id per vertex, tolerance). A one-fix segment becomes a line of two equal
    vertices (GeoJSON lines need two; the browser draws it as a dot)."""
    if not len(seg):
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64), base_tolerance_deg
    n_seg = int(seg[-1]) + 1
    sizes = np.bincount(seg, minlength=n_seg)
    single = sizes[seg] == 1
    # GEOS and GeoJSON lines need two vertices
    reps = np.where(single, 2, 1)
    coords = np.repeat(np.c_[x, y], reps, axis=0)
    lines = shapely.linestrings(coords, indices=np.repeat(seg, reps))
    tolerance = base_tolerance_deg
    while True:
        simple = shapely.simplify(lines, tolerance, preserve_topology=False)
        kept = int(shapely.get_num_coordinates(simple).sum())
        if kept <= point_budget or tolerance >= max_tolerance_deg:
            break
        tolerance *= 2.0
    xy, idx = shapely.get_coordinates(simple, return_index=True)
    return xy, idx, tolerance


def build_tracks(fixes: Fixes, window: LonWindow, *, max_gap_s: float,
                 point_budget: int) -> Tracks:
    """The simplified tracks of every vessel in ``fixes`` (module docstring)."""
    if not len(fixes):
        return Tracks((), (), (), (), (), 0, 0.0)
    seg, x = segment_ids(fixes, window, max_gap_s)
    xy, idx, tolerance = simplify_lines(x, fixes.lat, seg, point_budget=point_budget)
    seg_vessel = fixes.mmsi[np.r_[0, np.flatnonzero(np.diff(seg)) + 1]]
    xy = np.round(xy, COORD_DECIMALS)
    cuts = np.flatnonzero(np.diff(idx)) + 1
    pieces = np.split(xy, cuts)
    piece_seg = idx[np.r_[0, cuts]] if len(idx) else np.zeros(0, dtype=np.int64)
    piece_vessel = seg_vessel[piece_seg]
    vessel_starts = np.r_[0, np.flatnonzero(np.diff(fixes.mmsi)) + 1]
    vessels = fixes.mmsi[vessel_starts]
    counts = np.diff(np.r_[vessel_starts, len(fixes)])
    lines: list[list] = [[] for _ in vessels]
    where = {int(m): i for i, m in enumerate(vessels)}
    for m, piece in zip(piece_vessel.tolist(), pieces):
        lines[where[m]].append(piece.tolist())
    # an MMSI's fixes are in time order per track: its span is the min and max over them
    return Tracks(mmsi=tuple(int(m) for m in vessels), lines=tuple(lines),
                  n_positions=tuple(int(c) for c in counts),
                  first_t=tuple(np.minimum.reduceat(fixes.t, vessel_starts).tolist()),
                  last_t=tuple(np.maximum.reduceat(fixes.t, vessel_starts).tolist()),
                  vertices=int(len(xy)), tolerance_deg=float(tolerance))


__all__ = ["LonWindow", "lon_window", "Fixes", "Tracks", "build_tracks", "segment_ids",
           "simplify_lines"]
