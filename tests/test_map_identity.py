"""map.html and identity (issue 17): a vessel's popup lists its identity anomalies, and
the ships of a shared MMSI are drawn as tracks of their own, never joined by a line."""

from __future__ import annotations

import numpy as np
import pytest

from map_page_parse import features, page_data
from ports import load_ports
from shadowfleet.outputs.map import write_map
from shadowfleet.pipeline import analyse
from shadowfleet.simulator.run import simulate_with_truth


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    sim, truth = simulate_with_truth("control", 3, nmea=False)
    result = analyse(sim.decoded(), registry=load_ports())
    path = write_map(result, tmp_path_factory.mktemp("map-identity") / "map.html", vessels=30)
    return truth, result, page_data(path.read_text(encoding="utf-8"))


def _track(data, mmsi):
    (f,) = [f for f in features(data, "tracks") if f["properties"]["mmsi"] == mmsi]
    return f


def test_popups_list_each_vessels_identity_anomalies(page):
    truth, result, data = page
    planted = truth["identity"]
    fields = next(x for x in data["layers"] if x["id"] == "tracks")["fields"]
    assert "identity_anomalies" in fields and "ships" in fields
    for mmsi, kinds in ((planted["shared_mmsi"][0]["mmsi"], {"shared_mmsi"}),
                        (planted["identity_changes"][0]["mmsi"], {"identity_change"}),
                        (planted["invalid_mmsi"][0]["mmsi"], {"invalid_mmsi"})):
        notes = _track(data, mmsi)["properties"]["identity_anomalies"]
        assert {n.split(" ")[0].rstrip(",") for n in notes} == kinds
        ids = set(result.identity.loc[result.identity["mmsi"] == mmsi, "identity_id"])
        assert {n.rsplit("(", 1)[1].rstrip(")") for n in notes} == ids
    change = _track(data, planted["identity_changes"][0]["mmsi"])["properties"]
    assert any(f"name {p['before']} -> {p['after']}" in " ".join(change["identity_anomalies"])
               for p in planted["identity_changes"] if p["field"] == "name")
    shared = _track(data, planted["shared_mmsi"][0]["mmsi"])["properties"]
    assert shared["ships"] == 2
    others = [f["properties"] for f in features(data, "tracks")
              if f["properties"]["mmsi"] not in result.identity["mmsi"].tolist()]
    assert others and all("identity_anomalies" not in p and "ships" not in p for p in others)


def test_the_ships_of_a_shared_mmsi_are_never_joined_by_a_line(page):
    """The clone (Najin, Posyet) and the liner (Nakhodka, Vostochny) are 95 nm and more
    apart: no line of the MMSI's track steps from one sea to the other."""
    truth, _, data = page
    lines = _track(data, truth["identity"]["shared_mmsi"][0]["mmsi"])["geometry"]["coordinates"]
    west = [any(x < 131.3 for x, _ in line) for line in lines]
    east = [any(x > 132.5 for x, _ in line) for line in lines]
    assert any(west) and any(east)
    assert not any(w and e for w, e in zip(west, east))
    steps = [np.hypot(np.diff(np.array(line)[:, 0]), np.diff(np.array(line)[:, 1])).max()
             for line in lines if len(line) > 1]
    assert max(steps) < 0.5      # degrees: a ship's own track, not a jump between seas
