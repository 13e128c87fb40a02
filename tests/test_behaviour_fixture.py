"""The behaviour detectors on the bundled simulated Najin-Dunay feed, through the Python
API (``shadowfleet.detect``): the tables it returns, the planted ship-to-ship transfer
found as the truth says, claims of the behaviour kinds judged on it, and with Dunay
removed from the registry the shuttles' stays reveal it as an unlisted stop (DESIGN.md,
"Unlisted stops"); with the full registry nothing is found there."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import shadowfleet
from detectors.columns import ENCOUNTER_TABLE, LOITER_TABLE, STAY_TABLE, STOP_TABLE, VESSEL_TABLE
from detectors.encounters import find_encounters
from detectors.loitering import find_loitering
from detectors.stops import find_unlisted_stops
from ports import load_ports
from ports.registry import PortRegistry
from shadowfleet.demo import bundled_feed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def truth():
    return json.loads((FIXTURES / "najin-dunay-2023.truth.json").read_text())


@pytest.fixture(scope="module")
def run(truth, tmp_path_factory):
    """``shadowfleet.detect`` on the bundled feed with claims of the behaviour kinds about
    the fictional shuttle and the bunker vessel it meets."""
    partner = next(v for v in truth["vessels"] if v["role"] == "partner")
    shuttle = next(v for v in truth["vessels"] if v["role"] == "shuttle")
    met = {m["place"]: m for m in truth["behaviour"]["meetings"]}
    assert set(met["rendezvous R1"]["vessels"]) == {shuttle["mmsi"], partner["mmsi"]}
    path = tmp_path_factory.mktemp("claims") / "behaviour.yaml"
    path.write_text(textwrap.dedent(f"""\
        source: test
        claims:
          - id: met-once
            statement: the shuttle met the bunker vessel at sea
            kind: encounters
            window: {{start: 2023-08-15, end: 2023-10-14}}
            vessels: {{imo: [{shuttle['imo']}]}}
            with: {{imo: [{partner['imo']}]}}
            at_least: 1
          - id: met-twice
            statement: the shuttle met the bunker vessel at sea twice
            kind: encounters
            window: {{start: 2023-08-15, end: 2023-10-14}}
            vessels: {{imo: [{shuttle['imo']}]}}
            with: {{imo: [{partner['imo']}]}}
            at_least: 2
          - id: waited-off-najin
            statement: the bunker vessel waited off Najin
            kind: loitering
            window: {{start: 2023-09-01, end: 2023-09-30}}
            vessels: {{imo: [{partner['imo']}]}}
            near: Najin
            radius_nm: 15
            at_least: 1
        """), encoding="utf-8")
    return shadowfleet.detect(bundled_feed(), claims=[path])


def test_the_python_api_returns_the_behaviour_tables(run):
    for attr, columns in (("encounters", ENCOUNTER_TABLE), ("loitering", LOITER_TABLE),
                          ("stops", STOP_TABLE), ("stays", STAY_TABLE),
                          ("vessels", VESSEL_TABLE)):
        assert tuple(getattr(run, attr).columns) == columns, attr
    assert set(run.vessels["mmsi"]) == set(run.positions["mmsi"])
    assert run.summary["events"]["encounters"] == len(run.encounters)


def test_the_transfer_in_plain_sight_is_the_one_encounter_and_the_dark_one_is_not(run, truth):
    met = {m["place"]: m for m in truth["behaviour"]["meetings"]}
    r1, r2 = met["rendezvous R1"], met["rendezvous R2"]
    assert r1["expected"] and not r2["expected"]
    (e,) = run.encounters.to_dict("records")
    assert sorted((e["mmsi_1"], e["mmsi_2"])) == r1["vessels"]
    assert e["start_utc"] >= pd.Timestamp(r1["start_utc"])
    assert abs(e["lat"] - r1["lat"]) < 0.01 and abs(e["lon"] - r1["lon"]) < 0.01
    # while the shuttle was dark at R2, the bunker vessel is seen waiting there
    partner = next(v["mmsi"] for v in truth["vessels"] if v["role"] == "partner")
    waits = run.loitering[run.loitering["mmsi"] == partner]
    assert (abs(waits["lon"] - r2["lon"]) < 0.01).any()


def test_claims_of_the_behaviour_kinds_on_the_feed(run):
    claims = run.claims.set_index("claim_id")
    eid = run.encounters["encounter_id"].iat[0]
    assert claims.loc["met-once", "verdict"] == "supported"
    assert claims.loc["met-once", "evidence"] == eid
    # the second meeting happened with the shuttle dark: room for it, not contradicted
    assert (claims.loc["met-twice", "observed"], claims.loc["met-twice", "verdict"]) == \
        (1, "not_observed")
    assert claims.loc["waited-off-najin", "verdict"] == "supported"
    assert claims.loc["waited-off-najin", "evidence"].startswith("LO-")
    tagged = run.alerts[run.alerts["claim_ids"].str.contains("met-once")]
    assert set(tagged["kind"]) >= {"encounter"} and len(tagged[tagged["kind"] == "encounter"]) == 2


def _near_dunay(frame, registry, nm):
    idx, d = registry.nearest(frame["lat"], frame["lon"])
    return (idx == registry.index("Dunay")) & (d <= nm)


def test_dunay_removed_from_the_registry_is_revealed_as_an_unlisted_stop(run, truth):
    positions = run.positions
    shuttles = {int(v["mmsi"]) for v in truth["vessels"] if v.get("role") == "shuttle"}
    full = load_ports()
    without = PortRegistry([f for f in full.features if f["name"] != "Dunay"])
    assert len(shuttles) == 2
    stops = find_unlisted_stops(positions, without).stops
    at_dunay = stops[_near_dunay(stops, full, 1.0)]
    assert len(at_dunay) >= 1
    used_by = {int(m) for ms in at_dunay["mmsis"] for m in ms.split(";")}
    assert shuttles <= used_by
    assert (at_dunay["nearest_port"] != "Dunay").all()      # the registry searched lacks it
    # with Dunay in the registry its stays are port calls: no stop there
    assert not _near_dunay(find_unlisted_stops(positions, full).stops, full, 1.0).any()


def test_nothing_at_sea_is_found_inside_the_full_registry(run):
    full = load_ports()
    for table in (find_loitering(run.positions, full), find_encounters(run.positions, full)):
        if len(table):
            assert (table["port_distance_nm"] >= 5.0 - 0.2).all()
