"""The truth file of a simulated feed: what the simulated ships did.

Recorded while the world was simulated (CONVENTIONS 18: truth is what happened, not a
second reading of the reports; nothing here shares code with ``detectors``):

- ``calls``: every stay of a vessel at a port, from its arrival at the berth to its
  departure, with what the stations made of it: ``reports_received`` (position reports
  with a position, sent during the call, that reached a station), when the first and
  last of them were received, when the last one before the call was
  (``last_report_before_utc``: where a dark period over the call starts), and ``silence``: ``""`` when AIS was on throughout, ``transmitter_off`` or
  ``positions_withheld`` when the crew kept AIS quiet for the whole call, ``partly``
  for some of it;
- ``voyages``: every passage, from its origin (a port, ``""`` at sea) to its
  destination, with departure, arrival, length and mean speed;
- ``silences``: every interval the crew kept AIS quiet, ``transmitter_off`` (nothing
  sent) or ``positions_withheld`` (static reports and "position not available" reports
  went on);
- ``coverage_outages``: every interval a receiving station heard nothing;
- ``identity``: the identities planted wrong (:mod:`shadowfleet.simulator.identity`): an
  MMSI sent by two hulls at once, a rename with a new IMO, an invalid MMSI.

Every record of a ship's doings is the hull's own: calls, voyages and trips of two hulls
sending one MMSI are apart (``vessel``: the MMSI, and ``/clone`` for the second hull;
call ids start with it), as the reports each hull sent are (``Simulation.received``'s
``vessel`` column).

Derived from those true events (computed from the true calls only, by the rules below,
written here so a reader can check them):

- ``legs``: consecutive true calls of a vessel at different ports (DESIGN.md, "Definitions");
- ``round_trips``: the round trips the ships made: two consecutive true legs A->B,
  B->A, paired greedily from the vessel's first leg (``calls``: the origin, the
  destination as arrived at and as left, the return; the middle two differ when the
  ship called twice at the destination with no leg between, e.g. a day at sea);
- ``expected_round_trips``: what a correct run reports, by DESIGN.md's chains built
  from the true calls as the stations saw them. A call is *received* when any position
  report sent during it reached a station. Any pair that is not of interest is paired over the vessel's received
  calls only (no inference outside the pairs of interest). A pair of interest {X, Y}
  is paired over the received calls plus, between two consecutive received calls at
  the same port X of the pair, the first unseen call at Y (the one a possible call
  stands for: the ship was unseen throughout, so a dark period spans it). A trip is
  ``observed`` when all its calls are received, ``inferred`` when one is such a
  stand-in; ``calls`` lists the origin, the destination as arrived at and as left (two
  calls at the same port when the ship was unseen in between) and the return;
  ``happened`` says whether it is also one of ``round_trips``; ``counted_from_utc`` is
  the time a claim's window counts it from (DESIGN.md: the departure from the origin,
  for a possible call the start of its dark period). ``expected_legs``: the
  legs of the same chains (each leg of a pair of interest from that pair's chain, the
  others from the received calls).

Each of ``round_trips`` carries ``expected``: the status a correct run gives it, or
``not_found`` (with ``why``) when DESIGN.md's chains pair its legs otherwise or cannot
see it (a call unseen outside a pair of interest shifts the greedy pairing of that
ship's other trips: an inherent limit of inferring only for the pairs of interest).

``behaviour``: what the ships did at sea (stays, ship-to-ship meetings, loitering,
places used, look-alikes) and what a correct run finds of it:
:mod:`shadowfleet.simulator.behaviour_truth`.

Inference also needs the other port to be reachable within the silence: the scenarios'
shuttles sail at most 12.5 kn and stay at least 12 h, below ``reach_speed_kn`` [15] and
above ``min_dwell_minutes`` [60], so a silence that spans a whole call always leaves
that call's port reachable; each voyage records its ``max_speed_kn`` so a test can check
that premise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from shadowfleet.simulator.behaviour_truth import build_behaviour_truth
from shadowfleet.simulator.identity import identity_truth
from shadowfleet.simulator.tracks import SILENCE_KINDS, Passage, Stay
from shadowfleet.simulator.world import STATIONS

DEFAULTS = dict(min_dwell_minutes=60.0, reach_speed_kn=15.0)
PAIRS_OF_INTEREST = (("Dunay", "Najin"),)
EXPECTED = ("observed", "inferred", "not_found")


def _iso(t) -> str | None:
    if t is None or (isinstance(t, float) and np.isnan(t)):
        return None
    return pd.Timestamp(round(float(t)), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def _call_silence(stay: Stay, silences) -> str:
    length = stay.t1 - stay.t0
    covered = {kind: 0.0 for kind in SILENCE_KINDS}
    for s in silences:
        covered[s.kind] += _overlap(stay.t0, stay.t1, s.t0, s.t1)
    for kind, seconds in covered.items():
        if seconds >= length:
            return kind
    return "partly" if sum(covered.values()) > 0 else ""


def _calls(sim) -> list[dict]:
    """Every true call, with its reception (see the module docstring)."""
    rec = sim.received
    if "vessel" not in rec.columns:         # one hull per MMSI: the MMSI says which
        index = {v.mmsi: i for i, v in enumerate(sim.vessels)}
        rec = rec.assign(vessel=rec["mmsi"].map(index))
    rec = rec[rec["lat"].notna() & rec["lon"].notna()].sort_values(["vessel", "sent_s"],
                                                                   kind="mergesort")
    rx_s = (pd.to_datetime(rec["timestamp"], utc=True).dt.as_unit("ns").astype("int64")
            / 1e9).to_numpy()
    by_vessel = {int(i): (rec["sent_s"].to_numpy()[idx], rx_s[idx])
                 for i, idx in rec.groupby("vessel").indices.items()}
    out = []
    for vi, v in enumerate(sim.vessels):
        sent, rx = by_vessel.get(vi, (np.zeros(0), np.zeros(0)))
        k = 0
        for part in v.track.parts:
            if not isinstance(part, Stay) or not part.port:
                continue
            a, b = np.searchsorted(sent, [part.t0, part.t1], side="left")
            seen = rx[a:b]
            silence = _call_silence(part, v.track.silences)
            out.append(dict(
                call_id=f"{v.key}-C{k}", mmsi=v.mmsi, vessel=v.key, name=v.name,
                port=part.port,
                arrival_utc=_iso(part.t0), departure_utc=_iso(part.t1),
                hours=round((part.t1 - part.t0) / 3600, 4),
                reports_received=int(len(seen)),
                first_received_utc=_iso(seen[0]) if len(seen) else None,
                last_received_utc=_iso(seen[-1]) if len(seen) else None,
                last_report_before_utc=_iso(rx[a - 1]) if a > 0 else None,
                received=bool(len(seen)),
                silence=silence, dark=silence in SILENCE_KINDS,
                _t=(part.t0, part.t1)))
            k += 1
    return out


def _voyages(sim) -> list[dict]:
    out = []
    for v in sim.vessels:
        for part in v.track.parts:
            if isinstance(part, Passage):
                hours = (part.t1 - part.t0) / 3600
                out.append(dict(mmsi=v.mmsi, vessel=v.key, name=v.name, origin=part.origin,
                                destination=part.destination, departure_utc=_iso(part.t0),
                                arrival_utc=_iso(part.t1), distance_nm=round(part.length_nm, 3),
                                mean_speed_kn=round(part.length_nm / hours, 3) if hours else None,
                                max_speed_kn=float(part.speed_kn)))
    return out


def _legs(calls: list[dict]) -> list[tuple[dict, dict]]:
    return [(a, b) for a, b in zip(calls, calls[1:]) if a["port"] != b["port"]]


def _greedy(legs: list[tuple[dict, dict]]) -> list[tuple[tuple, tuple]]:
    trips, i = [], 0
    while i + 1 < len(legs):
        (a, _), (_, d) = legs[i], legs[i + 1]
        if a["port"] == d["port"]:
            trips.append((legs[i], legs[i + 1]))
            i += 2
        else:
            i += 1
    return trips


def _pair_chain(seq: list[dict], pair: tuple[str, str]) -> tuple[list[dict], set[str]]:
    """The received calls with, between two consecutive received calls at the same port
    of ``pair``, the first unseen call at the pair's other port (and those calls' ids)."""
    chain, stand_ins = [], set()
    received = [k for k, c in enumerate(seq) if c["received"]]
    for i, k in enumerate(received):
        chain.append(seq[k])
        if i + 1 == len(received):
            break
        nxt = received[i + 1]
        here = seq[k]["port"]
        if here not in pair or seq[nxt]["port"] != here:
            continue
        other = pair[0] if here == pair[1] else pair[1]
        between = [c for c in seq[k + 1:nxt] if c["port"] == other]
        if between:
            chain.append(between[0])
            stand_ins.add(between[0]["call_id"])
    return chain, stand_ins


def _counted_from(origin: dict, stand_ins: set[str]) -> str | None:
    """The time DESIGN.md's window rule counts a leg or trip from: the departure from its
    origin, or, when a possible call stands for the origin, the start of the dark period
    (the last position report received before the call)."""
    return origin["last_report_before_utc"] if origin["call_id"] in stand_ins \
        else origin["departure_utc"]


def _trip_record(trip, stand_ins: set[str]) -> dict:
    (a, b), (c, d) = trip
    calls = [a, b, c, d]
    return dict(mmsi=a["mmsi"], vessel=a["vessel"], name=a["name"], origin=a["port"],
                destination=b["port"], pair="|".join(sorted((a["port"], b["port"]))),
                calls=[x["call_id"] for x in calls],
                depart_origin_utc=a["departure_utc"], arrive_destination_utc=b["arrival_utc"],
                depart_destination_utc=c["departure_utc"], return_origin_utc=d["arrival_utc"],
                counted_from_utc=_counted_from(a, stand_ins),
                status="inferred" if any(x["call_id"] in stand_ins for x in calls) else "observed")


def _leg_record(leg, stand_ins: set[str]) -> dict:
    a, b = leg
    return dict(mmsi=a["mmsi"], vessel=a["vessel"], name=a["name"], origin=a["port"],
                destination=b["port"], pair="|".join(sorted((a["port"], b["port"]))),
                calls=[a["call_id"], b["call_id"]],
                depart_origin_utc=a["departure_utc"], arrive_destination_utc=b["arrival_utc"],
                counted_from_utc=_counted_from(a, stand_ins),
                status="inferred" if (a["call_id"] in stand_ins or b["call_id"] in stand_ins)
                else "observed")


def _of_pair(trip, pair: frozenset) -> bool:
    return frozenset((trip[0][0]["port"], trip[0][1]["port"])) == pair


def _trips(calls: list[dict], pairs):
    """(true legs, true round trips, expected round trips, expected legs): see the module
    docstring."""
    legs_out, true_out, expected_out, expected_legs_out = [], [], [], []
    by_vessel: dict[int, list[dict]] = {}
    for c in calls:
        by_vessel.setdefault(c["vessel"], []).append(c)
    interest = {frozenset(p) for p in pairs}
    for seq in by_vessel.values():
        legs = _legs(seq)
        for a, b in legs:
            legs_out.append(dict(mmsi=a["mmsi"], vessel=a["vessel"], name=a["name"],
                                 origin=a["port"],
                                 destination=b["port"], origin_call=a["call_id"],
                                 destination_call=b["call_id"],
                                 depart_origin_utc=a["departure_utc"],
                                 arrive_destination_utc=b["arrival_utc"]))
        plain_legs = _legs([c for c in seq if c["received"]])
        expected = [_trip_record(t, set()) for t in _greedy(plain_legs)
                    if not any(_of_pair(t, p) for p in interest)]
        elegs = [_leg_record(leg, set()) for leg in plain_legs
                 if frozenset((leg[0]["port"], leg[1]["port"])) not in interest]
        for pair in pairs:
            chain, stand_ins = _pair_chain(seq, pair)
            chain_legs = _legs(chain)
            expected += [_trip_record(t, stand_ins) for t in _greedy(chain_legs)
                         if _of_pair(t, frozenset(pair))]
            elegs += [_leg_record(leg, stand_ins) for leg in chain_legs
                      if frozenset((leg[0]["port"], leg[1]["port"])) == frozenset(pair)]
        expected_legs_out += sorted(elegs, key=lambda e: e["depart_origin_utc"] or "")
        by_calls = {tuple(e["calls"]): e for e in expected}
        made = set()
        for t in _greedy(legs):
            rec = _trip_record(t, set())
            del rec["status"], rec["counted_from_utc"]
            key = tuple(rec["calls"])
            made.add(key)
            match = by_calls.get(key)
            rec["dark_calls"] = list(dict.fromkeys(x["call_id"] for x in (*t[0], *t[1])
                                                   if x["dark"]))
            rec["expected"] = match["status"] if match else "not_found"
            rec["why"] = "" if match else (
                "a call of it unseen, and no possible call can stand for it"
                if frozenset((rec["origin"], rec["destination"])) in interest else
                "a call of this ship unseen: the plain chain (no inference outside the pairs "
                "of interest) pairs its legs otherwise or misses them")
            true_out.append(rec)
        for e in expected:
            e["happened"] = tuple(e["calls"]) in made
        expected_out += sorted(expected, key=lambda e: (e["depart_origin_utc"] or "", e["pair"]))
    return legs_out, true_out, expected_out, expected_legs_out


def build_truth(sim, *, pairs=PAIRS_OF_INTEREST,
                min_dwell_minutes: float = DEFAULTS["min_dwell_minutes"]) -> dict:
    """The truth of ``sim`` (a :class:`shadowfleet.simulator.feed.Simulation`) as a
    JSON-ready dict (see the module docstring)."""
    pairs = tuple(tuple(sorted(p)) for p in pairs)
    calls = _calls(sim)
    legs, trips, expected_trips, expected_legs = _trips(calls, pairs)
    for c in calls:
        c.pop("_t")
    voyages = _voyages(sim)
    silences = [dict(mmsi=v.mmsi, name=v.name, kind=s.kind, start_utc=_iso(s.t0),
                     end_utc=_iso(s.t1), hours=round((s.t1 - s.t0) / 3600, 4))
                for v in sim.vessels for s in v.track.silences]
    rec = sim.received
    t = rec["timestamp"]
    identity = identity_truth(sim)
    expected = {e: sum(1 for x in trips if x["expected"] == e) for e in EXPECTED}
    reported = {s: sum(1 for x in expected_trips if x["status"] == s)
                for s in ("observed", "inferred")}
    return dict(
        simulated=True,
        note="Simulated data: every vessel, MMSI and IMO is fictional.",
        scenario=sim.scenario, seed=sim.seed,
        time_span=[t.min().strftime("%Y-%m-%dT%H:%M:%SZ"),
                   t.max().strftime("%Y-%m-%dT%H:%M:%SZ")] if len(t) else [None, None],
        definitions=dict(min_dwell_minutes=min_dwell_minutes,
                         reach_speed_kn=DEFAULTS["reach_speed_kn"]),
        pairs_of_interest=[list(p) for p in pairs],
        ports=sorted({c["port"] for c in calls}),
        stations=[dict(name=s.name, lat=s.lat, lon=s.lon, range_nm=s.range_nm) for s in STATIONS],
        coverage_outages=[dict(station=s, start_utc=_iso(a), end_utc=_iso(b))
                          for s, a, b in sim.outages],
        vessels=[dict(mmsi=v.mmsi, name=v.name, imo=v.imo or None, callsign=v.callsign,
                      ais_class=v.ais_class, role=v.role, vessel=v.key)
                 for v in sim.vessels],
        counts=dict(lines=len(sim.lines), header_lines=sim.header_lines,
                    corrupt_lines=len(sim.corrupt), position_reports=int(len(rec)),
                    vessels=len(sim.vessels), calls=len(calls),
                    calls_received=sum(1 for c in calls if c["received"]),
                    calls_dark=sum(1 for c in calls if c["dark"]),
                    voyages=len(voyages), legs=len(legs), round_trips=len(trips),
                    **{f"round_trips_{e}": n for e, n in expected.items()},
                    expected_round_trips=len(expected_trips),
                    **{f"expected_round_trips_{s}": n for s, n in reported.items()},
                    expected_round_trips_not_made=sum(1 for x in expected_trips
                                                      if not x["happened"]),
                    **{f"silences_{k}": sum(1 for s in silences if s["kind"] == k)
                       for k in SILENCE_KINDS},
                    coverage_outages=len(sim.outages),
                    identity_planted=identity["planted"]),
        calls=calls,
        voyages=voyages,
        silences=silences,
        legs=legs,
        round_trips=trips,
        expected_round_trips=expected_trips,
        expected_legs=expected_legs,
        identity=identity,
        header_lines=list(range(1, sim.header_lines + 1)),
        corrupt_lines=sim.corrupt,
        behaviour=build_behaviour_truth(sim),
    )


def write_truth(truth: dict, path) -> None:
    """Write the truth as indented JSON (atomic replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)
