"""Claims of the behaviour kinds: ``encounters`` (optionally ``with`` the other vessel)
and ``loitering`` (optionally ``near`` a port within ``radius_nm``): loading with
one-line errors, counting in the window by start, verdicts, evidence ids."""

from __future__ import annotations

import textwrap

import pytest

from shadowfleet.claims import load_claims
from shadowfleet.claims.model import Vessels
from shadowfleet.errors import ClaimsError
from tests.claims_tables import (ANGARA, ANGARA_IMO, MARIA, MARIA_IMO, OTHER, claim, encounters,
                                 evaluate, loitering, positions, statics, track)

IDS = statics((ANGARA, "2023-08-20T00:00Z", ANGARA_IMO, "ANGARA"),
              (MARIA, "2023-08-21T00:00Z", MARIA_IMO, "MARIA"),
              (OTHER, "2023-08-21T00:00Z", None, "OTHER SHIP"))

HEAD = """\
source: Test
claims:
  - id: c1
    statement: s
    window: {start: 2023-09-01, end: 2023-09-30}
    at_least: 1
"""


def _load(tmp_path, extra: str):
    path = tmp_path / "c.yaml"
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(extra), "    "), encoding="utf-8")
    return load_claims([path])[0]


# ---- loading -----------------------------------------------------------------------

def test_encounters_claim_with_the_other_vessel_loads(tmp_path):
    c = _load(tmp_path, """\
        kind: encounters
        vessels: {imo: [9179842]}
        with: {imo: [8517839], names: [MARIA]}
        labels: {9179842: ANGARA, 8517839: MARIA}
        """)
    assert c.kind == "encounters" and c.vessels.imo == (ANGARA_IMO,)
    assert c.with_vessels == Vessels(imo=(MARIA_IMO,), names=("MARIA",))
    assert c.describe_ports() == "with IMO 8517839 (MARIA) or name MARIA"


def test_loitering_claim_near_a_port_loads(tmp_path):
    c = _load(tmp_path, """\
        kind: loitering
        vessels: {names: [ANGARA]}
        near: Najin
        radius_nm: 30
        """)
    assert (c.kind, c.near, c.radius_nm) == ("loitering", "Najin", 30.0)
    assert c.describe_ports() == "within 30 nm of Najin"


@pytest.mark.parametrize("extra,field,text", [
    pytest.param("kind: loitering\nwith: {imo: [8517839]}\n", "with",
                 "applies to encounters claims only", id="with-on-loitering"),
    pytest.param("kind: encounters\nnear: Najin\nradius_nm: 5\n", "near",
                 "applies to dark_periods and loitering claims only", id="near-on-encounters"),
    pytest.param("kind: encounters\nmin_hours: 3\n", "min_hours",
                 "applies to dark_periods claims only", id="min-hours-on-encounters"),
    pytest.param("kind: loitering\nnear: Najin\n", "near", "needs radius_nm",
                 id="loitering-near-without-radius"),
    pytest.param("kind: encounters\nports: [Najin]\n", "ports", "takes no ports",
                 id="ports-on-encounters"),
    pytest.param("kind: encounters\nwith: {imo: [8517830]}\n", "with.imo", "check digit",
                 id="with-imo-typo"),
    pytest.param("kind: encounters\nwith: {}\n", "with", "names no vessel", id="with-empty"),
    pytest.param("kind: encounters\nwith: [8517839]\n", "with", "not a mapping",
                 id="with-not-a-mapping"),
    pytest.param("kind: encounters\nwith: {imo: [8517839], ship: [1]}\n", "with.ship",
                 "unknown field", id="with-unknown-key"),
    pytest.param("kind: loitering\nradius_nm: 5\n", "radius_nm", "without 'near'",
                 id="radius-without-near"),
])
def test_behaviour_claim_errors_are_one_line(tmp_path, extra, field, text):
    with pytest.raises(ClaimsError) as info:
        _load(tmp_path, extra)
    message = str(info.value)
    assert "\n" not in message
    assert f"claim 'c1', field '{field}'" in message and text in message
    assert message.startswith(f"{tmp_path / 'c.yaml'}:")


# ---- counting and verdicts ----------------------------------------------------------

def test_encounters_count_by_start_in_the_window_and_give_their_ids():
    enc = encounters(("E-1", ANGARA, MARIA, "2023-08-31T23:00Z", "2023-09-01T03:00Z"),
                     ("E-2", ANGARA, OTHER, "2023-09-01T00:00Z", "2023-09-01T04:00Z"),
                     ("E-3", MARIA, OTHER, "2023-09-10T00:00Z", "2023-09-10T04:00Z"),
                     ("E-4", ANGARA, OTHER, "2023-10-01T00:00Z", "2023-10-01T03:00Z"),
                     ("E-5", ANGARA, OTHER, "2023-10-01T00:00:01Z", "2023-10-01T03:00Z"))
    c = claim("encounters", ports=(), start="2023-09-01", end="2023-09-30", imo=[ANGARA_IMO],
              at_least=2)
    r = evaluate([c], encounters=enc, statics=IDS).results[0]
    # E-1 starts the day before, E-5 after 24:00Z of the last day; E-4 at 24:00Z counts
    assert r.evidence_ids == ("E-2", "E-4")
    assert (r.observed, r.inferred, r.verdict) == (2, 0, "supported")
    assert set(r.evidence["what"]) == {"encounter"}
    assert all(route.startswith("with ") for route in r.evidence["route"])


def test_encounters_with_the_other_vessel_only_count_meetings_with_it():
    enc = encounters(("E-1", ANGARA, MARIA, "2023-09-02T00:00Z", "2023-09-02T03:00Z"),
                     ("E-2", ANGARA, OTHER, "2023-09-03T00:00Z", "2023-09-03T03:00Z"),
                     ("E-3", MARIA, OTHER, "2023-09-04T00:00Z", "2023-09-04T03:00Z"))
    c = claim("encounters", ports=(), start="2023-09-01", end="2023-09-30", imo=[ANGARA_IMO],
              at_least=1, with_vessels=Vessels(imo=(MARIA_IMO,)))
    r = evaluate([c], encounters=enc, statics=IDS).results[0]
    assert r.evidence_ids == ("E-1",) and r.verdict == "supported"
    # the other vessel is named in the report, marked as such
    assert any(m.given == f"with IMO {MARIA_IMO}" and m.mmsis == (MARIA,) for m in r.matches)
    # any vessel meeting MARIA: E-1 and E-3
    anyone = claim("encounters", ports=(), start="2023-09-01", end="2023-09-30", at_least=1,
                   with_vessels=Vessels(names=("maria",)))
    r = evaluate([anyone], encounters=enc, statics=IDS).results[0]
    assert r.evidence_ids == ("E-1", "E-3")


def test_an_encounter_between_two_named_vessels_counts_once():
    enc = encounters(("E-1", ANGARA, MARIA, "2023-09-02T00:00Z", "2023-09-02T03:00Z"))
    c = claim("encounters", ports=(), start="2023-09-01", end="2023-09-30",
              imo=[ANGARA_IMO, MARIA_IMO], at_least=2)
    r = evaluate([c], encounters=enc, statics=IDS).results[0]
    assert (r.observed, r.verdict) == (1, "not_observed")


def test_an_unknown_other_vessel_counts_nothing():
    enc = encounters(("E-1", ANGARA, MARIA, "2023-09-02T00:00Z", "2023-09-02T03:00Z"))
    c = claim("encounters", ports=(), start="2023-09-01", end="2023-09-30", imo=[ANGARA_IMO],
              at_least=1, with_vessels=Vessels(imo=(9161003,)))
    r = evaluate([c], encounters=enc, statics=IDS).results[0]
    assert (r.observed, r.verdict) == (0, "not_observed")
    assert any("with IMO 9161003" in m.describe() and not m.mmsis for m in r.matches)
    assert any(text.startswith("Encounters: a meeting is seen only") for text in r.caveats)


def test_encounters_claim_is_contradicted_only_when_both_ships_were_heard_throughout():
    c = claim("encounters", ports=(), start="2023-09-01", end="2023-09-30", imo=[ANGARA_IMO],
              at_least=1, with_vessels=Vessels(imo=(MARIA_IMO,)))
    angara = track(ANGARA, "2023-08-31T00:00Z", "2023-10-01T12:00Z")
    maria = track(MARIA, "2023-08-31T00:00Z", "2023-10-01T12:00Z", lat=36.0)
    both = evaluate([c], statics=IDS, positions=positions(angara, maria)).results[0]
    assert both.verdict == "contradicted"
    # the other ship silent for a week: a meeting then could not have been seen
    maria_gap = maria[(maria["timestamp"] < "2023-09-10") | (maria["timestamp"] > "2023-09-17")]
    gap = evaluate([c], statics=IDS, positions=positions(angara, maria_gap)).results[0]
    assert gap.verdict == "not_observed"


def test_loitering_counts_by_start_and_near_uses_the_registry_polygon():
    # Najin's polygon: 130.275-130.335 E, 42.215-42.255 N; 0.1 degree of latitude = 6 nm
    lo = loitering(("LO-1", ANGARA, "2023-09-02T00:00Z", "2023-09-02T06:00Z", 42.115, 130.30),
                   ("LO-2", ANGARA, "2023-09-05T00:00Z", "2023-09-05T09:00Z", 41.90, 130.30),
                   ("LO-3", ANGARA, "2023-08-31T20:00Z", "2023-09-01T02:00Z", 42.12, 130.30),
                   ("LO-4", MARIA, "2023-09-06T00:00Z", "2023-09-06T05:00Z", 42.12, 130.30))
    anywhere = claim("loitering", ports=(), start="2023-09-01", end="2023-09-30",
                     imo=[ANGARA_IMO], at_least=2)
    r = evaluate([anywhere], loitering=lo, statics=IDS).results[0]
    assert r.evidence_ids == ("LO-1", "LO-2") and r.verdict == "supported"
    near = claim("loitering", ports=(), start="2023-09-01", end="2023-09-30", imo=[ANGARA_IMO],
                 at_least=2, near="Najin", radius_nm=10.0)
    r = evaluate([near], loitering=lo, statics=IDS).results[0]
    assert r.evidence_ids == ("LO-1",) and (r.observed, r.verdict) == (1, "not_observed")
    assert r.evidence["note"].iloc[0].endswith("6.0 nm from Najin")


def test_loitering_claim_near_an_unknown_port_names_the_claim():
    c = claim("loitering", ports=(), start="2023-09-01", end="2023-09-30", imo=[ANGARA_IMO],
              at_least=1, near="Atlantis", radius_nm=5.0)
    with pytest.raises(ClaimsError, match="claim 'test-loitering', field 'near'"):
        evaluate([c], statics=IDS)


def test_behaviour_evidence_tags_alerts_with_the_claim():
    from shadowfleet.pipeline import _tag_alerts_with_claims
    from detectors.behaviour_alerts import build_behaviour_alerts

    enc = encounters(("E-1", ANGARA, MARIA, "2023-09-02T00:00Z", "2023-09-02T03:00Z"))
    lo = loitering(("LO-1", ANGARA, "2023-09-02T00:00Z", "2023-09-02T06:00Z", 42.5, 131.6))
    claims = [claim("encounters", ports=(), start="2023-09-01", end="2023-09-30",
                    imo=[ANGARA_IMO], at_least=1, id="meets"),
              claim("loitering", ports=(), start="2023-09-01", end="2023-09-30",
                    imo=[ANGARA_IMO], at_least=1, id="waits")]
    evaluation = evaluate(claims, encounters=enc, loitering=lo, statics=IDS)
    alerts = _tag_alerts_with_claims(build_behaviour_alerts(enc, lo, None, None), evaluation)
    tags = dict(zip(zip(alerts["kind"], alerts["mmsi"]), alerts["claim_ids"]))
    # both vessels' encounter alerts rest on E-1, which the claim counted
    assert tags[("encounter", ANGARA)] == "meets" and tags[("encounter", MARIA)] == "meets"
    assert tags[("loitering", ANGARA)] == "meets;waits"     # it also lists E-1
