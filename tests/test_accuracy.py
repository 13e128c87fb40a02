"""The detectors against what the simulated ships did, over 10 seeds of
``najin-dunay-2023`` and 5 of ``control`` (``tools/accuracy.py`` prints the per-seed
table). Each seed is simulated once (the frames ``ais`` decodes from the feed, without
encoding it: ``test_simulate`` checks they are equal) and analysed with the pair of
interest Najin-Dunay.

Rules where the truth and a correct run differ by definition, stated here rather than
loosened: inference happens only for the pairs of interest (DESIGN.md), so a call unseen
by every station outside a pair of interest is not inferred, and the greedy pairing of
that ship's other trips may shift: those true trips are ``not_found`` and the run
reports others (``reported_not_made``) — the truth's ``expected_round_trips`` say
which, and the run must report exactly those. A transmitter switch-off's dark period
counts as own messages the static reports heard between the last position and the
switch-off or between the switch-on and the next position (DESIGN.md counts every
message while the dark period lasts), and no others.

Identity (issue 17): every scenario plants a shared MMSI (a clone of a liner shuttling
Najin <-> Posyet), a rename with a new IMO and an invalid MMSI
(``shadowfleet.simulator.identity``); the run must say each and nothing else, and the
clone must not break the liner's round trips: each hull's events are on a track of their
own.
"""

from __future__ import annotations

import numpy as np
import pytest

from tools.accuracy import PAIRS, claim_checks, expected_verdicts, run

SEEDS = [("najin-dunay-2023", s) for s in range(1, 11)] + [("control", s) for s in range(1, 6)]
INTEREST = {"|".join(sorted(p)) for p in PAIRS}


@pytest.fixture(scope="module", params=SEEDS, ids=[f"{a}-{s}" for a, s in SEEDS])
def seed_sim(request):
    sim, truth, result, acc = run(*request.param)
    print(acc.row())
    return sim, truth, result, acc


@pytest.fixture(scope="module")
def seed_run(seed_sim):
    return seed_sim[1:]


def test_each_true_round_trip_found_once_none_invented(seed_run):
    truth, result, acc = seed_run
    assert acc.missed == [] and acc.invented_trips == []
    found = sum(acc.true_found[(e, e)] for e in ("observed", "inferred"))
    assert found == acc.true_trips - acc.true_expected["not_found"]
    assert sum(acc.true_found.values()) == found           # never with the other status
    # the stated rule: only trips of pairs that are not of interest can go unfound
    assert all(t["pair"] not in INTEREST for t in truth["round_trips"]
               if t["expected"] == "not_found")
    assert all(t["pair"] not in INTEREST for t in truth["expected_round_trips"]
               if not t["happened"])
    # every trip listed once: ids unique, no two trips of one pair share a leg
    assert result.round_trips["trip_id"].is_unique


def test_every_call_made_while_dark_is_covered_by_a_possible_call(seed_run):
    truth, result, acc = seed_run
    assert acc.uncovered_dark_calls == []
    dark = [c for c in truth["calls"] if c["dark"]]
    assert acc.dark_calls >= len(dark)
    if truth["scenario"] == "najin-dunay-2023":
        assert dark and len(result.possible_calls) >= len(
            [t for t in truth["round_trips"] if t["expected"] == "inferred"]) // 2


def test_no_invented_calls(seed_run):
    _, _, acc = seed_run
    assert acc.invented_calls == [] and acc.invented_possible_calls == []


def test_positions_withheld_is_told_from_switching_off(seed_run):
    _, _, acc = seed_run
    assert acc.withheld_without_own_messages == []
    assert acc.off_own_messages_wrong == []


def test_inferred_trips_only_where_ships_went_dark(seed_run):
    """control: every ship broadcasts throughout, so no inferred trip and no possible
    call; najin-dunay-2023: the shuttles' dark Najin calls give inferred trips."""
    truth, result, acc = seed_run
    inferred = result.round_trips["status"] == "inferred"
    if truth["scenario"] == "control":
        assert not inferred.any() and result.possible_calls.empty and acc.dark_calls == 0
        assert acc.true_found[("observed", "observed")] == acc.true_trips > 50
    else:
        assert inferred.sum() == acc.true_found[("inferred", "inferred")] >= 4
        shuttles = {v["mmsi"] for v in truth["vessels"] if v["role"] == "shuttle"}
        assert set(result.round_trips.loc[inferred, "mmsi"]) <= shuttles


def test_the_scenarios_premises_hold(seed_run):
    """The truth's expected inferences assume a silent call's port is reachable: the
    voyages to and from every dark call slower than reach_speed_kn, the call longer
    than min_dwell_minutes."""
    truth, _, _ = seed_run
    d = truth["definitions"]
    ends = {(v["mmsi"], v["arrival_utc"]): v for v in truth["voyages"]}
    starts = {(v["mmsi"], v["departure_utc"]): v for v in truth["voyages"]}
    for c in (c for c in truth["calls"] if c["dark"]):
        assert c["hours"] * 60 > d["min_dwell_minutes"]
        for v in (ends[(c["mmsi"], c["arrival_utc"])], starts[(c["mmsi"], c["departure_utc"])]):
            assert v["max_speed_kn"] < d["reach_speed_kn"], (c, v)


def test_claims_about_the_shuttles_get_the_verdicts_the_truth_implies(seed_sim):
    """Per shuttle, a claim of exactly the round trips it made over the days it was
    received, and a claim of one more: the run counts what a correct run reports
    (observed and inferred, from the truth), and the verdicts follow DESIGN.md. In
    ``control`` every shuttle was received throughout, so one trip more than it made is
    ``contradicted``; in ``najin-dunay-2023`` the shuttles' silences leave room
    (``not_observed``)."""
    sim, truth, result, _ = seed_sim
    from ports import load_ports

    rows = claim_checks(sim, truth, result, load_ports())
    assert len(rows) == 2
    for r in rows:
        print(r)
        assert (r["observed"], r["inferred"]) == (r["expect_obs"], r["expect_inf"]), r
        assert r["observed"] + r["inferred"] == r["claimed"], r
        assert (r["verdict"], r["verdict_plus_one"]) == expected_verdicts(r), r
        if truth["scenario"] == "control":
            assert r["received_throughout"] and r["verdict_plus_one"] == "contradicted", r
        else:
            assert r["verdict_plus_one"] == "not_observed", r


# ---- behaviour at sea: encounters, loitering, unlisted stops --------------------------

def test_behaviour_at_sea_is_found_as_the_truth_says_and_no_lookalike_fires(seed_run):
    """Every meeting, loitering and place a correct run reports given what the stations
    heard is found; every encounter, loitering and stop found is something the ships did;
    none is a look-alike (ships passing at speed, moored in one port, anchored inside a
    port polygon, stopped near a port)."""
    _, _, acc = seed_run
    b = acc.behaviour
    for name in ("encounters", "loitering", "stops"):
        kind = getattr(b, name)
        assert kind.missed == [], (name, kind.missed[:3])
        assert kind.false == [], (name, kind.false[:3])
        assert kind.found == kind.expected and kind.true == kind.detected
    assert b.lookalikes_fired == []
    assert b.loitering.expected >= 15 and b.stops.expected >= 4


def test_the_behaviour_scenarios_premises_hold(seed_run):
    """What the behaviour truth assumes: its places keep their margin from the 5 nm line
    in the bundled registry too (the simulated world's boxes are the registry's), the
    transfers happen as planted (in plain sight at R1, with the shuttle dark at R2, none
    in control), and every look-alike is there to be tested."""
    truth, result, _ = seed_run
    beh = truth["behaviour"]
    registry = result.registry
    for place in beh["stops"]:
        _, d = registry.nearest([place["lat"]], [place["lon"]])
        # the registry has more ports than the simulated world: the same side of the line
        assert (float(d[0]) >= 5.0) == (place["port_distance_nm"] >= 5.0), place
        assert abs(float(d[0]) - 5.0) > 1.5 and abs(place["port_distance_nm"] - 5.0) > 1.5
    shuttles = {v["mmsi"] for v in truth["vessels"] if v["role"] == "shuttle"}
    meetings = {m["place"]: m for m in beh["meetings"]}
    if truth["scenario"] == "control":
        assert meetings == {} and result.encounters.empty
    else:
        r1, r2 = meetings["rendezvous R1"], meetings["rendezvous R2"]
        assert r1["dark"] == [] and r1["hours"] >= 6 and r1["distance_m"] < 100
        assert r2["dark"] and set(r2["dark"]) <= shuttles and not r2["expected"]
        # all the run's encounters are the meeting at R1, none at R2
        assert len(result.encounters) <= 1
        assert sorted(result.encounters[["mmsi_1", "mmsi_2"]].values.ravel()) in ([], r1["vessels"])
    looks = beh["lookalikes"]
    passers = sorted(v["mmsi"] for v in truth["vessels"] if v["role"] == "passer")
    passes = [x for x in looks if x["kind"] == "passing" and x["vessels"] == passers]
    assert len(passes) >= 10 and all(x["min_distance_m"] < 500 for x in passes)
    assert all(min(x["speeds_kn"]) > 8 for x in passes)
    assert sum(x["kind"] == "anchored_in_port" for x in looks) >= 5
    assert sum(x["kind"] == "moored_in_port" for x in looks) >= 5
    near = {x["place"] for x in looks if x["kind"] == "near_port"}
    assert "Novik pier" in near
    assert {p["place"] for p in beh["stops"] if p["expected"]} >= {"Novik pier",
                                                                   "fishing ground V1"}


# ---- identity ------------------------------------------------------------------------

def test_every_planted_identity_anomaly_is_found_and_none_invented(seed_run):
    truth, result, acc = seed_run
    assert len(acc.identity_planted) == truth["identity"]["planted"] == 4
    assert acc.identity_missed == [] and acc.identity_invented == []
    kinds = sorted(p["kind"] for p in acc.identity_planted)
    assert kinds == ["identity_change", "identity_change", "invalid_mmsi", "shared_mmsi"]


def test_each_hull_of_the_shared_mmsi_is_a_track_of_its_own(seed_run):
    """The clone's calls (Najin, Posyet) and the liner's (Nakhodka, Vostochny) are on two
    tracks, and so are their round trips: the clone's fixes made no call or trip of the
    liner's (their expected trips are all found once, test above)."""
    truth, result, _ = seed_run
    (shared,) = truth["identity"]["shared_mmsi"]
    mmsi = shared["mmsi"]
    visits = result.port_visits[result.port_visits["mmsi"] == mmsi]
    clone = set(visits.loc[visits["port"].isin(["Najin", "Posyet"]), "track"])
    liner = set(visits.loc[visits["port"].isin(["Nakhodka", "Vostochny"]), "track"])
    assert len(clone) == len(liner) == 1 and clone != liner
    trips = result.round_trips[result.round_trips["mmsi"] == mmsi]
    for track, ports in ((clone, {"Najin", "Posyet"}), (liner, {"Nakhodka", "Vostochny"})):
        mine = trips[trips["track"].isin(track)]
        assert len(mine) > 3 and set(mine["origin"]) | set(mine["destination"]) == ports
    expected = [t for t in truth["expected_round_trips"] if t["mmsi"] == mmsi]
    assert len(trips) == len(expected)


def test_without_the_track_split_the_clone_breaks_the_liners_round_trips(monkeypatch):
    """What the split is for: the same seed with every row on track 0 misses and invents
    round trips of the shared MMSI."""
    import detectors.identity_tracks as it

    def no_split(positions, params=it.TrackParams(), *, imos=None):
        return it.TrackSplit(np.zeros(len(positions), dtype=np.int64),
                             it.identity_frame([]), it.empty_tracks())

    monkeypatch.setattr(it, "split_tracks", no_split)
    _, truth, result, acc = run("najin-dunay-2023", 1)
    (shared,) = truth["identity"]["shared_mmsi"]
    wrong = [t for t in acc.missed + acc.invented_trips if int(t["mmsi"]) == shared["mmsi"]]
    assert wrong and len(result.jumps) > 100
