"""The truth file of a simulated feed, in the terms of DESIGN.md ("Definitions").

The truth is what a correct detector must find in the *received* reports (after the
stations' thinning and deduplication: a report's time is its earliest receive time), so
it is computed from ``Simulation.received`` with the contract definitions and their
defaults (``gap_hours`` 6, ``min_dwell_minutes`` 60, ``reach_speed_kn`` 15):

- port visit: consecutive received positions inside one port polygon, a gap of at most
  ``gap_hours`` inside not ending it, kept when last - first >= ``min_dwell_minutes``;
- dark period: consecutive positions more than ``gap_hours`` apart (open when the vessel
  is silent for more than ``gap_hours`` up to the last position of the feed); its
  ``cause`` is ``intentional`` when the transmitter was switched off for most of it,
  else ``coverage`` (the simulator knows which);
- legs between consecutive calls at different ports, round trips paired greedily from
  the first leg; for each pair of interest a dark period between two consecutive calls at
  the same port of the pair, with the other port reachable, inserts a possible call
  (``inferred`` legs and round trips).

It also records what really happened (``actual_calls``, hidden ones included), the
corrupt lines and the header lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Polygon, shape

from ais.sim_world import PORTS, STATIONS, haversine_nm

DEFAULTS = dict(gap_hours=6.0, min_dwell_minutes=60.0, reach_speed_kn=15.0)


def default_polygons() -> dict:
    """The simulator's own port polygons (REFERENCE.md boxes) as shapely geometries."""
    return {name: Polygon(p.ring) for name, p in PORTS.items()}


def polygons_from_geojson(geojson: dict) -> dict:
    """name -> shapely geometry from a GeoJSON FeatureCollection with ``properties.name``."""
    return {str(f["properties"]["name"]): shape(f["geometry"]) for f in geojson["features"]}


def _iso(t) -> str | None:
    if t is None or (isinstance(t, float) and np.isnan(t)):
        return None
    return pd.Timestamp(int(t), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _distance_to_polygon_nm(lat: float, lon: float, geom) -> float:
    """Distance in nm from a point to a polygon (0 inside), on a local flat projection."""
    k = np.cos(np.radians(lat)) * 60.0
    proj = shapely.transform(geom, lambda xy: np.c_[xy[:, 0] * k, xy[:, 1] * 60.0])
    return float(proj.distance(shapely.Point(lon * k, lat * 60.0)))


def _port_index(lat, lon, names, polygons) -> np.ndarray:
    out = np.full(len(lat), -1, dtype=np.int64)
    for i, name in enumerate(names):
        inside = shapely.contains_xy(polygons[name], lon, lat)
        out[inside & (out < 0)] = i
    return out


def _visits(t, port, gap_s, dwell_s):
    """[(port index, first row, last row)] of the visits in one vessel's rows."""
    out = []
    cur = None
    for i in range(len(t)):
        p = port[i]
        if cur is not None and p == cur[0] and t[i] - t[cur[2]] <= gap_s:
            cur[2] = i
            continue
        if cur is not None and t[cur[2]] - t[cur[1]] >= dwell_s:
            out.append(tuple(cur))
        cur = [p, i, i] if p >= 0 else None
    if cur is not None and t[cur[2]] - t[cur[1]] >= dwell_s:
        out.append(tuple(cur))
    return out


def _overlap(a0, a1, intervals) -> float:
    return sum(max(0.0, min(a1, b1) - max(a0, b0)) for b0, b1 in intervals)


def _greedy_trips(legs: list[dict]) -> list[tuple[dict, dict]]:
    trips = []
    i = 0
    while i + 1 < len(legs):
        a, b = legs[i], legs[i + 1]
        if a["origin"] == b["destination"] and a["destination"] == b["origin"]:
            trips.append((a, b))
            i += 2
        else:
            i += 1
    return trips


def _legs(calls: list[dict], pair: str) -> list[dict]:
    legs = []
    for c1, c2 in zip(calls[:-1], calls[1:]):
        if c1["port"] == c2["port"]:
            continue
        legs.append(dict(origin=c1["port"], destination=c2["port"],
                         depart_origin=c1["departure"], arrive_destination=c2["arrival"],
                         status="inferred" if (c1["possible"] or c2["possible"]) else "observed",
                         pair=pair, _calls=(c1, c2)))
    return legs


def _trip_record(mmsi, name, a, b, pair) -> dict:
    possible = any(c["possible"] for c in (*a["_calls"], *b["_calls"]))
    return dict(mmsi=mmsi, name=name, origin=a["origin"], destination=a["destination"],
                depart_origin_utc=_iso(a["depart_origin"]),
                arrive_destination_utc=_iso(a["arrive_destination"]),
                depart_destination_utc=_iso(b["depart_origin"]),
                return_origin_utc=_iso(b["arrive_destination"]),
                duration_hours=round((b["arrive_destination"] - a["depart_origin"]) / 3600, 3),
                status="inferred" if possible else "observed", pair=pair)


def _leg_record(mmsi, name, leg) -> dict:
    return dict(mmsi=mmsi, name=name, origin=leg["origin"], destination=leg["destination"],
                depart_origin_utc=_iso(leg["depart_origin"]),
                arrive_destination_utc=_iso(leg["arrive_destination"]),
                status=leg["status"], pair=leg["pair"])


def build_truth(sim, *, polygons: dict | None = None, pairs=(("Dunay", "Najin"),),
                gap_hours: float = DEFAULTS["gap_hours"],
                min_dwell_minutes: float = DEFAULTS["min_dwell_minutes"],
                reach_speed_kn: float = DEFAULTS["reach_speed_kn"]) -> dict:
    """The truth of ``sim`` (an ``ais.simulate.Simulation``) as a JSON-ready dict."""
    polygons = polygons or default_polygons()
    names = list(polygons)
    gap_s = gap_hours * 3600.0
    dwell_s = min_dwell_minutes * 60.0
    rec = sim.received
    # whole epoch seconds, whatever the datetime resolution
    t_all = ((rec["timestamp"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)
    data_end = int(t_all.max())
    vessels = {v.mmsi: v for v in sim.vessels}
    out_visits, out_gaps, out_legs, out_trips, out_possible = [], [], [], [], []
    offsets = np.flatnonzero(np.r_[True, rec["mmsi"].to_numpy()[1:] != rec["mmsi"].to_numpy()[:-1]])
    bounds = list(zip(offsets, list(offsets[1:]) + [len(rec)]))
    lat_all = rec["lat"].to_numpy()
    lon_all = rec["lon"].to_numpy()
    port_all = _port_index(lat_all, lon_all, names, polygons)
    for a, b in bounds:
        mmsi = int(rec["mmsi"].iat[a])
        v = vessels[mmsi]
        t, lat, lon, port = t_all[a:b], lat_all[a:b], lon_all[a:b], port_all[a:b]
        calls = []
        for p, i, j in _visits(t, port, gap_s, dwell_s):
            calls.append(dict(port=names[p], arrival=int(t[i]), departure=int(t[j]),
                              possible=False))
            out_visits.append(dict(mmsi=mmsi, name=v.name, port=names[p],
                                   arrival_utc=_iso(t[i]), departure_utc=_iso(t[j]),
                                   dwell_hours=round((t[j] - t[i]) / 3600, 3),
                                   n_positions=int(j - i + 1)))
        gaps = []
        breaks = np.flatnonzero(np.diff(t) > gap_s)
        for i in breaks:
            gaps.append((i, i + 1))
        if data_end - t[-1] > gap_s:
            gaps.append((len(t) - 1, None))
        for i, j in gaps:
            t0 = int(t[i])
            t1 = int(t[j]) if j is not None else None
            hours = ((t1 if t1 is not None else data_end) - t0) / 3600
            start_port = names[port[i]] if port[i] >= 0 else ""
            end_port = names[port[j]] if j is not None and port[j] >= 0 else ""
            reach = []
            dist = speed = None
            if j is not None:
                dist = float(haversine_nm(lat[i], lon[i], lat[j], lon[j]))
                speed = dist / hours
                budget = reach_speed_kn * (hours - min_dwell_minutes / 60.0)
                for name in names:
                    if name in (start_port, end_port):
                        continue
                    d = (_distance_to_polygon_nm(lat[i], lon[i], polygons[name])
                         + _distance_to_polygon_nm(lat[j], lon[j], polygons[name]))
                    if d <= budget:
                        reach.append(name)
            off = _overlap(t0, t1 if t1 is not None else data_end, v.track.ais_off)
            cause = "intentional" if off > 0.5 * hours * 3600 else "coverage"
            rec_gap = dict(mmsi=mmsi, name=v.name, start_utc=_iso(t0), end_utc=_iso(t1),
                           hours=round(hours, 4), start_lat=float(lat[i]), start_lon=float(lon[i]),
                           end_lat=None if j is None else float(lat[j]),
                           end_lon=None if j is None else float(lon[j]),
                           distance_nm=None if dist is None else round(dist, 3),
                           implied_speed_kn=None if speed is None else round(speed, 3),
                           start_port=start_port, end_port=end_port,
                           possible_port_calls=";".join(reach), open=j is None, cause=cause)
            out_gaps.append(rec_gap)
            rec_gap["_t"] = (t0, t1, reach)
        vessel_gaps = [g for g in out_gaps if g["mmsi"] == mmsi]
        for leg in _legs(calls, ""):
            out_legs.append(_leg_record(mmsi, v.name, leg))
        for x, y in _greedy_trips(_legs(calls, "")):
            out_trips.append(_trip_record(mmsi, v.name, x, y, "|".join(sorted((x["origin"], x["destination"])))))
        for pa, pb in pairs:
            key = "|".join(sorted((pa, pb)))
            chain = []
            for c1, c2 in zip(calls, calls[1:] + [None]):
                chain.append(c1)
                if c2 is None or c1["port"] != c2["port"] or c1["port"] not in (pa, pb):
                    continue
                other = pb if c1["port"] == pa else pa
                for g in vessel_gaps:
                    g0, g1, reach = g["_t"]
                    if g1 is not None and g0 >= c1["departure"] and g1 <= c2["arrival"] and other in reach:
                        chain.append(dict(port=other, arrival=g0, departure=g1, possible=True))
                        out_possible.append(dict(mmsi=mmsi, name=v.name, port=other,
                                                 start_utc=_iso(g0), end_utc=_iso(g1), pair=key))
                        break
            pair_legs = _legs(chain, key)
            for leg in pair_legs:
                if leg["status"] == "inferred":
                    out_legs.append(_leg_record(mmsi, v.name, leg))
            for x, y in _greedy_trips(pair_legs):
                trip = _trip_record(mmsi, v.name, x, y, key)
                if trip["status"] == "inferred":
                    out_trips.append(trip)
    for g in out_gaps:
        g.pop("_t", None)
    out_trips.sort(key=lambda r: (r["mmsi"], r["depart_origin_utc"]))
    out_legs.sort(key=lambda r: (r["mmsi"], r["depart_origin_utc"], r["pair"]))
    return dict(
        simulated=True,
        note="Simulated data: every vessel, MMSI and IMO is fictional.",
        scenario=sim.scenario, seed=sim.seed,
        time_span=[_iso(t_all.min()), _iso(data_end)],
        definitions=dict(gap_hours=gap_hours, min_dwell_minutes=min_dwell_minutes,
                         reach_speed_kn=reach_speed_kn),
        pairs_of_interest=[sorted(p) for p in pairs],
        ports=names,
        stations=[dict(name=s.name, lat=s.lat, lon=s.lon, range_nm=s.range_nm) for s in STATIONS],
        coverage_outages=[dict(station=s, start_utc=_iso(a), end_utc=_iso(b))
                          for s, a, b in sim.outages],
        vessels=[dict(mmsi=v.mmsi, name=v.name, imo=v.imo or None, callsign=v.callsign,
                      ais_class=v.ais_class, role=v.role,
                      ais_off=[[_iso(a), _iso(b)] for a, b in v.track.ais_off])
                 for v in sim.vessels],
        counts=dict(lines=len(sim.lines), header_lines=sim.header_lines,
                    corrupt_lines=len(sim.corrupt), position_reports=int(len(rec)),
                    vessels=len(sim.vessels), port_visits=len(out_visits),
                    legs_observed=sum(1 for x in out_legs if x["status"] == "observed"),
                    legs_inferred=sum(1 for x in out_legs if x["status"] == "inferred"),
                    round_trips_observed=sum(1 for x in out_trips if x["status"] == "observed"),
                    round_trips_inferred=sum(1 for x in out_trips if x["status"] == "inferred"),
                    dark_periods=len(out_gaps),
                    dark_periods_intentional=sum(1 for g in out_gaps if g["cause"] == "intentional"),
                    dark_periods_coverage=sum(1 for g in out_gaps if g["cause"] == "coverage")),
        port_visits=sorted(out_visits, key=lambda r: (r["mmsi"], r["arrival_utc"])),
        legs=out_legs,
        round_trips=out_trips,
        dark_periods=sorted(out_gaps, key=lambda r: (r["mmsi"], r["start_utc"])),
        possible_port_calls=out_possible,
        actual_calls=_actual_calls(sim),
        header_lines=list(range(1, sim.header_lines + 1)),
        corrupt_lines=sim.corrupt,
    )


def _actual_calls(sim) -> list[dict]:
    """Every port stay that really happened, with whether AIS was on for any of it."""
    out = []
    for v in sim.vessels:
        for part in v.track.parts:
            port = getattr(part, "port", "")
            if not port:
                continue
            off = _overlap(part.t0, part.t1, v.track.ais_off)
            out.append(dict(mmsi=v.mmsi, name=v.name, port=port, arrival_utc=_iso(part.t0),
                            departure_utc=_iso(part.t1),
                            ais_on=bool(off < (part.t1 - part.t0))))
    return out


def write_truth(truth: dict, path) -> None:
    """Write the truth as indented JSON (atomic replace)."""
    import json
    import os
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
