"""``port_calls`` claims count one call per stay (DESIGN.md, "Claims file"): consecutive
visits at the same port with no call elsewhere between are one call; possible calls
count as inferred, and one next to a visit at the same port is part of that call."""

import pandas as pd
from hypothesis import given, settings, strategies as st

from tests.claims_tables import ANGARA, ANGARA_IMO, MARIA, claim, evaluate, gaps, possible, visits


def _najin_calls(at_least=1, start="2023-09-01", end="2023-09-30", **kw):
    return claim("port_calls", ports=("Najin",), imo=[ANGARA_IMO], at_least=at_least,
                 start=start, end=end, **kw)


def _run(c, **tables):
    from tests.test_claims_evaluate import IDS

    return evaluate([c], statics=IDS, **tables).results[0]


def test_one_berth_stay_split_by_a_gap_is_one_call():
    v = visits(("V-1", ANGARA, "Najin", "2023-09-02T00:00Z", "2023-09-02T10:00Z"),
               ("V-2", ANGARA, "Najin", "2023-09-02T20:00Z", "2023-09-03T06:00Z"))
    g = gaps(("G-1", ANGARA, "2023-09-02T10:00Z", "2023-09-02T20:00Z", 3, "", "Najin", "Najin"))
    r = _run(_najin_calls(at_least=2), visits=v, dark_periods=g)
    assert (r.observed, r.inferred, r.verdict) == (1, 0, "not_observed")
    assert r.evidence_ids == ("V-1", "V-2")
    assert r.evidence["note"].iloc[0] == "one stay: 2 visits with no call elsewhere between"
    # the same two visits with a call at Dunay between them are two calls
    v3 = visits(("V-1", ANGARA, "Najin", "2023-09-02T00:00Z", "2023-09-02T10:00Z"),
                ("V-9", ANGARA, "Dunay", "2023-09-02T14:00Z", "2023-09-02T16:00Z"),
                ("V-2", ANGARA, "Najin", "2023-09-02T20:00Z", "2023-09-03T06:00Z"))
    r3 = _run(_najin_calls(at_least=2), visits=v3)
    assert (r3.observed, r3.verdict) == (2, "supported")


def test_a_stay_counts_once_when_any_of_its_visits_meets_the_window():
    v = visits(("V-1", ANGARA, "Najin", "2023-08-30T00:00Z", "2023-08-31T10:00Z"),
               ("V-2", ANGARA, "Najin", "2023-08-31T20:00Z", "2023-09-01T06:00Z"),
               ("V-3", ANGARA, "Najin", "2023-09-01T12:00Z", "2023-09-01T18:00Z"))
    r = _run(_najin_calls(), visits=v)
    assert (r.observed, r.evidence_ids) == (1, ("V-1", "V-2", "V-3"))
    assert str(r.evidence["start_utc"].iloc[0]) == "2023-08-30 00:00:00+00:00"
    outside = _run(_najin_calls(start="2023-09-02", end="2023-09-05"), visits=v)
    assert (outside.observed, outside.inferred) == (0, 0)


def test_possible_calls_count_as_inferred_unless_next_to_a_call_at_the_port():
    v = visits(("V-1", ANGARA, "Dunay", "2023-09-02T00:00Z", "2023-09-02T10:00Z"),
               ("V-2", ANGARA, "Dunay", "2023-09-06T00:00Z", "2023-09-06T10:00Z"),
               ("V-3", ANGARA, "Najin", "2023-09-10T00:00Z", "2023-09-10T10:00Z"),
               ("V-4", ANGARA, "Dunay", "2023-09-14T00:00Z", "2023-09-14T10:00Z"))
    g = gaps(("G-1", ANGARA, "2023-09-03T00:00Z", "2023-09-05T00:00Z", 3, "Najin;Posyet"),
             ("G-2", ANGARA, "2023-09-10T12:00Z", "2023-09-12T00:00Z", 3, "Najin"))
    pc = possible(("P-1", ANGARA, "Najin", "G-1", "2023-09-03T00:00Z", "2023-09-05T00:00Z",
                   "Dunay|Najin"))
    r = _run(_najin_calls(at_least=3), visits=v, dark_periods=g, possible_calls=pc)
    # G-1 between two Dunay calls: a possible Najin call (listed once, though both the
    # pair's chain and the dark period name it); G-2 right after the Najin call V-3 would
    # be the same stay
    assert (r.observed, r.inferred, r.verdict) == (1, 1, "not_observed")
    assert r.evidence_ids == ("G-1", "V-3")
    assert list(r.evidence["evidence_id"]) == ["P-1", "V-3"]


def test_possible_calls_of_one_stay_count_once_and_vessels_add_up():
    v = visits(("V-1", ANGARA, "Dunay", "2023-09-02T00:00Z", "2023-09-02T10:00Z"),
               ("V-2", ANGARA, "Dunay", "2023-09-09T00:00Z", "2023-09-09T10:00Z"),
               ("V-5", MARIA, "Najin", "2023-09-04T00:00Z", "2023-09-04T10:00Z"))
    g = gaps(("G-1", ANGARA, "2023-09-03T00:00Z", "2023-09-05T00:00Z", 3, "Najin"),
             ("G-2", ANGARA, "2023-09-05T08:00Z", "2023-09-08T00:00Z", 3, "Najin"))
    c = claim("port_calls", ports=("Najin",), mmsi=[ANGARA, MARIA], at_least=3,
              start="2023-09-01", end="2023-09-30")
    r = _run(c, visits=v, dark_periods=g)
    assert (r.observed, r.inferred, r.verdict) == (1, 1, "not_observed")
    assert r.evidence_ids == ("G-1", "G-2", "V-5")


@settings(max_examples=60, deadline=None)
@given(ports=st.lists(st.sampled_from(["Najin", "Dunay", "Posyet"]), max_size=12))
def test_observed_calls_are_the_runs_of_the_port_in_the_visit_sequence(ports):
    """Reference: the number of maximal runs of Najin in the vessel's visit sequence."""
    t0 = pd.Timestamp("2023-09-01T00:00Z")
    rows = [(f"V-{i}", ANGARA, p, (t0 + pd.Timedelta(hours=12 * i)).isoformat(),
             (t0 + pd.Timedelta(hours=12 * i + 6)).isoformat()) for i, p in enumerate(ports)]
    runs = sum(1 for i, p in enumerate(ports) if p == "Najin" and (i == 0 or ports[i - 1] != p))
    r = _run(_najin_calls(), visits=visits(*rows))
    assert (r.observed, r.inferred) == (runs, 0)
    shuffled = visits(*rows).sample(frac=1.0, random_state=1).reset_index(drop=True)
    assert _run(_najin_calls(), visits=shuffled).evidence_ids == r.evidence_ids
