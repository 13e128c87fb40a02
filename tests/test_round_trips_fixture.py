"""End to end against the simulator's truth: the najin-dunay-2023 fixture feed decoded,
port visits found, and legs, round trips and possible calls built from them and the
truth's dark periods, compared row for row with ``fixtures/najin-dunay-2023.truth.json``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import ais
from detectors.port_visits import PortVisitParams, find_port_visits
from detectors.round_trips import find_round_trips
from ports import load_ports

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def case():
    truth = json.loads((FIXTURES / "najin-dunay-2023.truth.json").read_text())
    decoded = ais.read_inputs([FIXTURES / truth["feed"]])
    registry = load_ports()
    d = truth["definitions"]
    visits = find_port_visits(decoded.positions, registry, PortVisitParams(
        gap_hours=d["gap_hours"], min_dwell_minutes=d["min_dwell_minutes"]))
    return truth, visits, registry


def ts(value):
    return None if value in (None, "") else pd.Timestamp(value)


def test_port_visits_match_truth(case):
    truth, visits, _ = case
    want = sorted((v["mmsi"], v["port"], ts(v["arrival_utc"]), ts(v["departure_utc"]),
                   v["n_positions"]) for v in truth["port_visits"])
    got = sorted(zip(visits.mmsi, visits.port, visits.arrival_utc, visits.departure_utc,
                     visits.n_positions))
    assert got == want
    assert len(got) == truth["counts"]["port_visits"]


def test_legs_trips_and_possible_calls_match_truth(case):
    truth, visits, registry = case
    gaps = pd.DataFrame([{"gap_id": f"G{i}", "mmsi": g["mmsi"], "start_utc": ts(g["start_utc"]),
                          "end_utc": ts(g["end_utc"]),
                          "possible_port_calls": g["possible_port_calls"]}
                         for i, g in enumerate(truth["dark_periods"])])
    res = find_round_trips(visits, gaps, registry, truth["pairs_of_interest"])

    def rows(frame, cols):
        return sorted(tuple(None if pd.isna(x) else x for x in r)
                      for r in frame[list(cols)].itertuples(index=False))

    def truth_rows(items, cols):
        return sorted(tuple(ts(x[c]) if c.endswith("_utc") else x[c] for c in cols)
                      for x in items)

    trip_cols = ("mmsi", "origin", "destination", "depart_origin_utc", "arrive_destination_utc",
                 "depart_destination_utc", "return_origin_utc", "status", "pair")
    assert rows(res.round_trips, trip_cols) == truth_rows(truth["round_trips"], trip_cols)
    leg_cols = ("mmsi", "origin", "destination", "depart_origin_utc", "arrive_destination_utc",
                "status", "pair")
    assert rows(res.legs, leg_cols) == truth_rows(truth["legs"], leg_cols)
    pc_cols = ("mmsi", "port", "start_utc", "end_utc", "pair")
    assert rows(res.possible_calls, pc_cols) == truth_rows(truth["possible_port_calls"], pc_cols)
    counts = truth["counts"]
    assert (res.round_trips.status == "observed").sum() == counts["round_trips_observed"]
    assert (res.round_trips.status == "inferred").sum() == counts["round_trips_inferred"]
    assert (res.legs.status == "inferred").sum() == counts["legs_inferred"]
