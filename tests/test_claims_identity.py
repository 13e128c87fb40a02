"""Claims and identity (issue 17, item 3): a vessel named by IMO is evaluated over every
MMSI that held that IMO in the window (``test_claims_vessels``), and an identity anomaly of
a claim's vessel in the window is in its evidence, its caveats and claims.md, and keeps
the vessel from counting as covered when it puts the identity in doubt."""

from __future__ import annotations

import pandas as pd
import pytest

from detectors._identity_rows import identity_frame
from shadowfleet.outputs.claims_report import render_claims_report
from tests.claims_tables import (ANGARA, ANGARA_IMO, OTHER, claim, evaluate, positions,
                                 statics, track, trips)

STATICS = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                  (ANGARA, "2023-09-01T00:06Z", ANGARA_IMO, "ANGARA"))
COVERED = positions(track(ANGARA, "2023-08-31T00:00Z", "2023-10-01T00:00Z"))
CLAIM = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-30")


def _anomaly(kind, start, end, *, mmsi=ANGARA, field="position", imo=ANGARA_IMO, **kw):
    return {"kind": kind, "mmsi": mmsi, "imo": imo, "start_utc": pd.Timestamp(start, tz="UTC"),
            "end_utc": pd.Timestamp(end, tz="UTC"), "field": field,
            "evidence": kw.pop("evidence", f"{kind} evidence"), **kw}


def _result(identity, c=CLAIM, **tables):
    tables.setdefault("statics", STATICS)
    tables.setdefault("positions", COVERED)
    return evaluate([c], identity=identity, **tables)


def test_without_identity_anomalies_the_covered_vessel_contradicts():
    r = _result(identity_frame([])).results[0]
    assert r.verdict == "contradicted" and r.identity.empty and r.conflicts == ()


def test_a_shared_mmsi_in_the_window_is_evidence_caveat_and_uncertain_coverage():
    table = identity_frame([_anomaly("shared_mmsi", "2023-09-10", "2023-09-20",
                                     evidence="2 tracks on the air at once")])
    ev = _result(table)
    r = ev.results[0]
    (iid,) = table["identity_id"]
    assert r.verdict == "not_observed"                 # may have been the other hull
    assert "identity uncertain" in r.coverages[0].reason
    assert "several ships at once" in r.conflicts[0].describe()
    assert r.evidence_ids[-1] == iid and list(r.identity["identity_id"]) == [iid]
    assert iid in ev.table.loc[0, "evidence"].split(";")
    assert ev.evidence_claims[iid] == (CLAIM.id,)       # its alert gets the claim's id
    assert any(x.startswith(f"Identity anomaly {iid} (shared_mmsi)") and
               "several ships at once" in x for x in r.caveats)
    assert "several ships at once" in ev.table.loc[0, "identity_conflicts"]
    report = render_claims_report(ev)
    assert "Identity anomalies of these vessels in the window (1" in report
    assert f"| {iid} | shared\\_mmsi | {ANGARA} |" in report


def test_an_invalid_imo_is_a_caveat_not_a_doubt_about_coverage():
    table = identity_frame([_anomaly("invalid_imo", "2023-09-01", "2023-09-03", field="imo",
                                     imo=1234568, id_parts=(1234568,),
                                     evidence="IMO 1234568 fails the IMO check digit")])
    r = _result(table).results[0]
    assert r.verdict == "contradicted" and r.conflicts == ()
    assert list(r.identity["kind"]) == ["invalid_imo"]
    assert any("no valid IMO number" in x for x in r.caveats)


@pytest.mark.parametrize("start, end, inside", [
    ("2023-08-01", "2023-08-31T23:59", False), ("2023-08-01", "2023-09-01", True),
    ("2023-09-30T23:00", "2023-11-01", True), ("2023-10-01T00:00:01", "2023-11-01", False)])
def test_only_anomalies_overlapping_the_window_count(start, end, inside):
    table = identity_frame([_anomaly("shared_mmsi", start, end)])
    r = _result(table).results[0]
    assert (len(r.identity) == 1) == inside
    assert (r.verdict == "contradicted") != inside


def test_anomalies_of_other_vessels_are_not_the_claims():
    table = identity_frame([_anomaly("shared_mmsi", "2023-09-10", "2023-09-20", mmsi=OTHER)])
    r = _result(table).results[0]
    assert r.identity.empty and r.verdict == "contradicted"


def test_a_claim_naming_no_vessel_lists_the_anomalies_of_the_vessels_counted():
    c = claim(at_least=1, start="2023-09-01", end="2023-09-30")
    t = trips(("T-1", OTHER, "Najin", "Dunay", "2023-09-02T00:00Z", None, "observed",
               ("V-1", "V-2", "V-3")))
    table = identity_frame([_anomaly("shared_mmsi", "2023-09-01", "2023-09-05", mmsi=OTHER),
                            _anomaly("shared_mmsi", "2023-09-01", "2023-09-05")])
    r = _result(table, c=c, round_trips=t).results[0]
    assert r.verdict == "supported" and list(r.identity["mmsi"]) == [OTHER]
