"""Loitering: a vessel slow at sea for hours, away from every port.

Definition (DESIGN.md, contract; Starboard's loitering, under 2 knots for 4 hours): a
vessel outside every port polygon by at least ``loiter_port_distance_nm`` [5] whose
implied speed between consecutive fixes stays under ``loiter_max_speed_kn`` [2] for at
least ``loiter_min_hours`` [4], with no two consecutive fixes more than
``loiter_max_gap_minutes`` [60] apart (a silence is a dark period, not loitering).

Precisely: a loitering event is a maximal run of a vessel's fixes i..j in which

- every fix is outside every port polygon by at least ``loiter_port_distance_nm``
  (``>=``; a fix inside a polygon or on its edge never is; distances from
  :meth:`ports.PortRegistry.nearest`, longitudes wrapping at +-180);
- every two consecutive fixes are at most ``loiter_max_gap_minutes`` apart (``<=``: a
  gap of exactly 60 minutes keeps the run, 61 minutes ends it) with an implied speed
  (great-circle distance over time) strictly below ``loiter_max_speed_kn``; two fixes
  at the same time and place move at 0 knots, at the same time but apart at infinite
  speed;

lasting, first fix to last, at least ``loiter_min_hours`` (``>=``). Waiting at anchor
off a port, drifting while a transfer is prepared, and a ship-to-ship transfer itself
(an encounter long enough is also loitering of both ships) are loitering; a ship
waiting inside a port polygon, or at its anchorage within 5 nm, is not.

Each row (:data:`detectors.columns.LOITER_TABLE`): ``start_utc``/``end_utc`` the first
and last fix, ``hours`` between them, ``lat``/``lon`` the median position (longitudes
unwrapped first), ``mean_speed_kn`` the path length over the hours, ``nearest_port``
and ``port_distance_nm`` from the median position ("" and NaN without ports), then
``n_positions`` and ``max_speed_kn`` (the fastest step). Ids are ``LO-`` + a hash of
(mmsi, start); rows are sorted by (mmsi, start_utc).

Rows without a position or a time and rows flagged ``spoofed`` are left out. Defaults:
2 knots and 4 hours are Starboard's loitering alert; 5 nm and the 60-minute gap are
DESIGN.md's, the same as for encounters.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from detectors import _loitering_kernel as _k
from detectors._behaviour import (Rows, away_from_ports, expand_ranges, port_columns,
                                  vessel_names)
from detectors._frames import check_non_negative, with_track
from detectors._ids import event_id
from detectors.columns import LOITER_TABLE


@dataclasses.dataclass(frozen=True, kw_only=True)
class LoiteringParams:
    """Thresholds of the loitering detector (units in the names)."""

    loiter_max_speed_kn: float = 2.0
    loiter_min_hours: float = 4.0
    loiter_port_distance_nm: float = 5.0
    loiter_max_gap_minutes: float = 60.0

    def __post_init__(self):
        check_non_negative(self, ("loiter_max_speed_kn", "loiter_min_hours",
                                  "loiter_port_distance_nm", "loiter_max_gap_minutes"))
        if self.loiter_min_hours == 0:
            raise ConfigError(None, "loiter_min_hours = 0 would make any two slow fixes "
                              "loitering", "set loiter_min_hours to a positive number of hours")


def empty_loitering() -> pd.DataFrame:
    cols = {c: pd.Series([], dtype="float64") for c in LOITER_TABLE}
    for c in ("loiter_id", "name", "nearest_port"):
        cols[c] = pd.Series([], dtype=object)
    for c in ("mmsi", "track", "n_positions"):
        cols[c] = pd.Series([], dtype="int64")
    for c in ("start_utc", "end_utc"):
        cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
    return pd.DataFrame(cols)[list(LOITER_TABLE)]


def find_loitering(positions: pd.DataFrame, registry=None,
                   params: LoiteringParams = LoiteringParams(),
                   names: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Loitering of every vessel: :data:`LOITER_TABLE`, sorted by (mmsi, start_utc).

    ``positions``: the positions frame (any row order; a ``spoofed`` column is honoured);
    ``registry``: a :class:`ports.PortRegistry` (None: no ports); ``names``: mmsi ->
    vessel name.
    """
    if not isinstance(params, LoiteringParams):
        raise TypeError("params must be a LoiteringParams")
    rows = Rows.of(positions)
    if len(rows) == 0:
        return empty_loitering()
    args = (rows.offsets, params.loiter_max_gap_minutes * 60.0, params.loiter_max_speed_kn,
            params.loiter_min_hours * 3600.0)
    # Slow runs first with every fix counted as far from port; only their fixes are then
    # measured against the ports (splitting a run by port only shortens it).
    far = np.ones(len(rows), dtype=np.bool_)
    ri, rj = _k.find_loiters(rows.t, rows.lat, rows.lon, far, *args)
    if len(ri) == 0:
        return empty_loitering()
    cand = expand_ranges(ri, rj)
    far = np.zeros(len(rows), dtype=np.bool_)
    far[cand] = away_from_ports(registry, rows.lat[cand], rows.lon[cand],
                                params.loiter_port_distance_nm)
    ri, rj = _k.find_loiters(rows.t, rows.lat, rows.lon, far, *args)
    if len(ri) == 0:
        return empty_loitering()
    n = len(ri)
    path, fastest, lat, lon = (np.empty(n, dtype=np.float64) for _ in range(4))
    _k.loiter_stats(rows.t, rows.lat, rows.lon, ri, rj, path, fastest, lat, lon)
    start = rows.times(ri)
    end = rows.times(rj)
    hours = (end - start).dt.total_seconds().to_numpy() / 3600.0
    vessel = rows.mmsi[ri]
    tracks = rows.track[ri]
    port, port_nm = port_columns(registry, lat, lon)
    out = pd.DataFrame({
        "loiter_id": pd.Series([event_id("LO", *with_track(("loitering", int(m), int(s.value)),
                                                           k))
                                for m, s, k in zip(vessel, start, tracks)], dtype=object),
        "mmsi": vessel.astype(np.int64),
        "name": vessel_names(names, vessel),
        "start_utc": start,
        "end_utc": end,
        "hours": hours,
        "lat": lat, "lon": lon,
        "mean_speed_kn": path / hours,
        "nearest_port": pd.Series(port, dtype=object),
        "port_distance_nm": port_nm,
        "track": tracks.astype(np.int64),
        "n_positions": (rj - ri + 1).astype(np.int64),
        "max_speed_kn": fastest,
    })
    return out.sort_values(["mmsi", "start_utc"], kind="mergesort").reset_index(drop=True)
