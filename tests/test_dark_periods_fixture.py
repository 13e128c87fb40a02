"""Dark periods of the bundled simulated feed against what its ships did (their AIS
silences and the stations' outage); the alerts built from the whole detector chain on it
are complete and stable."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import ais
from detectors.alerts import build_alerts
from detectors.cleaning import clean_positions
from detectors.dark_periods import find_dark_periods, messages_without_position
from ports import load_ports
from shadowfleet.config import Settings
from shadowfleet.demo import bundled_feed
from shadowfleet.pipeline import identify

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def result():
    truth = json.loads((FIXTURES / "najin-dunay-2023.truth.json").read_text())
    decoded = ais.read_inputs([bundled_feed()], require_times=True)
    # the ships sharing an MMSI (the feed's clone) split into tracks first, as a run does
    ident = identify(decoded, Settings.defaults())
    positions, jumps = clean_positions(ident.positions)
    own = messages_without_position(ident.positions, ident.statics)
    gaps = find_dark_periods(positions, load_ports(), own_messages=own)
    return gaps, jumps, truth, positions


def _covering(gaps, mmsi, start, end):
    g = gaps[(gaps["mmsi"] == mmsi) & (gaps["start_utc"] <= start)
             & (gaps["end_utc"].isna() | (gaps["end_utc"] >= end))]
    return g


def test_every_silence_is_one_dark_period_and_says_how(result):
    gaps, jumps, truth, _ = result
    assert jumps.empty
    assert truth["silences"]
    for s in truth["silences"]:
        g = _covering(gaps, s["mmsi"], pd.Timestamp(s["start_utc"]), pd.Timestamp(s["end_utc"]))
        assert len(g) == 1, s
        g = g.iloc[0]
        assert g["hours"] >= s["hours"]
        if s["kind"] == "positions_withheld":
            assert g["own_messages"] > 10, (s, g["own_messages"])
            assert g["own_first_utc"] - g["start_utc"] < pd.Timedelta(hours=1)
        else:
            assert g["own_messages"] <= 2, (s, g["own_messages"])


def test_reception_separates_switching_off_from_coverage(result):
    """Silences the crews chose happen where other vessels are heard more often than
    gaps of coverage do (the point of ``others_received``)."""
    gaps, _, truth, _ = result
    chosen = set()
    for s in truth["silences"]:
        chosen |= set(_covering(gaps, s["mmsi"], pd.Timestamp(s["start_utc"]),
                                pd.Timestamp(s["end_utc"]))["gap_id"])
    heard = gaps.assign(chosen=gaps["gap_id"].isin(chosen)).groupby("chosen")["others_received"]
    assert heard.mean()[True] > heard.mean()[False]


def test_alerts_over_the_detector_chain(result):
    from detectors.port_visits import find_port_visits
    from detectors.round_trips import find_round_trips

    gaps, jumps, _, positions = result
    registry = load_ports()
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
    # inferred round trips (through possible calls) are alerted too, with their window
    inferred = alerts[(alerts["kind"] == "round_trip") & alerts["summary"].str.contains("inferred")]
    assert len(inferred) > 0 and inferred["start_utc"].notna().all()
    assert inferred["end_utc"].notna().all()
    withheld = alerts[(alerts["kind"] == "dark_period")
                      & alerts["summary"].str.contains("positions withheld")]
    assert len(withheld) >= 2
    assert not alerts["summary"].str.contains("unknown time between NaT").any()
