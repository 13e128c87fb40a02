"""`shadowfleet demo` end to end: every contract file, the stand-in claims, the pictures."""

import dataclasses
import json

import pandas as pd
import pytest
from click.testing import CliRunner

from shadowfleet.cli import main
from pathlib import Path

from shadowfleet.demo import STOOD_IN_FOR, bundled_manifest, stand_ins, with_stand_ins

TRUTH = Path(__file__).resolve().parents[1] / "fixtures" / "najin-dunay-2023.truth.json"

CONTRACT_FILES = ["positions.parquet", "statics.parquet", "port_visits.csv", "round_trips.csv",
                  "dark_periods.csv", "alerts.csv", "claims.csv", "rejects.csv", "summary.json",
                  "map.html", "timeline.png", "claims.md", "encounters.csv", "loitering.csv",
                  "stops.csv", "vessels.csv"]


def test_stand_ins_replace_only_the_named_ships():
    from shadowfleet.claims import bundled_claims

    mapping = stand_ins(bundled_manifest())
    assert set(mapping) == {imo for imo, _ in STOOD_IN_FOR}
    claims = {c.id: c for c in with_stand_ins(bundled_claims(), mapping)}
    wapo = claims["rusi-wapo-2023"]
    assert set(wapo.vessels.imo) == {v[0] for v in mapping.values()}
    assert all("stand-in for" in name for _, name in wapo.labels)
    lady_r = claims["lady-r-2024-03"]
    assert lady_r.vessels.imo == (9161003,)
    # the other vessel of an encounters claim is stood in for too
    from shadowfleet.claims.model import Vessels

    met = dataclasses.replace(wapo, kind="encounters", ports=(), vessels=Vessels(imo=(9161003,)),
                              with_vessels=Vessels(imo=(8517839,)), labels=())
    (swapped,) = with_stand_ins([met], mapping)
    assert swapped.vessels.imo == (9161003,)
    assert swapped.with_vessels.imo == (mapping[8517839][0],)
    assert dict(swapped.labels)[mapping[8517839][0]].endswith("(stand-in for MARIA)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """``shadowfleet demo`` run once for the tests of this module: (out, command output)."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    res = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, res


def test_demo_writes_every_file_and_verdicts_match_truth(demo):
    out, res = demo
    for name in CONTRACT_FILES:
        assert (out / name).stat().st_size > 0, name
    claims = pd.read_csv(out / "claims.csv").set_index("claim_id")
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    # the Najin-Dunay round trips the two shuttles made with every call received, in the
    # WaPo window, and those with a dark call
    shuttles = {v["mmsi"] for v in truth["vessels"] if v["role"] == "shuttle"}
    made = [t for t in truth["round_trips"]
            if t["mmsi"] in shuttles and t["pair"] == "Dunay|Najin"
            and "2023-08-15" <= t["depart_origin_utc"][:10] <= "2023-10-14"]
    assert claims.loc["rusi-wapo-2023", "observed"] == sum(t["expected"] == "observed" for t in made)
    assert claims.loc["rusi-wapo-2023", "inferred"] == sum(t["expected"] == "inferred" for t in made)
    assert claims.loc["lady-r-2024-03", "verdict"] == "not_observed"
    assert claims.loc["csis-2023-six-trips", "verdict"] in ("supported",
                                                            "consistent_with_dark_activity")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["demo"]["simulated"] is True
    assert "rusi-wapo-2023" in res.output


def test_demo_outputs_say_the_ships_are_simulated_stand_ins(demo):
    """A screenshot of a demo verdict must never pass for a finding about the real ships."""
    from PIL import Image

    out, res = demo
    claims = pd.read_csv(out / "claims.csv", keep_default_na=False)
    assert claims.columns[-1] == "data" and set(claims["data"]) == {"simulated"}
    assert all(s.startswith("SIMULATED DATA: ") for s in claims["summary"])
    wapo = claims.set_index("claim_id").loc["rusi-wapo-2023"]
    assert "stand-in for ANGARA" in wapo["vessels"] and "stand-in for MARIA" in wapo["vessels"]
    alerts = pd.read_csv(out / "alerts.csv", keep_default_na=False)
    assert alerts.columns[-1] == "data" and set(alerts["data"]) == {"simulated"}
    text = (out / "claims.md").read_text(encoding="utf-8")
    assert text.startswith("> **SIMULATED DATA.**")
    head = text.split("# Claims", 1)[0]
    mapping = stand_ins(bundled_manifest())
    for real_imo, (imo, name, real_name) in mapping.items():
        assert f"{name} (IMO {imo}) for {real_name} (IMO {real_imo})" in head
    assert "never about the real ships" in head
    heading = next(line for line in text.splitlines() if line.startswith("## rusi-wapo-2023: "))
    assert heading.endswith("(SIMULATED DATA)")
    assert "<title>SIMULATED DATA: shadowfleet map</title>" in (out / "map.html").read_text()
    assert Image.open(out / "timeline.png").info["Title"].startswith("SIMULATED DATA: ")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"] == "simulated" and "SIMULATED AIS" in summary["simulated"]
    # the untestable claims of the sources are on record too
    untestable = claims[claims["verdict"] == "untestable"]
    assert len(untestable) == 6
    assert (untestable[["observed", "inferred", "expected"]] == "").all().all()
    assert "SIMULATED DATA: fictional ships" in res.output


def test_second_act_finds_the_pier_no_registry_has_where_dunay_is(demo):
    """The same feed with Dunay removed from the registry: an unlisted stop where Dunay
    is, used by both shuttles, printed in the summary and written to without-dunay/; with
    the full registry none there (its stays are port calls)."""
    from ports import load_ports

    out, res = demo
    truth = json.loads(TRUTH.read_text(encoding="utf-8"))
    shuttles = {v["mmsi"]: v["name"] for v in truth["vessels"] if v["role"] == "shuttle"}
    full = load_ports()
    second = out / "without-dunay"
    for name in ("stops.csv", "encounters.csv", "loitering.csv", "vessels.csv", "alerts.csv",
                 "summary.json", "map.html"):
        assert (second / name).stat().st_size > 0, name

    def at_dunay(path):
        stops = pd.read_csv(path, keep_default_na=False)
        near = full.contains("Dunay", stops["lat"].to_numpy(), stops["lon"].to_numpy(),
                             buffer_nm=1.0)
        return stops[near]

    stops = at_dunay(second / "stops.csv")
    assert len(stops) >= 1
    used_by = {int(m) for ms in stops["mmsis"] for m in str(ms).split(";")}
    assert set(shuttles) <= used_by
    assert (stops["nearest_port"] != "Dunay").all()
    assert at_dunay(out / "stops.csv").empty
    # the other unlisted stops (the pier, the fishing grounds) are the same in both acts
    first = pd.read_csv(out / "stops.csv", keep_default_na=False)
    assert set(first["stop_id"]) <= set(pd.read_csv(second / "stops.csv")["stop_id"])
    summary = json.loads((second / "summary.json").read_text())
    assert "Dunay" not in summary["ports"]["names"] and summary["data"] == "simulated"
    assert summary["demo"]["hidden_port"] == "Dunay"
    assert {s["stop_id"] for s in summary["demo"]["stops"]} == set(stops["stop_id"])
    act = json.loads((out / "summary.json").read_text())["demo"]["second_act"]
    assert act["out"] == "without-dunay" and act["stops_with_full_registry"] == 0
    # printed: the stop, both shuttles, and why encounters and loitering appear there too
    text = res.output.split("second act:", 1)[1]
    assert "an unlisted stop where Dunay is: " + stops["stop_id"].iat[0] in text
    assert all(f"{name} (MMSI {mmsi})" in text for mmsi, name in shuttles.items())
    assert "found from the ships' behaviour" in text and "by definition" in text
    assert "SIMULATED DATA" in (second / "map.html").read_text(encoding="utf-8")
