"""Slow, obvious references for the behaviour kernels: encounters (all pairs of
vessels, every grid time), loitering, stays and DBSCAN, written from DESIGN.md's
definitions with plain Python loops and floats: nothing shared with the numba code.

Also the track factories of the behaviour tests.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest

from tests.reference_gaps import make_positions
from tests.reference_visits import ref_port_distance_nm

R_NM = 6371.0088 / 1.852
M_PER_NM = 1852.0


def haversine_m(lat1, lon1, lat2, lon2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * R_NM * math.asin(math.sqrt(min(1.0, a))) * M_PER_NM


def wrap(lon: float) -> float:
    if -180.0 <= lon < 180.0:
        return lon
    return (lon + 180.0) % 360.0 - 180.0


def short_delta(lon0: float, lon1: float) -> float:
    return wrap(lon1 - lon0)


def _seconds(ts) -> float:
    return pd.Timestamp(ts).value / 1e9


def tracks(positions: pd.DataFrame) -> dict[int, list[tuple[float, float, float]]]:
    """mmsi -> [(t seconds, lat, lon)] of the usable rows, in (time, source, line) order."""
    df = positions[positions["lat"].notna() & positions["lon"].notna()
                   & positions["timestamp"].notna()]
    if "spoofed" in df.columns:
        df = df[~df["spoofed"].fillna(False).astype(bool)]
    keys = [k for k in ("mmsi", "timestamp", "source", "line") if k in df.columns]
    df = df.sort_values(keys, kind="mergesort")
    out: dict[int, list] = {}
    for r in df.itertuples(index=False):
        out.setdefault(int(r.mmsi), []).append((_seconds(r.timestamp), float(r.lat), float(r.lon)))
    return out


def port_distance(registry, lat, lon) -> float:
    """Distance in nm to the nearest port polygon (0 inside; inf without ports), each
    polygon compared with the point moved by whole turns to its side of 180 degrees."""
    if registry is None or len(registry.names) == 0:
        return math.inf
    best = math.inf
    for f in registry.features:
        for poly in f["polygons"]:
            xs = [x for x, _ in poly[0]]
            centre = (min(xs) + max(xs)) / 2
            plon = centre + short_delta(centre, lon)
            best = min(best, ref_port_distance_nm({"polygons": [poly]}, lat, plon))
    return best


def away(registry, lat, lon, min_nm) -> bool:
    d = port_distance(registry, lat, lon)
    return d >= min_nm and d > 0


# ---- encounters ----------------------------------------------------------------------

def ref_grid(track, step_s, max_gap_s) -> dict[int, tuple[float, float]]:
    """k -> (lat, lon) of one vessel on the grid k * step_s."""
    out = {}
    if not track:
        return out
    k = math.ceil(track[0][0] / step_s)
    i = 0
    while k * step_s <= track[-1][0]:
        tg = k * step_s
        while i + 1 < len(track) and track[i + 1][0] <= tg:     # last fix at or before tg
            i += 1
        t0, la0, lo0 = track[i]
        if t0 == tg:
            out[k] = (la0, lo0)
        else:
            t1, la1, lo1 = track[i + 1]
            if t1 - t0 <= max_gap_s:
                mix = (tg - t0) / (t1 - t0)
                out[k] = (la0 + mix * (la1 - la0), wrap(lo0 + mix * short_delta(lo0, lo1)))
        k += 1
    return out


def _speeds(grid, ks, step_h):
    return [haversine_m(*grid[a], *grid[b]) / M_PER_NM / step_h for a, b in zip(ks, ks[1:])]


def _mean_position(points):
    x = y = z = 0.0
    for la, lo in points:
        p, q = math.radians(la), math.radians(lo)
        x += math.cos(p) * math.cos(q)
        y += math.cos(p) * math.sin(q)
        z += math.sin(p)
    return math.degrees(math.atan2(z, math.hypot(x, y))), wrap(math.degrees(math.atan2(y, x)))


def ref_grids(positions, *, step_minutes=10.0, max_gap_minutes=60.0) -> dict[int, dict]:
    """mmsi -> its grid positions (:func:`ref_grid`)."""
    return {m: ref_grid(tr, step_minutes * 60, max_gap_minutes * 60)
            for m, tr in tracks(positions).items()}


def ref_encounters(positions, registry=None, *, distance_m=500.0, min_minutes=120.0,
                   max_speed_kn=2.0, port_distance_nm=5.0, step_minutes=10.0,
                   max_gap_minutes=60.0, merge_hours=4.0) -> list[dict]:
    """Encounters over ALL pairs of vessels and every common grid time, as dicts
    (mmsi_1, mmsi_2, start, end (epoch s), n_steps, median_distance_m, speed_1, speed_2,
    lat, lon), sorted by (mmsi_1, start, mmsi_2)."""
    grids = ref_grids(positions, step_minutes=step_minutes, max_gap_minutes=max_gap_minutes)
    return ref_pair_encounters(grids, registry, distance_m=distance_m, min_minutes=min_minutes,
                               max_speed_kn=max_speed_kn, port_distance_nm=port_distance_nm,
                               step_minutes=step_minutes, merge_hours=merge_hours)


def ref_pair_encounters(grids, registry=None, *, distance_m=500.0, min_minutes=120.0,
                        max_speed_kn=2.0, port_distance_nm=5.0, step_minutes=10.0,
                        merge_hours=4.0) -> list[dict]:
    """:func:`ref_encounters` from the vessels' grids: every pair, every common grid time."""
    step_s = step_minutes * 60
    step_h = step_s / 3600
    vessels = sorted(grids)
    out = []
    for i, m1 in enumerate(vessels):
        for m2 in vessels[i + 1:]:
            g1, g2 = grids[m1], grids[m2]
            close = {}
            for k in sorted(set(g1) & set(g2)):
                d = haversine_m(*g1[k], *g2[k])
                if d <= distance_m and away(registry, *g1[k], port_distance_nm) \
                        and away(registry, *g2[k], port_distance_nm):
                    close[k] = d
            runs, run = [], []
            for k in sorted(close):
                if run and k != run[-1] + 1:
                    runs.append(run)
                    run = []
                run.append(k)
            if run:
                runs.append(run)
            good = []
            for run in runs:
                if len(run) < 2 or (run[-1] - run[0]) * step_s < min_minutes * 60:
                    continue
                if statistics.median(_speeds(g1, run, step_h)) < max_speed_kn \
                        and statistics.median(_speeds(g2, run, step_h)) < max_speed_kn:
                    good.append(run)
            merged = []
            for run in good:
                if merged and (run[0] - merged[-1][-1][-1]) * step_s < merge_hours * 3600:
                    merged[-1].append(run)
                else:
                    merged.append([run])
            for group in merged:
                ks = [k for run in group for k in run]
                sp1 = [s for run in group for s in _speeds(g1, run, step_h)]
                sp2 = [s for run in group for s in _speeds(g2, run, step_h)]
                lat, lon = _mean_position([g1[k] for k in ks] + [g2[k] for k in ks])
                out.append(dict(mmsi_1=m1, mmsi_2=m2, start=ks[0] * step_s, end=ks[-1] * step_s,
                                n_steps=len(ks),
                                median_distance_m=statistics.median(close[k] for k in ks),
                                speed_1=statistics.median(sp1), speed_2=statistics.median(sp2),
                                lat=lat, lon=lon))
    return sorted(out, key=lambda e: (e["mmsi_1"], e["start"], e["mmsi_2"]))


# ---- loitering -----------------------------------------------------------------------

def _median_position(points):
    lat = statistics.median(p[0] for p in points)
    lon0 = points[0][1]
    lon = wrap(statistics.median(lon0 + short_delta(lon0, p[1]) for p in points))
    return lat, lon


def ref_loitering(positions, registry=None, *, max_speed_kn=2.0, min_hours=4.0,
                  port_distance_nm=5.0, max_gap_minutes=60.0) -> list[dict]:
    """Loitering runs as dicts (mmsi, start, end (epoch s), n_positions, mean_speed_kn,
    max_speed_kn, lat, lon)."""
    out = []
    for mmsi, tr in sorted(tracks(positions).items()):
        far = [away(registry, la, lo, port_distance_nm) for _, la, lo in tr]

        def slow(j):
            (t0, a0, b0), (t1, a1, b1) = tr[j], tr[j + 1]
            if t1 - t0 > max_gap_minutes * 60:
                return False
            d = haversine_m(a0, b0, a1, b1) / M_PER_NM
            speed = (math.inf if d > 0 else 0.0) if t1 <= t0 else d / ((t1 - t0) / 3600)
            return speed < max_speed_kn

        i = 0
        while i < len(tr):
            if not far[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(tr) and far[j + 1] and slow(j):
                j += 1
            if j > i and tr[j][0] - tr[i][0] >= min_hours * 3600:
                pts = tr[i:j + 1]
                legs = [haversine_m(p[1], p[2], q[1], q[2]) / M_PER_NM for p, q in zip(pts, pts[1:])]
                speeds = [d / ((q[0] - p[0]) / 3600) if q[0] > p[0] else (math.inf if d else 0.0)
                          for d, p, q in zip(legs, pts, pts[1:])]
                lat, lon = _median_position([(p[1], p[2]) for p in pts])
                hours = (tr[j][0] - tr[i][0]) / 3600
                out.append(dict(mmsi=mmsi, start=tr[i][0], end=tr[j][0], n_positions=j - i + 1,
                                mean_speed_kn=sum(legs) / hours, max_speed_kn=max(speeds),
                                lat=lat, lon=lon))
            i = j + 1
    return out


# ---- stays and DBSCAN ----------------------------------------------------------------

def ref_stays(positions, registry=None, *, min_hours=2.0, radius_m=500.0,
              gap_hours=6.0) -> list[dict]:
    """Stays outside every port polygon as dicts (mmsi, start, end, n_positions, lat, lon)."""
    out = []
    for mmsi, tr in sorted(tracks(positions).items()):
        i = 0
        while i < len(tr):
            j = i + 1
            while (j < len(tr) and tr[j][0] - tr[j - 1][0] <= gap_hours * 3600
                   and haversine_m(tr[i][1], tr[i][2], tr[j][1], tr[j][2]) <= radius_m):
                j += 1
            if j - 1 > i and tr[j - 1][0] - tr[i][0] >= min_hours * 3600:
                lat, lon = _median_position([(p[1], p[2]) for p in tr[i:j]])
                if port_distance(registry, lat, lon) > 0:
                    out.append(dict(mmsi=mmsi, start=tr[i][0], end=tr[j - 1][0],
                                    n_positions=j - i, lat=lat, lon=lon))
                i = j
            else:
                i += 1
    return out


def ref_dbscan(points, eps_m, min_samples) -> list[int]:
    """DBSCAN labels (-1 noise) of [(lat, lon)] with great-circle distances: core points
    have at least ``min_samples`` points (themselves included) within ``eps_m``;
    clusters are the connected core points plus the points within eps of one, labelled
    in order of their first point."""
    n = len(points)
    nbrs = [[j for j in range(n) if haversine_m(*points[i], *points[j]) <= eps_m]
            for i in range(n)]
    core = [len(nb) >= min_samples for nb in nbrs]
    labels = [-1] * n
    label = 0
    for i in range(n):
        if labels[i] != -1 or not core[i]:
            continue
        labels[i] = label
        todo = [i]
        while todo:
            p = todo.pop()
            if not core[p]:
                continue
            for q in nbrs[p]:
                if labels[q] == -1:
                    labels[q] = label
                    todo.append(q)
        label += 1
    return labels


# ---- comparing a detector's table with a reference ------------------------------------

def _encounter_tuples(frame):
    return [(r.mmsi_1, r.mmsi_2, r.start_utc.value // 10**9, r.end_utc.value // 10**9, r.n_steps)
            for r in frame.itertuples()]


def assert_encounters_match(frame, ref):
    assert _encounter_tuples(frame) == [(e["mmsi_1"], e["mmsi_2"], e["start"], e["end"], e["n_steps"])
                                for e in ref]
    for r, e in zip(frame.itertuples(), ref):
        assert r.median_distance_m == pytest.approx(e["median_distance_m"], rel=1e-9, abs=1e-6)
        assert r.median_speed_1_kn == pytest.approx(e["speed_1"], rel=1e-9, abs=1e-9)
        assert r.median_speed_2_kn == pytest.approx(e["speed_2"], rel=1e-9, abs=1e-9)
        assert r.lat == pytest.approx(e["lat"], abs=1e-9)
        assert abs((r.lon - e["lon"] + 180) % 360 - 180) < 1e-9


def assert_loitering_match(frame, ref):
    got = [(r.mmsi, r.start_utc.value // 10**9, r.end_utc.value // 10**9, r.n_positions)
           for r in frame.itertuples()]
    assert got == [(e["mmsi"], e["start"], e["end"], e["n_positions"]) for e in ref]
    for r, e in zip(frame.itertuples(), ref):
        assert r.mean_speed_kn == pytest.approx(e["mean_speed_kn"], rel=1e-9, abs=1e-12)
        assert r.max_speed_kn == pytest.approx(e["max_speed_kn"], rel=1e-9, abs=1e-12)
        assert r.lat == pytest.approx(e["lat"], abs=1e-12)
        assert abs((r.lon - e["lon"] + 180) % 360 - 180) < 1e-9


def assert_stays_match(stays, ref):
    got = [(r.mmsi, r.start_utc.value // 10**9, r.end_utc.value // 10**9, r.n_positions)
           for r in stays.itertuples()]
    assert got == [(e["mmsi"], e["start"], e["end"], e["n_positions"]) for e in ref]
    for r, e in zip(stays.itertuples(), ref):
        assert r.lat == pytest.approx(e["lat"], abs=1e-12)
        assert abs((r.lon - e["lon"] + 180) % 360 - 180) < 1e-9


# ---- track factories -------------------------------------------------------------------

T0 = 1_693_526_400          # 2023-09-01T00:00:00Z


def offset(lat, lon, north_m=0.0, east_m=0.0) -> tuple[float, float]:
    """A point ``north_m`` / ``east_m`` metres from (lat, lon) (flat approximation, good
    to well under a metre over a few km)."""
    dlat = north_m / M_PER_NM / 60.0
    dlon = east_m / M_PER_NM / 60.0 / math.cos(math.radians(lat))
    return lat + dlat, wrap(lon + dlon)


def stationary(mmsi, lat, lon, start, hours, every=10.0, jitter_m=0.0, seed=0):
    """Rows (mmsi, t, lat, lon) of a vessel lying at one point (optionally jittering)."""
    rng = np.random.default_rng(seed)
    n = int(round(hours * 60 / every))
    rows = []
    for i in range(n + 1):
        la, lo = (lat, lon) if not jitter_m else offset(lat, lon, *rng.normal(0, jitter_m, 2))
        rows.append((mmsi, start + i * every * 60, la, lo))
    return rows


def sailing(mmsi, lat, lon, start, hours, speed_kn, course_deg, every=10.0):
    """Rows of a vessel on a straight course at constant speed."""
    n = int(round(hours * 60 / every))
    rows = []
    for i in range(n + 1):
        dist_m = speed_kn * M_PER_NM * i * every / 60
        c = math.radians(course_deg)
        rows.append((mmsi, start + i * every * 60,
                     *offset(lat, lon, dist_m * math.cos(c), dist_m * math.sin(c))))
    return rows


def drifting_fleet(seed, *, n_vessels=6, hours=30.0, lat=42.30, lon=131.50, spread_m=800.0,
                   fast_share=0.15, gap_chance=0.05) -> pd.DataFrame:
    """Seeded random tracks of vessels around one point: each lies at a random spot of the
    area for 1 to 8 hours (swinging slowly on up to 150 m, as at anchor), then moves at 4
    to 10 knots to another spot, and so on; a few sail straight through at 12 knots.
    Fixes come 1 to 40 minutes apart with some silences over an hour. Pairs come within
    500 m for minutes to hours: some meetings are encounters, many are not."""
    rng = np.random.default_rng(seed)
    rows = []
    end = T0 + hours * 3600

    def spot():
        return offset(lat, lon, *rng.uniform(-spread_m, spread_m, 2))

    for v in range(n_vessels):
        mmsi = 273100000 + v
        t = T0 + float(rng.integers(0, 4 * 3600))
        if rng.random() < fast_share:
            course = rng.uniform(0, 2 * math.pi)
            la, lo = offset(lat, lon, -6000 * math.cos(course), -6000 * math.sin(course))
            while t < end:
                rows.append((mmsi, round(t), la, lo))
                dt = rng.uniform(1, 20) * 60
                d = 12 * M_PER_NM * dt / 3600
                la, lo = offset(la, lo, d * math.cos(course), d * math.sin(course))
                t += dt
            continue
        la, lo = spot()
        while t < end:
            stay_until = t + rng.uniform(1, 8) * 3600
            swing = rng.uniform(0, 150)
            phase = rng.uniform(0, 2 * math.pi)
            while t < min(stay_until, end):
                a = phase + (t - T0) / 3600 * 0.5          # half a radian an hour
                rows.append((mmsi, round(t), *offset(la, lo, swing * math.cos(a), swing * math.sin(a))))
                t += rng.uniform(61, 150) * 60 if rng.random() < gap_chance else rng.uniform(1, 40) * 60
            la2, lo2 = spot()
            dist = haversine_m(la, lo, la2, lo2)
            speed = rng.uniform(4, 10) * M_PER_NM / 3600
            steps = max(int(dist / speed / 300), 1)
            for k in range(1, steps + 1):
                rows.append((mmsi, round(t), la + (la2 - la) * k / steps, lo + (lo2 - lo) * k / steps))
                t += dist / speed / steps
            la, lo = la2, lo2
    return make_positions(rows)


def box_registry(*boxes):
    """A port registry of named boxes ``(name, west, south, east, north)``."""
    from ports.registry import PortRegistry, parse_features

    feats = [{"type": "Feature", "properties": {"name": name},
              "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}
             for name, w, s, e, n in boxes]
    return PortRegistry(parse_features({"type": "FeatureCollection", "features": feats}, None))
