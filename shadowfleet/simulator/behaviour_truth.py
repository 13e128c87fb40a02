"""The behaviour section of the truth file: what the simulated ships did at sea, and what
a correct run finds of it given what the stations received.

Recorded from the ships' true tracks (CONVENTIONS 18: what happened, not a second
reading; nothing here imports ``detectors`` or ``ports``); the expectations apply
DESIGN.md's definitions ("Behaviour and identity detectors") with the default
thresholds of :data:`DEFINITIONS` to the true events and the receive times of the
reports the stations heard:

- ``sea_stays``: every stay at sea (a stay that is no port call, leaving out the
  placeholder stays of through traffic outside the area), with its place
  (:data:`shadowfleet.simulator.behaviour.PLACES`), its distance from the nearest port
  polygon of the simulated world, the reports received during it and how long they were
  heard: ``heard_hours``, the longest stretch of received reports no two more than
  ``loiter_max_gap_minutes`` apart (what loitering and encounters need), and
  ``stay_heard_hours``, the same with ``gap_hours`` (what a stay needs);
- ``meetings``: two ships' stays at the same rendezvous overlapping in time (a
  ship-to-ship transfer), with who was dark (transmitter off or positions withheld for
  the whole meeting) and ``heard_hours``, the longest stretch in which both were heard
  as above. ``expected`` (an encounter a correct run reports): both at least
  ``encounter_port_distance_nm`` from every port and heard together for at least
  ``encounter_min_minutes`` + two grid steps (the grid times of a stretch may start up
  to a step after it and end a step before); a meeting with either ship dark cannot be
  seen;
- ``loitering``: every stay at sea at least ``loiter_port_distance_nm`` from every port,
  ``expected`` when heard for at least ``loiter_min_hours`` (the received fixes of that
  stretch are then a loitering run: slow, no gap over the limit, far from ports);
- ``stops``: every place used by a stay at sea, ``expected`` (an unlisted stop a correct
  run reports) when at least ``stop_cluster_min_stays`` of its stays were heard as stays
  (``stay_heard_hours`` >= ``stop_min_hours``): a place used that many times;
- ``lookalikes``: what a correct run must not report: ``passing`` (two ships within
  ``encounter_distance_m`` of each other at sea, at least one under way: the closest
  approach, found on a one-minute scan of the true tracks refined to 5 s),
  ``moored_in_port`` (two ships at berths of one port within ``encounter_distance_m`` of
  each other for at least ``encounter_min_minutes``: one row per pair and port, with how
  often and how long), ``anchored_in_port`` (a call at anchor inside a port polygon: no
  loitering, no unlisted stop) and ``near_port`` (a stay at sea nearer a port than
  ``loiter_port_distance_nm``: no loitering). Each says which kinds must not fire.

Distances to ports are to the port boxes of :mod:`shadowfleet.simulator.world` (the
bundled registry draws the same boxes for those ports; the places keep at least 1.5 nm
from the 5 nm line, which a test checks against the registry).
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd

from shadowfleet.simulator.behaviour import PLACES
from shadowfleet.simulator.tracks import AT_ANCHOR, UNDER_WAY, Passage, Stay
from shadowfleet.simulator.world import PORTS, haversine_nm

DEFINITIONS = dict(encounter_distance_m=500.0, encounter_min_minutes=120.0,
                   encounter_step_minutes=10.0, encounter_port_distance_nm=5.0,
                   loiter_min_hours=4.0, loiter_max_gap_minutes=60.0,
                   loiter_port_distance_nm=5.0, stop_min_hours=2.0, stop_cluster_min_stays=3,
                   gap_hours=6.0)
M_PER_NM = 1852.0
SCAN_STEP_S = 60.0
REFINE_STEP_S = 5.0


def _iso(t) -> str | None:
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return None
    return pd.Timestamp(round(float(t)), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def port_distance_nm(lat: float, lon: float) -> tuple[str, float]:
    """(nearest port, nm from its box; 0 inside) among the simulated world's ports."""
    best, best_d = "", math.inf
    for name, port in PORTS.items():
        lons = [p[0] for p in port.ring]
        lats = [p[1] for p in port.ring]
        clat = min(max(lat, min(lats)), max(lats))
        clon = min(max(lon, min(lons)), max(lons))
        d = float(haversine_nm(lat, lon, clat, clon))
        if d < best_d:
            best, best_d = name, d
    return best, best_d


def runs(times: np.ndarray, max_gap_s: float) -> list[tuple[float, float]]:
    """Sorted times split where two follow each other by more than ``max_gap_s``: the
    (first, last) of each stretch."""
    t = np.asarray(times, dtype=float)
    if not len(t):
        return []
    cut = np.flatnonzero(np.diff(t) > max_gap_s)
    starts = np.r_[0, cut + 1]
    ends = np.r_[cut, len(t) - 1]
    return [(float(t[a]), float(t[b])) for a, b in zip(starts, ends)]


def longest(stretches) -> float:
    return max((b - a for a, b in stretches), default=0.0)


def _intersect(a: list[tuple[float, float]], b: list[tuple[float, float]]):
    out = []
    for a0, a1 in a:
        for b0, b1 in b:
            lo, hi = max(a0, b0), min(a1, b1)
            if hi > lo:
                out.append((lo, hi))
    return out


class _Heard:
    """Receive times (epoch s) of each vessel's reports with a position, by send time."""

    def __init__(self, received: pd.DataFrame):
        self.by_vessel: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        if received is None or not len(received):
            return
        rec = received[received["lat"].notna() & received["lon"].notna()]
        rx = (pd.to_datetime(rec["timestamp"], utc=True) - pd.Timestamp(0, tz="UTC")) \
            / pd.Timedelta(seconds=1)
        frame = pd.DataFrame({"mmsi": rec["mmsi"].to_numpy(), "sent": rec["sent_s"].to_numpy(),
                              "rx": rx.to_numpy()}).sort_values(["mmsi", "sent"])
        for m, idx in frame.groupby("mmsi").indices.items():
            part = frame.iloc[idx]
            self.by_vessel[int(m)] = (part["sent"].to_numpy(), part["rx"].to_numpy())

    def during(self, mmsi: int, t0: float, t1: float) -> np.ndarray:
        """Receive times of the reports sent in [t0, t1)."""
        sent, rx = self.by_vessel.get(int(mmsi), (np.zeros(0), np.zeros(0)))
        a, b = np.searchsorted(sent, [t0, t1], side="left")
        return np.sort(rx[a:b])


def _quiet_throughout(vessel, t0: float, t1: float) -> str:
    """The silence kind covering [t0, t1] whole, "" when AIS was on for some of it."""
    for s in vessel.track.silences:
        if s.t0 <= t0 and s.t1 >= t1:
            return s.kind
    return ""


def _sea_stays(sim, heard: _Heard) -> list[dict]:
    d = DEFINITIONS
    out = []
    for v in sim.vessels:
        k = 0
        for part in v.track.parts:
            if not isinstance(part, Stay) or part.port or part.status == UNDER_WAY:
                continue
            rx = heard.during(v.mmsi, part.t0, part.t1)
            port, dist = port_distance_nm(part.lat, part.lon)
            place = PLACES.get(part.place)
            out.append(dict(
                stay_id=f"{v.mmsi}-S{k}", mmsi=v.mmsi, name=v.name, role=v.role,
                place=part.place, kind=place.kind if place else "at sea",
                status="at_anchor" if part.status == AT_ANCHOR else "moored",
                start_utc=_iso(part.t0), end_utc=_iso(part.t1),
                hours=round((part.t1 - part.t0) / 3600, 4),
                lat=round(part.lat, 6), lon=round(part.lon, 6),
                nearest_port=port, port_distance_nm=round(dist, 3),
                quiet=_quiet_throughout(v, part.t0, part.t1),
                reports_received=int(len(rx)),
                heard_hours=round(longest(runs(rx, d["loiter_max_gap_minutes"] * 60)) / 3600, 4),
                stay_heard_hours=round(longest(runs(rx, d["gap_hours"] * 3600)) / 3600, 4),
                _t=(part.t0, part.t1)))
            k += 1
    return out


def _meetings(sim, stays: list[dict], heard: _Heard) -> list[dict]:
    d = DEFINITIONS
    vessels = {v.mmsi: v for v in sim.vessels}
    at = {}
    for s in stays:
        if s["kind"] == "rendezvous":
            at.setdefault(s["place"], []).append(s)
    out = []
    for place, group in sorted(at.items()):
        for a, b in combinations(sorted(group, key=lambda s: s["_t"][0]), 2):
            if a["mmsi"] == b["mmsi"]:
                continue
            t0, t1 = max(a["_t"][0], b["_t"][0]), min(a["_t"][1], b["_t"][1])
            if t1 <= t0:
                continue
            gap = d["loiter_max_gap_minutes"] * 60
            both = _intersect(runs(heard.during(a["mmsi"], t0, t1), gap),
                              runs(heard.during(b["mmsi"], t0, t1), gap))
            heard_h = longest(both) / 3600
            dark = [s["mmsi"] for s in (a, b) if _quiet_throughout(vessels[s["mmsi"]], t0, t1)]
            far = min(a["port_distance_nm"], b["port_distance_nm"]) >= d["encounter_port_distance_nm"]
            need_h = (d["encounter_min_minutes"] + 2 * d["encounter_step_minutes"]) / 60
            if dark:
                why = ("a ship was dark throughout (no positions): an encounter needs both "
                       "ships received")
            elif not far:
                why = "nearer a port than encounter_port_distance_nm"
            elif heard_h < need_h:
                why = (f"both ships heard together for {heard_h:.1f} h only, under "
                       f"encounter_min_minutes plus two grid steps")
            else:
                why = ""
            out.append(dict(
                meeting_id=f"M-{place.split()[-1]}-{len(out)}", place=place,
                vessels=sorted([a["mmsi"], b["mmsi"]]),
                names=[s["name"] for s in sorted((a, b), key=lambda s: s["mmsi"])],
                start_utc=_iso(t0), end_utc=_iso(t1), hours=round((t1 - t0) / 3600, 4),
                lat=round((a["lat"] + b["lat"]) / 2, 6), lon=round((a["lon"] + b["lon"]) / 2, 6),
                distance_m=round(float(haversine_nm(a["lat"], a["lon"], b["lat"], b["lon"]))
                                 * M_PER_NM, 1),
                dark=sorted(dark), heard_hours=round(heard_h, 4), expected=not why, why=why,
                stays=[a["stay_id"], b["stay_id"]]))
    return out


def _loitering(stays: list[dict]) -> list[dict]:
    d = DEFINITIONS
    out = []
    for s in stays:
        if s["port_distance_nm"] < d["loiter_port_distance_nm"]:
            continue
        if s["quiet"]:
            why = f"AIS quiet throughout ({s['quiet']}): no positions"
        elif s["heard_hours"] < d["loiter_min_hours"]:
            why = (f"heard for {s['heard_hours']:.1f} h at most without a silence over "
                   "loiter_max_gap_minutes, under loiter_min_hours")
        else:
            why = ""
        out.append(dict({k: s[k] for k in ("stay_id", "mmsi", "name", "place", "start_utc",
                                           "end_utc", "hours", "lat", "lon", "port_distance_nm",
                                           "heard_hours")}, expected=not why, why=why))
    return out


def _stops(stays: list[dict]) -> list[dict]:
    d = DEFINITIONS
    by_place: dict[str, list[dict]] = {}
    for s in stays:
        if s["place"]:
            by_place.setdefault(s["place"], []).append(s)
    out = []
    for name, group in sorted(by_place.items()):
        place = PLACES[name]
        heard = [s for s in group if s["stay_heard_hours"] >= d["stop_min_hours"]]
        expected = len(heard) >= d["stop_cluster_min_stays"]
        out.append(dict(place=name, kind=place.kind, lat=place.lat, lon=place.lon,
                        nearest_port=group[0]["nearest_port"],
                        port_distance_nm=round(port_distance_nm(place.lat, place.lon)[1], 3),
                        stays=len(group), stays_heard=len(heard),
                        vessels=sorted({s["mmsi"] for s in group}),
                        first_utc=min(s["start_utc"] for s in group),
                        last_utc=max(s["end_utc"] for s in group),
                        expected=expected,
                        why="" if expected else (f"{len(heard)} stay(s) heard, under "
                                                 "stop_cluster_min_stays")))
    return out


# ------------------------------------------------------------------------ look-alikes

def _sample(vessel, t: np.ndarray):
    """(lat, lon, sog kn, state) of the true track at times ``t``: state 0 in port, 1 at
    a stay at sea, 2 under way, -1 outside the area or outside the track."""
    lat = np.full(len(t), np.nan)
    lon = np.full(len(t), np.nan)
    sog = np.zeros(len(t))
    state = np.full(len(t), -1, dtype=np.int8)
    parts = vessel.track.parts
    starts = np.array([p.t0 for p in parts])
    which = np.searchsorted(starts, t, side="right") - 1
    for i in np.unique(which[which >= 0]):
        part = parts[i]
        sel = np.flatnonzero((which == i) & (t < part.t1))
        if not len(sel):
            continue
        if isinstance(part, Passage):
            la, lo, sp, _ = part.at(t[sel])
            lat[sel], lon[sel], sog[sel], state[sel] = la, lo, sp, 2
        elif part.status != UNDER_WAY:
            lat[sel], lon[sel] = part.lat, part.lon
            state[sel] = 0 if part.port else 1
    return lat, lon, sog, state


def _passes(sim) -> list[dict]:
    d = DEFINITIONS
    limit_nm = d["encounter_distance_m"] / M_PER_NM
    vessels = [v for v in sim.vessels if v.track.parts]
    if len(vessels) < 2:
        return []
    t0 = min(v.track.start for v in vessels)
    t1 = max(v.track.end for v in vessels)
    grid = np.arange(t0, t1, SCAN_STEP_S)
    samples = {v.mmsi: _sample(v, grid) for v in vessels}
    by_mmsi = {v.mmsi: v for v in vessels}
    out = []
    coarse_nm = limit_nm + 2 * SCAN_STEP_S / 3600 * 15.0     # room for 15 kn each way
    for a, b in combinations(sorted(samples), 2):
        la, oa, _, sa = samples[a]
        lb, ob, _, sb = samples[b]
        both = (sa >= 1) & (sb >= 1) & ((sa == 2) | (sb == 2))
        idx = np.flatnonzero(both & (np.abs(la - lb) < coarse_nm / 60))
        if not len(idx):
            continue
        near = idx[haversine_nm(la[idx], oa[idx], lb[idx], ob[idx]) < coarse_nm]
        if not len(near):
            continue
        for g0, g1 in runs(near.astype(float), 1.0):
            t = np.arange(grid[int(g0)] - SCAN_STEP_S, grid[int(g1)] + SCAN_STEP_S, REFINE_STEP_S)
            pa, pb = _sample(by_mmsi[a], t), _sample(by_mmsi[b], t)
            ok = (pa[3] >= 1) & (pb[3] >= 1) & ((pa[3] == 2) | (pb[3] == 2))
            if not ok.any():
                continue
            dist = np.where(ok, haversine_nm(pa[0], pa[1], pb[0], pb[1]), np.inf)
            k = int(np.argmin(dist))
            if dist[k] > limit_nm:
                continue
            close = t[dist <= limit_nm]
            out.append(dict(kind="passing", vessels=[a, b],
                            names=[by_mmsi[a].name, by_mmsi[b].name],
                            start_utc=_iso(close[0]), end_utc=_iso(close[-1]),
                            minutes=round((close[-1] - close[0]) / 60, 2),
                            lat=round(float((pa[0][k] + pb[0][k]) / 2), 6),
                            lon=round(float((pa[1][k] + pb[1][k]) / 2), 6),
                            min_distance_m=round(float(dist[k]) * M_PER_NM, 1),
                            speeds_kn=[round(float(pa[2][k]), 1), round(float(pb[2][k]), 1)],
                            must_not=["encounter"]))
    return out


def _moored_in_port(sim) -> list[dict]:
    d = DEFINITIONS
    need_s = d["encounter_min_minutes"] * 60
    limit_nm = d["encounter_distance_m"] / M_PER_NM
    rows = [(v.mmsi, v.name, p) for v in sim.vessels for p in v.track.parts
            if isinstance(p, Stay) and p.port]
    pairs: dict[tuple, dict] = {}
    by_port: dict[str, list] = {}
    for r in rows:
        by_port.setdefault(r[2].port, []).append(r)
    for port, group in by_port.items():
        group.sort(key=lambda r: r[2].t0)
        for i, (ma, na, a) in enumerate(group):
            for mb, nb, b in group[i + 1:]:
                if b.t0 >= a.t1:
                    break
                if ma == mb:
                    continue
                lo, hi = max(a.t0, b.t0), min(a.t1, b.t1)
                if hi - lo < need_s:
                    continue
                dist = float(haversine_nm(a.lat, a.lon, b.lat, b.lon))
                if dist > limit_nm:
                    continue
                key = (port, *sorted((ma, mb)))
                rec = pairs.setdefault(key, dict(
                    kind="moored_in_port", port=port, vessels=sorted([ma, mb]),
                    names=[n for _, n in sorted(((ma, na), (mb, nb)))], times=0, hours=0.0,
                    first_utc=None, last_utc=None, min_distance_m=math.inf,
                    must_not=["encounter"], _t=[math.inf, -math.inf]))
                rec["times"] += 1
                rec["hours"] += (hi - lo) / 3600
                rec["min_distance_m"] = min(rec["min_distance_m"], dist * M_PER_NM)
                rec["_t"] = [min(rec["_t"][0], lo), max(rec["_t"][1], hi)]
    out = []
    for rec in sorted(pairs.values(), key=lambda r: (r["port"], r["vessels"])):
        rec["first_utc"], rec["last_utc"] = _iso(rec["_t"][0]), _iso(rec["_t"][1])
        rec["hours"] = round(rec["hours"], 3)
        rec["min_distance_m"] = round(rec["min_distance_m"], 1)
        del rec["_t"]
        out.append(rec)
    return out


def _anchored_in_port(sim) -> list[dict]:
    return [dict(kind="anchored_in_port", mmsi=v.mmsi, name=v.name, port=p.port, place=p.place,
                 start_utc=_iso(p.t0), end_utc=_iso(p.t1), hours=round((p.t1 - p.t0) / 3600, 4),
                 lat=round(p.lat, 6), lon=round(p.lon, 6), must_not=["loitering", "unlisted_stop"])
            for v in sim.vessels for p in v.track.parts
            if isinstance(p, Stay) and p.port and p.status == AT_ANCHOR]


def _near_port(stays: list[dict]) -> list[dict]:
    d = DEFINITIONS
    return [dict(kind="near_port", **{k: s[k] for k in ("stay_id", "mmsi", "name", "place",
                                                        "start_utc", "end_utc", "hours", "lat",
                                                        "lon", "nearest_port",
                                                        "port_distance_nm")},
                 must_not=["loitering"])
            for s in stays if s["port_distance_nm"] < d["loiter_port_distance_nm"]]


def build_behaviour_truth(sim) -> dict:
    """The ``behaviour`` section of the truth of ``sim`` (module docstring)."""
    heard = _Heard(getattr(sim, "received", None))
    stays = _sea_stays(sim, heard)
    meetings = _meetings(sim, stays, heard)
    loitering = _loitering(stays)
    stops = _stops(stays)
    for s in stays:
        s.pop("_t")
    lookalikes = (_passes(sim) + _moored_in_port(sim) + _anchored_in_port(sim)
                  + _near_port(stays))
    kinds = [x["kind"] for x in lookalikes]
    counts = dict(sea_stays=len(stays), meetings=len(meetings),
                  meetings_expected=sum(m["expected"] for m in meetings),
                  loitering=len(loitering),
                  loitering_expected=sum(x["expected"] for x in loitering),
                  places=len(stops), stops_expected=sum(x["expected"] for x in stops),
                  **{f"lookalikes_{k}": kinds.count(k)
                     for k in ("passing", "moored_in_port", "anchored_in_port", "near_port")})
    return dict(definitions=dict(DEFINITIONS),
                places=[dict(name=p.name, kind=p.kind, lat=p.lat, lon=p.lon, port=p.port)
                        for p in PLACES.values()],
                counts=counts, sea_stays=stays, meetings=meetings, loitering=loitering,
                stops=stops, lookalikes=lookalikes)


__all__ = ["build_behaviour_truth", "DEFINITIONS", "port_distance_nm", "runs"]
