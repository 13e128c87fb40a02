"""Alerts of the behaviour detectors: ``encounter``, ``loitering`` and ``unlisted_stop``.

Rows of ``alerts.csv`` (:data:`detectors.columns.ALERT_COLUMNS`), built like the other
alerts (:func:`detectors.alerts.alert_row`): ``alert_id`` is ``A-`` + a hash of
(kind, mmsi, start ns, the event's own id), so a re-run or a scheduled run gives the same
id, and ``evidence`` lists the event's own id first, then the ids it rests on.

- ``encounter``: one alert **per vessel** of an encounter (each vessel's alert stream
  shows whom it met; a watchlist tags the listed one), starting and ending with the
  encounter, at its position; the summary names both vessels, the hours, how close and
  how slow, and the nearest port. Evidence: the encounter, then the dark periods of
  either vessel within a day of it.
- ``loitering``: one per loitering event, at its position. Evidence: the loitering,
  the encounters of the vessel it overlaps (the meeting it was part of), the vessel's
  dark periods within a day.
- ``unlisted_stop``: one per (stop, vessel that stayed there), from the vessel's first
  stay there to its last, at the stop's position: the stop is a place, the alert says
  who used it. The summary gives the vessel's stays there, the stop's use by all
  vessels, and the nearest port of the registry and its distance (the stop is not in
  the registry: which port it is near is the first thing a reader asks). Evidence: the
  stop (``stops.csv``; its stays are in ``stays.csv`` by ``stop_id``), then the vessel's
  dark periods within a day of one of its stays there.

Scores in [0, 1], from components each in [0, 1]:

- ``K`` (dark nearby) = 1 when a dark period of the vessel (for an encounter: of either
  vessel) starts, lasts or ends within ``DARK_NEAR_HOURS`` [24] of the event, else 0:
  a meeting or a wait next to a silence is the pattern of a ship-to-ship transfer done
  with AIS off on the way (REFERENCE.md, the 2023 shuttles);
- ``encounter``: ``0.3 + 0.4 L + 0.3 K`` with ``L = h / (h + 6)`` of its hours (0.25 at
  2 h, 0.5 at 6 h, 0.8 at a day): 0.4 for a plain two-hour meeting, 0.9 for a day-long
  one next to a dark period;
- ``loitering``: ``0.2 + 0.3 L + 0.2 F + 0.3 K`` with ``L = h / (h + 12)`` (0.25 at
  4 h, 0.5 at 12 h), ``F = min(1, d / 50)`` of its distance from the nearest port in nm
  (waiting off a port for a berth is ordinary, slow for hours 50 nm out at sea is not),
  and ``K`` = 1 also when the loitering overlaps an encounter of the vessel;
- ``unlisted_stop``: ``0.3 + 0.3 U + 0.2 V + 0.2 K`` with ``U = n / (n + 3)`` of the
  vessel's stays there (0.5 at 3), ``V`` = 1 when more than one vessel used the place.

Thresholds are the detectors' (their params); these rules only rank what they found.
"""

from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from detectors.alerts import alert_frame, alert_row

KINDS = ("encounter", "loitering", "unlisted_stop")
DARK_NEAR_HOURS = 24.0


def _when(ts) -> str:
    if ts is None or pd.isna(ts):
        return "?"
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%MZ")


def _who(mmsi: int, name) -> str:
    name = name.strip() if isinstance(name, str) else ""
    return f"{name} (MMSI {mmsi})" if name else f"MMSI {mmsi}"


def _num(value, default: float = math.nan) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(out) else out


def _records(df: pd.DataFrame | None) -> list[dict]:
    return [] if df is None or not len(df) else df.to_dict("records")


def _port_text(port, nm) -> str:
    port = port if isinstance(port, str) else ""
    d = _num(nm)
    if not port or math.isnan(d):
        return "no port in the registry"
    return f"{d:.1f} nm from {port}"


class _Dark:
    """A vessel's dark periods as (start, end) epoch seconds (open: to infinity), for
    "within a day of" lookups."""

    def __init__(self, gaps: pd.DataFrame | None):
        self.by_vessel: dict[int, list[tuple[float, float, str]]] = {}
        for g in _records(gaps):
            start = g.get("start_utc")
            if start is None or pd.isna(start):
                continue
            end = g.get("end_utc")
            t1 = math.inf if end is None or pd.isna(end) else pd.Timestamp(end).value / 1e9
            self.by_vessel.setdefault(int(g["mmsi"]), []).append(
                (pd.Timestamp(start).value / 1e9, t1, str(g["gap_id"])))

    def near(self, mmsi: int, start, end, hours: float = DARK_NEAR_HOURS) -> list[str]:
        """Ids of the vessel's dark periods meeting [start - hours, end + hours]."""
        a = pd.Timestamp(start).value / 1e9 - hours * 3600.0
        b = pd.Timestamp(end if end is not None and not pd.isna(end) else start).value / 1e9 \
            + hours * 3600.0
        return [gid for t0, t1, gid in self.by_vessel.get(int(mmsi), ()) if t0 <= b and t1 >= a]


def encounter_score(hours: float, dark_near: bool) -> float:
    h = max(_num(hours, 0.0), 0.0)
    return 0.3 + 0.4 * h / (h + 6.0) + 0.3 * float(dark_near)


def loitering_score(hours: float, port_distance_nm: float, dark_or_meeting: bool) -> float:
    h = max(_num(hours, 0.0), 0.0)
    d = _num(port_distance_nm, 50.0)      # no port in the registry: as far as it gets
    return 0.2 + 0.3 * h / (h + 12.0) + 0.2 * min(1.0, max(d, 0.0) / 50.0) \
        + 0.3 * float(dark_or_meeting)


def stop_score(own_stays: int, n_vessels: int, dark_near: bool) -> float:
    n = max(int(own_stays), 0)
    return 0.3 + 0.3 * n / (n + 3.0) + 0.2 * float(n_vessels > 1) + 0.2 * float(dark_near)


def _dark_text(ids: list[str]) -> str:
    if not ids:
        return ""
    return (f"; a dark period within {DARK_NEAR_HOURS:.0f} h of it: {', '.join(ids)}"
            if len(ids) == 1 else
            f"; dark periods within {DARK_NEAR_HOURS:.0f} h of it: {', '.join(ids)}")


def build_behaviour_alerts(encounters: pd.DataFrame | None, loitering: pd.DataFrame | None,
                           stops: pd.DataFrame | None, stays: pd.DataFrame | None,
                           dark_periods: pd.DataFrame | None = None, *,
                           names: Mapping[int, str] | None = None,
                           imos: Mapping[int, int] | None = None) -> pd.DataFrame:
    """The behaviour alerts (module docstring) as an alert table sorted like
    :func:`detectors.alerts.build_alerts`'s. ``encounters``, ``loitering``: the tables of
    :mod:`detectors.encounters` and :mod:`detectors.loitering`; ``stops`` and ``stays``:
    those of :func:`detectors.stops.find_unlisted_stops`; ``dark_periods``: the run's
    (for the "dark nearby" component); ``names`` / ``imos``: mmsi -> name / IMO."""
    names = names or {}
    imos = imos or {}
    dark = _Dark(dark_periods)
    rows: list[dict] = []

    def add(kind, mmsi, row_name, start, end, lat, lon, score, summary, evidence, track):
        mmsi = int(mmsi)
        name = names.get(mmsi) or (row_name if isinstance(row_name, str) else "") or ""
        rows.append(alert_row(kind, mmsi, name, imos.get(mmsi), start, end, lat, lon, score,
                              summary, evidence, track=track))

    meetings: dict[int, list[dict]] = {}
    for e in _records(encounters):
        sides = ((int(e["mmsi_1"]), e.get("name_1"), int(e["mmsi_2"]), e.get("name_2"),
                  e.get("track_1")),
                 (int(e["mmsi_2"]), e.get("name_2"), int(e["mmsi_1"]), e.get("name_1"),
                  e.get("track_2")))
        gap_ids = list(dict.fromkeys(dark.near(sides[0][0], e["start_utc"], e["end_utc"])
                                     + dark.near(sides[0][2], e["start_utc"], e["end_utc"])))
        score = encounter_score(e["hours"], bool(gap_ids))
        for me, my_name, other, other_name, my_track in sides:
            meetings.setdefault(me, []).append(dict(e, other=other, other_name=other_name))
            who = _who(me, names.get(me) or my_name)
            whom = _who(other, names.get(other) or other_name)
            summary = (f"{who} met {whom} at sea for {_num(e['hours'], 0.0):.1f} h from "
                       f"{_when(e['start_utc'])} to {_when(e['end_utc'])}: "
                       f"{_num(e['median_distance_m'], 0.0):.0f} m apart and both slow "
                       f"(median speeds {_num(e.get('median_speed_1_kn'), 0.0):.1f} and "
                       f"{_num(e.get('median_speed_2_kn'), 0.0):.1f} kn), "
                       f"{_port_text(e.get('nearest_port'), e.get('port_distance_nm'))}"
                       f"{_dark_text(gap_ids)}")
            add("encounter", me, my_name, e["start_utc"], e["end_utc"], e["lat"], e["lon"],
                score, summary, [e["encounter_id"], *gap_ids], my_track)

    for lo in _records(loitering):
        mmsi = int(lo["mmsi"])
        t0, t1 = pd.Timestamp(lo["start_utc"]), pd.Timestamp(lo["end_utc"])
        met = [m for m in meetings.get(mmsi, ())
               if pd.Timestamp(m["start_utc"]) <= t1 and pd.Timestamp(m["end_utc"]) >= t0]
        gap_ids = dark.near(mmsi, t0, t1)
        who = _who(mmsi, names.get(mmsi) or lo.get("name"))
        during = "".join(f"; during its encounter {m['encounter_id']} with "
                         f"{_who(m['other'], names.get(m['other']) or m['other_name'])}"
                         for m in met)
        summary = (f"{who} loitered at sea for {_num(lo['hours'], 0.0):.1f} h from "
                   f"{_when(t0)} to {_when(t1)} (mean {_num(lo['mean_speed_kn'], 0.0):.1f} kn), "
                   f"{_port_text(lo.get('nearest_port'), lo.get('port_distance_nm'))}"
                   f"{during}{_dark_text(gap_ids)}")
        add("loitering", mmsi, lo.get("name"), t0, t1, lo["lat"], lo["lon"],
            loitering_score(lo["hours"], lo.get("port_distance_nm"), bool(met or gap_ids)),
            summary, [lo["loiter_id"], *(m["encounter_id"] for m in met), *gap_ids],
            lo.get("track"))

    stays_of: dict[tuple[str, int], list[dict]] = {}
    for st in _records(stays):
        sid = st.get("stop_id")
        if isinstance(sid, str) and sid:
            stays_of.setdefault((sid, int(st["mmsi"])), []).append(st)
    for stop in _records(stops):
        place = (f"an unlisted stop ({stop['stop_id']}) at {_num(stop['lat']):.4f}, "
                 f"{_num(stop['lon']):.4f}, "
                 f"{_port_text(stop.get('nearest_port'), stop.get('port_distance_nm'))}")
        vessels = sorted(m for sid, m in stays_of if sid == stop["stop_id"])
        for mmsi in vessels:
            own = sorted(stays_of[(stop["stop_id"], mmsi)], key=lambda r: r["start_utc"])
            first, last = own[0]["start_utc"], max(r["end_utc"] for r in own)
            gap_ids = list(dict.fromkeys(g for r in own
                                         for g in dark.near(mmsi, r["start_utc"], r["end_utc"])))
            n = len(own)
            hours = sum(_num(r["hours"], 0.0) for r in own)
            times = "once" if n == 1 else f"{n} times"
            who = _who(mmsi, names.get(mmsi) or own[0].get("name"))
            summary = (f"{who} stayed {times} ({hours:.1f} h in all) between {_when(first)} "
                       f"and {_when(last)} at {place}; the place was used "
                       f"{int(stop['n_stays'])} times by {int(stop['n_vessels'])} "
                       f"vessel{'s' if int(stop['n_vessels']) != 1 else ''}"
                       f"{_dark_text(gap_ids)}")
            add("unlisted_stop", mmsi, own[0].get("name"), first, last, stop["lat"], stop["lon"],
                stop_score(n, int(stop["n_vessels"]), bool(gap_ids)), summary,
                [stop["stop_id"], *gap_ids], own[0].get("track"))

    return alert_frame(rows)


__all__ = ["KINDS", "build_behaviour_alerts", "encounter_score", "loitering_score",
           "stop_score", "DARK_NEAR_HOURS"]
