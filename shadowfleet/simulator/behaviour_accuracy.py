"""A run's encounters, loitering and unlisted stops scored against the truth of what the
simulated ships did at sea (:mod:`shadowfleet.simulator.behaviour_truth`).

Matching (each detected event is matched to the truth; nothing here runs a detector):

- an **encounter** is *true* when the truth has a meeting of the same two vessels
  overlapping it in time (``slack`` either side); else it is *false*, and a false one
  that overlaps a ``passing`` or ``moored_in_port`` look-alike of the same two vessels
  *fired a look-alike*;
- a **loitering** event is true when it overlaps a true loitering (a stay at sea at
  least ``loiter_port_distance_nm`` from every port) of the vessel; a false one that
  overlaps an ``anchored_in_port`` or ``near_port`` look-alike of the vessel fired it;
- an **unlisted stop** is true when its position lies within ``radius_m``
  (``stop_cluster_radius_m`` [1000]) of a place the truth says was used as a stop
  (``expected``, or used at all: a place heard fewer times than needed but found anyway
  is no error); a false one within that distance of a place only used once or twice (a
  rendezvous) or of an anchorage inside a port fired a look-alike.

Recall counts the truth's ``expected`` events found (a meeting, a loitering or a place
a correct run reports given what the stations heard); precision the detected events
that are true. Events found though not expected (heard just enough) are counted apart.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from shadowfleet.simulator.world import haversine_nm


def _ts(value) -> pd.Timestamp | None:
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _overlap(a0, a1, b0, b1, slack: pd.Timedelta) -> bool:
    return a0 is not None and b0 is not None and a0 <= b1 + slack and b0 <= a1 + slack


@dataclasses.dataclass
class KindScore:
    """One kind's counts: expected true events, those found, detected events, those
    true, found though not expected, and the false ones that fired a look-alike."""

    expected: int = 0
    found: int = 0
    detected: int = 0
    true: int = 0
    found_unexpected: int = 0
    missed: list = dataclasses.field(default_factory=list)
    false: list = dataclasses.field(default_factory=list)
    lookalikes: list = dataclasses.field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.expected if self.expected else math.nan

    @property
    def precision(self) -> float:
        return self.true / self.detected if self.detected else math.nan


@dataclasses.dataclass
class BehaviourAccuracy:
    encounters: KindScore
    loitering: KindScore
    stops: KindScore

    @property
    def lookalikes_fired(self) -> list:
        return self.encounters.lookalikes + self.loitering.lookalikes + self.stops.lookalikes

    def row(self) -> dict:
        """One line of the per-seed behaviour table of ``tools/accuracy.py``."""
        out = {}
        for name, k in (("enc", self.encounters), ("loit", self.loitering),
                        ("stop", self.stops)):
            out.update({f"{name}_expected": k.expected, f"{name}_found": k.found,
                        f"{name}_detected": k.detected, f"{name}_false": len(k.false)})
        out["lookalikes_fired"] = len(self.lookalikes_fired)
        return out


def _score_encounters(truth: dict, encounters: pd.DataFrame, slack) -> KindScore:
    meetings = [dict(m, t0=_ts(m["start_utc"]), t1=_ts(m["end_utc"])) for m in truth["meetings"]]
    looks = [dict(x, t0=_ts(x.get("start_utc") or x.get("first_utc")),
                  t1=_ts(x.get("end_utc") or x.get("last_utc")))
             for x in truth["lookalikes"] if "encounter" in x["must_not"]]
    return _score_in_time(encounters, meetings, looks, "encounter_id", slack,
                          of_event=lambda e: sorted((int(e["mmsi_1"]), int(e["mmsi_2"]))),
                          of_truth=lambda m: m["vessels"])


def _score_loitering(truth: dict, loitering: pd.DataFrame, slack) -> KindScore:
    true = [dict(x, t0=_ts(x["start_utc"]), t1=_ts(x["end_utc"])) for x in truth["loitering"]]
    looks = [dict(x, t0=_ts(x["start_utc"]), t1=_ts(x["end_utc"]))
             for x in truth["lookalikes"] if "loitering" in x["must_not"]]
    return _score_in_time(loitering, true, looks, "loiter_id", slack,
                          of_event=lambda e: int(e["mmsi"]), of_truth=lambda x: x["mmsi"])


def _score_in_time(events: pd.DataFrame | None, true: list[dict], looks: list[dict],
                   id_column: str, slack, *, of_event, of_truth) -> KindScore:
    """Score ``events`` against the ``true`` ones (dicts with ``t0``/``t1``): an event is
    true when it is of the same vessels (``of_event(e) == of_truth(x)``) and overlaps a
    true one within ``slack``; a false one on a look-alike of ``looks`` is recorded."""
    score = KindScore(expected=sum(x["expected"] for x in true))
    hit: set[int] = set()
    for e in ([] if events is None else events.to_dict("records")):
        score.detected += 1
        who, s, t = of_event(e), _ts(e["start_utc"]), _ts(e["end_utc"])
        match = [i for i, x in enumerate(true)
                 if of_truth(x) == who and _overlap(s, t, x["t0"], x["t1"], slack)]
        if match:
            score.true += 1
            hit.update(match)
            continue
        score.false.append(e)
        fired = [x for x in looks
                 if of_truth(x) == who and _overlap(s, t, x["t0"], x["t1"], slack)]
        if fired:
            score.lookalikes.append(dict(event=e[id_column], lookalikes=fired))
    for i, x in enumerate(true):
        if x["expected"] and i in hit:
            score.found += 1
        elif x["expected"]:
            score.missed.append(x)
        elif i in hit:
            score.found_unexpected += 1
    return score


def _score_stops(truth: dict, stops: pd.DataFrame, radius_m: float) -> KindScore:
    places = truth["stops"]
    anchorages = [x for x in truth["lookalikes"] if x["kind"] == "anchored_in_port"]
    score = KindScore(expected=sum(p["expected"] for p in places))
    hit: set[int] = set()
    limit_nm = radius_m / 1852.0
    for st in ([] if stops is None else stops.to_dict("records")):
        score.detected += 1
        lat, lon = float(st["lat"]), float(st["lon"])
        dist = [float(haversine_nm(lat, lon, p["lat"], p["lon"])) for p in places]
        match = [i for i, d in enumerate(dist) if d <= limit_nm and places[i]["expected"]]
        if match:
            score.true += 1
            hit.update(match)
            continue
        score.false.append(st)
        fired = [places[i] for i, d in enumerate(dist) if d <= limit_nm]
        fired += [a for a in anchorages
                  if float(haversine_nm(lat, lon, a["lat"], a["lon"])) <= limit_nm][:1]
        if fired:
            score.lookalikes.append(dict(event=st["stop_id"], lookalikes=fired))
    for i, p in enumerate(places):
        if p["expected"] and i in hit:
            score.found += 1
        elif p["expected"]:
            score.missed.append(p)
    return score


def score_behaviour(truth: dict, result, *, slack_hours: float = 1.0,
                    radius_m: float = 1000.0) -> BehaviourAccuracy | None:
    """Score ``result`` (any object with ``encounters``, ``loitering``, ``stops``)
    against ``truth["behaviour"]``; None when the truth has no behaviour section."""
    b = truth.get("behaviour")
    if not b:
        return None
    slack = pd.Timedelta(hours=slack_hours)
    return BehaviourAccuracy(
        encounters=_score_encounters(b, getattr(result, "encounters", None), slack),
        loitering=_score_loitering(b, getattr(result, "loitering", None), slack),
        stops=_score_stops(b, getattr(result, "stops", None), radius_m))


def totals(scores: list[BehaviourAccuracy]) -> dict:
    """Precision and recall of each kind over several runs (NaN when nothing to count)."""
    out = {}
    for name in ("encounters", "loitering", "stops"):
        ks = [getattr(s, name) for s in scores]
        expected, found = sum(k.expected for k in ks), sum(k.found for k in ks)
        detected, true = sum(k.detected for k in ks), sum(k.true for k in ks)
        out[name] = dict(expected=expected, found=found, detected=detected, true=true,
                         found_unexpected=sum(k.found_unexpected for k in ks),
                         recall=found / expected if expected else np.nan,
                         precision=true / detected if detected else np.nan)
    out["lookalikes_fired"] = sum(len(s.lookalikes_fired) for s in scores)
    return out


__all__ = ["BehaviourAccuracy", "KindScore", "score_behaviour", "totals"]
