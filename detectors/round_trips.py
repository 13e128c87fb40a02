"""Legs and round trips between port polygons, observed and inferred.

Definitions (DESIGN.md, contract):

- A vessel's **calls** are its observed port visits at any port, in time order. A **leg**
  is two consecutive calls at different ports; consecutive calls at the same port make no
  leg. The calls alone form the vessel's *plain chain*.
- A **round trip** between {A, B} is two consecutive legs A->B and B->A, paired greedily
  from the vessel's first leg: legs N->D, D->N, N->D, D->N, N->D give two round trips and
  an open leg; N->D, D->V, V->N give none.
- **Inference**, only for the pairs of interest and one pair at a time: for pair {A, B},
  a dark period lying between two consecutive calls at the same port X of the pair
  (it starts at or after the first call's departure and ends at or before the next call's
  arrival) whose ``possible_port_calls`` list the pair's other port Y inserts a possible
  call at Y into *that pair's chain*: one per dark period, the first reachable one when
  several lie between the same two calls.
- **Each leg is counted once.** For a pair of interest, all its legs and round trips,
  observed and inferred alike, come from that pair's chain, paired greedily over the
  whole chain; for any other pair they come from the plain chain. So calls N, D,
  [dark, N reachable], D, N give two round trips, N->D->N* and N*->D->N, both inferred,
  and never an observed N->D->N beside them from the same visits. A trip is
  ``observed`` when its three calls are observed visits, ``inferred`` when one is a
  possible call. Within one chain greedy pairing uses each leg once, and a leg belongs
  to the chain of its own two ports, so no leg is in two trips of one pair.
- **Times at a possible call are unknown**: the call happened somewhere inside its dark
  period. The leg and trip cells that fall at a possible call (a departure from it, an
  arrival at it) are empty (NaT); ``dark_period_id`` names the dark period(s) the leg or
  trip rests on (``;``-joined when, rarely, a trip has two possible calls), and a
  trip's ``duration_hours`` runs from its first known departure to its last known
  arrival (NaN when there is no such pair of times). The ``possible_calls`` table keeps
  the window the call lies in: its dark period's ``start_utc`` and ``end_utc``; a
  claim's window counts a leg leaving a possible call by the dark period's start
  (DESIGN.md, "In a claim's window").

Reachability is the dark-periods detector's (``reach_speed_kn``, ``min_dwell_minutes``
in :mod:`detectors.dark_periods`): this module reads the ``possible_port_calls`` column
(``;``-joined port names) and has no thresholds of its own.

Rows are sorted by (mmsi, the time of the first call, pair); a possible call's time for
sorting and for ids is its dark period's start. A vessel is an (mmsi, track): the ships
of a shared MMSI (:mod:`detectors.identity_tracks`) each have their own calls, chains,
legs and trips, and every row says its ``track`` (a visit's or dark period's table
without the column is track 0).
"""

from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ais.errors import InputError
from detectors._frames import tracks_of
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
    departure: pd.Timestamp            # ... and end (the window it lies in)
    possible: bool = False
    gap_id: str = ""

    @property
    def known_arrival(self):
        return pd.NaT if self.possible else self.arrival

    @property
    def known_departure(self):
        return pd.NaT if self.possible else self.departure


Leg = tuple[_Call, _Call]


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


def _legs(calls: list[_Call]) -> list[Leg]:
    """Consecutive calls at different ports; a repeated port makes no leg."""
    return [(a, b) for a, b in zip(calls, calls[1:]) if a.port != b.port]


def _greedy_trips(legs: list[Leg]) -> list[tuple[Leg, Leg]]:
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


def _gap_ids(calls) -> str:
    return ";".join(dict.fromkeys(c.gap_id for c in calls if c.possible))


def _trip_row(mmsi, track, name, trip: tuple[Leg, Leg]) -> dict:
    (o1, d1), (o2, d2) = trip
    ids = list(dict.fromkeys(c.call_id for c in (o1, d1, o2, d2)))
    status = "inferred" if any(c.possible for c in (o1, d1, o2, d2)) else "observed"
    pair_key = _pair_key(o1.port, d1.port)
    first_departure = next((t for t in (o1.known_departure, o2.known_departure)
                            if not pd.isna(t)), pd.NaT)
    last_arrival = next((t for t in (d2.known_arrival, d1.known_arrival)
                         if not pd.isna(t)), pd.NaT)
    duration = np.nan
    if not (pd.isna(first_departure) or pd.isna(last_arrival)) \
            and last_arrival >= first_departure:
        duration = (last_arrival - first_departure).total_seconds() / 3600.0
    return {"trip_id": event_id("T", "round_trip", mmsi, time_ns(o1.departure if not o1.possible
                                                                  else o1.arrival),
                                ";".join(ids), status, pair_key),
            "mmsi": mmsi, "name": name, "origin": o1.port, "destination": d1.port,
            "depart_origin_utc": o1.known_departure, "arrive_destination_utc": d1.known_arrival,
            "depart_destination_utc": o2.known_departure, "return_origin_utc": d2.known_arrival,
            "duration_hours": duration, "status": status,
            "dark_period_id": _gap_ids((o1, d1, o2, d2)),
            "track": track, "pair": pair_key, "call_ids": ";".join(ids),
            "_sort": o1.arrival if o1.possible else o1.departure}


def _leg_row(mmsi, track, name, leg: Leg) -> dict:
    a, b = leg
    status = "inferred" if (a.possible or b.possible) else "observed"
    pair_key = _pair_key(a.port, b.port)
    return {"leg_id": event_id("L", "leg", mmsi, a.call_id, b.call_id, pair_key),
            "mmsi": mmsi, "name": name, "origin": a.port, "destination": b.port,
            "depart_origin_utc": a.known_departure, "arrive_destination_utc": b.known_arrival,
            "status": status, "origin_call_id": a.call_id, "destination_call_id": b.call_id,
            "pair": pair_key, "dark_period_id": _gap_ids(leg), "track": track,
            "_sort": a.arrival if a.possible else a.departure}


def _frame(rows: list[dict], columns: tuple[str, ...], id_col: str) -> pd.DataFrame:
    rows = sorted(rows, key=lambda r: (r["mmsi"], time_ns(r["_sort"]), r.get("pair", ""),
                                       r[id_col]))
    df = pd.DataFrame(rows, columns=list(columns))
    for c in columns:
        if c in _TIME_COLUMNS:
            df[c] = pd.to_datetime(df[c], utc=True).dt.as_unit("ns")
        elif c in ("mmsi", "track"):
            df[c] = df[c].astype("int64")
        elif c == "duration_hours":
            df[c] = df[c].astype("float64")
        else:
            df[c] = df[c].astype(object)
    return df.reset_index(drop=True)


def _gaps_by_vessel(gaps: pd.DataFrame | None, registry) -> dict[tuple[int, int], list[dict]]:
    out: dict[tuple[int, int], list[dict]] = {}
    if gaps is None or len(gaps) == 0:
        return out
    starts = pd.to_datetime(gaps["start_utc"], utc=True)
    ends = pd.to_datetime(gaps["end_utc"], utc=True)
    reach = gaps["possible_port_calls"] if "possible_port_calls" in gaps.columns \
        else pd.Series("", index=gaps.index)
    known: dict[str, str | None] = {}      # each name resolved once, not once per gap

    def port(name: str) -> str | None:
        if name not in known:
            known[name] = _port_name(name, registry)
        return known[name]

    for m, k, gid, s, e, r in zip(gaps["mmsi"], tracks_of(gaps), gaps["gap_id"], starts, ends,
                                  reach):
        if pd.isna(s):
            continue
        names = {port(x) for x in ("" if pd.isna(r) else str(r)).split(";")}
        names.discard(None)
        out.setdefault((int(m), int(k)), []).append({"gap_id": str(gid), "start": s,
                                           "end": None if pd.isna(e) else e,
                                           "reachable": names})
    for v in out.values():
        v.sort(key=lambda g: (g["start"], g["gap_id"]))
    return out


def _vessel_events(mmsi: int, track: int, name: str, calls: list[_Call], gaps: list[dict],
                   pair_list: list[tuple[str, str]]):
    """(trip rows, leg rows, possible calls) of one vessel, each leg and trip from the
    chain of its own pair (see the module docstring)."""
    interest = {frozenset(p) for p in pair_list}
    trips: list[dict] = []
    legs: list[dict] = []
    possible: list[tuple[_Call, str]] = []
    plain = _legs(calls)
    legs.extend(_leg_row(mmsi, track, name, leg) for leg in plain
                if frozenset((leg[0].port, leg[1].port)) not in interest)
    trips.extend(_trip_row(mmsi, track, name, t) for t in _greedy_trips(plain)
                 if frozenset((t[0][0].port, t[0][1].port)) not in interest)
    for pair in pair_list:
        chain, inserted = _insert_possible(calls, gaps, pair, mmsi)
        key = frozenset(pair)
        possible.extend((pc, _pair_key(*pair)) for pc in inserted)
        chain_legs = _legs(chain)
        legs.extend(_leg_row(mmsi, track, name, leg) for leg in chain_legs
                    if frozenset((leg[0].port, leg[1].port)) == key)
        trips.extend(_trip_row(mmsi, track, name, t) for t in _greedy_trips(chain_legs)
                     if frozenset((t[0][0].port, t[0][1].port)) == key)
    return trips, legs, possible


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
        v["track"] = tracks_of(v)
        v = v.sort_values(["mmsi", "track", "arrival_utc", "departure_utc", id_col],
                          kind="mergesort")
        for (mmsi, track), group in v.groupby(["mmsi", "track"], sort=True):
            mmsi, track = int(mmsi), int(track)
            name = names.get(mmsi, "") or ""
            calls = [_Call(str(c), str(p), a, d) for c, p, a, d in
                     zip(group[id_col], group["port"], group["arrival_utc"],
                         group["departure_utc"])]
            t, lg, pcs = _vessel_events(mmsi, track, name, calls,
                                        gaps_by.get((mmsi, track), []), pair_list)
            trips.extend(t)
            legs.extend(lg)
            possible.extend({"call_id": pc.call_id, "mmsi": mmsi, "name": name,
                             "port": pc.port, "gap_id": pc.gap_id, "start_utc": pc.arrival,
                             "end_utc": pc.departure, "pair": key, "track": track,
                             "_sort": pc.arrival}
                            for pc, key in pcs)
    return RoundTripResult(
        round_trips=_frame(trips, ROUND_TRIP_TABLE, "trip_id"),
        legs=_frame(legs, LEG_COLUMNS, "leg_id"),
        possible_calls=_frame(possible, POSSIBLE_CALL_COLUMNS, "call_id"))
