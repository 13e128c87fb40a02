"""The behaviour detectors on the bundled simulated Najin-Dunay feed: with Dunay removed
from the registry, the shuttles' stays reveal it as an unlisted stop (DESIGN.md,
"Unlisted stops"); with the full registry nothing is found there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ais
from detectors.cleaning import clean_positions
from detectors.encounters import find_encounters
from detectors.loitering import find_loitering
from detectors.stops import find_unlisted_stops
from ports import load_ports
from ports.registry import PortRegistry
from shadowfleet.demo import bundled_feed

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def feed():
    truth = json.loads((FIXTURES / "najin-dunay-2023.truth.json").read_text())
    decoded = ais.read_inputs([bundled_feed()], require_times=True)
    positions, _ = clean_positions(decoded.positions)
    shuttles = {int(v["mmsi"]) for v in truth["vessels"] if v.get("role") == "shuttle"}
    return positions, shuttles


def _near_dunay(frame, registry, nm):
    idx, d = registry.nearest(frame["lat"], frame["lon"])
    return (idx == registry.index("Dunay")) & (d <= nm)


def test_dunay_removed_from_the_registry_is_revealed_as_an_unlisted_stop(feed):
    positions, shuttles = feed
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


def test_nothing_at_sea_is_found_inside_the_full_registry(feed):
    positions, _ = feed
    full = load_ports()
    for table in (find_loitering(positions, full), find_encounters(positions, full)):
        if len(table):
            assert (table["port_distance_nm"] >= 5.0 - 0.2).all()
