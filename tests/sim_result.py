"""Hand-made stand-ins for ``shadowfleet.pipeline.Result`` used by the map and timeline
tests: tables built directly (or from a simulated scenario's truth), no detectors."""

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


def result_from_truth(sim, truth, claims=()):
    """A Result-like object whose tables are the truth of a simulated scenario."""
    rec = sim.received
    positions = rec.assign(sog=0.0, cog=float("nan"), heading=float("nan"), source="sim", line=0)
    names = {v.mmsi: v.name for v in sim.vessels}
    visits = [dict(visit_id=f"V-{i}", **{k: v[k] for k in ("mmsi", "name", "port", "arrival_utc",
                                                           "departure_utc", "dwell_hours",
                                                           "n_positions")})
              for i, v in enumerate(truth["port_visits"])]
    gaps = [dict(gap_id=f"G-{i}", others_received=0,
                 **{k: g[k] for k in ("mmsi", "name", "start_utc", "end_utc", "hours", "start_lat",
                                      "start_lon", "end_lat", "end_lon", "distance_nm",
                                      "implied_speed_kn", "possible_port_calls")})
            for i, g in enumerate(truth["dark_periods"])]
    calls = [dict(call_id=f"P-{i}", gap_id="", **c) for i, c in enumerate(truth["possible_port_calls"])]
    legs = [dict(leg_id=f"L-{i}", origin_call_id="", destination_call_id="",
                 **{k: x[k] for k in ("mmsi", "name", "origin", "destination", "depart_origin_utc",
                                      "arrive_destination_utc", "status", "pair")})
            for i, x in enumerate(truth["legs"])]
    trips = [dict(trip_id=f"T-{i}", **{k: t[k] for k in ("mmsi", "name", "origin", "destination",
                                                        "depart_origin_utc", "arrive_destination_utc",
                                                        "depart_destination_utc", "return_origin_utc",
                                                        "duration_hours", "status")})
             for i, t in enumerate(truth["round_trips"])]
    statics = pd.DataFrame({"mmsi": list(names), "name": list(names.values()),
                            "timestamp": pd.Timestamp("2023-08-10", tz="UTC")})
    return make_result(positions.to_dict("records"), visits=visits, gaps=gaps, calls=calls,
                       legs=legs, trips=trips, claims=claims, statics=statics)


class BoxRegistry:
    """A stand-in for ``ports.PortRegistry`` with the simulator's REFERENCE.md boxes."""

    def __init__(self):
        from ais.sim_world import PORTS

        self._ports = PORTS
        self.names = tuple(PORTS)
        self.path = "<simulator boxes>"

    def to_geojson(self) -> dict:
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"name": name},
             "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in port.ring]]}}
            for name, port in self._ports.items()]}
