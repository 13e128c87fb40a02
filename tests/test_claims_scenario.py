"""The bundled Najin-Dunay 2023 scenario: claims evaluated on its truth tables give the
verdicts the truth file implies.

The truth (``ais.sim_truth``) lists the port visits, legs, round trips, possible port
calls and dark periods a correct detector finds; its vessels are fictional. The
expected verdicts are computed here straight from the truth's rows with the rules of
DESIGN.md, independently of ``shadowfleet.claims``.
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from shadowfleet.claims import ClaimParams, bundled_claims, evaluate_claims
from tests.claims_tables import claim, evaluate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    bundled = FIXTURES / "najin-dunay-2023.truth.json"
    if bundled.exists():
        return json.loads(bundled.read_text(encoding="utf-8"))
    from shadowfleet.regenerate_fixtures import FIXTURE_SCENARIO, FIXTURE_SEED
    from shadowfleet.simulation import run_simulation

    out = tmp_path_factory.mktemp("scenario")
    run_simulation(FIXTURE_SCENARIO, FIXTURE_SEED, out / "feed.nmea.gz", out / "truth.json")
    return json.loads((out / "truth.json").read_text(encoding="utf-8"))


def _utc(frame, *cols):
    for c in cols:
        frame[c] = pd.to_datetime(frame[c], utc=True, format="ISO8601")
    return frame


@pytest.fixture(scope="module")
def tables(truth):
    visits = pd.DataFrame(truth["port_visits"])
    visits.insert(0, "visit_id", [f"V-{i}" for i in range(len(visits))])
    legs = pd.DataFrame(truth["legs"])
    legs.insert(0, "leg_id", [f"L-{i}" for i in range(len(legs))])
    trips = pd.DataFrame(truth["round_trips"])
    trips.insert(0, "trip_id", [f"T-{i}" for i in range(len(trips))])
    gaps = pd.DataFrame(truth["dark_periods"])
    gaps.insert(0, "gap_id", [f"G-{i}" for i in range(len(gaps))])
    gaps["others_received"] = float("nan")
    possible = pd.DataFrame(truth["possible_port_calls"])
    possible.insert(0, "call_id", [f"P-{i}" for i in range(len(possible))])
    gap_of = {(m, s): g for g, m, s in zip(gaps["gap_id"], gaps["mmsi"], gaps["start_utc"])}
    possible["gap_id"] = [gap_of.get((m, s), "") for m, s in zip(possible["mmsi"],
                                                                 possible["start_utc"])]
    start = truth["time_span"][0]
    statics = pd.DataFrame([{"mmsi": v["mmsi"], "timestamp": start, "imo": float(v["imo"] or "nan"),
                             "name": v["name"], "msg_type": 5} for v in truth["vessels"]])
    return dict(visits=_utc(visits, "arrival_utc", "departure_utc"),
                legs=_utc(legs, "depart_origin_utc", "arrive_destination_utc"),
                round_trips=_utc(trips, "depart_origin_utc", "arrive_destination_utc",
                                 "depart_destination_utc", "return_origin_utc"),
                dark_periods=_utc(gaps, "start_utc", "end_utc"),
                possible_calls=_utc(possible, "start_utc", "end_utc"),
                statics=_utc(statics, "timestamp"))


def _truth_counts(truth, c, mmsis):
    """(observed, inferred) straight from the truth rows (DESIGN.md, "In a claim's window")."""
    lo = pd.Timestamp(c.window.start.isoformat(), tz="UTC")
    hi = lo + pd.Timedelta(days=c.window.days)
    rows = truth["round_trips"] if c.kind == "round_trips" else truth["legs"]
    out = {"observed": 0, "inferred": 0}
    for r in rows:
        if mmsis is not None and r["mmsi"] not in mmsis:
            continue
        if c.kind == "round_trips" and {r["origin"], r["destination"]} != set(c.ports):
            continue
        if c.kind == "legs" and (r["origin"], r["destination"]) != tuple(c.ports):
            continue
        if r["status"] == "inferred" and r["pair"] != "|".join(sorted(c.ports)):
            continue
        if lo <= pd.Timestamp(r["depart_origin_utc"]) <= hi:
            out[r["status"]] += 1
    return out["observed"], out["inferred"]


def _dark_in_window(truth, c, mmsis):
    """True when every vessel has a truth dark period overlapping the window (so AIS does
    not account for its whole time and a short count cannot be contradicted)."""
    lo = pd.Timestamp(c.window.start.isoformat(), tz="UTC")
    hi = lo + pd.Timedelta(days=c.window.days)
    dark = {g["mmsi"] for g in truth["dark_periods"] if pd.Timestamp(g["start_utc"]) < hi
            and (g["end_utc"] is None or pd.Timestamp(g["end_utc"]) > lo)}
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


def test_detectors_on_the_bundled_feed_give_the_truths_verdicts(truth, tmp_path):
    """Decode the bundled feed, run the detectors, evaluate the bundled claims plus a
    claims file naming the scenario's shuttles: the verdicts are those the truth implies."""
    feed = FIXTURES / "najin-dunay-2023.nmea.gz"
    if not feed.exists() or truth.get("feed") != feed.name:
        pytest.skip("the bundled feed is not the truth's feed")
    import ais
    from detectors.cleaning import clean_positions
    from detectors.dark_periods import find_dark_periods
    from detectors.port_visits import find_port_visits
    from detectors.round_trips import find_round_trips
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
    registry = load_ports()
    decoded = ais.read_inputs([feed], require_times=True)
    positions, _ = clean_positions(decoded.positions)
    visits = find_port_visits(positions, registry)
    gaps = find_dark_periods(positions, registry)
    pairs = [tuple(c.ports) for c in claims if len(c.ports) == 2]
    trips = find_round_trips(visits, gaps, registry, pairs)
    ev = evaluate_claims(claims, visits=visits, legs=trips.legs, round_trips=trips.round_trips,
                         possible_calls=trips.possible_calls, dark_periods=gaps,
                         positions=positions, statics=decoded.statics, registry=registry,
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
    rt = trips.round_trips
    counted = rt.loc[rt["mmsi"].isin([v["mmsi"] for v in shuttles]) & (rt["pair"] == "Dunay|Najin")
                     & rt["depart_origin_utc"].between(pd.Timestamp("2023-08-15", tz="UTC"),
                                                       pd.Timestamp("2023-10-15", tz="UTC")),
                     "trip_id"]
    assert len(counted) == observed + inferred
    assert all("shuttles-observed" in ev.evidence_claims[t] for t in counted)


def bundled_claim_files_and(path):
    from shadowfleet.claims import bundled_claim_files

    return bundled_claim_files() + [path]
