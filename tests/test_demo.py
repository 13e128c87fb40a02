"""`shadowfleet demo` end to end: every contract file, the stand-in claims, the pictures."""

import json

import pandas as pd
from click.testing import CliRunner

from shadowfleet.cli import main
from pathlib import Path

from shadowfleet.demo import STOOD_IN_FOR, bundled_manifest, stand_ins, with_stand_ins

TRUTH = Path(__file__).resolve().parents[1] / "fixtures" / "najin-dunay-2023.truth.json"

CONTRACT_FILES = ["positions.parquet", "statics.parquet", "port_visits.csv", "round_trips.csv",
                  "dark_periods.csv", "alerts.csv", "claims.csv", "rejects.csv", "summary.json",
                  "map.html", "timeline.png", "claims.md"]


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


def test_demo_writes_every_file_and_verdicts_match_truth(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
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


def test_demo_outputs_say_the_ships_are_simulated_stand_ins(tmp_path):
    """A screenshot of a demo verdict must never pass for a finding about the real ships."""
    from PIL import Image

    out = tmp_path / "demo"
    res = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
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
