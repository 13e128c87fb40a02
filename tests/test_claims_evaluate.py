"""Claim verdicts from hand-made visit/trip/gap tables, including every boundary of
DESIGN.md: observed exactly at_least, observed + inferred exactly at_least, window edges,
and a named vessel tracked in another sea for the whole window."""

import pytest

from shadowfleet.claims import ClaimParams
from shadowfleet.claims.evaluate import decide
from shadowfleet.outputs.columns import CLAIM_COLUMNS
from ais.errors import ConfigError
from tests.claims_tables import (ANGARA, ANGARA_IMO, MARIA, MARIA_IMO, OTHER, claim, evaluate,
                                 gaps, legs, positions, possible, statics, track, trips, visits)

IDS = statics((ANGARA, "2023-08-20T00:00Z", ANGARA_IMO, "ANGARA"),
              (MARIA, "2023-08-21T00:00Z", MARIA_IMO, "MARIA@@@@"))


def _trip(i, mmsi, depart, status="observed", calls=None):
    calls = calls or (f"V-{i}a", f"V-{i}b", f"V-{i}c")
    return (f"T-{i}", mmsi, "Najin", "Dunay", depart, None, status, calls)


def _evaluate(c, **tables):
    tables.setdefault("statics", IDS)
    return evaluate([c], **tables).results[0]


@pytest.mark.parametrize("observed,inferred,at_least,named,covered,expected", [
    pytest.param(5, 0, 5, True, False, "supported", id="observed-exactly-at-least"),
    pytest.param(6, 0, 5, True, True, "supported", id="observed-above"),
    pytest.param(4, 1, 5, True, True, "consistent_with_dark_activity", id="sum-exactly-at-least"),
    pytest.param(0, 5, 5, False, False, "consistent_with_dark_activity", id="all-inferred"),
    pytest.param(3, 1, 5, True, True, "contradicted", id="short-and-covered"),
    pytest.param(3, 1, 5, True, False, "not_observed", id="short-not-covered"),
    pytest.param(0, 0, 1, False, True, "not_observed", id="unnamed-never-contradicted"),
])
def test_decide_table(observed, inferred, at_least, named, covered, expected):
    assert decide(observed, inferred, at_least, named=named, all_covered=covered) == expected


def test_observed_exactly_at_least_is_supported_and_one_fewer_is_not():
    c = claim(imo=[ANGARA_IMO, MARIA_IMO], at_least=5)
    rows = [_trip(i, ANGARA if i % 2 else MARIA, f"2023-09-0{i + 1}T10:00Z") for i in range(5)]
    r = _evaluate(c, round_trips=trips(*rows))
    assert (r.observed, r.inferred, r.verdict) == (5, 0, "supported")
    assert r.evidence_ids[:1] == ("T-0",)
    r4 = _evaluate(c, round_trips=trips(*rows[:4]))
    assert (r4.observed, r4.verdict) == (4, "not_observed")


def test_observed_plus_inferred_exactly_at_least_is_consistent_with_dark_activity():
    c = claim(imo=[ANGARA_IMO], at_least=3)
    rows = [_trip(0, ANGARA, "2023-09-01T00:00Z"), _trip(1, ANGARA, "2023-09-10T00:00Z"),
            _trip(2, ANGARA, "2023-09-20T00:00Z", status="inferred",
                  calls=("V-2a", "P-2", "V-2c"))]
    pc = possible(("P-2", ANGARA, "Dunay", "G-2", "2023-09-20T06:00Z", "2023-09-22T00:00Z",
                   "Dunay|Najin"))
    g = gaps(("G-2", ANGARA, "2023-09-20T06:00Z", "2023-09-22T00:00Z", 0, "Dunay"))
    r = _evaluate(c, round_trips=trips(*rows), possible_calls=pc, dark_periods=g)
    assert (r.observed, r.inferred, r.verdict) == (2, 1, "consistent_with_dark_activity")
    assert "G-2" in r.evidence_ids
    assert any("Reception" in x and "G-2" in x for x in r.caveats)
    r2 = _evaluate(c, round_trips=trips(*rows[1:]), possible_calls=pc, dark_periods=g)
    assert (r2.observed, r2.inferred, r2.verdict) == (1, 1, "not_observed")


def test_vessel_tracked_in_another_sea_for_the_whole_window_is_contradicted():
    c = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-30")
    pos = positions(track(ANGARA, "2023-08-31T20:00Z", "2023-10-01T04:00Z", every_hours=1.0))
    r = _evaluate(c, positions=pos, round_trips=trips())
    assert (r.observed, r.inferred, r.verdict) == (0, 0, "contradicted")
    assert r.coverages[0].throughout
    assert "received throughout" in r.coverages[0].describe()


@pytest.mark.parametrize("every_hours,expected", [
    pytest.param(6.0, "contradicted", id="silence-exactly-gap-hours"),
    pytest.param(6.5, "not_observed", id="silence-over-gap-hours"),
])
def test_coverage_boundary_is_strictly_more_than_gap_hours(every_hours, expected):
    c = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-03")
    pos = positions(track(ANGARA, "2023-08-31T23:00Z", "2023-09-04T12:00Z",
                          every_hours=every_hours))
    r = _evaluate(c, positions=pos, params=ClaimParams(gap_hours=6.0))
    assert r.verdict == expected


@pytest.mark.parametrize("first,last,expected", [
    pytest.param("2023-09-01T06:00Z", "2023-09-03T18:00Z", "contradicted", id="edges-within-gap"),
    pytest.param("2023-09-01T06:01Z", "2023-09-04T00:00Z", "not_observed", id="late-first-fix"),
    pytest.param("2023-09-01T00:00Z", "2023-09-03T17:59Z", "not_observed", id="early-last-fix"),
])
def test_coverage_counts_silence_from_window_edges(first, last, expected):
    c = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-03")
    pos = positions(track(ANGARA, first, last, every_hours=0.5))
    assert _evaluate(c, positions=pos).verdict == expected


def test_a_dark_period_in_the_window_prevents_contradicted():
    c = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-03")
    pos = positions(track(ANGARA, "2023-08-31T00:00Z", "2023-09-05T00:00Z"))
    g = gaps(("G-9", ANGARA, "2023-09-02T00:00Z", "2023-09-02T08:00Z", 3, ""))
    r = _evaluate(c, positions=pos, dark_periods=g)
    assert r.verdict == "not_observed" and "G-9" in r.coverages[0].reason


def test_spoofed_positions_do_not_count_as_coverage():
    c = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-03")
    good = track(ANGARA, "2023-08-31T00:00Z", "2023-09-01T12:00Z")
    fake = track(ANGARA, "2023-09-01T13:00Z", "2023-09-05T00:00Z", spoofed=True)
    r = _evaluate(c, positions=positions(good, fake))
    assert r.verdict == "not_observed"
    assert any(x.startswith("Spoofing") for x in r.caveats)


def test_absent_named_vessel_is_not_observed_not_contradicted():
    c = claim(imo=[9358010], at_least=1)   # MAIA-1: no static report in the data
    r = _evaluate(c, positions=positions(track(ANGARA, "2023-08-01T00:00Z", "2023-11-01T00:00Z")))
    assert r.verdict == "not_observed"
    assert r.matches[0].mmsis == ()
    assert any("not found" in x for x in r.caveats)


def test_unnamed_claim_counts_every_vessel_and_is_never_contradicted():
    c = claim(at_least=3)
    rows = [_trip(0, ANGARA, "2023-09-01T00:00Z"), _trip(1, OTHER, "2023-09-02T00:00Z")]
    r = _evaluate(c, round_trips=trips(*rows),
                  positions=positions(track(ANGARA, "2023-08-01T00:00Z", "2023-11-01T00:00Z")))
    assert (r.observed, r.verdict) == (2, "not_observed")
    assert any("No vessel is named" in x for x in r.caveats)


@pytest.mark.parametrize("depart,counts", [
    pytest.param("2023-08-15T00:00:00Z", True, id="start-00:00Z"),
    pytest.param("2023-08-14T23:59:59Z", False, id="before-start"),
    pytest.param("2023-10-15T00:00:00Z", True, id="end-24:00Z"),
    pytest.param("2023-10-15T00:00:01Z", False, id="after-end"),
])
def test_window_edges_are_included(depart, counts):
    c = claim(imo=[ANGARA_IMO], at_least=1)
    r = _evaluate(c, round_trips=trips(_trip(0, ANGARA, depart)))
    assert r.observed == int(counts)


def test_round_trip_from_a_possible_call_counts_from_the_dark_period_start():
    c = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-30")
    row = ("T-1", ANGARA, "Najin", "Dunay", "2023-10-02T00:00Z", None, "inferred",
           ("P-1", "V-2", "V-3"))
    pc = possible(("P-1", ANGARA, "Najin", "G-1", "2023-09-29T12:00Z", "2023-10-02T00:00Z",
                   "Dunay|Najin"))
    r = _evaluate(c, round_trips=trips(row), possible_calls=pc)
    assert (r.observed, r.inferred) == (0, 1)
    assert str(r.evidence["start_utc"].iloc[0]) == "2023-09-29 12:00:00+00:00"


def test_the_same_trip_in_two_chains_counts_once_and_counts_add_over_vessels():
    c = claim(imo=[ANGARA_IMO], mmsi=[ANGARA, MARIA], at_least=1)
    t = trips(_trip(0, ANGARA, "2023-09-01T00:00Z"), _trip(0, ANGARA, "2023-09-01T00:00Z"),
              _trip(1, MARIA, "2023-09-05T00:00Z"), _trip(2, OTHER, "2023-09-05T00:00Z"))
    r = _evaluate(c, round_trips=t)
    assert r.observed == 2
    assert set(r.evidence["mmsi"]) == {ANGARA, MARIA}


def test_trips_between_other_ports_do_not_count():
    c = claim(imo=[ANGARA_IMO], at_least=1)
    t = trips(("T-5", ANGARA, "Najin", "Vladivostok", "2023-09-01T00:00Z", None, "observed",
               ("V-1", "V-2", "V-3")))
    assert _evaluate(c, round_trips=t).observed == 0


def test_legs_are_directional_and_inference_belongs_to_the_claims_pair():
    c = claim("legs", ports=("Najin", "Dunay"), imo=[ANGARA_IMO], at_least=2,
              start="2023-09-07", end="2023-10-01")
    lg = legs(
        ("L-1", ANGARA, "Najin", "Dunay", "2023-09-08T10:00Z", "2023-09-09T00:00Z", "observed",
         "V-1", "V-2", ""),
        ("L-1b", ANGARA, "Najin", "Dunay", "2023-09-08T10:00Z", "2023-09-09T00:00Z", "observed",
         "V-1", "V-2", "Dunay|Najin"),            # same leg in the pair's chain
        ("L-2", ANGARA, "Dunay", "Najin", "2023-09-10T10:00Z", "2023-09-11T00:00Z", "observed",
         "V-2", "V-3", ""),                       # wrong direction
        ("L-3", ANGARA, "najin", "DUNAY", "2023-09-20T10:00Z", "2023-09-22T00:00Z", "inferred",
         "P-4", "V-5", "Dunay|Najin"),
        ("L-4", ANGARA, "Najin", "Dunay", "2023-09-25T10:00Z", "2023-09-26T00:00Z", "inferred",
         "P-6", "V-7", "Najin|Vostochny"))        # another pair's inference: ignored
    pc = possible(("P-4", ANGARA, "Najin", "G-4", "2023-09-19T00:00Z", "2023-09-21T00:00Z",
                   "Dunay|Najin"))
    g = gaps(("G-4", ANGARA, "2023-09-19T00:00Z", "2023-09-21T00:00Z", 5, "Najin"))
    r = _evaluate(c, legs=lg, possible_calls=pc, dark_periods=g)
    assert (r.observed, r.inferred, r.verdict) == (1, 1, "consistent_with_dark_activity")
    assert r.evidence_ids == ("V-1", "V-2", "G-4", "V-5")
    ev = evaluate([c], legs=lg, possible_calls=pc, dark_periods=g, statics=IDS)
    assert ev.evidence_claims["G-4"] == (c.id,) and ev.evidence_claims["L-1"] == (c.id,)
    assert "V-3" not in ev.evidence_claims


def test_port_calls_count_overlapping_stays_and_reachable_dark_periods():
    c = claim("port_calls", ports=("Vostochny",), imo=[ANGARA_IMO], at_least=3,
              start="2024-04-02", end="2024-04-05")
    v = visits(("V-1", ANGARA, "Vostochny", "2024-04-01T20:00Z", "2024-04-02T03:00Z"),
               ("V-3", ANGARA, "Najin", "2024-04-03T20:00Z", "2024-04-04T03:00Z"),
               ("V-2", ANGARA, "Vostochny", "2024-04-06T00:00:01Z", "2024-04-07T00:00Z"))
    g = gaps(("G-1", ANGARA, "2024-04-02T06:00Z", "2024-04-03T06:00Z", 2, "Vostochny;Nakhodka"),
             ("G-2", ANGARA, "2024-04-04T08:00Z", "2024-04-05T12:00Z", 2, "Vostochny"),
             ("G-3", ANGARA, "2024-04-05T13:00Z", None, 2, "Nakhodka"))
    r = _evaluate(c, visits=v, dark_periods=g)
    # V-1 overlaps the window; G-1 follows it with no call elsewhere between, so a call at
    # Vostochny during G-1 would be the same stay; G-2 (after Najin) is a possible call
    assert (r.observed, r.inferred, r.verdict) == (1, 1, "not_observed")
    assert r.evidence_ids == ("V-1", "G-2")


def test_dark_period_claims_filter_start_hours_and_near():
    c = claim("dark_periods", ports=(), imo=[ANGARA_IMO], at_least=2, start="2024-04-02",
              end="2024-04-14", min_hours=12.0, near="Najin")
    g = gaps(("G-1", ANGARA, "2024-04-03T00:00Z", "2024-04-04T00:00Z", 1, "", "Vostochny", "Najin"),
             ("G-2", ANGARA, "2024-04-05T00:00Z", "2024-04-05T11:00Z", 1, "", "Najin", ""),
             ("G-3", ANGARA, "2024-04-01T23:00Z", "2024-04-05T00:00Z", 1, "", "Najin", ""),
             ("G-4", ANGARA, "2024-04-10T00:00Z", "2024-04-11T00:00Z", 1, "", "Vostochny", ""))
    r = _evaluate(c, dark_periods=g)
    assert (r.observed, r.evidence_ids) == (1, ("G-1",))
    c2 = claim("dark_periods", ports=(), imo=[ANGARA_IMO], at_least=1, start="2024-04-02",
               end="2024-04-14")
    assert _evaluate(c2, dark_periods=g).observed == 3


def test_claims_table_has_the_contract_columns_in_order():
    c = claim(imo=[ANGARA_IMO], at_least=1)
    ev = evaluate([c, claim(id="second", at_least=2)],
                         round_trips=trips(_trip(0, ANGARA, "2023-09-01T00:00Z")), statics=IDS)
    assert tuple(ev.table.columns[:len(CLAIM_COLUMNS)]) == CLAIM_COLUMNS
    first = ev.table.iloc[0]
    assert (first["window_start"], first["window_end"], first["ports"]) == \
        ("2023-08-15", "2023-10-14", "Najin;Dunay")
    assert (first["expected"], first["observed"], first["verdict"]) == (1, 1, "supported")
    assert first["evidence"] == "T-0"
    assert ev.verdicts == {"test-round_trips": "supported", "second": "not_observed"}


def test_empty_tables_and_no_claims():
    ev = evaluate([])
    assert len(ev.table) == 0 and tuple(ev.table.columns[:10]) == CLAIM_COLUMNS
    r = evaluate([claim(at_least=1)]).results[0]
    assert (r.observed, r.inferred, r.verdict) == (0, 0, "not_observed")


def test_claim_params_are_validated():
    with pytest.raises(ConfigError):
        ClaimParams(gap_hours=0)
    with pytest.raises(ConfigError):
        ClaimParams(reception_radius_nm=float("nan"))
    with pytest.raises(TypeError):
        ClaimParams(6.0)


def test_claim_params_are_the_runs_dark_period_thresholds(tmp_path):
    from shadowfleet.config import Settings, load_config

    path = tmp_path / "run.toml"
    path.write_text("gap_hours = 12\nreception_radius_nm = 35\n", encoding="utf-8")
    params = ClaimParams.of(load_config(path))
    assert (params.gap_hours, params.reception_radius_nm) == (12.0, 35.0)
    assert ClaimParams.of(Settings.defaults()) == ClaimParams()


def test_the_registry_and_thresholds_are_required():
    from shadowfleet.claims import evaluate_claims

    with pytest.raises(TypeError):
        evaluate_claims([claim(at_least=1)])                      # noqa: the point of the test
    with pytest.raises(TypeError, match="port registry"):
        evaluate_claims([claim(at_least=1)], registry=None, params=ClaimParams())


class _Registry:
    """A registry stub that knows Rajin as another spelling of Najin."""

    names = ("Najin", "Dunay")

    def index(self, name):
        key = name.lower().replace(" ", "")
        return {"najin": 0, "rajin": 0, "dunay": 1, "dunai": 1}[key]


def test_registry_spellings_are_used_for_counting_and_unknown_ports_fail():
    from shadowfleet.errors import ClaimsError

    c = claim(ports=("Rajin", "Dunai"), imo=[ANGARA_IMO], at_least=1)
    r = evaluate([c], round_trips=trips(_trip(0, ANGARA, "2023-09-01T00:00Z")),
                        statics=IDS, registry_=_Registry()).results[0]
    assert (r.observed, r.verdict) == (1, "supported")
    assert r.claim.ports == ("Rajin", "Dunai")  # reported as the source wrote them
    with pytest.raises(ClaimsError, match="port 'Vostochny' is not in the port registry"):
        evaluate([claim(ports=("Najin", "Vostochny"))], registry_=_Registry())


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=30, deadline=None)
@given(offsets=st.lists(st.integers(min_value=-3 * 86400, max_value=65 * 86400), max_size=12),
       statuses=st.lists(st.booleans(), min_size=12, max_size=12),
       at_least=st.integers(min_value=1, max_value=8), seed=st.integers(0, 2**16))
def test_counts_match_a_plain_count_and_do_not_depend_on_row_order(offsets, statuses, at_least,
                                                                  seed):
    import pandas as pd

    c = claim(imo=[ANGARA_IMO], at_least=at_least)
    lo, hi = c.window.start_utc, c.window.end_utc
    rows, expected = [], {"observed": 0, "inferred": 0}
    for i, off in enumerate(offsets):
        depart = lo + pd.Timedelta(seconds=off)
        status = "inferred" if statuses[i] else "observed"
        rows.append(_trip(i, ANGARA, depart.isoformat(), status=status))
        if lo <= depart <= hi:
            expected[status] += 1
    table = trips(*rows)
    r = _evaluate(c, round_trips=table)
    assert (r.observed, r.inferred) == (expected["observed"], expected["inferred"])
    assert r.verdict == decide(r.observed, r.inferred, at_least, named=True, all_covered=False)
    assert r.evidence["start_utc"].between(lo, hi).all()
    shuffled = table.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    r2 = _evaluate(c, round_trips=shuffled)
    assert (r2.observed, r2.inferred, r2.evidence_ids) == (r.observed, r.inferred, r.evidence_ids)


def test_dark_periods_near_a_port_within_radius_use_the_registry():
    from ports import load_ports

    registry = load_ports()
    c = claim("dark_periods", ports=(), imo=[ANGARA_IMO], at_least=1, start="2023-09-01",
              end="2023-09-30", near="Najin", radius_nm=20.0)
    g = gaps(("G-near", ANGARA, "2023-09-02T00:00Z", "2023-09-03T00:00Z", 1, ""),
             ("G-far", ANGARA, "2023-09-05T00:00Z", "2023-09-06T00:00Z", 1, ""))
    # ~11.8 nm and ~27.3 nm east of the Najin polygon
    g.loc[0, ["start_lat", "start_lon", "end_lat", "end_lon"]] = [42.235, 130.60, 42.5, 131.5]
    g.loc[1, ["start_lat", "start_lon", "end_lat", "end_lon"]] = [42.235, 130.95, 42.5, 131.5]
    r = evaluate([c], dark_periods=g, statics=IDS, registry_=registry).results[0]
    assert (r.observed, r.evidence_ids, r.verdict) == (1, ("G-near",), "supported")
    assert r.evidence["note"].iloc[0] == "11.8 nm from Najin"
