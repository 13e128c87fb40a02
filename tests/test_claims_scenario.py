"""The bundled Najin-Dunay 2023 scenario: claims evaluated on the detectors' tables of
its feed give the verdicts the truth of what its ships did implies.

The truth (``shadowfleet.simulator.truth``) records the ships' calls, voyages and AIS
silences, and the round trips and legs a correct run reports from them
(``expected_round_trips``, ``expected_legs``, each observed or inferred); its vessels
are fictional. The expected counts are taken here straight from those rows with the
window rule of DESIGN.md, independently of ``shadowfleet.claims``.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from shadowfleet.claims import ClaimParams, bundled_claims, evaluate_claims
from shadowfleet.demo import bundled_feed
from tests.claims_tables import claim, evaluate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def truth():
    return json.loads((FIXTURES / "najin-dunay-2023.truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def result(truth):
    from ports import load_ports
    from shadowfleet.pipeline import detect

    assert truth["feed"] == bundled_feed().name
    return detect([bundled_feed()], ports=load_ports(), pairs=[("Najin", "Dunay")])


@pytest.fixture(scope="module")
def tables(result):
    return dict(visits=result.port_visits, legs=result.legs, round_trips=result.round_trips,
                possible_calls=result.possible_calls, dark_periods=result.dark_periods,
                positions=result.positions, statics=result.statics)


def _truth_counts(truth, c, mmsis):
    """(observed, inferred) straight from the truth's expected rows (DESIGN.md, "In a
    claim's window": by the departure from the origin, for a possible call the start of
    its dark period: the truth's ``counted_from_utc``)."""
    lo = pd.Timestamp(c.window.start.isoformat(), tz="UTC")
    hi = lo + pd.Timedelta(days=c.window.days)
    rows = truth["expected_round_trips"] if c.kind == "round_trips" else truth["expected_legs"]
    out = {"observed": 0, "inferred": 0}
    for r in rows:
        if mmsis is not None and r["mmsi"] not in mmsis:
            continue
        if c.kind == "round_trips" and {r["origin"], r["destination"]} != set(c.ports):
            continue
        if c.kind == "legs" and (r["origin"], r["destination"]) != tuple(c.ports):
            continue
        if lo <= pd.Timestamp(r["counted_from_utc"]) <= hi:
            out[r["status"]] += 1
    return out["observed"], out["inferred"]


def _dark_in_window(truth, c, mmsis):
    """True when every vessel kept AIS quiet some time in the window (so AIS does not
    account for its whole time and a short count cannot be contradicted)."""
    lo = pd.Timestamp(c.window.start.isoformat(), tz="UTC")
    hi = lo + pd.Timedelta(days=c.window.days)
    dark = {s["mmsi"] for s in truth["silences"] if pd.Timestamp(s["start_utc"]) < hi
            and pd.Timestamp(s["end_utc"]) > lo}
    return set(mmsis) <= dark


def _implied(observed, inferred, at_least):
    """The verdict for a count when contradiction is ruled out (unnamed claim, absent
    vessel, or vessels dark in the window)."""
    if observed >= at_least:
        return "supported"
    if observed + inferred >= at_least:
        return "consistent_with_dark_activity"
    return "not_observed"


def test_the_scenario_is_fictional(truth):
    real = {9179842, 8517839, 9358010, 9161003}
    assert not real & {v["imo"] for v in truth["vessels"]}
    assert "ANGARA" not in {v["name"] for v in truth["vessels"]}
    assert truth["pairs_of_interest"] == [["Dunay", "Najin"]]


def test_bundled_claims_on_the_scenario(truth, tables):
    ev = evaluate(bundled_claims(), **tables)
    by_id = {r.claim.id: r for r in ev.results}
    for cid in ("rusi-wapo-2023", "rusi-kyivpost-2023", "whitehouse-2023", "lady-r-2024-03",
                "lady-r-2024-04"):
        r = by_id[cid]
        assert all(m.mmsis == () for m in r.matches), cid  # the real ships are not in the feed
        assert (r.observed, r.inferred, r.verdict) == (0, 0, "not_observed"), cid
    csis = by_id["csis-2023-six-trips"]
    expected = _truth_counts(truth, csis.claim, None)
    assert expected[0] + expected[1] > 0
    assert (csis.observed, csis.inferred) == expected
    assert csis.verdict == _implied(*expected, 6)


def test_named_shuttle_claims_on_the_scenario(truth, tables):
    shuttles = [v for v in truth["vessels"] if v["role"] == "shuttle"]
    imos = [v["imo"] for v in shuttles]
    mmsis = {v["mmsi"] for v in shuttles}
    base = claim(imo=imos, at_least=1)
    observed, inferred = _truth_counts(truth, base, mmsis)
    assert observed > 0 and inferred > 0
    assert _dark_in_window(truth, base, mmsis)
    claims = [claim(id="exact-observed", imo=imos, at_least=observed),
              claim(id="needs-inferred", imo=imos, at_least=observed + 1),
              claim(id="exact-total", imo=imos, at_least=observed + inferred),
              claim(id="too-many", imo=imos, at_least=observed + inferred + 1),
              claim("legs", id="legs-by-name", names=[shuttles[0]["name"].lower()], at_least=1,
                    start="2023-09-07", end="2023-10-01")]
    ev = evaluate(claims, **tables)
    got = {r.claim.id: (r.observed, r.inferred, r.verdict) for r in ev.results}
    assert got["exact-observed"] == (observed, inferred, "supported")
    assert got["needs-inferred"] == (observed, inferred, "consistent_with_dark_activity")
    assert got["exact-total"] == (observed, inferred, "consistent_with_dark_activity")
    assert got["too-many"] == (observed, inferred, "not_observed")
    leg_counts = _truth_counts(truth, claims[-1], {shuttles[0]["mmsi"]})
    assert got["legs-by-name"][:2] == leg_counts
    assert _dark_in_window(truth, claims[-1], {shuttles[0]["mmsi"]})
    assert got["legs-by-name"][2] == _implied(*leg_counts, 1)
    legs_result = ev.results[-1]
    assert legs_result.matches[0].weak and legs_result.matches[0].mmsis == (shuttles[0]["mmsi"],)
    # every counted trip is in the evidence, each counted once
    trips = ev.results[0].evidence
    assert len(trips) == observed + inferred and trips["evidence_id"].is_unique


def test_detectors_on_the_bundled_feed_give_the_truths_verdicts(truth, result, tmp_path):
    """Claims files naming the scenario's shuttles, loaded from YAML, evaluated with the
    bundled ones on the run's tables: the verdicts are those the truth implies."""
    from ports import load_ports
    from shadowfleet.claims import load_claims

    shuttles = [v for v in truth["vessels"] if v["role"] == "shuttle"]
    imos = ", ".join(str(v["imo"]) for v in shuttles)
    probe = claim(imo=[v["imo"] for v in shuttles], at_least=1)
    observed, inferred = _truth_counts(truth, probe, {v["mmsi"] for v in shuttles})
    path = tmp_path / "scenario.yaml"
    path.write_text(
        "source: Scenario test\nclaims:\n"
        f"  - id: shuttles-observed\n    statement: s\n    kind: round_trips\n"
        f"    ports: [Najin, Dunay]\n    window: {{start: 2023-08-15, end: 2023-10-14}}\n"
        f"    vessels: {{imo: [{imos}]}}\n    at_least: {observed}\n"
        f"  - id: shuttles-with-dark\n    statement: s\n    kind: round_trips\n"
        f"    ports: [Dunay, Najin]\n    window: {{start: 2023-08-15, end: 2023-10-14}}\n"
        f"    vessels: {{imo: [{imos}]}}\n    at_least: {observed + inferred}\n",
        encoding="utf-8")
    claims = load_claims(bundled_claim_files_and(path))
    ev = evaluate_claims(claims, visits=result.port_visits, legs=result.legs,
                         round_trips=result.round_trips, possible_calls=result.possible_calls,
                         dark_periods=result.dark_periods, positions=result.positions,
                         statics=result.statics, registry=load_ports(),
                         params=ClaimParams())
    got = {r.claim.id: (r.observed, r.inferred, r.verdict) for r in ev.results}
    csis = next(c for c in claims if c.id == "csis-2023-six-trips")
    expected = _truth_counts(truth, csis, None)
    assert got["csis-2023-six-trips"] == (*expected, _implied(*expected, 6))
    assert got["shuttles-observed"] == (observed, inferred, "supported")
    assert got["shuttles-with-dark"] == (observed, inferred, "consistent_with_dark_activity")
    for cid in ("rusi-wapo-2023", "whitehouse-2023", "lady-r-2024-04"):
        assert got[cid] == (0, 0, "not_observed")
    # every alert evidence id that counted maps back to its claims
    assert all(cid for ids in ev.evidence_claims.values() for cid in ids)
    rt = result.round_trips
    start = rt["depart_origin_utc"].fillna(rt["return_origin_utc"])
    counted = rt.loc[rt["mmsi"].isin([v["mmsi"] for v in shuttles]) & (rt["pair"] == "Dunay|Najin")
                     & start.between(pd.Timestamp("2023-08-15", tz="UTC"),
                                     pd.Timestamp("2023-10-15", tz="UTC")),
                     "trip_id"]
    assert len(counted) == observed + inferred
    assert all("shuttles-observed" in ev.evidence_claims[t] for t in counted)


def bundled_claim_files_and(path):
    from shadowfleet.claims import bundled_claim_files

    return bundled_claim_files() + [path]
