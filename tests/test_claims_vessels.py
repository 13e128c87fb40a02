"""A claim's vessels resolved through the statics over the window: by IMO, MMSI and
normalised name; identity conflicts reported, never merged."""

from shadowfleet.claims.vessels import resolve_vessels
from tests.claims_tables import (ANGARA, ANGARA_IMO, MARIA, MARIA_IMO, OTHER, claim, evaluate,
                                 positions, statics, track, trips)


def test_imo_resolves_through_statics_in_the_window_and_ignores_namesakes():
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                 (OTHER, "2023-09-01T00:00Z", 9124043, "ANGARA"))   # the other ANGARA
    (m,), conflicts = resolve_vessels(claim(imo=[ANGARA_IMO]), st)
    assert (m.mmsis, m.by, m.weak, m.outside_window, m.label) == ((ANGARA,), "imo", False, False,
                                                                  "ANGARA")
    assert conflicts == []


def test_statics_outside_the_window_are_a_flagged_fallback():
    st = statics((ANGARA, "2023-07-01T00:00Z", ANGARA_IMO, "ANGARA"))
    (m,), _ = resolve_vessels(claim(imo=[ANGARA_IMO]), st)
    assert m.mmsis == (ANGARA,) and m.outside_window
    assert "outside the window" in m.describe()


def test_names_match_after_normalising_case_spaces_punctuation_and_padding():
    st = statics((MARIA, "2023-09-01T00:00Z", None, "MAIA-1@@@@@@@@@@@@@@"),
                 (OTHER, "2023-09-01T00:00Z", None, "MAIA 2"))
    (m,), _ = resolve_vessels(claim(names=["maia 1"]), st)
    assert m.mmsis == (MARIA,) and m.weak and "weak" in m.describe()


def test_an_mmsi_with_two_imos_or_names_in_the_window_is_reported_not_merged():
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                 (ANGARA, "2023-09-01T00:06Z", ANGARA_IMO, "ANGARA"),
                 (ANGARA, "2023-09-02T00:00Z", 9999996, "SPARTA"),
                 (ANGARA, "2023-09-02T00:06Z", 9999996, "SPARTA"),
                 (ANGARA, "2023-12-01T00:00Z", 9999996, "OUTSIDE WINDOW"))
    c = claim(imo=[ANGARA_IMO], at_least=1, start="2023-09-01", end="2023-09-30")
    (m,), conflicts = resolve_vessels(c, st)
    assert m.mmsis == (ANGARA,)
    (conflict,) = conflicts
    assert (conflict.mmsi, conflict.imos, conflict.names) == (ANGARA, (9179842, 9999996),
                                                              ("ANGARA", "SPARTA"))
    # the track is received throughout, but an MMSI with two identities cannot rule out the
    # named ship: not contradicted
    pos = positions(track(ANGARA, "2023-08-31T00:00Z", "2023-10-02T00:00Z"))
    r = evaluate([c], statics=st, positions=pos).results[0]
    assert r.verdict == "not_observed"
    assert "identity uncertain" in r.coverages[0].reason
    assert any(x.startswith("Identity: MMSI 273000001 broadcast IMO 9179842 and 9999996")
               for x in r.caveats)
    assert "not merged" in r.conflicts[0].describe()
    # the two changes are identity anomalies in the window: in the evidence and caveats
    changes = r.identity[r.identity["kind"] == "identity_change"]
    assert sorted(changes["field"]) == ["imo", "name"]
    assert set(changes["identity_id"]) <= set(r.evidence_ids)
    assert set(conflict.identity_ids) == set(changes["identity_id"])
    assert any(x.startswith(f"Identity anomaly {i} (identity_change)") for x in r.caveats
               for i in changes["identity_id"])


def test_a_single_garbled_imo_report_links_no_mmsi():
    """One report of the claimed IMO among an MMSI's reports of another is noise (the
    identity detector's rule), not the named ship on that MMSI."""
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                 (ANGARA, "2023-09-01T00:06Z", ANGARA_IMO, "ANGARA"),
                 (OTHER, "2023-09-03T00:00Z", 9124043, "OTHER"),
                 (OTHER, "2023-09-03T00:06Z", ANGARA_IMO, "OTHER"),     # a bit error
                 (OTHER, "2023-09-03T00:12Z", 9124043, "OTHER"))
    (m,), conflicts = resolve_vessels(claim(imo=[ANGARA_IMO]), st)
    assert m.mmsis == (ANGARA,) and not m.outside_window and conflicts == []


def test_a_ship_renumbered_to_a_new_mmsi_is_followed_through_both():
    """A re-flagged ship: its IMO on MMSI A until 10 September, then on MMSI B; a claim
    over the whole month names both, and the trips of both count."""
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                 (ANGARA, "2023-09-10T00:00Z", ANGARA_IMO, "ANGARA"),
                 (OTHER, "2023-09-10T06:00Z", ANGARA_IMO, "ANGARA"),
                 (OTHER, "2023-09-28T00:00Z", ANGARA_IMO, "ANGARA"))
    early = claim(imo=[ANGARA_IMO], start="2023-09-01", end="2023-09-05")
    month = claim(imo=[ANGARA_IMO], start="2023-09-01", end="2023-09-30", at_least=2)
    assert resolve_vessels(early, st)[0][0].mmsis == (ANGARA,)
    (m,), conflicts = resolve_vessels(month, st)
    assert m.mmsis == (ANGARA, OTHER) and conflicts == []     # a hand-over, not a conflict
    t = trips(("T-1", ANGARA, "Najin", "Dunay", "2023-09-02T00:00Z", None, "observed",
               ("V-1", "V-2", "V-3")),
              ("T-2", OTHER, "Najin", "Dunay", "2023-09-20T00:00Z", None, "observed",
               ("V-4", "V-5", "V-6")))
    r = evaluate([month], statics=st, round_trips=t).results[0]
    assert (r.observed, r.verdict) == (2, "supported")


def test_one_imo_on_two_mmsis_adds_both_tracks():
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                 (OTHER, "2023-09-20T00:00Z", ANGARA_IMO, "ANGARA"))
    c = claim(imo=[ANGARA_IMO], at_least=2)
    t = trips(("T-1", ANGARA, "Najin", "Dunay", "2023-09-02T00:00Z", None, "observed",
               ("V-1", "V-2", "V-3")),
              ("T-2", OTHER, "Dunay", "Najin", "2023-09-21T00:00Z", None, "observed",
               ("V-4", "V-5", "V-6")))
    r = evaluate([c], statics=st, round_trips=t).results[0]
    assert r.matches[0].mmsis == (ANGARA, OTHER)
    assert (r.observed, r.verdict) == (2, "supported")
    assert any("resolved to 2 MMSIs" in x for x in r.caveats)


def test_a_vessel_named_by_mmsi_needs_no_statics():
    c = claim(mmsi=[MARIA], at_least=1)
    (m,), _ = resolve_vessels(c, None)
    assert m.mmsis == (MARIA,) and m.by == "mmsi"


def test_contradicted_needs_every_named_vessel_covered():
    c = claim(imo=[ANGARA_IMO, MARIA_IMO], at_least=1, start="2023-09-01", end="2023-09-10")
    st = statics((ANGARA, "2023-09-01T00:00Z", ANGARA_IMO, "ANGARA"),
                 (MARIA, "2023-09-01T00:00Z", MARIA_IMO, "MARIA"))
    covered = track(ANGARA, "2023-08-31T00:00Z", "2023-09-12T00:00Z")
    partial = track(MARIA, "2023-08-31T00:00Z", "2023-09-05T00:00Z")
    r = evaluate([c], statics=st, positions=positions(covered, partial)).results[0]
    assert [cv.throughout for cv in r.coverages] == [True, False]
    assert r.verdict == "not_observed"
    full = track(MARIA, "2023-08-31T00:00Z", "2023-09-12T00:00Z")
    r2 = evaluate([c], statics=st, positions=positions(covered, full)).results[0]
    assert r2.verdict == "contradicted"
    assert "fewer than the claimed 1" in r2.sentence
