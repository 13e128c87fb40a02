"""Slow, obvious references for the track-segmentation kernels of
:mod:`detectors.identity_tracks`, plus factories of hand-made and random shared-MMSI
tracks. Plain Python over lists, the haversine of :mod:`tests.reference_gaps`: nothing
shared with the numba code but the rules written in the module docstrings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tests.reference_gaps import haversine, make_positions

T0 = 1_693_526_400  # 2023-09-01T00:00:00Z


def ref_vessel_tracks(t, lat, lon, *, segment_speed_kn=25.0, tolerance_s=900.0, max_open=20,
                      lookback=3, short_positions=10.0, penalty_speed_kn=12.5) -> list[int]:
    """Track number of each row of one vessel (rows in time order), -1 without a time or
    a position: each row joins the reachable open track with the best score, else opens
    one; at most ``max_open`` open, the one silent longest closed first."""
    tracks: list[dict] = []      # open: {"id", "fixes": [rows], "n", "last_t"}
    out = []
    n_made = 0
    for i in range(len(t)):
        if any(math.isnan(x) for x in (t[i], lat[i], lon[i])):
            out.append(-1)
            continue
        candidates = []
        for tr in tracks:
            scores = []
            for j in tr["fixes"][-lookback:]:
                d = haversine(lat[j], lon[j], lat[i], lon[i])
                hours = max((t[i] - t[j] + tolerance_s) / 3600.0, 1.0 / 3600.0)
                if d <= segment_speed_kn * hours:
                    scores.append(math.exp(-(d / hours / penalty_speed_kn) ** 2) / hours)
            if scores:
                a = tr["n"] / short_positions
                candidates.append((max(scores) * a / math.sqrt(1 + a * a), tr["last_t"],
                                   -tr["id"], tr))
        if candidates:
            tr = max(candidates, key=lambda c: c[:3])[3]
        else:
            if len(tracks) == max_open:
                tracks.remove(min(tracks, key=lambda x: (x["last_t"], x["id"])))
            tr = {"id": n_made, "fixes": [], "n": 0, "last_t": -math.inf}
            n_made += 1
            tracks.append(tr)
        tr["fixes"].append(i)
        tr["n"] += 1
        tr["last_t"] = t[i]
        out.append(tr["id"])
    return out


def ref_fill(label, lat, lon, n_labels) -> list[int]:
    """Each -1 takes the kept label whose latest fix before it is nearest (ties: the most
    recent kept label, then the lowest); rows before any kept fix: the label whose first
    fix after is nearest; a vessel with 0 or 1 labels is all 0."""
    n = len(label)
    if n_labels <= 1:
        return [0] * n
    out = list(label)

    def nearest(i, anchor, prefer):
        best, best_d = -1, math.inf
        for k in range(n_labels):
            j = anchor.get(k)
            if j is None:
                continue
            d = haversine(lat[j], lon[j], lat[i], lon[i])
            if d != d:
                d = math.inf
            if best < 0 or d < best_d or (d == best_d and k == prefer):
                best, best_d = k, d
        return best

    last, recent = {}, -1
    for i in range(n):
        if label[i] >= 0:
            last[label[i]] = i
            recent = label[i]
        else:
            out[i] = nearest(i, last, recent)
    nxt, first = {}, -1
    for i in range(n - 1, -1, -1):
        if label[i] >= 0:
            nxt[label[i]] = i
            first = label[i]
        elif out[i] < 0:
            out[i] = max(nearest(i, nxt, first), 0)
    return out


def _path_distance(lat, lon, la, loa, lb, lob) -> float:
    def wrap(x):
        return (x + 180.0) % 360.0 - 180.0
    kx = 60.0 * math.cos(math.radians(lat))
    ax, ay = wrap(loa - lon) * kx, (la - lat) * 60.0
    bx, by = wrap(lob - lon) * kx, (lb - lat) * 60.0
    dx, dy = bx - ax, by - ay
    den = dx * dx + dy * dy
    u = 0.0 if den <= 0 else min(1.0, max(0.0, -(ax * dx + ay * dy) / den))
    return math.hypot(ax + u * dx, ay + u * dy)


def ref_echo_mask(tb, latb, lonb, ta, lata, lona, shift_s, distance_nm) -> list[bool]:
    """Fix i of B lies within ``distance_nm`` of A's fixes or legs (both ends) inside
    [t_i - shift, t_i + shift]."""
    out = []
    for i in range(len(tb)):
        window = [j for j in range(len(ta)) if abs(ta[j] - tb[i]) <= shift_s]
        hit = any(haversine(latb[i], lonb[i], lata[j], lona[j]) <= distance_nm for j in window)
        hit = hit or any(_path_distance(latb[i], lonb[i], lata[j], lona[j], lata[j + 1],
                                        lona[j + 1]) <= distance_nm
                         for j in window if j + 1 in window)
        out.append(hit)
    return out


def ship(mmsi, lat, lon, *, start=T0, n=30, step_s=600, dlat=0.0, dlon=0.02,
         offset_s=0) -> list[tuple]:
    """A plausible track: ``n`` fixes ``step_s`` apart moving (dlat, dlon) degrees per fix
    (0.02 degree of longitude in 10 min is about 7 kn at 42 N), longitudes wrapped."""
    rows = []
    for k in range(n):
        lo = (lon + k * dlon + 180.0) % 360.0 - 180.0
        rows.append((mmsi, start + offset_s + k * step_s, lat + k * dlat, lo))
    return rows


def positions(rows) -> pd.DataFrame:
    """A positions frame of (mmsi, time, lat, lon) rows, in the order given."""
    return make_positions(rows)


def random_shared(seed: int) -> pd.DataFrame:
    """Seeded random feed: a few MMSIs, some carried by two or three ships in different
    seas (reports interleaved), some single ships, with stray fixes, repeated fixes, equal
    times, rows without a position, and a ship crossing the antimeridian."""
    rng = np.random.default_rng(seed)
    rows = []
    seas = [(42.0, 131.0), (35.0, 20.0), (-8.0, 60.0), (55.0, 179.6), (10.0, -40.0)]
    for v in range(int(rng.integers(2, 5))):
        mmsi = 273000000 + v
        n_ships = int(rng.integers(1, 4))
        picks = rng.choice(len(seas), size=n_ships, replace=False)
        for s in picks:
            lat0, lon0 = seas[s]
            n = int(rng.integers(3, 40))
            start = T0 + int(rng.integers(0, 6 * 3600))
            t = start
            lat, lon = lat0 + rng.normal(0, 0.3), lon0 + rng.normal(0, 0.3)
            for _ in range(n):
                t += int(rng.choice([5, 60, 300, 600, 1800, 4 * 3600]))
                lat += rng.normal(0, 0.02)
                lon += rng.normal(0, 0.03)
                rows.append((mmsi, t, lat, (lon + 180.0) % 360.0 - 180.0))
                if rng.random() < 0.1:
                    rows.append(rows[-1])                       # repeated fix
                if rng.random() < 0.05:
                    rows.append((mmsi, t, lat + 3.0, lon))      # equal time elsewhere
        for _ in range(int(rng.integers(0, 4))):                # stray fixes
            rows.append((mmsi, T0 + int(rng.integers(0, 2 * 86400)),
                         float(rng.uniform(-60, 60)), float(rng.uniform(-180, 180))))
    frame = make_positions(rows)
    nan_rows = rng.random(len(frame)) < 0.03
    frame.loc[nan_rows, ["lat", "lon"]] = np.nan
    return frame


def _key(field, value):
    """(key, shown) of a static value, or None when empty; the rules of
    detectors.identity written out again."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if field == "imo":
        return (str(int(value)), str(int(value))) if value > 0 else None
    if field == "ship_type":
        c = int(value)
        if c <= 0 or c > 99:
            return None
        kind = c // 10 * 10 if c // 10 in (2, 4, 6, 7, 8, 9) else c
        return str(kind), str(c)
    text = str(value).upper().split("@", 1)[0]
    key = "".join(ch for ch in text if ch.isascii() and ch.isalnum())
    return (key, str(value).split("@", 1)[0].strip()) if key else None


def ref_identity_changes(statics: pd.DataFrame, min_reports: int = 2) -> list[tuple]:
    """[(mmsi, field, before, after, start ns, end ns)]: per MMSI and field, reports in time
    order, runs of one key; a run persists with >= min_reports reports (a table row,
    msg_type 0, counts min_reports); held values = persisting runs, consecutive equal ones
    merged, a short run equal to the held value before it absorbed (before the first held
    value: equal to that first one); a change between consecutive held values."""
    out = []
    recs = statics.assign(ns_=pd.to_datetime(statics["timestamp"], utc=True)
                          .dt.as_unit("ns").array.asi8)
    recs = recs[recs["timestamp"].notna()]
    for field in ("imo", "name", "callsign", "ship_type"):
        for mmsi, rows in recs.sort_values(["mmsi", "ns_", "source", "line"],
                                           kind="mergesort").groupby("mmsi", sort=True):
            runs = []
            for r in rows.itertuples(index=False):
                kv = _key(field, getattr(r, field))
                if kv is None:
                    continue
                w = min_reports if r.msg_type == 0 else 1
                if runs and runs[-1]["key"] == kv[0]:
                    runs[-1]["n"] += w
                    runs[-1]["last"] = r.ns_
                else:
                    runs.append({"key": kv[0], "shown": kv[1], "n": w, "first": r.ns_,
                                 "last": r.ns_})
            groups = []
            owner = [None] * len(runs)
            for i, run in enumerate(runs):
                if run["n"] >= min_reports:
                    if groups and groups[-1]["key"] == run["key"]:
                        owner[i] = len(groups) - 1
                    else:
                        groups.append({"key": run["key"]})
                        owner[i] = len(groups) - 1
            for i, run in enumerate(runs):
                if owner[i] is not None:
                    continue
                before = [owner[j] for j in range(i) if runs[j]["n"] >= min_reports]
                after = [owner[j] for j in range(i + 1, len(runs)) if runs[j]["n"] >= min_reports]
                if before:
                    if groups[before[-1]]["key"] == run["key"]:
                        owner[i] = before[-1]
                elif after and groups[after[0]]["key"] == run["key"]:
                    owner[i] = after[0]
            held = []
            for g in range(len(groups)):
                mine = [runs[i] for i in range(len(runs)) if owner[i] == g]
                held.append({"shown": mine[0]["shown"], "first": min(m["first"] for m in mine),
                             "last": max(m["last"] for m in mine)})
            for a, b in zip(held, held[1:]):
                out.append((int(mmsi), field, a["shown"], b["shown"], a["last"], b["first"]))
    return sorted(out)
