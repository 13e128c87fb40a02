"""Hand-made stand-ins for ``shadowfleet.pipeline.Result`` used by the map and timeline
tests: tables built directly, no detectors."""

from __future__ import annotations

import types

import pandas as pd


def _utc(values):
    return pd.to_datetime(pd.Series(values, dtype=object).replace({None: pd.NaT}), utc=True)


def make_result(positions, *, visits=(), gaps=(), calls=(), legs=(), trips=(), claims=(),
                statics=None, registry=None):
    """A namespace with the Result DataFrame attributes from lists of dicts."""
    pos = pd.DataFrame(positions)
    if len(pos):
        pos["timestamp"] = _utc(pos["timestamp"])
    visits = pd.DataFrame(list(visits), columns=["visit_id", "mmsi", "name", "port", "arrival_utc",
                                                 "departure_utc", "dwell_hours", "n_positions"])
    gaps = pd.DataFrame(list(gaps), columns=["gap_id", "mmsi", "name", "start_utc", "end_utc", "hours",
                                             "start_lat", "start_lon", "end_lat", "end_lon",
                                             "distance_nm", "implied_speed_kn", "others_received",
                                             "possible_port_calls"])
    calls = pd.DataFrame(list(calls), columns=["call_id", "mmsi", "name", "port", "gap_id",
                                               "start_utc", "end_utc", "pair"])
    legs = pd.DataFrame(list(legs), columns=["leg_id", "mmsi", "name", "origin", "destination",
                                             "depart_origin_utc", "arrive_destination_utc", "status",
                                             "origin_call_id", "destination_call_id", "pair"])
    trips = pd.DataFrame(list(trips), columns=["trip_id", "mmsi", "name", "origin", "destination",
                                               "depart_origin_utc", "arrive_destination_utc",
                                               "depart_destination_utc", "return_origin_utc",
                                               "duration_hours", "status"])
    claims = pd.DataFrame(list(claims), columns=["claim_id", "source", "window_start", "window_end",
                                                 "ports", "expected", "observed", "inferred",
                                                 "verdict", "evidence"])
    for df, cols in ((visits, ("arrival_utc", "departure_utc")), (gaps, ("start_utc", "end_utc")),
                     (calls, ("start_utc", "end_utc")),
                     (legs, ("depart_origin_utc", "arrive_destination_utc"))):
        for c in cols:
            df[c] = _utc(df[c])
    if statics is None:
        statics = pd.DataFrame({"mmsi": pd.Series([], dtype="int64"),
                                "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                                "name": pd.Series([], dtype=object)})
    empty = pd.DataFrame()
    return types.SimpleNamespace(positions=pos, statics=statics, rejects=empty, port_visits=visits,
                                 round_trips=trips, dark_periods=gaps, alerts=empty, claims=claims,
                                 legs=legs, possible_calls=calls, jumps=empty, summary={},
                                 registry=registry, settings=None)


class BoxRegistry:
    """A stand-in for ``ports.PortRegistry`` with the simulator's REFERENCE.md boxes."""

    def __init__(self):
        from shadowfleet.simulator.world import PORTS

        self._ports = PORTS
        self.names = tuple(PORTS)
        self.path = "<simulator boxes>"

    def to_geojson(self) -> dict:
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": name},
             "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in port.ring]]}}
            for name, port in self._ports.items()]}
