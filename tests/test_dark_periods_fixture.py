"""Dark periods of the bundled simulated feed agree with the simulator's truth file; the
alerts built from the whole detector chain on it are complete and stable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import ais
from detectors.alerts import build_alerts
from detectors.cleaning import clean_positions
from detectors.dark_periods import find_dark_periods
from ports import load_ports

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def result():
    feed = FIXTURES / "najin-dunay-2023.nmea.gz"
    truth = json.loads((FIXTURES / "najin-dunay-2023.truth.json").read_text())
    decoded = ais.read_inputs([feed], require_times=True)
    positions, jumps = clean_positions(decoded.positions)
    return find_dark_periods(positions, load_ports()), jumps, truth


def test_same_dark_periods_as_the_truth(result):
    gaps, jumps, truth = result
    expected = pd.DataFrame(truth["dark_periods"])
    assert len(gaps) == len(expected) == truth["counts"]["dark_periods"]
    assert jumps.empty
    got = gaps.assign(start=gaps["start_utc"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    merged = got.merge(expected, left_on=["mmsi", "start"], right_on=["mmsi", "start_utc"],
                       suffixes=("", "_truth"), validate="one_to_one")
    assert len(merged) == len(expected)
    assert (merged["open"] == merged["open_truth"]).all()
    assert (merged["hours"] - merged["hours_truth"]).abs().max() < 1e-3
    assert (merged["possible_port_calls"].fillna("")
            == merged["possible_port_calls_truth"].fillna("")).all()
    assert (merged["start_port"] == merged["start_port_truth"]).all()
    assert (merged["end_port"] == merged["end_port_truth"].fillna("")).all()


def test_reception_separates_switching_off_from_coverage(result):
    """Intentional silences happen where other vessels are heard more often than
    coverage holes do (the point of ``others_received``)."""
    gaps, _, truth = result
    cause = {(g["mmsi"], g["start_utc"]): g["cause"] for g in truth["dark_periods"]}
    got = gaps.assign(cause=[cause[(m, s.strftime("%Y-%m-%dT%H:%M:%SZ"))]
                             for m, s in zip(gaps["mmsi"], gaps["start_utc"])])
    heard = got.groupby("cause")["others_received"].mean()
    assert heard["intentional"] > heard["coverage"]


def test_alerts_over_the_detector_chain(result):
    from detectors.port_visits import find_port_visits
    from detectors.round_trips import find_round_trips

    gaps, jumps, truth = result
    registry = load_ports()
    decoded = ais.read_inputs([FIXTURES / "najin-dunay-2023.nmea.gz"], require_times=True)
    positions, _ = clean_positions(decoded.positions)
    visits = find_port_visits(positions, registry)
    trips = find_round_trips(visits, gaps, registry, [("Najin", "Dunay")])

    def build():
        return build_alerts(visits, trips.round_trips, trips.possible_calls, gaps, jumps,
                            ports_of_interest=("Najin", "Dunay"))

    alerts = build()
    counts = alerts["kind"].value_counts().to_dict()
    assert counts.get("dark_period", 0) == len(gaps)
    assert counts.get("round_trip", 0) == len(trips.round_trips)
    assert counts.get("possible_port_call", 0) == trips.possible_calls["call_id"].nunique()
    assert counts.get("possible_port_call", 0) > 0
    assert alerts["alert_id"].is_unique and alerts["score"].between(0, 1).all()
    assert build()["alert_id"].tolist() == alerts["alert_id"].tolist()
    # inferred round trips (through possible calls) are alerted too
    inferred = alerts[(alerts["kind"] == "round_trip") & alerts["summary"].str.contains("inferred")]
    assert len(inferred) > 0
