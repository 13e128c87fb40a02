"""Slow, obvious references for the cleaning and dark-period kernels.

Plain Python loops over rows, the haversine written out again, shapely for the port
polygons: nothing shared with the numba code but the definitions of DESIGN.md.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

R_NM = 6371.0088 / 1.852


def haversine(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * R_NM * math.asin(math.sqrt(min(1.0, a)))


def _seconds(ts) -> float:
    return pd.Timestamp(ts).value / 1e9


def _by_vessel(df: pd.DataFrame):
    df = df.sort_values(["mmsi", "timestamp"], kind="mergesort")
    for mmsi, rows in df.groupby("mmsi", sort=True):
        yield int(mmsi), list(rows.itertuples(index=False))


def ref_jumps(positions: pd.DataFrame, max_speed_kn=50.0, min_jump_nm=1.0,
              new_track_positions=3) -> list[tuple]:
    """[(mmsi, prev time s, time s)] of the spoofing jumps: each row compared with the last
    unflagged row of its vessel; ``new_track_positions`` flagged rows in a row, each
    plausible from the one before, become the track (all but the first unflagged); rows
    without a position are dropped first."""
    df = positions[positions["lat"].notna() & positions["lon"].notna()]

    def jump(a, b):
        d = haversine(a.lat, a.lon, b.lat, b.lon)
        hours = max(_seconds(b.timestamp) - _seconds(a.timestamp), 1.0) / 3600
        return d > min_jump_nm and d / hours > max_speed_kn

    out = []
    for mmsi, rows in _by_vessel(df):
        ref = None
        run = []          # [(row, jump record)] of the current run of flagged rows
        flagged = []
        for r in rows:
            if pd.isna(r.timestamp):
                continue
            if ref is None:
                ref = r
                continue
            if not jump(ref, r):
                ref = r
                run = []
                continue
            rec = (mmsi, _seconds(ref.timestamp), _seconds(r.timestamp))
            flagged.append(rec)
            if run and not jump(run[-1][0], r):
                run.append((r, rec))
            else:
                run = [(r, rec)]
            if len(run) >= new_track_positions:
                for _, later in run[1:]:
                    flagged.remove(later)
                ref = r
                run = []
        out.extend(flagged)
    return out


def polygons(registry) -> dict:
    return {f["properties"]["name"]: shape(f["geometry"])
            for f in registry.to_geojson()["features"]}


def _distance_to_polygon(lat, lon, geom) -> float:
    k = math.cos(math.radians(lat)) * 60.0
    proj = shapely.transform(geom, lambda xy: np.c_[xy[:, 0] * k, xy[:, 1] * 60.0])
    return float(proj.distance(shapely.Point(lon * k, lat * 60.0)))


def _port_of(lat, lon, polys) -> str:
    for name, geom in polys.items():
        if geom.covers(shapely.Point(lon, lat)):   # inside or on the boundary
            return name
    return ""


def ref_others(rows: list, own: int, fixes: list[tuple], t0: float, t1: float,
               radius_nm: float, inclusive_end: bool) -> int:
    """Distinct other vessels with a row within ``radius_nm`` of any fix, received in
    (t0, t1) (or (t0, t1] when ``inclusive_end``)."""
    seen = set()
    for r in rows:
        t = _seconds(r.timestamp)
        if not (t > t0 and (t <= t1 if inclusive_end else t < t1)) or r.mmsi == own:
            continue
        if any(haversine(la, lo, r.lat, r.lon) <= radius_nm for la, lo in fixes):
            seen.add(int(r.mmsi))
    return len(seen)


def ref_dark_periods(positions: pd.DataFrame, registry, *, gap_hours=6.0,
                     reception_radius_nm=20.0, reach_speed_kn=15.0, min_dwell_minutes=60.0,
                     data_end=None, own_messages=()) -> list[dict]:
    """Dark periods as dicts (mmsi, start, end (None when open), hours, distance_nm,
    others_received, possible_port_calls, start_port, end_port, open, own_messages).
    ``own_messages``: (mmsi, time) of messages without a usable position."""
    all_rows = list(positions.itertuples(index=False))
    if data_end is None:
        data_end = max(_seconds(r.timestamp) for r in all_rows if not pd.isna(r.timestamp))
    else:
        data_end = _seconds(data_end)
    usable = positions[positions["lat"].notna() & positions["lon"].notna()
                       & positions["timestamp"].notna()]
    if "spoofed" in usable:
        usable = usable[~usable["spoofed"].astype(bool)]
    rows_all = list(usable.itertuples(index=False))
    polys = polygons(registry)
    names = list(polys)
    gap_s = gap_hours * 3600
    out = []
    for mmsi, rows in _by_vessel(usable):
        pairs = [(a, b) for a, b in zip(rows, rows[1:])
                 if _seconds(b.timestamp) - _seconds(a.timestamp) > gap_s]
        if data_end - _seconds(rows[-1].timestamp) > gap_s:
            pairs.append((rows[-1], None))
        for a, b in pairs:
            t0 = _seconds(a.timestamp)
            t1 = data_end if b is None else _seconds(b.timestamp)
            hours = (t1 - t0) / 3600
            start_port = _port_of(a.lat, a.lon, polys)
            end_port = "" if b is None else _port_of(b.lat, b.lon, polys)
            fixes = [(a.lat, a.lon)] + ([] if b is None else [(b.lat, b.lon)])
            reach = []
            dist = math.nan
            if b is not None:
                dist = haversine(a.lat, a.lon, b.lat, b.lon)
                budget = reach_speed_kn * (hours - min_dwell_minutes / 60)
                for name in names:
                    if name in (start_port, end_port):
                        continue
                    if (_distance_to_polygon(a.lat, a.lon, polys[name])
                            + _distance_to_polygon(b.lat, b.lon, polys[name])) <= budget:
                        reach.append(name)
            out.append(dict(mmsi=mmsi, start=t0, end=None if b is None else t1, hours=hours,
                            distance_nm=dist,
                            others_received=ref_others(rows_all, mmsi, fixes, t0, t1,
                                                       reception_radius_nm, b is None),
                            possible_port_calls=";".join(reach), start_port=start_port,
                            end_port=end_port, open=b is None,
                            own_messages=sum(1 for m, t in own_messages if m == mmsi
                                             and t0 < _seconds(t)
                                             and (_seconds(t) < t1 if b is not None
                                                  else _seconds(t) <= t1))))
    return out


def make_positions(rows, *, spoofed=None) -> pd.DataFrame:
    """A positions frame (ais.schema columns) from ``(mmsi, time, lat, lon)`` rows; times
    are ISO strings, pandas timestamps or epoch seconds."""
    from ais.schema import POSITION_COLUMNS, POSITION_DTYPES

    rows = list(rows)
    times = [pd.Timestamp(t, unit="s", tz="UTC") if isinstance(t, (int, float, np.integer,
                                                                    np.floating))
             else pd.Timestamp(t) for _, t, _, _ in rows]
    df = pd.DataFrame({
        "mmsi": [int(r[0]) for r in rows],
        "timestamp": pd.to_datetime(pd.Series(times, dtype=object), utc=True),
        "lat": [float(r[2]) for r in rows], "lon": [float(r[3]) for r in rows],
        "sog": np.nan, "cog": np.nan, "heading": np.nan, "msg_type": 1, "source": "test",
        "line": np.arange(1, len(rows) + 1)})
    df = df.astype({c: POSITION_DTYPES[c] for c in POSITION_COLUMNS if c != "timestamp"})
    df["timestamp"] = df["timestamp"].astype("datetime64[ns, UTC]")
    if spoofed is not None:
        df["spoofed"] = np.asarray(spoofed, dtype=bool)
    return df[list(POSITION_COLUMNS) + (["spoofed"] if spoofed is not None else [])]


def random_tracks(seed: int, *, n_vessels=8, n_rows=60, lat=(41.6, 43.3), lon=(129.6, 133.3),
                  gap_chance=0.15, jump_chance=0.0, teleport_chance=0.0) -> pd.DataFrame:
    """Seeded random tracks: steps of minutes to hours, some long silences, optional
    one-off false positions (``jump_chance``) and relocations the track carries on from
    (``teleport_chance``); positions spread over the registry's area so some fall in
    ports."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n_vessels):
        mmsi = 273000000 + v
        t = 1_692_000_000 + float(rng.integers(0, 86400))
        la = rng.uniform(*lat)
        lo = rng.uniform(*lon)
        for _ in range(int(rng.integers(1, n_rows + 1))):
            rows.append((mmsi, t, la, lo))
            big = rng.random() < gap_chance
            dt = rng.uniform(6 * 3600, 80 * 3600) if big else rng.uniform(30, 3 * 3600)
            t += round(dt)
            if big or rng.random() < teleport_chance:
                la = rng.uniform(*lat)
                lo = rng.uniform(*lon)
            else:
                step = 12 * dt / 3600 / 60
                la = float(np.clip(la + rng.normal(0, step), *lat))
                lo = float(np.clip(lo + rng.normal(0, step), *lon))
            if rng.random() < jump_chance:
                rows.append((mmsi, t - 1, la + rng.uniform(-3, 3), lo + rng.uniform(-3, 3)))
    return make_positions(rows)
