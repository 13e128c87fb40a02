"""Alerts: one row of ``alerts.csv`` per event worth a researcher's look.

One alert per dark period (``dark_period``), possible port call (``possible_port_call``),
round trip (``round_trip``, observed or inferred) and spoofing jump (``spoofing_jump``),
with the contract columns of DESIGN.md ("alerts.csv"). ``evidence`` holds the ids of the
events the alert rests on (``;``-separated, first the event's own id); ``claim_ids`` is
left empty here and filled by the claims evaluation. ``alert_id`` is ``A-`` + a hash of
(kind, mmsi, start ns, the event's own id): the same input gives the same ids, and a dark
period still open in one run keeps its id when a later run closes it (its id does not
depend on the end), so scheduled runs version an alert instead of duplicating it.

Score in [0, 1], built from three components, each in [0, 1):

- length ``L = h / (h + 24)`` of the dark period in hours (0.2 at 6 h, 0.5 at a day,
  0.8 at four days);
- reception ``R = n / (n + 3)`` of ``others_received`` (0 when nobody else was heard:
  the silence may be the coverage's; 0.5 at 3 other vessels, 0.77 at 10);
- proximity ``P`` to the ports of interest: 1 when the event starts or ends in one (a
  bounding fix inside it, a call there, a trip between two of them), 0.5 when one is
  only reachable or only one of a trip's ports is of interest, 0 otherwise.

Scores: ``dark_period`` ``0.4 L + 0.3 R + 0.3 P``; ``possible_port_call`` the same with
``P`` = 1 for a call at a port of interest (0.5 otherwise); ``round_trip`` observed
``0.5 + 0.5 P``, inferred ``0.25 P + 0.75 x`` the highest dark-period score among the
dark periods its possible calls rest on; ``spoofing_jump`` ``0.2 + 0.5 S`` with
``S = clip(log10(speed / 50 kn) / 3, 0, 1)`` (0 at 50 kn, 1 at 50,000 kn). The weights
rank the evidence the way the coverage caveat of REFERENCE.md asks: a long silence near
a port of interest while others were received there ranks first.

Every alert says its ``track`` (after the contract columns): the ship of a shared MMSI
its event is on (:mod:`detectors.identity_tracks`), 0 for an MMSI nobody shares; the
summary of an event on another track says so. Identity anomalies give alerts of their
own (kind ``identity``, :mod:`detectors.identity_alerts`).

A dark period whose vessel was still heard (``own_messages`` > 0: static reports or
"position not available" reports) is *positions withheld* (DESIGN.md), and its summary
says so, with when those messages came: the transponder was on, AIS was not switched
off (a single static report minutes after the last position shows a switch-off a few
minutes later than the last fix, and the times let the reader see it). An inferred round trip's times at its
possible call are unknown (DESIGN.md): its alert starts at the first known time or,
when it starts at the possible call, at the start of that call's dark period (the
earliest it can have left), ends likewise, and its summary names the dark period.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from detectors._ids import event_id, time_ns
from detectors.columns import ALERT_TABLE

KINDS = ("dark_period", "possible_port_call", "round_trip", "spoofing_jump")
# the behaviour detectors' alerts are built in detectors.behaviour_alerts


def length_component(hours: float) -> float:
    if hours is None or not math.isfinite(hours) or hours <= 0:
        return 0.0
    return hours / (hours + 24.0)


def reception_component(others) -> float:
    if others is None or pd.isna(others) or others <= 0:
        return 0.0
    return float(others) / (float(others) + 3.0)


def jump_component(speed_kn: float) -> float:
    if speed_kn is None or pd.isna(speed_kn) or speed_kn <= 50.0:
        return 0.0
    if math.isinf(speed_kn):
        return 1.0
    return min(1.0, math.log10(speed_kn / 50.0) / 3.0)


def _clip(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _when(ts) -> str:
    if ts is None or pd.isna(ts):
        return "?"
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%MZ")


def _who(mmsi: int, name, track=0) -> str:
    """"NAME (MMSI m)"; on a ship other than the main one of a shared MMSI, "NAME (MMSI
    m, track k of a shared MMSI)"."""
    name = name.strip() if isinstance(name, str) else ""
    track = _track(track)
    which = f"MMSI {mmsi}, track {track} of a shared MMSI" if track else f"MMSI {mmsi}"
    return f"{name} ({which})" if name else which


def _split(text) -> list[str]:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    return [p.strip() for p in str(text).split(";") if p.strip()]


def _records(df: pd.DataFrame | None) -> list[dict]:
    if df is None or not len(df):
        return []
    return df.to_dict("records")


def _gap_proximity(gap: Mapping, poi: set[str]) -> float:
    if not poi:
        return 0.0
    if (gap.get("start_port") or "") in poi or (gap.get("end_port") or "") in poi:
        return 1.0
    if any(p in poi for p in _split(gap.get("possible_port_calls"))):
        return 0.5
    return 0.0


def gap_score(gap: Mapping, poi: set[str]) -> float:
    """Score of a dark-period alert (see the module docstring)."""
    return _clip(0.4 * length_component(gap.get("hours"))
                 + 0.3 * reception_component(gap.get("others_received"))
                 + 0.3 * _gap_proximity(gap, poi))


def build_alerts(visits: pd.DataFrame | None, round_trips: pd.DataFrame | None,
                 possible_calls: pd.DataFrame | None, gaps: pd.DataFrame | None,
                 jumps: pd.DataFrame | None, ports_of_interest: Iterable[str] = (),
                 names: Mapping[int, str] | None = None,
                 imos: Mapping[int, int] | None = None) -> pd.DataFrame:
    """The alert table: :data:`detectors.columns.ALERT_TABLE`, sorted by (mmsi,
    start_utc, kind, alert_id).

    ``visits`` gives the position of a round trip's first call; ``ports_of_interest`` are
    registry port names; ``names`` / ``imos`` map mmsi to the vessel's name / IMO.
    """
    poi = {str(p) for p in ports_of_interest}
    names = names or {}
    imos = imos or {}
    gaps_by_id = {g["gap_id"]: g for g in _records(gaps)}
    calls_by_id = {c["call_id"]: c for c in _records(possible_calls)}
    visit_pos = {v["visit_id"]: (v.get("lat", np.nan), v.get("lon", np.nan))
                 for v in _records(visits)}
    rows: list[dict] = []

    def add(kind, event, row_name, start, end, lat, lon, score, summary, evidence):
        mmsi = int(event["mmsi"])
        name = names.get(mmsi) or (row_name if isinstance(row_name, str) else "") or ""
        rows.append(alert_row(kind, mmsi, name, imos.get(mmsi), start, end, lat, lon, score,
                              summary, evidence, track=event.get("track")))

    for g in gaps_by_id.values():
        rows_name = names.get(int(g["mmsi"])) or g.get("name") or ""
        who = _who(int(g["mmsi"]), rows_name, g.get("track"))
        where = f" in {g['start_port']}" if g.get("start_port") else ""
        if pd.isna(g.get("end_utc")):
            until = "the end of the data, still dark"
        else:
            end_where = f" in {g['end_port']}" if g.get("end_port") else ""
            until = (f"{_when(g['end_utc'])}{end_where}, {g['distance_nm']:.1f} nm away "
                     f"({g['implied_speed_kn']:.1f} kn)")
        others = g.get("others_received")
        heard = ("no other vessel received nearby meanwhile" if not others
                 else f"{int(others)} other vessel{'s' if others != 1 else ''} "
                      f"received nearby meanwhile")
        reach = _split(g.get("possible_port_calls"))
        could = f"; could have called at {', '.join(reach)}" if reach else ""
        own = g.get("own_messages")
        own = 0 if own is None or pd.isna(own) else int(own)
        if own > 0:
            when = (f"at {_when(g.get('own_first_utc'))}" if own == 1 else
                    f"from {_when(g.get('own_first_utc'))} to {_when(g.get('own_last_utc'))}")
            what = (f"sent no position for {g['hours']:.1f} h, positions withheld, not AIS "
                    f"switched off (transponder heard: {own} message{'s' if own != 1 else ''} "
                    f"without a position {when})")
        else:
            what = f"not received for {g['hours']:.1f} h"
        summary = (f"{who} {what} from "
                   f"{_when(g['start_utc'])}{where} to {until}; {heard}{could}")
        add("dark_period", g, g.get("name"), g["start_utc"], g.get("end_utc"),
            g.get("start_lat"), g.get("start_lon"), gap_score(g, poi), summary,
            [g["gap_id"]])

    for c in calls_by_id.values():
        gap = gaps_by_id.get(c.get("gap_id"), {})
        prox = 1.0 if c["port"] in poi else 0.5
        score = (0.4 * length_component(gap.get("hours"))
                 + 0.3 * reception_component(gap.get("others_received")) + 0.3 * prox)
        who = _who(int(c["mmsi"]), names.get(int(c["mmsi"])) or c.get("name") or "",
                   c.get("track"))
        hours = gap.get("hours")
        length = f"{hours:.1f} h " if hours is not None and not pd.isna(hours) else ""
        pair = f" (pair {c['pair'].replace('|', '-')})" if c.get("pair") else ""
        summary = (f"{who} could have called at {c['port']} during a {length}dark period "
                   f"from {_when(c['start_utc'])} to {_when(c['end_utc'])}{pair}")
        add("possible_port_call", c, c.get("name"), c["start_utc"], c.get("end_utc"),
            gap.get("start_lat"), gap.get("start_lon"), score, summary,
            [c["call_id"], c.get("gap_id")])

    for t in _records(round_trips):
        call_ids = _split(t.get("call_ids"))
        gap_ids = [calls_by_id[c]["gap_id"] for c in call_ids
                   if c in calls_by_id and calls_by_id[c].get("gap_id")]
        ends = {t["origin"], t["destination"]}
        prox = len(ends & poi) / 2.0
        if t.get("status") == "inferred":
            best = max((gap_score(gaps_by_id[g], poi) for g in gap_ids if g in gaps_by_id),
                       default=0.0)
            score = 0.25 * prox + 0.75 * best
        else:
            score = 0.5 + 0.5 * prox
        lat, lon = np.nan, np.nan
        if call_ids and call_ids[0] in visit_pos:
            lat, lon = visit_pos[call_ids[0]]
        elif gap_ids and gap_ids[0] in gaps_by_id:
            lat, lon = gaps_by_id[gap_ids[0]]["start_lat"], gaps_by_id[gap_ids[0]]["start_lon"]
        who = _who(int(t["mmsi"]), names.get(int(t["mmsi"])) or t.get("name") or "",
                   t.get("track"))
        first = calls_by_id.get(call_ids[0]) if call_ids else None
        last = calls_by_id.get(call_ids[-1]) if call_ids else None
        start, left = _trip_end(t.get("depart_origin_utc"), first, "start_utc")
        end, back = _trip_end(t.get("return_origin_utc"), last, "end_utc")
        middle = [calls_by_id[c] for c in call_ids[1:-1] if c in calls_by_id]
        there = (f", at {t['destination']} {_trip_end(None, middle[0], 'start_utc')[1]}"
                 if middle else "")
        dur = t.get("duration_hours")
        dur_text = "" if dur is None or pd.isna(dur) else (
            f" ({dur:.1f} h{' between the known times' if t.get('status') == 'inferred' else ''})")
        summary = (f"{who} {t.get('status', 'observed')} round trip {t['origin']} -> "
                   f"{t['destination']} -> {t['origin']}: left {left}{there}, back {back}"
                   f"{dur_text}")
        add("round_trip", t, t.get("name"), start, end, lat, lon, score, summary,
            [t["trip_id"], *call_ids, *gap_ids])

    for j in _records(jumps):
        who = _who(int(j["mmsi"]), names.get(int(j["mmsi"])) or "", j.get("track"))
        minutes = (pd.Timestamp(j["utc"]) - pd.Timestamp(j["prev_utc"])).total_seconds() / 60
        summary = (f"{who} jumped {j['distance_nm']:.1f} nm in {minutes:.0f} min "
                   f"({j['implied_speed_kn']:.0f} kn) at {_when(j['utc'])}; the position is "
                   f"flagged as spoofed and left out of visits and dark periods")
        add("spoofing_jump", j, "", j["utc"], j["utc"], j["lat"], j["lon"],
            0.2 + 0.5 * jump_component(j["implied_speed_kn"]), summary, [j["jump_id"]])

    return alert_frame(rows)


def alert_row(kind: str, mmsi: int, name: str, imo, start, end, lat, lon, score: float,
              summary: str, evidence: list[str], *, track=0) -> dict:
    """One alert (a row of :func:`alert_frame`): its id from (kind, mmsi, start, the
    event's own id ``evidence[0]``), the score clipped to [0, 1], the summary on one
    line."""
    return {
        "alert_id": event_id("A", kind, int(mmsi), time_ns(start), evidence[0]),
        "kind": kind, "mmsi": int(mmsi), "name": name or "",
        "imo": int(imo) if imo else None,
        "start_utc": start, "end_utc": end,
        "lat": float(lat) if lat is not None else np.nan,
        "lon": float(lon) if lon is not None else np.nan,
        "score": round(_clip(score), 4),
        "summary": " ".join(summary.split()),
        "evidence": ";".join(dict.fromkeys(e for e in evidence if e)),
        "claim_ids": "",
        "track": _track(track),
    }


def _track(value) -> int:
    """An event's track; 0 when it has none (a table made without the column)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def concat_alerts(*frames: pd.DataFrame) -> pd.DataFrame:
    """Alert tables of several builders (:func:`alert_frame`) as one, each id once, in the
    fixed order."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return alert_frame([])
    if len(frames) == 1:
        return frames[0]
    out = pd.concat([f[list(ALERT_TABLE)].astype({"imo": object}) for f in frames],
                    ignore_index=True)
    return _ordered(out)


def _trip_end(known, call: Mapping | None, bound: str):
    """(alert time, text) of a trip's first departure or last return: the known time, or
    for a possible call the bound of its dark period (the earliest it can have left, the
    latest it can have come back) with the window in words."""
    if known is not None and not pd.isna(known):
        return known, _when(known)
    if call is None:
        return None, "at an unknown time"
    text = (f"at an unknown time between {_when(call.get('start_utc'))} and "
            f"{_when(call.get('end_utc'))} (dark period {call.get('gap_id')})")
    return call.get(bound), text


def alert_frame(rows: list[dict]) -> pd.DataFrame:
    """The alert table of ``rows`` (:func:`alert_row` dicts): :data:`ALERT_TABLE` with
    its dtypes, each id once, sorted by (mmsi, start_utc, kind, alert_id)."""
    out = pd.DataFrame({
        "alert_id": pd.Series([r["alert_id"] for r in rows], dtype=object),
        "kind": pd.Series([r["kind"] for r in rows], dtype=object),
        "mmsi": pd.Series([r["mmsi"] for r in rows], dtype="int64"),
        "name": pd.Series([r["name"] for r in rows], dtype=object),
        "imo": pd.Series([r["imo"] for r in rows], dtype=object),
        "start_utc": pd.to_datetime(pd.Series([r["start_utc"] for r in rows], dtype=object),
                                    utc=True).astype("datetime64[ns, UTC]"),
        "end_utc": pd.to_datetime(pd.Series([r["end_utc"] for r in rows], dtype=object),
                                  utc=True).astype("datetime64[ns, UTC]"),
        "lat": pd.Series([r["lat"] for r in rows], dtype="float64"),
        "lon": pd.Series([r["lon"] for r in rows], dtype="float64"),
        "score": pd.Series([r["score"] for r in rows], dtype="float64"),
        "summary": pd.Series([r["summary"] for r in rows], dtype=object),
        "evidence": pd.Series([r["evidence"] for r in rows], dtype=object),
        "claim_ids": pd.Series([r["claim_ids"] for r in rows], dtype=object),
        "track": pd.Series([r.get("track") or 0 for r in rows], dtype="int64"),
    })[list(ALERT_TABLE)]
    return _ordered(out)


def _ordered(out: pd.DataFrame) -> pd.DataFrame:
    if not len(out):
        return out
    out = out.drop_duplicates("alert_id", keep="first")
    return out.sort_values(["mmsi", "start_utc", "kind", "alert_id"],
                           kind="mergesort").reset_index(drop=True)
