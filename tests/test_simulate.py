"""The simulator: realism of the feed, fictional identities, frames equal to what ``ais``
decodes, the truth of what the ships did, determinism, the ``simulate`` command and the
bundled demo data."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from pyais import decode

import ais
from ais.encode import checksum
from ais.schema import POSITION_COLUMNS, STATIC_COLUMNS
from shadowfleet.cli import main
from shadowfleet.demo import bundled_feed, bundled_manifest
from shadowfleet.provenance import note_in_file as simulated_note
from shadowfleet.simulator import simulate, write_feed
from shadowfleet.simulator.run import simulate_with_truth
from shadowfleet.simulator.scenarios import build
from shadowfleet.simulator.tracks import POSITIONS_WITHHELD, TRANSMITTER_OFF
from shadowfleet.simulator.vessels import REAL_IMOS, REAL_NAMES, imo_is_valid, imo_with_check_digit
from tools.regenerate_fixtures import (FEED_NAME, FIXTURE_SCENARIO, FIXTURE_SEED, FIXTURES,
                                       TRUTH_NAME, demo_manifest)

from tests._shared import SHARED, sample
LINE = re.compile(r"^\\(s:(SIMRX-VLD|SIMRX-GMV),c:(\d{10}))\*([0-9A-F]{2})\\(!(AIVDM,[^*]*))\*([0-9A-F]{2})$")


@pytest.fixture(scope="module")
def nd(tmp_path_factory):
    """The bundled scenario, simulated afresh from its seed (the same bytes as the demo feed)."""
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
        assert checksum(tag) == tag_sum, f"tag block checksum, line {number}"
        assert checksum(body) == body_sum, f"sentence checksum, line {number}"
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
    # a renamed vessel's static reports carry its new name and IMO after the change
    # (received up to a few seconds after they were sent)
    renamed = next(v for v in sim.vessels if v.identity_changes)
    change = renamed.identity_changes[0]
    st = sim.statics[sim.statics["mmsi"] == renamed.mmsi]
    t = st["timestamp"].astype("int64").to_numpy() / 1e9
    before, after = st[t < change.t], st[t > change.t + 10]
    assert len(before) > 10 and len(after) > 10
    assert set(zip(before["imo"], before["name"])) == {(renamed.imo, renamed.name)}
    assert set(zip(after["imo"], after["name"])) == {(change.imo, change.name)}


def test_identities_are_fictional(nd):
    sim, _, _ = nd
    # one MMSI per hull but the planted clone's, all Russian but the planted invalid one
    hulls = [v for v in sim.vessels if not v.hull]
    mmsis = [v.mmsi for v in hulls]
    assert len(set(mmsis)) == len(mmsis)
    assert {v.mmsi for v in sim.vessels if v.hull} <= set(mmsis)
    assert all(273000000 <= m <= 273999999 for v, m in zip(hulls, mmsis) if not v.mmsi_fault)
    imos = [v.identity_at(k).imo for v in sim.vessels if v.ais_class == "A"
            for k in range(len(v.identity_changes) + 1)]
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
    assert {1, 3, 18, 24} <= set(types)
    # two stations with overlapping coverage: duplicates a few seconds apart
    assert (sim.received["copies"] == 2).sum() > 500
    # a few hundred thousand lines at most, reports every few minutes at sea
    assert 50_000 < len(sim.lines) < 300_000
    assert 6 <= len(sim.corrupt) <= 12


def test_station_outage_is_a_coverage_hole(nd):
    sim, truth, _ = nd
    (station, start, end), = sim.outages
    assert 7.5 * 3600 <= end - start <= 9 * 3600
    assert truth["coverage_outages"] == [{"station": station,
                                          "start_utc": pd.Timestamp(round(start), unit="s", tz="UTC")
                                          .strftime("%Y-%m-%dT%H:%M:%SZ"),
                                          "end_utc": pd.Timestamp(round(end), unit="s", tz="UTC")
                                          .strftime("%Y-%m-%dT%H:%M:%SZ")}]
    in_outage = [line for _, line in _body(sim)
                 if f"s:{station}," in line and start <= int(line[line.index("c:") + 2:][:10]) < end]
    assert in_outage == []
    # the vessel moored at Najin, beyond the other station's range, is silent throughout
    resident = next(v.mmsi for v in sim.vessels if v.role == "resident")
    t = sim.received.loc[sim.received["mmsi"] == resident, "sent_s"].to_numpy()
    assert not ((t >= start) & (t < end)).any()


def test_frames_are_exactly_what_ais_decodes_from_the_feed(nd):
    """``simulate(..., nmea=False)`` gives the positions and statics ``ais`` reads from the
    feed, field for field (the accuracy tests run on these frames)."""
    sim, truth, feed = nd
    decoded = ais.read_inputs([feed], decoder="fast")
    frames = simulate(FIXTURE_SCENARIO, FIXTURE_SEED, nmea=False)
    assert frames.lines == [] and frames.corrupt == []
    for got, want, columns in ((decoded.positions, frames.received, POSITION_COLUMNS),
                               (decoded.statics, frames.statics, STATIC_COLUMNS),
                               (frames.received, sim.received, POSITION_COLUMNS)):
        cols = [c for c in columns if c not in ("source", "line")]
        pd.testing.assert_frame_equal(got[cols].reset_index(drop=True),
                                      want[cols].reset_index(drop=True), check_exact=True)
    rejected = set(decoded.rejects["line"].astype(int))
    damaged = {c["line"] for c in sim.corrupt if c["kind"] != "garbage"}
    assert damaged <= rejected
    assert decoded.stats["duplicates"] > 0
    names = decoded.statics.dropna(subset=["name"]).groupby("mmsi")["name"].last().to_dict()
    assert names == {v.mmsi: v.final.name for v in sim.vessels}


def test_positions_withheld_are_reports_without_a_position_and_statics_go_on(nd):
    sim, truth, _ = nd
    withheld = [s for s in truth["silences"] if s["kind"] == POSITIONS_WITHHELD]
    off = [s for s in truth["silences"] if s["kind"] == TRANSMITTER_OFF]
    assert withheld and off
    rec, st = sim.received, sim.statics
    for s in withheld + off:
        a, b = pd.Timestamp(s["start_utc"]), pd.Timestamp(s["end_utc"])
        mine = rec[(rec["mmsi"] == s["mmsi"]) & (rec["timestamp"] > a + pd.Timedelta(seconds=5))
                   & (rec["timestamp"] < b)]
        statics = st[(st["mmsi"] == s["mmsi"]) & (st["timestamp"] > a + pd.Timedelta(seconds=5))
                     & (st["timestamp"] < b)]
        assert mine[["lat", "lon", "sog", "cog", "heading"]].isna().all().all()
        if s["kind"] == POSITIONS_WITHHELD:
            assert len(mine) > 0 and len(statics) > 0, s
        else:
            assert len(mine) == 0 and len(statics) == 0, s


def test_truth_of_the_shuttle(nd):
    sim, truth, _ = nd
    shuttles = {v.mmsi for v in sim.vessels if v.role == "shuttle"}
    trips = [t for t in truth["round_trips"] if t["pair"] == "Dunay|Najin"]
    assert {t["mmsi"] for t in trips} == shuttles
    assert Counter(t["expected"] for t in trips)["inferred"] >= 4
    assert Counter(t["expected"] for t in trips)["observed"] >= 1
    assert {s["mmsi"] for s in truth["silences"]} <= shuttles
    assert all(s["hours"] > 12 for s in truth["silences"])
    hidden = [c for c in truth["calls"] if c["port"] == "Najin" and c["mmsi"] in shuttles
              and c["dark"]]
    assert len(hidden) >= 4 and all(c["reports_received"] == 0 for c in hidden)
    assert all(c["silence"] in (TRANSMITTER_OFF, POSITIONS_WITHHELD) for c in hidden)
    # every call made with AIS on was received (reception is good in every port)
    assert all(c["received"] for c in truth["calls"] if not c["dark"])
    # only the shuttles go quiet; calls only at the simulated ports
    assert {c["port"] for c in truth["calls"]} <= {"Najin", "Dunay", "Vladivostok",
                                                  "Nakhodka", "Vostochny", "Posyet"}
    # the premise of the expected inferences (see shadowfleet.simulator.truth)
    shuttle_speeds = [v["max_speed_kn"] for v in truth["voyages"] if v["mmsi"] in shuttles]
    assert max(shuttle_speeds) < truth["definitions"]["reach_speed_kn"]
    stays = [c["hours"] for c in truth["calls"] if c["dark"]]
    assert min(stays) * 60 > truth["definitions"]["min_dwell_minutes"]


def test_control_scenario_via_the_command(control):
    feed, truth, output = control
    assert "control seed 6" in output and "fictional" in output
    assert feed.read_text().startswith("# shadowfleet simulated feed: scenario control, seed 6")
    shuttles = {v["mmsi"] for v in truth["vessels"] if v["role"] == "shuttle"}
    assert not [c for c in truth["calls"] if c["mmsi"] in shuttles
                and c["port"] in ("Najin", "Dunay")]
    assert truth["silences"] == [] and truth["counts"]["calls_dark"] == 0
    assert truth["counts"]["round_trips_inferred"] == 0
    assert [t for t in truth["round_trips"] if t["mmsi"] in shuttles
            and t["pair"] == "Nakhodka|Vladivostok"]


def test_seeds_differ_and_repeat():
    a1, _ = build("najin-dunay-2023", 1)
    a2, _ = build("najin-dunay-2023", 1)
    b, _ = build("najin-dunay-2023", 2)
    assert [v.mmsi for v in a1] == [v.mmsi for v in a2]
    assert [v.track.silences for v in a1] == [v.track.silences for v in a2]
    assert [v.mmsi for v in a1] != [v.mmsi for v in b]


def test_bundled_demo_data_and_truth_are_what_the_script_makes(nd):
    """Byte-identical regeneration: everything derives from the seed, and the committed
    demo feed, its manifest and the truth are up to date
    (``python tools/regenerate_fixtures.py`` remakes them)."""
    _, truth, feed = nd
    bundled = bundled_feed()
    assert bundled.stat().st_size < 4_000_000
    assert feed.read_bytes() == bundled.read_bytes()
    assert json.loads(json.dumps(truth)) == json.loads((FIXTURES / TRUTH_NAME).read_text())
    assert bundled_manifest() == json.loads(json.dumps(demo_manifest(truth)))
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


def test_the_simulator_encodes_through_ais_and_imports_no_detector():
    """DESIGN.md: ``ais`` is the only place that knows NMEA (the simulator encodes through
    it); the truth shares no code with what it checks."""
    import ast

    root = Path(__file__).resolve().parents[1] / "shadowfleet" / "simulator"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not {m for m in names if m.split(".")[0] in ("pyais", "detectors", "ports")}, path
        assert len(path.read_text().splitlines()) < 550, path
