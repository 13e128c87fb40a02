"""Which events count for a claim: the rules of "In a claim's window" (DESIGN.md) applied
to the detectors' tables (visits, legs, round trips, possible calls, dark periods,
encounters, loitering).

Encounters and loitering count, like dark periods, when they start in the window; they
are all observed (nothing is inferred for them: a meeting while either ship was dark
cannot be seen, and the verdict's coverage rule says whether that leaves room). An
encounter counts for a claim when one of its two vessels is a claim vessel (any vessel
when none is named) and, with ``with``, the other is one of the ``with`` vessels; an
encounter between two claim vessels counts once. A loitering event ``near`` a port counts
when its position lies within ``radius_nm`` of the port's polygon in the run's registry.

Each counted event becomes one evidence row (``EVIDENCE_COLUMNS``): its id, whether it
is observed or inferred, the vessel, its times, and every id it rests on (visits,
possible calls, gaps), so a reader can follow it into the output files. The same event
listed by several chains (the plain chain and a pair's chain) counts once: legs are
keyed by their two call ids, round trips by their id and call ids, possible calls by
their dark period.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from shadowfleet.claims.model import Claim, normalise_name

EVIDENCE_COLUMNS = ("claim_id", "evidence_id", "what", "status", "mmsi", "name", "start_utc",
                    "end_utc", "route", "ids", "gap_ids", "others_received", "note")


def empty_evidence() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in EVIDENCE_COLUMNS})
    frame["mmsi"] = frame["mmsi"].astype("int64")
    frame["others_received"] = frame["others_received"].astype("float64")
    for c in ("start_utc", "end_utc"):
        frame[c] = pd.Series([], dtype="datetime64[ns, UTC]")
    return frame


def _frame(df: pd.DataFrame | None, columns: dict[str, object]) -> pd.DataFrame:
    """``df`` with every column of ``columns`` present (filled with its default), times
    as UTC datetimes, mmsi as int64."""
    df = pd.DataFrame() if df is None else df
    out = pd.DataFrame(index=df.index)
    for col, default in columns.items():
        if col in df.columns:
            out[col] = df[col]
        else:
            out[col] = pd.Series([default] * len(df), index=df.index, dtype=object)
        if col.endswith("_utc"):
            out[col] = pd.to_datetime(out[col], utc=True)
        elif col == "mmsi":
            out[col] = out[col].astype("int64")
        elif col == "track":          # tables made without tracks: the main track
            out[col] = pd.to_numeric(out[col], errors="coerce").fillna(0).astype("int64")
        elif default == "":
            out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
    return out.reset_index(drop=True)


def _split(text: object) -> list[str]:
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return []
    return [p.strip() for p in str(text).split(";") if p.strip()]


@dataclasses.dataclass
class Tables:
    """The detectors' tables, normalised once for all claims."""

    visits: pd.DataFrame
    legs: pd.DataFrame
    trips: pd.DataFrame
    possible: pd.DataFrame
    gaps: pd.DataFrame
    possible_by_id: dict[str, dict]
    gaps_by_id: dict[str, dict]
    registry: object = None
    encounters: pd.DataFrame | None = None
    loitering: pd.DataFrame | None = None

    @classmethod
    def build(cls, *, visits, legs, round_trips, possible_calls, dark_periods,
              registry=None, encounters=None, loitering=None) -> "Tables":
        v = _frame(visits, {"visit_id": "", "mmsi": 0, "name": "", "port": "",
                            "arrival_utc": None, "departure_utc": None, "track": 0})
        lg = _frame(legs, {"leg_id": "", "mmsi": 0, "name": "", "origin": "", "destination": "",
                           "depart_origin_utc": None, "arrive_destination_utc": None,
                           "status": "observed", "origin_call_id": "",
                           "destination_call_id": "", "pair": ""})
        t = _frame(round_trips, {"trip_id": "", "mmsi": 0, "name": "", "origin": "",
                                 "destination": "", "depart_origin_utc": None,
                                 "arrive_destination_utc": None, "depart_destination_utc": None,
                                 "return_origin_utc": None, "status": "observed",
                                 "call_ids": "", "pair": ""})
        p = _frame(possible_calls, {"call_id": "", "mmsi": 0, "name": "", "port": "",
                                    "gap_id": "", "start_utc": None, "end_utc": None, "pair": "",
                                    "track": 0})
        g = _frame(dark_periods, {"gap_id": "", "mmsi": 0, "name": "", "start_utc": None,
                                  "end_utc": None, "hours": np.nan, "start_lat": np.nan,
                                  "start_lon": np.nan, "end_lat": np.nan, "end_lon": np.nan,
                                  "others_received": np.nan, "possible_port_calls": "",
                                  "start_port": "", "end_port": "", "own_messages": np.nan,
                                  "track": 0})
        for frame, cols in ((v, ("port",)), (lg, ("origin", "destination")),
                            (t, ("origin", "destination")), (p, ("port",)),
                            (g, ("start_port", "end_port"))):
            for col in cols:
                frame[f"{col}_key"] = frame[col].map(normalise_name)
        possible_by_id = {r["call_id"]: r for r in p.to_dict("records") if r["call_id"]}
        gaps_by_id = {r["gap_id"]: r for r in g.to_dict("records") if r["gap_id"]}
        e = _frame(encounters, {"encounter_id": "", "mmsi_1": 0, "name_1": "", "mmsi_2": 0,
                                "name_2": "", "start_utc": None, "end_utc": None,
                                "hours": np.nan, "lat": np.nan, "lon": np.nan})
        for col in ("mmsi_1", "mmsi_2"):
            e[col] = e[col].astype("int64")
        lo = _frame(loitering, {"loiter_id": "", "mmsi": 0, "name": "", "start_utc": None,
                                "end_utc": None, "hours": np.nan, "lat": np.nan,
                                "lon": np.nan})
        return cls(v, lg, t, p, g, possible_by_id, gaps_by_id, registry, e, lo)

    def others(self, gap_ids: list[str]) -> float:
        """The fewest other vessels received during any of these gaps (NaN if unknown)."""
        vals = [self.gaps_by_id[g]["others_received"] for g in gap_ids if g in self.gaps_by_id]
        vals = [float(x) for x in vals if x is not None and not pd.isna(x)]
        return min(vals) if vals else float("nan")

    def call_ids_with_gaps(self, call_ids: list[str]) -> tuple[list[str], list[str]]:
        """(every id: calls and the gaps of possible calls, gap ids alone)."""
        ids, gaps = [], []
        for cid in call_ids:
            ids.append(cid)
            if cid in self.possible_by_id:
                gid = self.possible_by_id[cid]["gap_id"]
                if gid:
                    ids.append(gid)
                    gaps.append(gid)
        return ids, gaps


def _in(ts, claim: Claim) -> bool:
    return ts is not None and not pd.isna(ts) and claim.window.start_utc <= ts <= claim.window.end_utc


def _overlaps(start, end, claim: Claim) -> bool:
    """[start, end] meets the window; a missing end is an open interval."""
    if start is None or pd.isna(start):
        return False
    return start <= claim.window.end_utc and (end is None or pd.isna(end)
                                              or end >= claim.window.start_utc)


def _vessel_mask(frame: pd.DataFrame, mmsis: set[int] | None) -> pd.Series:
    if mmsis is None:
        return pd.Series(True, index=frame.index)
    return frame["mmsi"].isin(list(mmsis))


def count(claim: Claim, tables: Tables, mmsis: set[int] | None,
          with_mmsis: set[int] | None = None) -> pd.DataFrame:
    """Evidence rows of the events that count for ``claim`` among vessels ``mmsis``
    (None: every vessel), sorted by time. ``with_mmsis``: the MMSIs the ``with`` vessels
    of an encounters claim resolved to (None: the claim names none)."""
    if claim.kind == "encounters":
        rows = _encounters(claim, tables, mmsis, with_mmsis)
    else:
        rows = {"round_trips": _round_trips, "legs": _legs, "port_calls": _port_calls,
                "dark_periods": _dark_periods, "loitering": _loitering,
                }[claim.kind](claim, tables, mmsis)
    if not rows:
        return empty_evidence()
    out = pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))
    out["mmsi"] = out["mmsi"].astype("int64")
    out["others_received"] = out["others_received"].astype("float64")
    for c in ("start_utc", "end_utc"):
        out[c] = pd.to_datetime(out[c], utc=True)
    return out.sort_values(["start_utc", "mmsi", "evidence_id"], kind="mergesort",
                           na_position="last").reset_index(drop=True)


def _row(claim, eid, what, status, r, start, end, route, ids, gaps, tables, note="") -> dict:
    return {"claim_id": claim.id, "evidence_id": eid, "what": what, "status": status,
            "mmsi": int(r["mmsi"]), "name": r["name"], "start_utc": start, "end_utc": end,
            "route": route, "ids": ";".join(dict.fromkeys(ids)), "gap_ids": ";".join(gaps),
            "others_received": tables.others(gaps), "note": note}


def _departure(call_id: str, stated, tables: Tables):
    """A leg's departure time: the dark period's start for a possible call."""
    if call_id in tables.possible_by_id:
        return tables.possible_by_id[call_id]["start_utc"]
    return stated


def _round_trips(claim: Claim, tables: Tables, mmsis) -> list[dict]:
    t = tables.trips
    keys = {normalise_name(p) for p in claim.ports}
    mask = (_vessel_mask(t, mmsis) & t["origin_key"].isin(keys) & t["destination_key"].isin(keys)
            & (t["origin_key"] != t["destination_key"]))
    rows, seen = [], set()
    for r in t[mask].to_dict("records"):
        calls = _split(r["call_ids"])
        key = (r["mmsi"], tuple(calls)) if calls else r["trip_id"]
        if key in seen or r["trip_id"] in seen:
            continue
        start = _departure(calls[0], r["depart_origin_utc"], tables) if calls \
            else r["depart_origin_utc"]
        if not _in(start, claim):
            continue
        seen.update([key, r["trip_id"]])
        ids, gaps = tables.call_ids_with_gaps(calls)
        route = f"{r['origin']} -> {r['destination']} -> {r['origin']}"
        status = "inferred" if str(r["status"]) == "inferred" else "observed"
        rows.append(_row(claim, r["trip_id"], "round trip", status, r, start,
                         r["return_origin_utc"], route, [r["trip_id"]] + ids, gaps, tables))
    return rows


def _legs(claim: Claim, tables: Tables, mmsis) -> list[dict]:
    lg = tables.legs
    a, b = (normalise_name(p) for p in claim.ports)
    pair = {a, b}
    mask = _vessel_mask(lg, mmsis) & (lg["origin_key"] == a) & (lg["destination_key"] == b)
    rows, seen = [], set()
    for r in lg[mask].to_dict("records"):
        inferred = str(r["status"]) == "inferred"
        if inferred and r["pair"] and {normalise_name(x) for x in r["pair"].split("|")} != pair:
            continue  # inference belongs to the claim's own pair
        calls = [c for c in (r["origin_call_id"], r["destination_call_id"]) if c]
        key = (r["mmsi"], tuple(calls)) if len(calls) == 2 else r["leg_id"]
        if key in seen:
            continue
        start = _departure(r["origin_call_id"], r["depart_origin_utc"], tables)
        if not _in(start, claim):
            continue
        seen.add(key)
        ids, gaps = tables.call_ids_with_gaps(calls)
        rows.append(_row(claim, r["leg_id"] or ";".join(calls), "leg",
                         "inferred" if inferred else "observed", r, start,
                         r["arrive_destination_utc"], f"{r['origin']} -> {r['destination']}",
                         [r["leg_id"]] + ids, gaps, tables))
    return rows


def _port_calls(claim: Claim, tables: Tables, mmsis) -> list[dict]:
    """Calls at ``claim.ports[0]``, one per stay (DESIGN.md, "Claims file"): a vessel's
    visits at every port and its possible calls at this port, in time order (a vessel is
    an (mmsi, track): the ships of a shared MMSI have their own stays); consecutive
    ones at this port, with no call at another port between, are one call (a berth stay
    split by a dark period is one call, not two; a dark period in which the port was
    reachable, next to a visit there, is part of that call). A stay counts once when it
    overlaps the window: ``observed`` when one of its observed visits does, ``inferred``
    when only one of its possible calls does. Possible calls are the pair chains'
    possible calls at the port and every dark period in which it was reachable."""
    port = normalise_name(claim.ports[0])
    items: list[dict] = []
    v = tables.visits
    for r in v[_vessel_mask(v, mmsis)].to_dict("records"):
        items.append({"mmsi": int(r["mmsi"]), "track": int(r["track"]), "name": r["name"],
                      "start": r["arrival_utc"],
                      "end": r["departure_utc"], "here": r["port_key"] == port,
                      "possible": False, "id": r["visit_id"], "ids": [r["visit_id"]],
                      "gaps": [], "port": r["port"]})
    seen: set[str] = set()
    p = tables.possible
    for r in p[_vessel_mask(p, mmsis) & (p["port_key"] == port)].to_dict("records"):
        key = r["gap_id"] or r["call_id"]
        if key in seen:
            continue
        seen.add(key)
        gaps = [r["gap_id"]] if r["gap_id"] else []
        items.append({"mmsi": int(r["mmsi"]), "track": int(r["track"]), "name": r["name"],
                      "start": r["start_utc"],
                      "end": r["end_utc"], "here": True, "possible": True, "id": r["call_id"],
                      "ids": [r["call_id"]] + gaps, "gaps": gaps, "port": r["port"]})
    g = tables.gaps
    for r in g[_vessel_mask(g, mmsis)].to_dict("records"):
        reachable = {normalise_name(x) for x in _split(r["possible_port_calls"])}
        if r["gap_id"] in seen or port not in reachable:
            continue
        seen.add(r["gap_id"])
        items.append({"mmsi": int(r["mmsi"]), "track": int(r["track"]), "name": r["name"],
                      "start": r["start_utc"],
                      "end": r["end_utc"], "here": True, "possible": True, "id": r["gap_id"],
                      "ids": [r["gap_id"]], "gaps": [r["gap_id"]], "port": claim.ports[0],
                      "note": f"{claim.ports[0]} reachable during the dark period"})
    items.sort(key=lambda x: (x["mmsi"], x["track"], _sort_time(x["start"]), x["possible"],
                              x["id"]))
    rows = []
    stay: list[dict] = []
    for item in items + [None]:
        if stay and (item is None or (item["mmsi"], item["track"]) != (stay[0]["mmsi"],
                                                                        stay[0]["track"])
                     or not item["here"]):
            row = _stay_row(claim, stay, tables)
            if row is not None:
                rows.append(row)
            stay = []
        if item is not None and item["here"]:
            stay.append(item)
    return rows


def _sort_time(ts) -> pd.Timestamp:
    return pd.Timestamp.max.tz_localize("UTC") if ts is None or pd.isna(ts) else ts


def _stay_row(claim: Claim, stay: list[dict], tables: Tables) -> dict | None:
    """The evidence row of one stay at the claim's port, or None when it misses the window."""
    visits = [x for x in stay if not x["possible"]]
    counted = [x for x in visits if _overlaps(x["start"], x["end"], claim)]
    if counted:
        ids = [i for x in visits for i in x["ids"]]
        note = (f"one stay: {len(visits)} visits with no call elsewhere between"
                if len(visits) > 1 else "")
        first = counted[0]
        return _row(claim, first["id"], "port call", "observed", first, visits[0]["start"],
                    visits[-1]["end"], first["port"], ids, [], tables, note=note)
    possible = [x for x in stay if x["possible"] and _overlaps(x["start"], x["end"], claim)]
    if not possible:
        return None
    first = possible[0]
    ids = [i for x in possible for i in x["ids"]]
    gaps = [gid for x in possible for gid in x["gaps"]]
    return _row(claim, first["id"], "possible port call", "inferred", first, first["start"],
                possible[-1]["end"], first["port"], ids, gaps, tables,
                note=first.get("note", ""))


def _dark_periods(claim: Claim, tables: Tables, mmsis) -> list[dict]:
    g = tables.gaps
    rows = []
    near = normalise_name(claim.near)
    for r in g[_vessel_mask(g, mmsis)].to_dict("records"):
        if not _in(r["start_utc"], claim):
            continue
        hours = r["hours"]
        if claim.min_hours is not None and not (hours is not None and not pd.isna(hours)
                                                and float(hours) >= claim.min_hours):
            continue
        note = ""
        if near:
            if r["start_port_key"] == near or r["end_port_key"] == near:
                note = f"starts or ends in {claim.near}"
            elif claim.radius_nm > 0 and (dist := _distance_to(tables, claim.near, r)) is not None \
                    and dist <= claim.radius_nm:
                note = f"{dist:.1f} nm from {claim.near}"
            else:
                continue
        rows.append(_row(claim, r["gap_id"], "dark period", "observed", r, r["start_utc"],
                         r["end_utc"], "", [r["gap_id"]], [r["gap_id"]], tables, note=note))
    return rows


def _who(mmsi: int, name) -> str:
    name = name.strip() if isinstance(name, str) else ""
    return f"{name} (MMSI {mmsi})" if name else f"MMSI {mmsi}"


def _encounters(claim: Claim, tables: Tables, mmsis, with_mmsis) -> list[dict]:
    e = tables.encounters
    if e is None or not len(e):
        return []
    rows = []
    for r in e.to_dict("records"):
        if not _in(r["start_utc"], claim):
            continue
        sides = ((int(r["mmsi_1"]), r["name_1"], int(r["mmsi_2"]), r["name_2"]),
                 (int(r["mmsi_2"]), r["name_2"], int(r["mmsi_1"]), r["name_1"]))
        for me, name, other, other_name in sides:
            if (mmsis is None or me in mmsis) and (with_mmsis is None or other in with_mmsis):
                row = {"mmsi": me, "name": name}
                rows.append(_row(claim, r["encounter_id"], "encounter", "observed", row,
                                 r["start_utc"], r["end_utc"],
                                 f"with {_who(other, other_name)}", [r["encounter_id"]], [],
                                 tables, note=f"{float(r['hours']):.1f} h at sea"))
                break           # an encounter between two claim vessels counts once
    return rows


def _loitering(claim: Claim, tables: Tables, mmsis) -> list[dict]:
    lo = tables.loitering
    if lo is None or not len(lo):
        return []
    rows = []
    for r in lo[_vessel_mask(lo, mmsis)].to_dict("records"):
        if not _in(r["start_utc"], claim):
            continue
        note = f"{float(r['hours']):.1f} h"
        if claim.near:
            dist = _distance_to(tables, claim.near, {"start_lat": r["lat"], "start_lon": r["lon"],
                                                     "end_lat": np.nan, "end_lon": np.nan})
            if dist is None or dist > claim.radius_nm:
                continue
            note += f", {dist:.1f} nm from {claim.near}"
        rows.append(_row(claim, r["loiter_id"], "loitering", "observed", r, r["start_utc"],
                         r["end_utc"], "", [r["loiter_id"]], [], tables, note=note))
    return rows


def _distance_to(tables: Tables, port: str, r: dict) -> float | None:
    """Nearest distance (nm) from the gap's bounding positions to ``port``'s polygon."""
    registry = tables.registry
    if registry is None:
        raise ValueError("a claim 'near' a port needs the run's port registry")
    idx = registry.index(port)
    lat = np.array([r["start_lat"], r["end_lat"]], dtype=float)
    lon = np.array([r["start_lon"], r["end_lon"]], dtype=float)
    ok = ~(np.isnan(lat) | np.isnan(lon))
    if not ok.any():
        return None
    return float(np.asarray(registry.distance_nm(lat[ok], lon[ok]))[:, idx].min())
