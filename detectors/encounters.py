"""Encounters: two vessels meeting at sea, close and slow, for hours.

Definition (DESIGN.md, contract; thresholds from Global Fishing Watch's encounters):
two vessels within ``encounter_distance_m`` [500] of each other for at least
``encounter_min_minutes`` [120], both with median speed under ``encounter_max_speed_kn``
[2] over it, outside every port polygon by at least ``encounter_port_distance_nm`` [5].
This is how cargo moves between ships without a port (a ship-to-ship transfer), and how
a sanctioned cargo changes hull.

How it is measured (GFW pipe-encounters' method, made symmetric):

- Tracks are compared on a common grid of ``encounter_step_minutes`` [10]: grid times
  are whole multiples of the step since the epoch, so every vessel's grid lines up. A
  vessel's position at a grid time is interpolated linearly (longitudes the short way
  round the antimeridian) between the fixes before and after it, never across a gap of
  more than ``encounter_max_gap_minutes`` [60] (a gap of exactly 60 minutes is
  interpolated; a grid time that is a fix's own time takes the fix). No extrapolation:
  before a vessel's first fix and after its last it has no grid position.
- At a grid time, the pair is *close* when both have a grid position, the great-circle
  distance between them is at most ``encounter_distance_m`` (``<=``: exactly 500 m is
  close) and both positions lie outside every port polygon by at least
  ``encounter_port_distance_nm`` (``>=``; inside a polygon, or on its edge, never).
  Candidate pairs come from a spatial index per grid time (a numba grid over unit
  vectors, :mod:`detectors._encounters_kernel`), never from all pairs of vessels.
- A *run* is a maximal stretch of consecutive grid times at which the pair is close.
  It is an encounter when its duration, from its first to its last grid time, is at least
  ``encounter_min_minutes`` (``>=``: 13 grid times 10 minutes apart make 120 minutes)
  and each vessel's median speed over it is below ``encounter_max_speed_kn`` (strictly).
  A vessel's speed over a step is the great-circle distance between its consecutive grid
  positions over the step (an implied speed: reported SOG is not needed and not
  trusted). Ships passing each other at speed, or sailing in company, are close for a
  while but not slow: no encounter.
- Encounters of the same two vessels less than ``encounter_merge_hours`` [4] apart (the
  later's first grid time minus the earlier's last, strictly less) merge into one: a
  transfer interrupted by a drift apart, or by a gap in reception, is one meeting.
  Each run must qualify on its own before merging.

Each row (:data:`detectors.columns.ENCOUNTER_TABLE`): ``mmsi_1 < mmsi_2`` (the pair is
unordered: the result does not depend on which is which, nor on row order); start and
end are the first and last close grid times; ``hours`` between them; ``lat``/``lon`` the
mean position of both vessels at the close grid times; ``median_distance_m`` over them;
``median_speed_kn`` the higher of the two vessels' median speeds over the steps inside
the merged runs (both are given in ``median_speed_1_kn``/``median_speed_2_kn``);
``n_steps`` the close grid times; ``nearest_port``/``port_distance_nm`` from the mean
position. Ids are ``E-`` + a hash of (mmsi_1, mmsi_2, start); rows are sorted by
(mmsi_1, start_utc, mmsi_2).

Rows without a position or a time and rows flagged ``spoofed`` (see
:mod:`detectors.cleaning`) are left out. Defaults: GFW's encounters (500 m, 2 h, median
speed under 2 knots, 10-minute resampling, gaps over an hour not interpolated, pieces
merged when less than 4 h apart; GFW excludes encounters within 10 km of an anchorage,
here 5 nm of a port polygon).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from detectors import _encounters_kernel as _k
from detectors._behaviour import Rows, away_from_ports, port_columns, vessel_names
from detectors._frames import check_non_negative
from detectors._ids import event_id
from detectors.columns import ENCOUNTER_TABLE


@dataclasses.dataclass(frozen=True, kw_only=True)
class EncounterParams:
    """Thresholds of the encounter detector (units in the names)."""

    encounter_distance_m: float = 500.0
    encounter_min_minutes: float = 120.0
    encounter_max_speed_kn: float = 2.0
    encounter_port_distance_nm: float = 5.0
    encounter_step_minutes: float = 10.0
    encounter_max_gap_minutes: float = 60.0
    encounter_merge_hours: float = 4.0

    def __post_init__(self):
        check_non_negative(self, ("encounter_distance_m", "encounter_min_minutes",
                                  "encounter_max_speed_kn", "encounter_port_distance_nm",
                                  "encounter_step_minutes", "encounter_max_gap_minutes",
                                  "encounter_merge_hours"))
        for name in ("encounter_distance_m", "encounter_step_minutes", "encounter_min_minutes"):
            if getattr(self, name) == 0:
                raise ConfigError(None, f"{name} = 0 leaves no encounter to measure",
                                  f"set {name} to a positive number")
        if self.encounter_step_minutes * 60.0 != round(self.encounter_step_minutes * 60.0):
            raise ConfigError(None, f"encounter_step_minutes = {self.encounter_step_minutes!r} "
                              "is not a whole number of seconds",
                              "give the grid step in whole seconds (10 minutes by default)")


def _tracks(track_1: int, track_2: int) -> tuple:
    """The id parts of the two vessels' tracks: none when both are the main track, so an
    encounter of unshared MMSIs keeps its id."""
    return (f"tracks {int(track_1)} {int(track_2)}",) if track_1 or track_2 else ()


def empty_encounters() -> pd.DataFrame:
    cols = {c: pd.Series([], dtype="float64") for c in ENCOUNTER_TABLE}
    for c in ("encounter_id", "name_1", "name_2", "nearest_port"):
        cols[c] = pd.Series([], dtype=object)
    for c in ("mmsi_1", "mmsi_2", "track_1", "track_2", "n_steps"):
        cols[c] = pd.Series([], dtype="int64")
    for c in ("start_utc", "end_utc"):
        cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
    return pd.DataFrame(cols)[list(ENCOUNTER_TABLE)]


@dataclasses.dataclass(frozen=True)
class EncounterGrid:
    """Every vessel's track on the common grid (what the encounter search compares):
    per vessel (an (mmsi, track), in that order) ``mmsi`` and ``track``; per grid point,
    sorted by (vessel, k), ``k`` (grid time / step), ``lat``, ``lon``, ``vid`` (the
    vessel's index) and ``ok`` (away from every port). Built per group of vessels
    (:func:`encounter_grid`) and joined (:meth:`concat`), it gives the same encounters
    as one search over all the positions: the Dask engine's partitions each send theirs,
    the points at sea only (``at_sea_only``): a run's points are all close, so all at
    sea, and consecutive in the arrays with or without the others."""

    mmsi: np.ndarray
    track: np.ndarray
    k: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    vid: np.ndarray
    ok: np.ndarray

    def __len__(self) -> int:
        return len(self.k)

    @classmethod
    def of_points(cls, mmsi, track, k, lat, lon) -> "EncounterGrid":
        """The grid of points given one per row (``mmsi``, ``track``, grid time ``k``,
        ``lat``, ``lon``; any order), every point counted at sea."""
        keys = np.column_stack([np.asarray(mmsi, np.int64), np.asarray(track, np.int64)])
        if not len(keys):
            return _empty_grid()
        vessels, vid = np.unique(keys, axis=0, return_inverse=True)
        vid = vid.ravel().astype(np.int64)
        k = np.asarray(k, np.int64)
        order = np.lexsort((k, vid))
        return cls(mmsi=np.ascontiguousarray(vessels[:, 0]),
                   track=np.ascontiguousarray(vessels[:, 1]),
                   k=np.ascontiguousarray(k[order]),
                   lat=np.ascontiguousarray(np.asarray(lat, np.float64)[order]),
                   lon=np.ascontiguousarray(np.asarray(lon, np.float64)[order]),
                   vid=np.ascontiguousarray(vid[order]), ok=np.ones(len(k), dtype=bool))

    @classmethod
    def concat(cls, grids) -> "EncounterGrid":
        """One grid of the vessels of ``grids`` (no vessel in two of them)."""
        grids = [g for g in grids if len(g.mmsi)]
        if not grids:
            return _empty_grid()
        mmsi = np.concatenate([g.mmsi for g in grids])
        track = np.concatenate([g.track for g in grids])
        base = np.cumsum([0] + [len(g.mmsi) for g in grids[:-1]])
        vid = np.concatenate([g.vid + b for g, b in zip(grids, base)])
        order = np.lexsort((track, mmsi))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        vid = rank[vid]
        k = np.concatenate([g.k for g in grids])
        points = np.lexsort((k, vid))

        def cat(name):
            return np.ascontiguousarray(np.concatenate([getattr(g, name) for g in grids])[points])

        return cls(mmsi=mmsi[order], track=track[order], k=np.ascontiguousarray(k[points]),
                   lat=cat("lat"), lon=cat("lon"), vid=np.ascontiguousarray(vid[points]),
                   ok=cat("ok"))


def _empty_grid() -> EncounterGrid:
    i, f = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return EncounterGrid(mmsi=i, track=i, k=i, lat=f, lon=f, vid=i, ok=np.zeros(0, dtype=bool))


def encounter_grid(positions: pd.DataFrame, registry=None,
                   params: EncounterParams = EncounterParams(), *,
                   at_sea_only: bool = False) -> EncounterGrid:
    """The grid of every vessel of ``positions`` (see :class:`EncounterGrid`); with
    ``at_sea_only`` the points in or near a port are left out."""
    if not isinstance(params, EncounterParams):
        raise TypeError("params must be an EncounterParams")
    rows = Rows.of(positions)
    if len(rows.offsets) < 2:
        return _empty_grid()
    step_s = params.encounter_step_minutes * 60.0
    gk, glat, glon, goff = _k.resample(rows.t, rows.lat, rows.lon, rows.offsets, step_s,
                                       params.encounter_max_gap_minutes * 60.0)
    gvid = np.repeat(np.arange(len(goff) - 1, dtype=np.int64), np.diff(goff))
    ok = away_from_ports(registry, glat, glon, params.encounter_port_distance_nm)
    if at_sea_only:
        gk, glat, glon, gvid, ok = (np.ascontiguousarray(x[ok]) for x in (gk, glat, glon, gvid, ok))
    return EncounterGrid(mmsi=rows.mmsi[rows.offsets[:-1]], track=rows.track[rows.offsets[:-1]],
                         k=gk, lat=glat, lon=glon, vid=gvid, ok=np.asarray(ok, dtype=bool))


def find_encounters(positions: pd.DataFrame, registry=None,
                    params: EncounterParams = EncounterParams(),
                    names: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Encounters between every two vessels: :data:`ENCOUNTER_TABLE`, sorted by
    (mmsi_1, start_utc, mmsi_2).

    ``positions``: the positions frame (any row order; a ``spoofed`` column is honoured);
    ``registry``: a :class:`ports.PortRegistry` (None: no ports, every position is at
    sea); ``names``: mmsi -> vessel name ("" when unknown).
    """
    return encounters_of_grid(encounter_grid(positions, registry, params), registry, params,
                              names=names)


def encounters_of_grid(grid: EncounterGrid, registry=None,
                       params: EncounterParams = EncounterParams(),
                       names: Mapping[int, str] | None = None) -> pd.DataFrame:
    """The encounters of the vessels of ``grid`` (:func:`find_encounters` from there)."""
    if not isinstance(params, EncounterParams):
        raise TypeError("params must be an EncounterParams")
    if len(grid.mmsi) < 2:          # fewer than two vessels
        return empty_encounters()
    pa, pb, pd_m = _k.close_pairs(grid.k, grid.lat, grid.lon, grid.vid, grid.ok,
                                  params.encounter_distance_m)
    return _encounters_of_close(pa, pb, pd_m, grid, registry, params, names)


CLOSE_PAIR_COLUMNS = ("mmsi_1", "track_1", "mmsi_2", "track_2", "k", "distance_m",
                      "lat_1", "lon_1", "lat_2", "lon_2")


def close_pairs_of_grid(grid: EncounterGrid,
                        params: EncounterParams = EncounterParams()) -> pd.DataFrame:
    """Every two vessels close at a grid time of ``grid``, both at sea
    (:data:`CLOSE_PAIR_COLUMNS`: the vessel of lower (mmsi, track) first, the grid time
    ``k``, the distance and both grid positions). Close pairs at one grid time need only
    that grid time's points: the grids of consecutive stretches of time (all vessels)
    give theirs apart, and :func:`encounters_of_close_pairs` finds the encounters from
    them all."""
    if not isinstance(params, EncounterParams):
        raise TypeError("params must be an EncounterParams")
    pa, pb, d = _k.close_pairs(grid.k, grid.lat, grid.lon, grid.vid, grid.ok,
                               params.encounter_distance_m)
    va, vb = grid.vid[pa], grid.vid[pb]
    return pd.DataFrame({"mmsi_1": grid.mmsi[va].astype(np.int64),
                         "track_1": grid.track[va].astype(np.int64),
                         "mmsi_2": grid.mmsi[vb].astype(np.int64),
                         "track_2": grid.track[vb].astype(np.int64),
                         "k": grid.k[pa].astype(np.int64), "distance_m": d,
                         "lat_1": grid.lat[pa], "lon_1": grid.lon[pa],
                         "lat_2": grid.lat[pb], "lon_2": grid.lon[pb]})[list(CLOSE_PAIR_COLUMNS)]


def encounters_of_close_pairs(pairs: pd.DataFrame, registry=None,
                              params: EncounterParams = EncounterParams(),
                              names: Mapping[int, str] | None = None) -> pd.DataFrame:
    """The encounters from close pairs (:func:`close_pairs_of_grid`, of any stretches of
    time, in any order): the same as :func:`find_encounters`. The runs, their speeds and
    figures read only the grid points of close pairs (a run's points are all close), so
    a grid of those points alone, in (vessel, time) order, gives the same results."""
    if not isinstance(params, EncounterParams):
        raise TypeError("params must be an EncounterParams")
    if len(pairs) == 0:
        return empty_encounters()
    n = len(pairs)
    vessel_keys = np.column_stack([np.r_[pairs["mmsi_1"].to_numpy(np.int64),
                                         pairs["mmsi_2"].to_numpy(np.int64)],
                                   np.r_[pairs["track_1"].to_numpy(np.int64),
                                         pairs["track_2"].to_numpy(np.int64)]])
    vessels, vid = np.unique(vessel_keys, axis=0, return_inverse=True)
    vid = vid.ravel().astype(np.int64)
    k = np.tile(pairs["k"].to_numpy(np.int64), 2)
    points, first, inverse = np.unique(np.column_stack([vid, k]), axis=0, return_index=True,
                                       return_inverse=True)
    inverse = inverse.ravel().astype(np.int64)
    lat = np.r_[pairs["lat_1"].to_numpy(np.float64), pairs["lat_2"].to_numpy(np.float64)]
    lon = np.r_[pairs["lon_1"].to_numpy(np.float64), pairs["lon_2"].to_numpy(np.float64)]
    grid = EncounterGrid(mmsi=np.ascontiguousarray(vessels[:, 0]),
                         track=np.ascontiguousarray(vessels[:, 1]),
                         k=np.ascontiguousarray(points[:, 1]),
                         lat=np.ascontiguousarray(lat[first]), lon=np.ascontiguousarray(lon[first]),
                         vid=np.ascontiguousarray(points[:, 0]),
                         ok=np.ones(len(points), dtype=bool))
    return _encounters_of_close(np.ascontiguousarray(inverse[:n]),
                                np.ascontiguousarray(inverse[n:]),
                                pairs["distance_m"].to_numpy(np.float64), grid, registry,
                                params, names)


def _encounters_of_close(pa, pb, pd_m, grid: EncounterGrid, registry, params: EncounterParams,
                         names) -> pd.DataFrame:
    """Runs of close pairs (grid indices ``pa``, ``pb``, distances ``pd_m``) made into
    the encounter table."""
    if len(pa) == 0:
        return empty_encounters()
    step_s = params.encounter_step_minutes * 60.0
    gk, glat, glon, gvid = grid.k, grid.lat, grid.lon, grid.vid
    va = gvid[pa]
    vb = gvid[pb]
    pk = gk[pa]
    order = np.lexsort((pk, vb, va))
    pa, pb, pd_m, va, vb, pk = (np.ascontiguousarray(x[order]) for x in (pa, pb, pd_m, va, vb, pk))
    r0, r1, _, _ = _k.find_runs(pa, pb, pk, va, vb, glat, glon, step_s,
                                params.encounter_min_minutes * 60.0,
                                params.encounter_max_speed_kn)
    if len(r0) == 0:
        return empty_encounters()
    g0, g1 = _k.merge_runs(r0, r1, pk, va, vb, step_s, params.encounter_merge_hours * 3600.0)
    n = len(g0)
    steps = np.empty(n, dtype=np.int64)
    dist, s1, s2, lat, lon = (np.empty(n, dtype=np.float64) for _ in range(5))
    _k.event_stats(g0, g1, r0, r1, pa, pb, pd_m, glat, glon, step_s, steps, dist, s1, s2,
                   lat, lon)
    first_row = r0[g0]
    last_row = r1[g1 - 1] - 1
    vessel_mmsi = grid.mmsi         # a vessel is an (mmsi, track)
    vessel_track = grid.track
    m1, k1 = vessel_mmsi[va[first_row]], vessel_track[va[first_row]]
    m2, k2 = vessel_mmsi[vb[first_row]], vessel_track[vb[first_row]]
    step_ns = int(round(step_s)) * 1_000_000_000
    start_ns = pk[first_row] * step_ns
    end_ns = pk[last_row] * step_ns
    port, port_nm = port_columns(registry, lat, lon)
    out = pd.DataFrame({
        "encounter_id": pd.Series([event_id("E", "encounter", int(a), int(b), int(s),
                                            *_tracks(x, y))
                                   for a, b, s, x, y in zip(m1, m2, start_ns, k1, k2)],
                                  dtype=object),
        "mmsi_1": m1.astype(np.int64),
        "name_1": vessel_names(names, m1),
        "mmsi_2": m2.astype(np.int64),
        "name_2": vessel_names(names, m2),
        "start_utc": pd.Series(pd.to_datetime(start_ns, unit="ns", utc=True)),
        "end_utc": pd.Series(pd.to_datetime(end_ns, unit="ns", utc=True)),
        "hours": (end_ns - start_ns) / 3.6e12,
        "lat": lat, "lon": lon,
        "median_distance_m": dist,
        "median_speed_kn": np.maximum(s1, s2),
        "median_speed_1_kn": s1,
        "median_speed_2_kn": s2,
        "n_steps": steps,
        "nearest_port": pd.Series(port, dtype=object),
        "port_distance_nm": port_nm,
        "track_1": k1.astype(np.int64),
        "track_2": k2.astype(np.int64),
    })[list(ENCOUNTER_TABLE)]
    return out.sort_values(["mmsi_1", "start_utc", "mmsi_2"], kind="mergesort").reset_index(drop=True)
