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
