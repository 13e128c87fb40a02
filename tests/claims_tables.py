"""Hand-made event tables for the claims and watchlist tests: small factories with the
column layouts of the detectors' tables (``detectors.columns``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from ais.schema import POSITION_COLUMNS, STATIC_COLUMNS
from detectors.columns import (DARK_PERIOD_TABLE, ENCOUNTER_TABLE, LEG_COLUMNS, LOITER_TABLE,
                               PORT_VISIT_TABLE, POSSIBLE_CALL_COLUMNS, ROUND_TRIP_TABLE)
from shadowfleet.claims.model import Claim, Vessels, Window

ANGARA_IMO, MARIA_IMO, LADY_R_IMO = 9179842, 8517839, 9161003
ANGARA, MARIA, OTHER = 273000001, 273000002, 273000003


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def claim(kind: str = "round_trips", ports=("Najin", "Dunay"), start="2023-08-15",
          end="2023-10-14", imo=(), mmsi=(), names=(), at_least: int = 5, **kw) -> Claim:
    return Claim(id=kw.pop("id", f"test-{kind}"), kind=kind, statement=kw.pop("statement", "test"),
                 ports=tuple(ports), window=Window(dt.date.fromisoformat(start),
                                                   dt.date.fromisoformat(end)),
                 vessels=Vessels(tuple(imo), tuple(mmsi), tuple(names)), at_least=at_least,
                 source=kw.pop("source", "Test source"), **kw)


def frame(rows: list[dict], columns: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    for c in columns:
        if c.endswith("_utc") or c == "timestamp":
            df[c] = pd.to_datetime(df[c], utc=True, format="ISO8601")
    if "mmsi" in df:
        df["mmsi"] = df["mmsi"].astype("int64")
    return df


def visits(*rows) -> pd.DataFrame:
    """rows: (visit_id, mmsi, port, arrival, departure)."""
    return frame([{"visit_id": v, "mmsi": m, "name": "", "port": p, "arrival_utc": a,
                   "departure_utc": d, "dwell_hours": (ts(d) - ts(a)).total_seconds() / 3600,
                   "n_positions": 10, "call_id": v, "open_at_end": False}
                  for v, m, p, a, d in rows], PORT_VISIT_TABLE)


def trips(*rows) -> pd.DataFrame:
    """rows: (trip_id, mmsi, origin, destination, depart_origin, return_origin, status,
    call_ids)."""
    out = []
    for tid, m, o, d, dep, ret, status, calls in rows:
        out.append({"trip_id": tid, "mmsi": m, "name": "", "origin": o, "destination": d,
                    "depart_origin_utc": dep, "arrive_destination_utc": None,
                    "depart_destination_utc": None, "return_origin_utc": ret,
                    "duration_hours": np.nan, "status": status,
                    "pair": "|".join(sorted((o, d))), "call_ids": ";".join(calls)})
    return frame(out, ROUND_TRIP_TABLE)


def legs(*rows) -> pd.DataFrame:
    """rows: (leg_id, mmsi, origin, destination, depart, arrive, status, origin_call,
    destination_call, pair)."""
    return frame([{"leg_id": lid, "mmsi": m, "name": "", "origin": o, "destination": d,
                   "depart_origin_utc": dep, "arrive_destination_utc": arr, "status": st,
                   "origin_call_id": oc, "destination_call_id": dc, "pair": pair}
                  for lid, m, o, d, dep, arr, st, oc, dc, pair in rows], LEG_COLUMNS)


def gaps(*rows) -> pd.DataFrame:
    """rows: (gap_id, mmsi, start, end, others_received, possible_port_calls[, start_port,
    end_port])."""
    out = []
    for r in rows:
        gid, m, s, e, others, reach = r[:6]
        sp, ep = (r[6], r[7]) if len(r) > 6 else ("", "")
        hours = np.nan if e is None else (ts(e) - ts(s)).total_seconds() / 3600
        out.append({"gap_id": gid, "mmsi": m, "name": "", "start_utc": s, "end_utc": e,
                    "hours": hours, "start_lat": 42.5, "start_lon": 131.0, "end_lat": 42.6,
                    "end_lon": 131.2, "distance_nm": 10.0, "implied_speed_kn": 1.0,
                    "others_received": others, "possible_port_calls": reach,
                    "start_port": sp, "end_port": ep, "open": e is None})
    return frame(out, DARK_PERIOD_TABLE)


def possible(*rows) -> pd.DataFrame:
    """rows: (call_id, mmsi, port, gap_id, start, end, pair)."""
    return frame([{"call_id": c, "mmsi": m, "name": "", "port": p, "gap_id": g, "start_utc": s,
                   "end_utc": e, "pair": pair} for c, m, p, g, s, e, pair in rows],
                 POSSIBLE_CALL_COLUMNS)


def encounters(*rows) -> pd.DataFrame:
    """rows: (encounter_id, mmsi_1, mmsi_2, start, end[, lat, lon])."""
    out = []
    for r in rows:
        eid, m1, m2, s, e = r[:5]
        lat, lon = (r[5], r[6]) if len(r) > 5 else (42.5, 131.6)
        out.append({"encounter_id": eid, "mmsi_1": min(m1, m2), "name_1": "",
                    "mmsi_2": max(m1, m2), "name_2": "", "start_utc": s, "end_utc": e,
                    "hours": (ts(e) - ts(s)).total_seconds() / 3600, "lat": lat, "lon": lon,
                    "median_distance_m": 150.0, "median_speed_kn": 0.3,
                    "median_speed_1_kn": 0.3, "median_speed_2_kn": 0.2, "n_steps": 20,
                    "nearest_port": "", "port_distance_nm": np.nan})
    df = frame(out, ENCOUNTER_TABLE)
    for c in ("mmsi_1", "mmsi_2"):
        df[c] = df[c].astype("int64")
    return df


def loitering(*rows) -> pd.DataFrame:
    """rows: (loiter_id, mmsi, start, end, lat, lon)."""
    return frame([{"loiter_id": lid, "mmsi": m, "name": "", "start_utc": s, "end_utc": e,
                   "hours": (ts(e) - ts(s)).total_seconds() / 3600, "lat": lat, "lon": lon,
                   "mean_speed_kn": 0.4, "nearest_port": "", "port_distance_nm": np.nan,
                   "n_positions": 30, "max_speed_kn": 1.0}
                  for lid, m, s, e, lat, lon in rows], LOITER_TABLE)


def statics(*rows) -> pd.DataFrame:
    """rows: (mmsi, timestamp, imo or None, name)."""
    out = []
    for i, (m, t, imo, name) in enumerate(rows):
        out.append({"mmsi": m, "timestamp": t, "imo": np.nan if imo is None else float(imo),
                    "name": name, "callsign": "", "ship_type": 70.0, "length": 100.0,
                    "beam": 15.0, "draught": 5.0, "destination": "", "eta": "",
                    "msg_type": 5, "source": "test", "line": i + 1})
    return frame(out, STATIC_COLUMNS)


def track(mmsi: int, start: str, end: str, every_hours: float = 1.0, lat: float = 35.0,
          lon: float = 135.0, spoofed: bool = False) -> pd.DataFrame:
    """A vessel received every ``every_hours`` from ``start`` to ``end`` (both included)."""
    times = pd.date_range(ts(start), ts(end), freq=pd.Timedelta(hours=every_hours))
    n = len(times)
    df = pd.DataFrame({"mmsi": np.full(n, mmsi, dtype="int64"), "timestamp": times,
                       "lat": np.full(n, lat), "lon": np.full(n, lon), "sog": np.full(n, 10.0),
                       "cog": np.full(n, 90.0), "heading": np.full(n, np.nan),
                       "msg_type": np.full(n, 1, dtype="int64"), "source": "test",
                       "line": np.arange(n, dtype="int64")})
    df = df[list(POSITION_COLUMNS)]
    df["spoofed"] = spoofed
    return df


def positions(*tracks: pd.DataFrame) -> pd.DataFrame:
    df = pd.concat(tracks, ignore_index=True)
    return df.sort_values(["mmsi", "timestamp"], kind="mergesort").reset_index(drop=True)


def registry():
    """The bundled port registry (loaded once)."""
    global _REGISTRY
    if _REGISTRY is None:
        from ports import load_ports

        _REGISTRY = load_ports()
    return _REGISTRY


_REGISTRY = None


def evaluate(claims, *, registry_=None, params=None, **tables):
    """``evaluate_claims`` with the bundled registry and default thresholds, given
    explicitly as a run gives its own."""
    from shadowfleet.claims import ClaimParams, evaluate_claims

    return evaluate_claims(list(claims), registry=registry_ or registry(),
                           params=params or ClaimParams(), **tables)
