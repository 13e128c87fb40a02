"""A run's events scored against the truth of a simulated feed: what the ships did.

The run's tables (``port_visits``, ``possible_calls``, ``round_trips``,
``dark_periods``, as :class:`shadowfleet.pipeline.Result` holds them) are matched to
the true events of :mod:`shadowfleet.simulator.truth`:

- a port visit is the true call of the same vessel at the same port that its interval
  overlaps most, allowing ``approach_hours`` either side (a visit starts at the first
  position inside the polygon, the call at the berth);
- a possible port call is the true call of the same vessel at that port lying inside
  its dark period;
- a round trip is matched by the true calls of its origin, its destination as arrived
  at and as left, and its return, to the truth's ``expected_round_trips`` (what a
  correct run reports, DESIGN.md's chains over the true calls): found once with the
  same status, or *missed*; a trip that matches none is *invented*. The ships' own
  trips (``round_trips``) are then found when their expected trip is;
- a dark period *covers* a true call (or silence) when it starts before the call's
  arrival and ends after its departure. A silence with positions withheld must give
  its dark period ``own_messages``; a transmitter switched off gives its dark period
  exactly the static reports received between the last position and the switch-off
  and between the switch-on and the next position (DESIGN.md counts every message
  heard while the dark period lasted).
- identity (the truth's ``identity`` section, :mod:`shadowfleet.simulator.identity`):
  each planted anomaly is *found* when a row of the run's identity table
  (``identity.csv``) says it: a ``shared_mmsi`` row of its MMSI overlapping the time both
  hulls were on the air; an ``identity_change`` row of its MMSI and field with the same
  value before and after, whose interval (the last report of the old value to the first
  of the new) holds the moment of the change (within ``IDENTITY_SLACK``: receive times
  trail the sending); an ``invalid_mmsi`` row of its MMSI. A row that says none of them
  is *invented*.

The behaviour detectors (encounters, loitering, unlisted stops) are scored by
:mod:`shadowfleet.simulator.behaviour_accuracy` (``Accuracy.behaviour``).

Nothing here reads AIS or runs a detector: the caller runs them.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

import pandas as pd

from shadowfleet.simulator.behaviour_accuracy import BehaviourAccuracy, score_behaviour
from shadowfleet.simulator.world import STATIONS

# the most a receive time lags the send time (the slower station's delay and its jitter,
# shadowfleet.simulator.radio.receptions)
RECEIVE_LAG = pd.Timedelta(seconds=max(s.delay_s for s in STATIONS) + 2.0)
IDENTITY_SLACK = pd.Timedelta(minutes=5)


def _ts(value) -> pd.Timestamp | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


@dataclasses.dataclass
class Accuracy:
    """How a run's round trips, calls and dark periods compare with the truth."""

    scenario: str
    seed: int
    true_trips: int                         # round trips the ships made
    true_expected: Counter                  # expected status -> round trips made
    true_found: Counter                     # (expected, found status) -> made and found once
    reported_not_made: int                  # trips a correct run reports the ships did not make
    missed: list[dict]                      # expected trips not found once with their status
    invented_trips: list[dict]              # found trips no correct run reports
    invented_calls: list[dict]              # visits that are no true call
    invented_possible_calls: list[dict]     # possible calls with no true call inside
    dark_calls: int                         # true calls with no report received
    uncovered_dark_calls: list[dict]        # ... not covered by a possible call of their gap
    withheld_silences: int
    withheld_without_own_messages: list[dict]   # withheld, yet no own message counted
    off_silences: int
    off_own_messages_wrong: list[dict]          # switched off, own messages not those sent
                                                # before the switch-off or after switch-on
    off_heard: int = 0                          # switched off, yet static reports sent just
                                                # before or after fall in the dark period
    behaviour: BehaviourAccuracy | None = None  # encounters, loitering, unlisted stops
                                                # (shadowfleet.simulator.behaviour_accuracy)
    identity_planted: list = dataclasses.field(default_factory=list)   # each with "found"
    identity_invented: list = dataclasses.field(default_factory=list)  # rows of no anomaly

    @property
    def identity_missed(self) -> list:
        return [p for p in self.identity_planted if not p["found"]]

    def row(self) -> dict:
        """One line of the per-seed table of ``tools/accuracy.py``."""
        return {"scenario": self.scenario, "seed": self.seed, "true": self.true_trips,
                "observed": self.true_found[("observed", "observed")],
                "inferred": self.true_found[("inferred", "inferred")],
                "not_found": self.true_expected["not_found"],
                "reported_not_made": self.reported_not_made,
                "missed": len(self.missed), "invented": len(self.invented_trips),
                "invented_calls": len(self.invented_calls) + len(self.invented_possible_calls),
                "dark_calls": self.dark_calls,
                "dark_uncovered": len(self.uncovered_dark_calls),
                "withheld": self.withheld_silences,
                "withheld_flagged": self.withheld_silences - len(self.withheld_without_own_messages),
                "off": self.off_silences, "off_heard": self.off_heard,
                "off_wrong": len(self.off_own_messages_wrong),
                "identity": len(self.identity_planted),
                "identity_found": len(self.identity_planted) - len(self.identity_missed),
                "identity_invented": len(self.identity_invented)}


class _Calls:
    """The true calls of each vessel, for matching."""

    def __init__(self, truth: dict):
        self.by_vessel: dict[int, list[dict]] = {}
        for c in truth["calls"]:
            c = dict(c, t0=_ts(c["arrival_utc"]), t1=_ts(c["departure_utc"]))
            self.by_vessel.setdefault(int(c["mmsi"]), []).append(c)

    def for_visit(self, mmsi: int, port: str, arrival, departure, approach: pd.Timedelta):
        best, best_overlap = None, pd.Timedelta(0)
        for c in self.by_vessel.get(mmsi, []):
            if c["port"] != port:
                continue
            overlap = min(departure, c["t1"] + approach) - max(arrival, c["t0"] - approach)
            if overlap > best_overlap:
                best, best_overlap = c, overlap
        return best

    def inside(self, mmsi: int, port: str, start, end):
        inside = [c for c in self.by_vessel.get(mmsi, []) if c["port"] == port
                  and start is not None and c["t0"] >= start and (end is None or c["t1"] <= end)]
        return inside[0] if len(inside) == 1 else None


def score(truth: dict, result, *, approach_hours: float = 2.0) -> Accuracy:
    """Score ``result`` (any object with the Result tables) against ``truth``."""
    calls = _Calls(truth)
    approach = pd.Timedelta(hours=approach_hours)
    mapped: dict[str, dict | None] = {}
    invented_calls = []
    for v in result.port_visits.to_dict("records"):
        c = calls.for_visit(int(v["mmsi"]), v["port"], _ts(v["arrival_utc"]),
                            _ts(v["departure_utc"]), approach)
        mapped[v["visit_id"]] = c
        if c is None:
            invented_calls.append(v)
    invented_possible = []
    for p in result.possible_calls.to_dict("records"):
        c = calls.inside(int(p["mmsi"]), p["port"], _ts(p["start_utc"]), _ts(p["end_utc"]))
        mapped[p["call_id"]] = c
        if c is None:
            invented_possible.append(p)

    expected = {(int(t["mmsi"]), tuple(t["calls"])): t for t in truth["expected_round_trips"]}
    hits: dict[tuple, list[str]] = {}
    invented_trips = []
    for t in result.round_trips.to_dict("records"):
        ids = [x for x in str(t["call_ids"]).split(";") if x]
        if len(ids) == 3:                        # arrived at and left the same visit
            ids = [ids[0], ids[1], ids[1], ids[2]]
        true = [mapped.get(x) for x in ids]
        key = (int(t["mmsi"]), tuple(c["call_id"] if c else None for c in true))
        if key not in expected:
            invented_trips.append(t)
            continue
        hits.setdefault(key, []).append(str(t["status"]))
    missed = [dict(t, found=hits.get(key, [])) for key, t in expected.items()
              if hits.get(key, []) != [t["status"]]]
    found: Counter = Counter()
    for t in truth["round_trips"]:
        statuses = hits.get((int(t["mmsi"]), tuple(t["calls"])), [])
        if len(statuses) == 1:
            found[(t["expected"], statuses[0])] += 1

    gaps = result.dark_periods
    gap_rows = [dict(g, t0=_ts(g["start_utc"]), t1=_ts(g["end_utc"])) for g in gaps.to_dict("records")]

    def covering(mmsi, t0, t1):
        # a dark period starts at the receive time of the last report sent before the
        # silence: up to RECEIVE_LAG after the send time the truth records
        return [g for g in gap_rows if int(g["mmsi"]) == mmsi and g["t0"] <= t0 + RECEIVE_LAG
                and (g["t1"] is None or g["t1"] >= t1)]

    dark = [c for cs in calls.by_vessel.values() for c in cs if c["reports_received"] == 0]
    uncovered = []
    for c in dark:
        gs = covering(int(c["mmsi"]), c["t0"], c["t1"])
        ports = {p for g in gs for p in str(g.get("possible_port_calls") or "").split(";") if p}
        if c["port"] not in ports:
            uncovered.append(dict({k: v for k, v in c.items() if k not in ("t0", "t1")},
                                  gaps=[g["gap_id"] for g in gs],
                                  open=[g["t1"] is None for g in gs]))
    statics = result.statics
    static_times: dict[int, pd.Series] = {
        int(m): pd.to_datetime(g, utc=True) for m, g in statics.groupby("mmsi")["timestamp"]
    } if len(statics) else {}
    withheld_missing, off_flagged, off_heard = [], [], 0
    silences = truth["silences"]
    for s in silences:
        t0, t1 = _ts(s["start_utc"]), _ts(s["end_utc"])
        gs = covering(int(s["mmsi"]), t0, t1)
        own = [int(g.get("own_messages") or 0) for g in gs]
        if s["kind"] == "positions_withheld" and not any(own):
            withheld_missing.append(dict(s, gaps=[g["gap_id"] for g in gs]))
        if s["kind"] == "transmitter_off":
            # only static reports sent before the switch-off or after the switch-on can
            # fall inside its dark period: anything else is a detector's error
            off_heard += any(own)
            st = static_times.get(int(s["mmsi"]), pd.Series([], dtype="datetime64[ns, UTC]"))
            for g, n in zip(gs, own):
                inside = st[(st > g["t0"]) & ((g["t1"] is None) | (st < g["t1"]))
                            if g["t1"] is not None else (st > g["t0"])]
                outside = int(((inside < t0) | (inside >= t1)).sum())
                if n != outside:
                    off_flagged.append(dict(s, gap=g["gap_id"], own=n, expected=outside))
    planted, invented = score_identity(truth, getattr(result, "identity", None))
    return Accuracy(
        scenario=truth["scenario"], seed=int(truth["seed"]),
        true_trips=len(truth["round_trips"]),
        true_expected=Counter(t["expected"] for t in truth["round_trips"]), true_found=found,
        reported_not_made=sum(1 for t in truth["expected_round_trips"] if not t["happened"]),
        missed=missed, invented_trips=invented_trips, invented_calls=invented_calls,
        invented_possible_calls=invented_possible, dark_calls=len(dark),
        uncovered_dark_calls=uncovered,
        withheld_silences=sum(1 for s in silences if s["kind"] == "positions_withheld"),
        withheld_without_own_messages=withheld_missing,
        off_silences=sum(1 for s in silences if s["kind"] == "transmitter_off"),
        off_own_messages_wrong=off_flagged, off_heard=off_heard,
        behaviour=score_behaviour(truth, result),
        identity_planted=planted, identity_invented=invented)


def _planted(truth: dict) -> list[dict]:
    section = truth.get("identity") or {}
    out = [dict(p, kind="shared_mmsi", t0=_ts(p["start_utc"]), t1=_ts(p["end_utc"]))
           for p in section.get("shared_mmsi", [])]
    out += [dict(p, kind="identity_change", t=_ts(p["utc"]))
            for p in section.get("identity_changes", [])]
    out += [dict(p, kind="invalid_mmsi") for p in section.get("invalid_mmsi", [])]
    return out


def _says(row: dict, p: dict) -> bool:
    """Whether an identity-table row says the planted anomaly ``p``."""
    if row["kind"] != p["kind"] or int(row["mmsi"]) != int(p["mmsi"]):
        return False
    start, end = _ts(row.get("start_utc")), _ts(row.get("end_utc"))
    if p["kind"] == "shared_mmsi":
        return start is not None and end is not None and start <= p["t1"] and end >= p["t0"]
    if p["kind"] == "identity_change":
        return (row.get("field") == p["field"] and str(row.get("before")) == p["before"]
                and str(row.get("after")) == p["after"] and start is not None
                and end is not None and start - IDENTITY_SLACK <= p["t"] <= end + IDENTITY_SLACK)
    return True


def score_identity(truth: dict, identity: pd.DataFrame | None) -> tuple[list, list]:
    """(every planted identity anomaly with ``found`` and the ids of the rows saying it,
    the rows of ``identity`` that say none)."""
    rows = identity.to_dict("records") if identity is not None and len(identity) else []
    planted, used = [], set()
    for p in _planted(truth):
        ids = [r["identity_id"] for r in rows if _says(r, p)]
        used.update(ids)
        planted.append(dict({k: v for k, v in p.items() if k not in ("t", "t0", "t1")},
                            found=bool(ids), identity_ids=ids))
    invented = [r for r in rows if r["identity_id"] not in used]
    return planted, invented
