"""Unlisted stops: places where ships stop that the port registry does not know.

Definition (DESIGN.md, contract): a *stay* is a vessel remaining within 0.5 km
(``stop_stay_radius_m`` [500]) of one point for at least ``stop_min_hours`` [2], outside
every port polygon; its point is the median position of its fixes. scikit-learn
``DBSCAN`` (haversine, eps ``stop_cluster_radius_m`` [1000], min_samples
``stop_cluster_min_stays`` [3]) groups the stays' points, and each cluster is an
unlisted stop: a place used at least three times, by one vessel or several. A single
meeting of two ships at sea is two stays, an encounter, not a stop. A restricted pier
(Dunay's was first identified on satellite imagery, not in any registry) shows up here
when the registry lacks it.

Precisely:

- Stays (:mod:`detectors._stays_kernel`, the stay-point method of Li et al. 2008): from
  an anchor fix, the following fixes while each lies within ``stop_stay_radius_m`` of
  the anchor (``<=``) and follows the one before by at most ``gap_hours`` [6] (a longer
  silence is a dark period: the vessel may have left; the same key and rule as a port
  visit); a stay when its last fix is at least ``stop_min_hours`` after the anchor
  (``>=``). The search goes on after a stay, or from the next fix.
- A stay whose point lies inside a port polygon or on its edge (distance 0 by
  :meth:`ports.PortRegistry.nearest`) is a port call, not a stay here: dropped.
- DBSCAN runs over the stays in (mmsi, start) order, so the clusters do not depend on
  the row order of the input. Each cluster is a stop row
  (:data:`detectors.columns.STOP_TABLE`): ``lat``/``lon`` the mean position of its
  stays' points on the sphere, ``radius_m`` the farthest stay point from it,
  ``n_stays``, ``n_vessels``, ``first_utc`` the earliest stay start, ``last_utc`` the
  latest stay end, ``mmsis`` ``;``-separated in increasing order, ``nearest_port`` and
  ``port_distance_nm`` from its position, then ``stay_hours`` (all its stays' hours).
  Its id is ``S-`` + a hash of its earliest stay (mmsi, start): it stays the same as
  later stays join the cluster. Rows are sorted by (first_utc, stop_id).
- Stays (:data:`detectors.columns.STAY_TABLE`) are returned too, sorted by (mmsi,
  start_utc), with the ``stop_id`` of their cluster ("" for a stay in no stop). Ids are
  ``ST-`` + a hash of (mmsi, start).

Rows without a position or a time and rows flagged ``spoofed`` are left out. Defaults:
DESIGN.md's (0.5 km and 2 h for a stay, 1 km and 3 stays for a place); the stay radius
and duration are of the order used by stay-point detection on AIS (GFW's anchorages
grid ships that stay within a few hundred metres).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping, NamedTuple

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from detectors import _stays_kernel as _k
from detectors._behaviour import Rows, away_from_ports, port_columns, vessel_names
from detectors._frames import check_non_negative, tracks_of, with_track
from ports._geo import EARTH_RADIUS_NM, M_PER_NM, haversine_nm_array
from detectors._ids import event_id
from detectors._wrap import mean_position_array
from detectors.columns import STAY_TABLE, STOP_TABLE



@dataclasses.dataclass(frozen=True, kw_only=True)
class StopParams:
    """Thresholds of the stay and unlisted-stop detector (units in the names)."""

    stop_min_hours: float = 2.0
    stop_stay_radius_m: float = 500.0
    stop_cluster_radius_m: float = 1000.0
    stop_cluster_min_stays: int = 3
    gap_hours: float = 6.0

    def __post_init__(self):
        check_non_negative(self, ("stop_min_hours", "stop_stay_radius_m",
                                  "stop_cluster_radius_m", "stop_cluster_min_stays",
                                  "gap_hours"))
        if self.stop_min_hours == 0:
            raise ConfigError(None, "stop_min_hours = 0 would make every fix a stay",
                              "set stop_min_hours to a positive number of hours")
        if self.stop_cluster_radius_m == 0:
            raise ConfigError(None, "stop_cluster_radius_m = 0 groups no stays",
                              "set stop_cluster_radius_m to a positive number of metres")
        n = self.stop_cluster_min_stays
        if isinstance(n, bool) or int(n) != n or n < 1:
            raise ConfigError(None, f"stop_cluster_min_stays = {n!r} is not a whole number >= 1",
                              "give the number of stays that make a place (default 3)")


class UnlistedStops(NamedTuple):
    """The stops (:data:`STOP_TABLE`) and the stays behind them (:data:`STAY_TABLE`)."""

    stops: pd.DataFrame
    stays: pd.DataFrame


def _empty(columns, objects, ints, times) -> pd.DataFrame:
    cols = {c: pd.Series([], dtype="float64") for c in columns}
    for c in objects:
        cols[c] = pd.Series([], dtype=object)
    for c in ints:
        cols[c] = pd.Series([], dtype="int64")
    for c in times:
        cols[c] = pd.Series([], dtype="datetime64[ns, UTC]")
    return pd.DataFrame(cols)[list(columns)]


def empty_stays() -> pd.DataFrame:
    return _empty(STAY_TABLE, ("stay_id", "name", "stop_id"), ("mmsi", "n_positions", "track"),
                  ("start_utc", "end_utc"))


def empty_stops() -> pd.DataFrame:
    return _empty(STOP_TABLE, ("stop_id", "mmsis", "nearest_port"), ("n_stays", "n_vessels"),
                  ("first_utc", "last_utc"))


def find_stays(positions: pd.DataFrame, registry=None, params: StopParams = StopParams(),
               names: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Stays of every vessel outside every port polygon: :data:`STAY_TABLE` (``stop_id``
    empty), sorted by (mmsi, start_utc)."""
    if not isinstance(params, StopParams):
        raise TypeError("params must be a StopParams")
    rows = Rows.of(positions)
    if len(rows) == 0:
        return empty_stays()
    ri, rj = _k.find_stays(rows.t, rows.lat, rows.lon, rows.offsets,
                           params.stop_stay_radius_m / M_PER_NM, params.gap_hours * 3600.0,
                           params.stop_min_hours * 3600.0)
    lat = np.empty(len(ri), dtype=np.float64)
    lon = np.empty(len(ri), dtype=np.float64)
    if len(ri):
        _k.stay_points(rows.lat, rows.lon, ri, rj, lat, lon)
    outside = away_from_ports(registry, lat, lon, 0.0)
    ri, rj, lat, lon = ri[outside], rj[outside], lat[outside], lon[outside]
    if len(ri) == 0:
        return empty_stays()
    start = rows.times(ri)
    end = rows.times(rj)
    vessel = rows.mmsi[ri]
    tracks = rows.track[ri]
    out = pd.DataFrame({
        "stay_id": pd.Series([event_id("ST", *with_track(("stay", int(m), int(s.value)), k))
                              for m, s, k in zip(vessel, start, tracks)], dtype=object),
        "mmsi": vessel.astype(np.int64),
        "name": vessel_names(names, vessel),
        "start_utc": start,
        "end_utc": end,
        "hours": (end - start).dt.total_seconds().to_numpy() / 3600.0,
        "lat": lat, "lon": lon,
        "n_positions": (rj - ri + 1).astype(np.int64),
        "stop_id": pd.Series([""] * len(ri), dtype=object),
        "track": tracks.astype(np.int64),
    })
    return out.sort_values(["mmsi", "start_utc"], kind="mergesort").reset_index(drop=True)


def cluster_stays(stays: pd.DataFrame, registry=None,
                  params: StopParams = StopParams()) -> UnlistedStops:
    """Unlisted stops from a stays table (:func:`find_stays`): the stops, and the stays
    with their ``stop_id`` filled in."""
    from sklearn.cluster import DBSCAN

    if not isinstance(params, StopParams):
        raise TypeError("params must be a StopParams")
    stays = stays.sort_values(["mmsi", "start_utc"], kind="mergesort").reset_index(drop=True)
    stays["stop_id"] = pd.Series([""] * len(stays), dtype=object)
    if len(stays) < params.stop_cluster_min_stays or len(stays) == 0:
        return UnlistedStops(empty_stops(), stays)
    xy = np.radians(stays[["lat", "lon"]].to_numpy(dtype=np.float64))
    eps = params.stop_cluster_radius_m / (EARTH_RADIUS_NM * M_PER_NM)
    labels = DBSCAN(eps=eps, min_samples=int(params.stop_cluster_min_stays),
                    metric="haversine", algorithm="ball_tree").fit(xy).labels_
    rows = []
    stop_ids = np.full(len(stays), "", dtype=object)
    start_ns = stays["start_utc"].dt.as_unit("ns").astype("int64").to_numpy()
    for label in np.unique(labels[labels >= 0]):
        members = np.flatnonzero(labels == label)
        part = stays.iloc[members]
        lat, lon = mean_position_array(part["lat"].to_numpy(), part["lon"].to_numpy())
        radius = haversine_nm_array(np.full(len(part), lat), np.full(len(part), lon),
                                    part["lat"].to_numpy(dtype=np.float64),
                                    part["lon"].to_numpy(dtype=np.float64)).max() * M_PER_NM
        mmsi = part["mmsi"].to_numpy()
        ships = set(zip(mmsi.tolist(), tracks_of(part).tolist()))    # an (mmsi, track) each
        first = members[np.lexsort((mmsi, start_ns[members]))[0]]
        stop_id = event_id("S", "unlisted_stop", int(stays["mmsi"].iat[first]),
                           int(start_ns[first]))
        stop_ids[members] = stop_id
        rows.append({
            "stop_id": stop_id, "lat": lat, "lon": lon, "radius_m": float(radius),
            "n_stays": len(members), "n_vessels": len(ships),
            "first_utc": part["start_utc"].min(), "last_utc": part["end_utc"].max(),
            "mmsis": ";".join(str(m) for m in np.unique(mmsi)),
            "stay_hours": float(part["hours"].sum())})
    stays["stop_id"] = pd.Series(stop_ids, dtype=object)
    if not rows:
        return UnlistedStops(empty_stops(), stays)
    stops = pd.DataFrame(rows)
    port, port_nm = port_columns(registry, stops["lat"].to_numpy(), stops["lon"].to_numpy())
    stops["nearest_port"] = pd.Series(port, dtype=object)
    stops["port_distance_nm"] = port_nm
    stops = stops.astype({"n_stays": "int64", "n_vessels": "int64"})
    stops = stops[list(STOP_TABLE)]
    stops = stops.sort_values(["first_utc", "stop_id"], kind="mergesort").reset_index(drop=True)
    return UnlistedStops(stops, stays)


def find_unlisted_stops(positions: pd.DataFrame, registry=None,
                        params: StopParams = StopParams(),
                        names: Mapping[int, str] | None = None) -> UnlistedStops:
    """Unlisted stops and the stays behind them: ``UnlistedStops(stops, stays)``, stops
    :data:`STOP_TABLE` sorted by (first_utc, stop_id), stays :data:`STAY_TABLE`
    sorted by (mmsi, start_utc).

    ``positions``: the positions frame (any row order; a ``spoofed`` column is honoured);
    ``registry``: a :class:`ports.PortRegistry` (None: no ports); ``names``: mmsi ->
    vessel name.
    """
    return cluster_stays(find_stays(positions, registry, params, names), registry, params)
