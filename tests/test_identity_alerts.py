"""Alerts of kind ``identity`` (detectors.identity_alerts): one per identity anomaly, with
deterministic ids, the documented scores and a summary that says what changed, which MMSI
and which IMO; identity.csv keeps names from the air from running in a spreadsheet."""

from __future__ import annotations

import pandas as pd
import pytest

from detectors._ids import event_id, time_ns
from detectors.columns import ALERT_TABLE
from detectors.identity import find_identity_anomalies
from detectors.identity_alerts import CHANGE_SCORES, SCORES, identity_alerts, identity_score
from shadowfleet.outputs.columns import EVENT_FILES
from shadowfleet.outputs.tables import write_csv
from tests.claims_tables import statics
from tests.reference_gaps import make_positions

A, B, BAD = 273000001, 273000002, 123456789


def _table():
    st = statics((A, "2023-09-01T00:00Z", 9179842, "=HYPERLINK(\"x\")"),
                 (A, "2023-09-01T00:06Z", 9179842, "=HYPERLINK(\"x\")"),
                 (A, "2023-09-05T00:00Z", 9999993, "+SPARTA"),
                 (A, "2023-09-05T00:06Z", 9999993, "+SPARTA"),
                 (B, "2023-09-02T00:00Z", 1234568, "BETA"),       # check digit fails
                 (B, "2023-09-02T00:06Z", 1234568, "BETA"),
                 (BAD, "2023-09-03T00:00Z", None, "DEFAULT"))
    pos = make_positions([(A, "2023-09-04T23:00Z", 42.5, 131.0),
                          (A, "2023-09-05T02:00Z", 42.6, 131.2),
                          (BAD, "2023-09-03T01:00Z", 43.0, 132.0)])
    return find_identity_anomalies(pos, st), pos


def test_one_alert_per_anomaly_with_ids_scores_and_summaries():
    table, pos = _table()
    assert sorted(table["kind"]) == ["identity_change", "identity_change", "invalid_imo",
                                     "invalid_mmsi"]
    alerts = identity_alerts(table, positions=pos, names={A: "SPARTA", B: "BETA"})
    assert tuple(alerts.columns) == ALERT_TABLE and len(alerts) == len(table)
    assert (alerts["kind"] == "identity").all() and (alerts["track"] == 0).all()
    by_id = {e: r for e, r in zip(alerts["evidence"], alerts.to_dict("records"))}
    for r in table.to_dict("records"):
        a = by_id[r["identity_id"]]
        assert a["alert_id"] == event_id("A", "identity", r["mmsi"], time_ns(r["start_utc"]),
                                         r["identity_id"])
        assert a["score"] == identity_score(r["kind"], r["field"])
        assert (a["start_utc"], a["end_utc"]) == (r["start_utc"], r["end_utc"])
    imo_change = by_id[table.loc[(table["kind"] == "identity_change")
                                 & (table["field"] == "imo"), "identity_id"].iloc[0]]
    assert imo_change["score"] == CHANGE_SCORES["imo"] == 0.6
    assert ('changed its IMO from "9179842" to "9999993"' in imo_change["summary"]
            and "MMSI 273000001" in imo_change["summary"]
            and "IMO 9999993" in imo_change["summary"])
    # the position: the MMSI's fix nearest in time to the start (2023-09-04T23:00Z)
    assert (imo_change["lat"], imo_change["lon"]) == (42.5, 131.0)
    bad = alerts[alerts["mmsi"] == BAD].iloc[0]
    assert bad["score"] == SCORES["invalid_mmsi"] and "no valid station identity" in bad["summary"]
    invalid_imo = alerts[alerts["mmsi"] == B].iloc[0]
    assert "IMO 1234568" in invalid_imo["summary"] and "check digit" in invalid_imo["summary"]
    again = identity_alerts(table, positions=pos, names={A: "SPARTA", B: "BETA"})
    pd.testing.assert_frame_equal(alerts, again)


@pytest.mark.parametrize("kind, field, score", [
    ("shared_mmsi", "position", 0.8), ("imo_on_several_mmsi", "imo", 0.7),
    ("identity_change", "imo", 0.6), ("identity_change", "name", 0.5),
    ("invalid_imo", "imo", 0.5), ("identity_change", "callsign", 0.4),
    ("invalid_mmsi", "mmsi", 0.3), ("identity_change", "ship_type", 0.3)])
def test_score_rule(kind, field, score):
    assert identity_score(kind, field) == score


def test_no_anomaly_no_alert():
    assert identity_alerts(None).empty and tuple(identity_alerts(None).columns) == ALERT_TABLE


def test_names_from_the_air_are_neutralised_in_identity_csv(tmp_path):
    table, _ = _table()
    name, columns = EVENT_FILES["identity"]
    path = write_csv(table, tmp_path / name, columns=columns)
    text = path.read_text()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    written = pd.read_csv(path, keep_default_na=False)
    change = written[(written["kind"] == "identity_change") & (written["field"] == "name")]
    assert change["before"].tolist() == ["'=HYPERLINK(\"x\")"]
    assert change["after"].tolist() == ["'+SPARTA"]
