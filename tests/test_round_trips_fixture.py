"""End to end against what the bundled scenario's ships did: the demo feed decoded from
its NMEA, port visits, dark periods, legs and round trips found with the pair of
interest, scored against ``fixtures/najin-dunay-2023.truth.json``
(``shadowfleet.simulator.accuracy``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from ports import load_ports
from shadowfleet.demo import bundled_feed
from shadowfleet.pipeline import detect
from shadowfleet.simulator.accuracy import score

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def case():
    truth = json.loads((FIXTURES / "najin-dunay-2023.truth.json").read_text())
    assert truth["feed"] == bundled_feed().name
    result = detect([bundled_feed()], ports=load_ports(), pairs=[("Najin", "Dunay")])
    return truth, result, score(truth, result)


def test_every_round_trip_the_ships_made_is_found_once(case):
    truth, result, acc = case
    assert acc.missed == [] and acc.invented_trips == []
    assert acc.true_found[("observed", "observed")] == truth["counts"]["round_trips_observed"]
    assert acc.true_found[("inferred", "inferred")] == truth["counts"]["round_trips_inferred"] >= 8
    status = result.round_trips["status"].value_counts().to_dict()
    assert status == {"observed": truth["counts"]["expected_round_trips_observed"],
                      "inferred": truth["counts"]["expected_round_trips_inferred"]}


def test_legs_are_those_of_the_chains(case):
    truth, result, _ = case
    want = sorted((x["mmsi"], x["origin"], x["destination"], x["status"])
                  for x in truth["expected_legs"])
    got = sorted(zip(result.legs.mmsi, result.legs.origin, result.legs.destination,
                     result.legs.status))
    assert got == want and result.legs["leg_id"].is_unique


def test_calls_dark_and_visits(case):
    _, result, acc = case
    assert acc.invented_calls == [] and acc.invented_possible_calls == []
    assert acc.dark_calls > 0 and acc.uncovered_dark_calls == []
    assert acc.withheld_silences > 0 and acc.withheld_without_own_messages == []
    assert acc.off_own_messages_wrong == []


def test_inferred_trips_name_their_dark_period_and_leave_unknown_times_empty(case):
    _, result, _ = case
    trips = result.round_trips
    inferred = trips[trips["status"] == "inferred"]
    assert (inferred["dark_period_id"] != "").all() and (trips.loc[trips.status == "observed",
                                                                   "dark_period_id"] == "").all()
    gaps = set(result.dark_periods["gap_id"])
    assert all(g in gaps for ids in inferred["dark_period_id"] for g in ids.split(";"))
    calls = result.possible_calls.set_index("call_id")
    for t in inferred.itertuples():
        ids = t.call_ids.split(";")
        at_possible = [c in calls.index for c in ids]
        # the destination is the possible call (D -> N* -> D): its two cells are empty
        if at_possible[1]:
            assert pd.isna(t.arrive_destination_utc) and pd.isna(t.depart_destination_utc)
            assert not pd.isna(t.depart_origin_utc) and not pd.isna(t.return_origin_utc)
            assert t.duration_hours > 0
