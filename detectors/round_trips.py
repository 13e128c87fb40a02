"""Legs and round trips between port polygons, observed and inferred.

Definitions (DESIGN.md, contract):

- A vessel's **calls** are its observed port visits at any port, in time order. A **leg**
  is two consecutive calls at different ports; consecutive calls at the same port make no
  leg. The legs of these observed calls form the *plain chain* (``pair == ""``).
- A **round trip** between {A, B} is two consecutive legs A->B and B->A, paired greedily
  from the vessel's first leg: legs N->D, D->N, N->D, D->N, N->D give two round trips and
  an open leg; N->D, D->V, V->N give none. Observed round trips come from the plain chain,
  for every pair of ports.
- **Inference**, only for the pairs of interest and one pair at a time: for pair {A, B},
  a dark period lying between two consecutive calls at the same port X of the pair
  (it starts at or after the first call's departure and ends at or before the next call's
  arrival) whose ``possible_port_calls`` list the pair's other port Y inserts a possible
  call at Y into that pair's chain: one per dark period, the first reachable one when
  several lie between the same two calls. The pair's chain is then paired greedily like
  the plain one; its round trips between A and B that use a possible call are
  ``inferred``, its legs that touch one are inferred legs (``pair == "A|B"``).

Reachability is the dark-periods detector's (``reach_speed_kn``, ``min_dwell_minutes``
in :mod:`detectors.dark_periods`): this module reads the ``possible_port_calls`` column
(``;``-joined port names) and has no thresholds of its own.

Times of a possible call: it happened somewhere inside its dark period, so it is given
the dark period's bounds, arrival at its start and departure at its end (the convention of
the project's simulator truth, ``ais.sim_truth``). A claim's window still counts a leg
leaving a possible call by the dark period's start (DESIGN.md); ``shadowfleet.claims``
does that from ``possible_calls.start_utc``.

Known limit: observed trips come from the plain chain and inferred ones from the pair's
chain, as DESIGN.md says; when an insertion re-pairs legs that the plain chain paired
otherwise, an observed trip and an inferred one may share calls.
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

import pandas as pd

from ais.errors import InputError
from detectors._ids import event_id, time_ns
from detectors.columns import LEG_COLUMNS, POSSIBLE_CALL_COLUMNS, ROUND_TRIP_TABLE

_TIME_COLUMNS = ("depart_origin_utc", "arrive_destination_utc", "depart_destination_utc",
                 "return_origin_utc", "start_utc", "end_utc")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RoundTripParams:
    """Round trips have no thresholds of their own: calls come from the port-visit
    detector and reachability from the dark-periods detector. The class exists so every
    detector takes a params object and the config file maps onto one per detector."""


@dataclasses.dataclass(frozen=True)
class RoundTripResult:
    """The three tables :func:`find_round_trips` builds."""

    round_trips: pd.DataFrame
    legs: pd.DataFrame
    possible_calls: pd.DataFrame


@dataclasses.dataclass(frozen=True)
class _Call:
    call_id: str
    port: str
    arrival: pd.Timestamp              # a possible call: its dark period's start
    departure: pd.Timestamp            # ... and end
    possible: bool = False
    gap_id: str = ""


def _pair_key(a: str, b: str) -> str:
    return "|".join(sorted((a, b)))


def _canonical_pairs(pairs: Iterable, registry) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[frozenset] = set()
    for pair in pairs:
        if isinstance(pair, str):
            pair = tuple(p.strip() for p in pair.split(","))
        a, b = tuple(pair)
        if registry is not None:
            a, b = registry.names[registry.index(a)], registry.names[registry.index(b)]
        key = frozenset((a, b))
        if a != b and key not in seen:
            seen.add(key)
            out.append((a, b))
    return out


def _port_name(name: str, registry) -> str | None:
    name = name.strip()
    if not name:
        return None
    if registry is None:
        return name
    try:
        return registry.names[registry.index(name)]
    except InputError:  # a name the registry does not know cannot be a pair port
        return None


def _legs(calls: list[_Call]) -> list[tuple[_Call, _Call]]:
    """Consecutive calls at different ports; a repeated port makes no leg."""
    return [(a, b) for a, b in zip(calls, calls[1:]) if a.port != b.port]


def _greedy_trips(legs: list[tuple[_Call, _Call]]) -> list[tuple[tuple[_Call, _Call],
                                                                 tuple[_Call, _Call]]]:
    """Pair legs A->B, B->A greedily from the first leg."""
    trips = []
    i = 0
    while i + 1 < len(legs):
        first, second = legs[i], legs[i + 1]
        if first[0].port == second[1].port:
            trips.append((first, second))
            i += 2
        else:
            i += 1
    return trips


def _insert_possible(calls: list[_Call], gaps: list[dict], pair: tuple[str, str],
                     mmsi: int) -> tuple[list[_Call], list[_Call]]:
    """The pair's chain: ``calls`` with possible calls inserted (and those calls)."""
    pair_key = _pair_key(*pair)
    chain: list[_Call] = []
    inserted: list[_Call] = []
    for k, call in enumerate(calls):
        chain.append(call)
        if k + 1 >= len(calls):
            break
        nxt = calls[k + 1]
        if call.port != nxt.port or call.port not in pair:
            continue
        other = pair[1] if call.port == pair[0] else pair[0]
        for gap in gaps:
            if gap["start"] < call.departure or gap["end"] is None:
                continue
            if gap["end"] > nxt.arrival:
                continue
            if other in gap["reachable"]:
                pc = _Call(event_id("P", "possible_call", mmsi, time_ns(gap["start"]), other,
                                    gap["gap_id"], pair_key),
                           other, gap["start"], gap["end"], possible=True,
                           gap_id=gap["gap_id"])
                chain.append(pc)
                inserted.append(pc)
                break
    return chain, inserted


def _trip_row(mmsi, name, trip, status, pair_key) -> dict:
    (o1, d1), (o2, d2) = trip
    ids = []
    for c in (o1, d1, o2, d2):
        if c.call_id not in ids:
            ids.append(c.call_id)
    depart = o1.departure
    ret = d2.arrival
    duration = (ret - depart).total_seconds() / 3600.0
    return {"trip_id": event_id("T", "round_trip", mmsi, time_ns(depart), ";".join(ids),
                                status, pair_key if status == "inferred" else ""),
            "mmsi": mmsi, "name": name, "origin": o1.port, "destination": d1.port,
            "depart_origin_utc": depart, "arrive_destination_utc": d1.arrival,
            "depart_destination_utc": o2.departure, "return_origin_utc": ret,
            "duration_hours": duration, "status": status,
            "pair": _pair_key(o1.port, d1.port), "call_ids": ";".join(ids)}


def _leg_row(mmsi, name, leg, pair_key) -> dict:
    a, b = leg
    status = "inferred" if (a.possible or b.possible) else "observed"
    return {"leg_id": event_id("L", "leg", mmsi, a.call_id, b.call_id, pair_key),
            "mmsi": mmsi, "name": name, "origin": a.port, "destination": b.port,
            "depart_origin_utc": a.departure, "arrive_destination_utc": b.arrival,
            "status": status, "origin_call_id": a.call_id, "destination_call_id": b.call_id,
            "pair": pair_key}


def _frame(rows: list[dict], columns: tuple[str, ...], start_col: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    for c in columns:
        if c in _TIME_COLUMNS:
            df[c] = pd.to_datetime(df[c], utc=True).dt.as_unit("ns")
        elif c == "mmsi":
            df[c] = df[c].astype("int64")
        elif c == "duration_hours":
            df[c] = df[c].astype("float64")
        else:
            df[c] = df[c].astype(object)
    keys = ["mmsi", start_col] + [c for c in ("pair", "status") if c in df.columns]
    return df.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)


def _gaps_by_vessel(gaps: pd.DataFrame | None, registry) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    if gaps is None or len(gaps) == 0:
        return out
    starts = pd.to_datetime(gaps["start_utc"], utc=True)
    ends = pd.to_datetime(gaps["end_utc"], utc=True)
    reach = gaps["possible_port_calls"] if "possible_port_calls" in gaps.columns \
        else pd.Series("", index=gaps.index)
    for m, gid, s, e, r in zip(gaps["mmsi"], gaps["gap_id"], starts, ends, reach):
        if pd.isna(s):
            continue
        names = {_port_name(x, registry) for x in ("" if pd.isna(r) else str(r)).split(";")}
        names.discard(None)
        out.setdefault(int(m), []).append({"gap_id": str(gid), "start": s,
                                           "end": None if pd.isna(e) else e,
                                           "reachable": names})
    for v in out.values():
        v.sort(key=lambda g: (g["start"], g["gap_id"]))
    return out


def find_round_trips(visits: pd.DataFrame, gaps: pd.DataFrame | None, registry,
                     pairs: Iterable = (), params: RoundTripParams = RoundTripParams(),
                     names: Mapping[int, str] | None = None) -> RoundTripResult:
    """Legs, round trips and the possible calls the pairs of interest use.

    ``visits`` is :func:`detectors.port_visits.find_port_visits`'s table (``call_id`` is
    used when present, else ``visit_id``); ``gaps`` the dark-periods table (``gap_id``,
    ``mmsi``, ``start_utc``, ``end_utc``, ``possible_port_calls``); ``pairs`` the pairs
    of interest as ``(A, B)`` tuples or ``"A,B"`` strings, resolved through ``registry``
    (may be None when the tables already carry canonical names).
    """
    if not isinstance(params, RoundTripParams):
        raise TypeError("params must be a RoundTripParams")
    names = names or {}
    pair_list = _canonical_pairs(pairs, registry)
    gaps_by = _gaps_by_vessel(gaps, registry)
    trips: list[dict] = []
    legs: list[dict] = []
    possible: list[dict] = []
    if visits is not None and len(visits):
        v = visits.copy()
        v["arrival_utc"] = pd.to_datetime(v["arrival_utc"], utc=True)
        v["departure_utc"] = pd.to_datetime(v["departure_utc"], utc=True)
        id_col = "call_id" if "call_id" in v.columns else "visit_id"
        v = v.sort_values(["mmsi", "arrival_utc", "departure_utc", id_col], kind="mergesort")
        for mmsi, group in v.groupby("mmsi", sort=True):
            mmsi = int(mmsi)
            name = names.get(mmsi, "") or ""
            calls = [_Call(str(c), str(p), a, d) for c, p, a, d in
                     zip(group[id_col], group["port"], group["arrival_utc"],
                         group["departure_utc"])]
            plain_legs = _legs(calls)
            legs.extend(_leg_row(mmsi, name, leg, "") for leg in plain_legs)
            trips.extend(_trip_row(mmsi, name, t, "observed", "")
                         for t in _greedy_trips(plain_legs))
            for pair in pair_list:
                chain, inserted = _insert_possible(calls, gaps_by.get(mmsi, []), pair, mmsi)
                if not inserted:
                    continue
                key = _pair_key(*pair)
                for pc in inserted:
                    gap = next(g for g in gaps_by[mmsi] if g["gap_id"] == pc.gap_id)
                    possible.append({"call_id": pc.call_id, "mmsi": mmsi, "name": name,
                                     "port": pc.port, "gap_id": pc.gap_id,
                                     "start_utc": gap["start"], "end_utc": gap["end"],
                                     "pair": key})
                chain_legs = _legs(chain)
                legs.extend(_leg_row(mmsi, name, leg, key) for leg in chain_legs
                            if leg[0].possible or leg[1].possible)
                for t in _greedy_trips(chain_legs):
                    calls_used = (t[0][0], t[0][1], t[1][0], t[1][1])
                    if any(c.possible for c in calls_used) \
                            and {t[0][0].port, t[0][1].port} == set(pair):
                        trips.append(_trip_row(mmsi, name, t, "inferred", key))
    return RoundTripResult(
        round_trips=_frame(trips, ROUND_TRIP_TABLE, "depart_origin_utc"),
        legs=_frame(legs, LEG_COLUMNS, "depart_origin_utc"),
        possible_calls=_frame(possible, POSSIBLE_CALL_COLUMNS, "start_utc"))
