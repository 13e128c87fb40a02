"""The truth builder on hand-made tracks: what the ships did (calls, their reception,
silences, voyages) and the round trips derived from it, one DESIGN.md case each."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from shadowfleet.simulator.tracks import POSITIONS_WITHHELD, TRANSMITTER_OFF, Track
from shadowfleet.simulator.truth import build_truth
from shadowfleet.simulator.vessels import Vessel

T0 = pd.Timestamp("2023-09-01T00:00:00Z").value / 1e9
H = 3600.0
BERTH = {"N": (42.236, 130.300), "D": (42.884, 132.345), "V": (43.110, 131.885),
         "K": (42.805, 132.890)}
PORT = {"N": "Najin", "D": "Dunay", "V": "Vladivostok", "K": "Nakhodka"}
SEA = (42.50, 131.25)


def voyage(seq: str, *, unseen=(), silent=(), withheld=(), stay_h=12.0):
    """A track calling at the ports of ``seq`` (one letter each, "S" a stay at sea),
    and the times of its received position reports (one an hour while in port, none
    at sea): ``unseen`` call indices get none, ``silent`` / ``withheld`` ones are inside
    a silence of that kind (and get none either)."""
    track = Track(start=T0)
    sent = []
    quiet = []
    for k, c in enumerate(seq):
        if k:
            last = track.parts[-1]
            to = SEA if c == "S" else BERTH[c]
            track.sail(np.array([[last.lat, last.lon], list(to)]), 11.0)
        where = SEA if c == "S" else BERTH[c]
        stay = track.stay("" if c == "S" else PORT[c], where, stay_h)
        if k in silent or k in withheld:
            quiet.append((stay.t0 - H, stay.t1 + H,
                          TRANSMITTER_OFF if k in silent else POSITIONS_WITHHELD))
        elif k not in unseen and c != "S":
            sent.extend(np.arange(stay.t0 + 60, stay.t1, H))
    for a, b, kind in quiet:
        track.silence(a, b, kind)
    return track, np.asarray(sent)


def sim_of(*vessels):
    """A Simulation-like object: the tracks and the received reports' send times."""
    rows, out = [], []
    for mmsi, (track, sent) in enumerate(vessels, start=1):
        out.append(Vessel(mmsi, f"V{mmsi}", 0, "", 70, 100, 20, 6.0, "", "A", "test", track))
        rows.append(pd.DataFrame({"mmsi": mmsi, "sent_s": sent, "lat": 42.0, "lon": 131.0,
                                  "timestamp": pd.to_datetime(np.round(sent), unit="s", utc=True)}))
    rec = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return types.SimpleNamespace(received=rec, vessels=out, scenario="test", seed=0, lines=[],
                                 header_lines=0, corrupt=[], outages=())


def truth_of(*vessels, pairs=(("Dunay", "Najin"),)):
    return build_truth(sim_of(*vessels), pairs=pairs)


def trips(rows, key="expected"):
    return [(t["origin"], t["destination"], t[key]) for t in rows]


def test_calls_are_port_stays_with_their_reception_and_silence():
    track, sent = voyage("NSDVN", unseen={2}, silent={3})
    t = truth_of((track, sent))
    calls = t["calls"]
    assert [c["port"] for c in calls] == ["Najin", "Dunay", "Vladivostok", "Najin"]
    assert [c["reports_received"] for c in calls] == [12, 0, 0, 12]
    assert [c["received"] for c in calls] == [True, False, False, True]
    assert [c["silence"] for c in calls] == ["", "", TRANSMITTER_OFF, ""]
    assert [c["dark"] for c in calls] == [False, False, True, False]
    assert calls[0]["first_received_utc"] == "2023-09-01T00:01:00Z"
    assert calls[0]["arrival_utc"] == "2023-09-01T00:00:00Z" and calls[0]["hours"] == 12.0
    assert [(v["origin"], v["destination"]) for v in t["voyages"]] == [("", ""), ("", ""),
                                                                     ("", ""), ("", "")]
    assert t["silences"][0]["kind"] == TRANSMITTER_OFF and t["silences"][0]["hours"] == 14.0


def test_a_silence_over_part_of_a_call_is_partly():
    track, sent = voyage("ND")
    stay = track.stays()[1]
    track.silence(stay.t0 + H, stay.t0 + 2 * H, POSITIONS_WITHHELD)
    assert [c["silence"] for c in truth_of((track, sent))["calls"]] == ["", "partly"]


def test_greedy_pairing_n_d_n_d_n_d_gives_two_trips_and_an_open_leg():
    t = truth_of(voyage("NDNDND"))
    assert trips(t["round_trips"]) == [("Najin", "Dunay", "observed")] * 2
    assert len(t["legs"]) == 5
    assert t["expected_round_trips"] == [dict(e, happened=True) for e in t["expected_round_trips"]]


def test_a_triangle_is_no_round_trip():
    t = truth_of(voyage("NDVN"))
    assert t["round_trips"] == [] and t["expected_round_trips"] == []
    assert [(x["origin"], x["destination"]) for x in t["legs"]] == \
        [("Najin", "Dunay"), ("Dunay", "Vladivostok"), ("Vladivostok", "Najin")]


def test_design_example_a_dark_najin_call_gives_two_inferred_trips():
    """Calls N, D, [N, dark], D, N: two round trips, N->D->N* and N*->D->N, both to be
    inferred (DESIGN.md "Each leg is counted once")."""
    t = truth_of(voyage("NDNDN", silent={2}))
    assert trips(t["round_trips"]) == [("Najin", "Dunay", "inferred")] * 2
    assert [e["status"] for e in t["expected_round_trips"]] == ["inferred", "inferred"]
    assert all(e["happened"] for e in t["expected_round_trips"])
    assert t["round_trips"][0]["dark_calls"] == ["1-C2"]
    assert t["round_trips"][0]["calls"] == ["1-C0", "1-C1", "1-C1", "1-C2"]
    legs = t["expected_legs"]
    assert [x["status"] for x in legs] == ["observed", "inferred", "inferred", "observed"]


def test_a_positions_withheld_call_is_inferred_like_a_switched_off_one():
    t = truth_of(voyage("DND", withheld={1}))
    assert trips(t["round_trips"]) == [("Dunay", "Najin", "inferred")]
    assert t["calls"][1]["silence"] == POSITIONS_WITHHELD and t["calls"][1]["dark"]


def test_a_call_unseen_outside_the_pairs_of_interest_is_not_found():
    t = truth_of(voyage("DVD", unseen={1}))
    (trip,) = t["round_trips"]
    assert trip["expected"] == "not_found" and "plain chain" in trip["why"]
    assert t["expected_round_trips"] == []
    # for a pair of interest it is inferred
    t = truth_of(voyage("DVD", unseen={1}), pairs=[("Dunay", "Vladivostok")])
    assert trips(t["round_trips"]) == [("Dunay", "Vladivostok", "inferred")]


def test_an_unseen_call_shifts_the_pairing_of_another_pair():
    """V D [N dark] D V D V: the ship made D->N->D and D->V->D twice over; the pair
    {V, D} is not of interest, so its chain (V D D V D V) pairs V->D->V twice: trips a
    correct run reports that the ship did not make, and true trips it cannot find."""
    t = truth_of(voyage("VDNDVDV", silent={2}))
    assert trips(t["round_trips"]) == [("Dunay", "Najin", "inferred"),
                                       ("Dunay", "Vladivostok", "not_found")]
    reported = [(e["origin"], e["destination"], e["status"], e["happened"])
                for e in t["expected_round_trips"]]
    assert sorted(reported) == [("Dunay", "Najin", "inferred", True),
                                ("Vladivostok", "Dunay", "observed", False),
                                ("Vladivostok", "Dunay", "observed", False)]
    first = next(e for e in t["expected_round_trips"] if e["origin"] == "Vladivostok")
    assert first["calls"] == ["1-C0", "1-C1", "1-C3", "1-C4"]     # two Dunay calls
    assert t["counts"]["expected_round_trips_not_made"] == 2


def test_two_calls_unseen_in_a_row_one_possible_call_stands_for_the_first():
    t = truth_of(voyage("DNVD", unseen={1, 2}))
    assert t["round_trips"] == []
    (e,) = t["expected_round_trips"]
    assert (e["origin"], e["destination"], e["status"], e["happened"]) == \
        ("Dunay", "Najin", "inferred", False)


def test_vessel_with_no_calls():
    t = truth_of(voyage("SS"))
    assert t["calls"] == [] and t["round_trips"] == [] and t["legs"] == []


@pytest.mark.parametrize("kwargs", [dict(class_a_p_full=0.0), dict(class_b_p_full=1.5),
                                    dict(stationary_boost=0.5),
                                    dict(outages=(("NOWHERE", 0.0, 1.0),)),
                                    dict(outages=(("SIMRX-GMV", 5.0, 1.0),))],
                         ids=["zero-p", "p-over-1", "boost-below-1", "unknown-station",
                              "outage-ends-before-it-starts"])
def test_radio_params_are_validated(kwargs):
    from ais.errors import ConfigError
    from shadowfleet.simulator.radio import RadioParams

    with pytest.raises(ConfigError):
        RadioParams(**kwargs)


def test_silences_are_validated():
    with pytest.raises(ValueError):
        Track().silence(10.0, 5.0)
    with pytest.raises(ValueError):
        Track().silence(1.0, 5.0, "off")


@settings(max_examples=60, deadline=None)
@given(seq=st.text(alphabet="NDVK", min_size=1, max_size=12),
       hidden=st.sets(st.integers(0, 11), max_size=4))
def test_truth_properties_on_random_voyages(seq, hidden):
    """Every true trip pairs two consecutive true legs; no leg is in two expected trips of
    a pair; with every call received the expected trips are the true ones, observed; a
    trip expected to be found is one a correct run reports."""
    hidden = {k for k in hidden if k < len(seq)}
    t = truth_of(voyage(seq, silent=hidden))
    calls = {c["call_id"]: c for c in t["calls"]}
    for trip in t["round_trips"]:
        a, b, c, d = (calls[x] for x in trip["calls"])
        assert a["port"] == d["port"] != b["port"] == c["port"]
    used: dict[str, set] = {}
    for e in t["expected_round_trips"]:
        o1, d1, o2, d2 = e["calls"]
        for leg in ((o1, d1), (o2, d2)):
            assert leg not in used.setdefault(e["pair"], set())
            used[e["pair"]].add(leg)
    reported = {tuple(e["calls"]): e["status"] for e in t["expected_round_trips"]}
    for trip in t["round_trips"]:
        if trip["expected"] != "not_found":
            assert reported[tuple(trip["calls"])] == trip["expected"]
    if not hidden:
        assert all(x["expected"] == "observed" for x in t["round_trips"])
        assert len(t["expected_round_trips"]) == len(t["round_trips"])
