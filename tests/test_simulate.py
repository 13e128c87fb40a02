"""The simulator: realism of the feed, fictional identities, truth consistent with what
a decoder sees, determinism, the ``simulate`` command and the bundled fixture."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter

import pandas as pd
import pytest
from click.testing import CliRunner
from pyais import decode

import ais
from ais.sim_radio import nmea_checksum
from ais.sim_scenarios import REAL_IMOS, REAL_NAMES, build, imo_is_valid, imo_with_check_digit
from ais.simulate import simulated_note, write_feed
from shadowfleet.cli import main
from shadowfleet.regenerate_fixtures import (FEED_NAME, FIXTURE_SCENARIO, FIXTURE_SEED, FIXTURES,
                                             TRUTH_NAME)
from shadowfleet.simulation import simulate_with_truth

from tests._shared import SHARED, sample
LINE = re.compile(r"^\\(s:(SIMRX-VLD|SIMRX-GMV),c:(\d{10}))\*([0-9A-F]{2})\\(!(AIVDM,[^*]*))\*([0-9A-F]{2})$")


@pytest.fixture(scope="module")
def nd(tmp_path_factory):
    """The bundled scenario, simulated afresh from its seed (the same bytes as the fixture)."""
    sim, truth = simulate_with_truth(FIXTURE_SCENARIO, FIXTURE_SEED)
    feed = write_feed(sim, tmp_path_factory.mktemp("nd") / FEED_NAME)
    truth["feed"] = FEED_NAME
    return sim, truth, feed


@pytest.fixture(scope="module")
def control(tmp_path_factory):
    out = tmp_path_factory.mktemp("control")
    result = CliRunner().invoke(main, ["simulate", "--scenario", "control", "--seed", "6", "--out",
                                       str(out / "c.nmea"), "--truth", str(out / "c.json")])
    assert result.exit_code == 0, result.output
    return out / "c.nmea", json.loads((out / "c.json").read_text()), result.output


def _body(sim):
    corrupt = {c["line"] for c in sim.corrupt}
    return [(i + 1, line) for i, line in enumerate(sim.lines)
            if i >= sim.header_lines and i + 1 not in corrupt]


def test_header_says_simulated_and_fictional(nd):
    sim, _, feed = nd
    assert all(line.startswith("#") for line in sim.lines[:sim.header_lines])
    header = " ".join(sim.lines[:sim.header_lines])
    assert "SIMULATED" in header and "fictional" in header
    assert "fictional" in simulated_note(feed)
    assert simulated_note(sample("ais", "kystverket", "Ais1000Lines.nm4")) is None


def test_every_line_has_a_valid_tag_block_and_checksum_in_time_order(nd):
    sim, _, _ = nd
    last = 0
    for number, line in _body(sim):
        m = LINE.match(line)
        assert m, f"line {number}: {line}"
        tag, _, t_rx, tag_sum, _, body, body_sum = m.groups()
        assert nmea_checksum(tag) == tag_sum, f"tag block checksum, line {number}"
        assert nmea_checksum(body) == body_sum, f"sentence checksum, line {number}"
        assert int(t_rx) >= last
        last = int(t_rx)


def test_type5_comes_in_two_fragments_that_decode_to_the_vessel(nd):
    sim, _, _ = nd
    body = [line.rpartition("\\")[2] for _, line in _body(sim)]
    by_mmsi = {v.mmsi: v for v in sim.vessels}
    firsts = [i for i, s in enumerate(body) if s.startswith("!AIVDM,2,1,")]
    assert len(firsts) > 100
    for i in firsts[:300]:
        a, b = body[i], body[i + 1]
        assert b.startswith("!AIVDM,2,2,") and a.split(",")[3] == b.split(",")[3]
        msg = decode(a, b).asdict()
        assert msg["msg_type"] == 5
        vessel = by_mmsi[msg["mmsi"]]
        assert (msg["imo"], msg["shipname"]) == (vessel.imo, vessel.name)


def test_identities_are_fictional(nd):
    sim, _, _ = nd
    mmsis = [v.mmsi for v in sim.vessels]
    assert len(set(mmsis)) == len(mmsis)
    assert all(273000000 <= m <= 273999999 for m in mmsis)
    imos = [v.imo for v in sim.vessels if v.ais_class == "A"]
    assert all(imo_is_valid(i) and i not in REAL_IMOS for i in imos)
    assert not {v.name for v in sim.vessels} & REAL_NAMES
    sdn_path = SHARED / "sanctions" / "sdn_vessels.csv"          # the whole list, else the excerpt
    if not sdn_path.exists():
        sdn_path = sample("sanctions", "sdn_vessels_excerpt.csv")
    sdn = sdn_path.read_text(encoding="utf-8", errors="replace")
    listed = {int(x) for x in re.findall(r"IMO (\d{7})", sdn)} | \
        {int(x) for x in re.findall(r"MMSI (\d{9})", sdn)}
    assert not listed & (set(imos) | set(mmsis))


def test_imo_check_digit():
    assert imo_with_check_digit(917984) == 9179842          # ANGARA's IMO (REFERENCE.md)
    assert imo_is_valid(8517839) and not imo_is_valid(8517838)


def test_feed_realism(nd):
    sim, truth, _ = nd
    roles = Counter(v.role for v in sim.vessels)
    assert roles["shuttle"] == 2
    assert 10 <= len(sim.vessels) - 2 <= 30
    assert roles["small-craft"] >= 3
    single = [line.rpartition("\\")[2] for _, line in _body(sim)[::50]]
    types = Counter(decode(s).asdict()["msg_type"] for s in single
                    if s.split(",")[1:3] == ["1", "1"])
    assert {1, 18, 24} <= set(types)
    # two stations with overlapping coverage: duplicates a few seconds apart
    assert (sim.received["copies"] == 2).sum() > 500
    # a few hundred thousand lines at most, reports every few minutes at sea
    assert 50_000 < len(sim.lines) < 300_000
    assert 6 <= len(sim.corrupt) <= 12


def test_station_outage_is_a_coverage_hole(nd):
    sim, truth, _ = nd
    (station, start, end), = sim.outages
    assert 7.5 * 3600 <= end - start <= 9 * 3600
    in_outage = [line for _, line in _body(sim)
                 if f"s:{station}," in line and start <= int(line[line.index("c:") + 2:][:10]) < end]
    assert in_outage == []
    hole = [g for g in truth["dark_periods"]
            if pd.Timestamp(g["start_utc"]).value / 1e9 <= end
            and (g["end_utc"] is None or pd.Timestamp(g["end_utc"]).value / 1e9 >= start)
            and g["cause"] == "coverage" and not g["open"]]
    assert hole, "nobody dropped out during the outage"


def test_truth_of_the_shuttle(nd):
    sim, truth, _ = nd
    shuttles = {v.mmsi for v in sim.vessels if v.role == "shuttle"}
    trips = [t for t in truth["round_trips"] if t["pair"] == "Dunay|Najin"]
    assert {t["mmsi"] for t in trips} == shuttles
    assert Counter(t["status"] for t in trips)["inferred"] >= 4
    assert Counter(t["status"] for t in trips)["observed"] >= 1
    intentional = [g for g in truth["dark_periods"] if g["cause"] == "intentional"]
    assert intentional and {g["mmsi"] for g in intentional} <= shuttles
    assert all(g["hours"] > 12 for g in intentional)
    hidden = [c for c in truth["actual_calls"] if c["port"] == "Najin" and c["mmsi"] in shuttles
              and not c["ais_on"]]
    assert len(hidden) >= 4
    # no background vessel gets an inferred Najin-Dunay trip from the coverage hole
    assert all(t["mmsi"] in shuttles for t in truth["round_trips"] if t["status"] == "inferred")
    # port visits only at the simulated ports, none at the registry's other ports
    assert {v["port"] for v in truth["port_visits"]} <= {"Najin", "Dunay", "Vladivostok",
                                                          "Nakhodka", "Vostochny"}


def test_truth_is_computed_on_exactly_what_the_decoder_sees(nd):
    sim, truth, feed = nd
    decoded = ais.read_inputs([feed], decoder="fast")
    got = decoded.positions[["mmsi", "timestamp", "lat", "lon"]].reset_index(drop=True)
    want = sim.received[["mmsi", "timestamp", "lat", "lon"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    rejected = set(decoded.rejects["line"].astype(int))
    damaged = {c["line"] for c in sim.corrupt if c["kind"] != "garbage"}
    assert damaged <= rejected
    assert decoded.stats["duplicates"] > 0
    names = decoded.statics.dropna(subset=["name"]).groupby("mmsi")["name"].last().to_dict()
    assert names == {v.mmsi: v.name for v in sim.vessels}


def test_control_scenario_via_the_command(control):
    feed, truth, output = control
    assert "control seed 6" in output and "fictional" in output
    assert feed.read_text().startswith("# shadowfleet simulated feed: scenario control, seed 6")
    shuttles = {v["mmsi"] for v in truth["vessels"] if v["role"] == "shuttle"}
    assert not [v for v in truth["port_visits"] if v["mmsi"] in shuttles
                and v["port"] in ("Najin", "Dunay")]
    assert truth["counts"]["dark_periods_intentional"] == 0
    assert truth["counts"]["round_trips_inferred"] == 0
    assert [t for t in truth["round_trips"] if t["mmsi"] in shuttles
            and t["pair"] == "Nakhodka|Vladivostok"]


def test_seeds_differ_and_repeat():
    a1, _ = build("najin-dunay-2023", 1)
    a2, _ = build("najin-dunay-2023", 1)
    b, _ = build("najin-dunay-2023", 2)
    assert [v.mmsi for v in a1] == [v.mmsi for v in a2]
    assert [v.track.ais_off for v in a1] == [v.track.ais_off for v in a2]
    assert [v.mmsi for v in a1] != [v.mmsi for v in b]


def test_bundled_fixture_is_what_the_script_makes(nd):
    """Byte-identical regeneration: everything derives from the seed, and the committed
    fixture is up to date (``python -m shadowfleet.regenerate_fixtures`` remakes it)."""
    _, truth, feed = nd
    bundled = FIXTURES / FEED_NAME
    assert bundled.stat().st_size < 4_000_000
    assert feed.read_bytes() == bundled.read_bytes()
    assert json.loads(json.dumps(truth)) == json.loads((FIXTURES / TRUTH_NAME).read_text())
    with gzip.open(bundled, "rt") as fh:
        assert "SIMULATED" in fh.readline() + fh.readline()


@pytest.mark.parametrize("args", [["--scenario", "atlantis", "--seed", "1"],
                                  ["--scenario", "control", "--seed", "-3"]],
                         ids=["unknown-scenario", "negative-seed"])
def test_command_usage_errors(args, tmp_path):
    result = CliRunner().invoke(main, ["simulate", *args, "--out", str(tmp_path / "f.nmea"),
                                       "--truth", str(tmp_path / "t.json")])
    assert result.exit_code == 2
    assert not (tmp_path / "f.nmea").exists()


def test_detectors_score_on_the_truth(nd):
    """What the truth promises: a correct detector finds its events (precision and recall
    >= 0.95; timing tolerance 30 min for visits and trips, 5 min for dark periods)."""
    from shadowfleet.pipeline import detect
    from sim_scoring import score_result

    _, truth, feed = nd
    result = detect([feed], pairs=[("Najin", "Dunay")])
    for kind, (precision, recall) in score_result(truth, result).items():
        assert precision >= 0.95 and recall >= 0.95, (kind, precision, recall)
