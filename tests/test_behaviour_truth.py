"""The behaviour truth on hand-made tracks: what the ships did at sea and what a correct
run finds of it given reception, one rule each (shadowfleet.simulator.behaviour_truth)."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from shadowfleet.simulator.behaviour import PIER, R1, R2, ROADS, split_at
from shadowfleet.simulator.behaviour_truth import build_behaviour_truth, runs
from shadowfleet.simulator.tracks import AT_ANCHOR, MOORED, TRANSMITTER_OFF, Track
from shadowfleet.simulator.vessels import Vessel

T0 = pd.Timestamp("2023-09-01T00:00:00Z").value / 1e9
H = 3600.0
BERTH = (43.110, 131.885)       # Vladivostok


def vessel(mmsi, track, role="test"):
    return Vessel(mmsi, f"V{mmsi}", 0, "", 70, 100, 20, 6.0, "", "A", role, track)


def heard_every(mmsi, t0, t1, minutes, skip=()):
    """Receive rows of reports sent every ``minutes`` in [t0, t1), minus the ``skip``
    intervals (epoch s)."""
    sent = np.arange(t0 + 30, t1, minutes * 60.0)
    for a, b in skip:
        sent = sent[(sent < a) | (sent >= b)]
    return pd.DataFrame({"mmsi": mmsi, "sent_s": sent, "lat": 42.0, "lon": 131.0,
                         "timestamp": pd.to_datetime(np.round(sent), unit="s", utc=True)})


def sim_of(vessels, received):
    rec = pd.concat(received, ignore_index=True) if received else pd.DataFrame(
        {"mmsi": [], "sent_s": [], "lat": [], "lon": [], "timestamp": []})
    return types.SimpleNamespace(vessels=vessels, received=rec)


def at_sea(place, hours, *, start=T0, status=AT_ANCHOR, lat=None, lon=None):
    track = Track(start=start)
    track.stay("", (lat if lat is not None else place.lat, lon if lon is not None else place.lon),
               hours, status=status, place=place.name)
    return track


@pytest.mark.parametrize("gaps_min,expected", [
    pytest.param((20, 20, 60, 20), [(0, 120 * 60)], id="60-minutes-keeps"),
    pytest.param((20, 20, 61, 20), [(0, 40 * 60), (101 * 60, 121 * 60)], id="61-minutes-splits"),
])
def test_runs_split_on_gaps_strictly_longer(gaps_min, expected):
    t = np.cumsum([0, *gaps_min]) * 60.0
    assert runs(t, 60 * 60) == expected


def test_a_meeting_heard_together_is_expected():
    a, b = at_sea(R1, 6, status=MOORED), at_sea(R1, 8, start=T0 - H)
    sim = sim_of([vessel(1, a), vessel(2, b)],
                 [heard_every(1, T0, T0 + 6 * H, 20), heard_every(2, T0 - H, T0 + 7 * H, 15)])
    beh = build_behaviour_truth(sim)
    (m,) = beh["meetings"]
    assert m["vessels"] == [1, 2] and m["place"] == R1.name and m["dark"] == []
    assert m["start_utc"] == "2023-09-01T00:00:00Z" and m["hours"] == 6.0
    assert m["expected"] and m["why"] == "" and m["heard_hours"] > 5.5
    # both stays are loitering (R1 is far from every port), heard 4 h and more
    assert [x["expected"] for x in beh["loitering"]] == [True, True]
    # two stays at one place make no stop
    (place,) = beh["stops"]
    assert place["stays"] == 2 and not place["expected"]


def test_a_meeting_with_a_ship_dark_cannot_be_seen():
    shuttle = at_sea(R2, 6, status=MOORED)
    shuttle.silence(T0 - 10 * H, T0 + 20 * H, TRANSMITTER_OFF)
    partner = at_sea(R2, 9, start=T0 - 2 * H)
    sim = sim_of([vessel(1, shuttle), vessel(2, partner)],
                 [heard_every(2, T0 - 2 * H, T0 + 7 * H, 15)])
    beh = build_behaviour_truth(sim)
    (m,) = beh["meetings"]
    assert m["dark"] == [1] and not m["expected"] and "dark" in m["why"]
    loit = {x["mmsi"]: x for x in beh["loitering"]}
    assert not loit[1]["expected"] and "quiet" in loit[1]["why"]
    assert loit[2]["expected"]          # the partner's wait is seen


def test_a_meeting_heard_apart_is_not_expected():
    """Both ships heard, but never together for 2 h and two grid steps."""
    a, b = at_sea(R1, 6, status=MOORED), at_sea(R1, 6)
    sim = sim_of([vessel(1, a), vessel(2, b)],
                 [heard_every(1, T0, T0 + 6 * H, 10, skip=[(T0 + 2 * H, T0 + 4 * H)]),
                  heard_every(2, T0, T0 + 6 * H, 10, skip=[(T0 + 0.5 * H, T0 + 2.2 * H),
                                                           (T0 + 3.8 * H, T0 + 5.5 * H)])])
    (m,) = build_behaviour_truth(sim)["meetings"]
    assert m["dark"] == [] and not m["expected"] and "heard together" in m["why"]


def test_loitering_needs_four_hours_heard_and_distance_from_ports():
    far = at_sea(R1, 6)
    thin = at_sea(R2, 6)
    near = at_sea(PIER, 6, status=MOORED)
    sim = sim_of([vessel(1, far), vessel(2, thin), vessel(3, near)],
                 [heard_every(1, T0, T0 + 6 * H, 30),
                  heard_every(2, T0, T0 + 6 * H, 30, skip=[(T0 + 3 * H, T0 + 4.1 * H)]),
                  heard_every(3, T0, T0 + 6 * H, 30)])
    beh = build_behaviour_truth(sim)
    loit = {x["mmsi"]: x for x in beh["loitering"]}
    assert loit[1]["expected"] and not loit[2]["expected"] and 3 not in loit
    assert "under loiter_min_hours" in loit[2]["why"]
    near_port = [x for x in beh["lookalikes"] if x["kind"] == "near_port"]
    assert [(x["mmsi"], x["place"]) for x in near_port] == [(3, PIER.name)]
    assert near_port[0]["must_not"] == ["loitering"] and near_port[0]["port_distance_nm"] < 5


def test_a_place_used_three_times_heard_is_a_stop():
    track = Track(start=T0)
    for k in range(3):
        track.stay("", (PIER.lat, PIER.lon), 3, status=MOORED, place=PIER.name)
        track.sail(np.array([[PIER.lat, PIER.lon], list(BERTH)]), 9.0, "", "Vladivostok")
        track.stay("Vladivostok", BERTH, 20)
        track.sail(np.array([list(BERTH), [PIER.lat, PIER.lon]]), 9.0, "Vladivostok", "")
    stays = [p for p in track.stays() if p.place]
    received = [heard_every(1, s.t0, s.t1, 30) for s in stays]
    three = build_behaviour_truth(sim_of([vessel(1, track)], received))["stops"]
    assert [(p["place"], p["stays"], p["stays_heard"], p["expected"]) for p in three] == \
        [(PIER.name, 3, 3, True)]
    # one stay heard for 1.5 h only: two heard stays, no stop
    received[1] = heard_every(1, stays[1].t0, stays[1].t0 + 1.5 * H, 30)
    two = build_behaviour_truth(sim_of([vessel(1, track)], received))["stops"]
    assert (two[0]["stays_heard"], two[0]["expected"]) == (2, False)


def test_ships_passing_at_speed_are_a_lookalike():
    """Two ships on reciprocal courses 200 m apart, 11 kn each."""
    west, east = (42.60, 131.40), (42.60, 131.70)
    shift = 200 / 1852 / 60
    a, b = Track(start=T0), Track(start=T0)
    a.sail(np.array([west, east]), 11.0)
    b.sail(np.array([[east[0] + shift, east[1]], [west[0] + shift, west[1]]]), 11.0)
    looks = build_behaviour_truth(sim_of([vessel(1, a), vessel(2, b)], []))["lookalikes"]
    (p,) = [x for x in looks if x["kind"] == "passing"]
    assert p["vessels"] == [1, 2] and p["must_not"] == ["encounter"]
    assert p["min_distance_m"] == pytest.approx(200, abs=15)
    assert min(p["speeds_kn"]) > 10 and p["minutes"] < 3


@pytest.mark.parametrize("overlap_h,expected", [(3.0, 1), (1.5, 0)])
def test_two_ships_at_one_berth_are_a_lookalike_when_long_enough(overlap_h, expected):
    a, b = Track(start=T0), Track(start=T0 + (10 - overlap_h) * H)
    a.stay("Vladivostok", BERTH, 10)
    b.stay("Vladivostok", BERTH, 10)
    looks = build_behaviour_truth(sim_of([vessel(1, a), vessel(2, b)], []))["lookalikes"]
    moored = [x for x in looks if x["kind"] == "moored_in_port"]
    assert len(moored) == expected
    if expected:
        assert moored[0]["hours"] == pytest.approx(overlap_h) and moored[0]["times"] == 1


def test_an_anchorage_inside_a_port_is_a_lookalike_not_a_place_used():
    track = Track(start=T0)
    track.stay(ROADS.port, (ROADS.lat, ROADS.lon), 12, status=AT_ANCHOR, place=ROADS.name)
    beh = build_behaviour_truth(sim_of([vessel(1, track)], [heard_every(1, T0, T0 + 12 * H, 20)]))
    assert beh["sea_stays"] == [] and beh["stops"] == [] and beh["loitering"] == []
    (x,) = beh["lookalikes"]
    assert x["kind"] == "anchored_in_port" and x["must_not"] == ["loitering", "unlisted_stop"]


def test_split_at_cuts_a_route_at_a_point_of_it():
    pts = np.array([[42.19, 130.34], [42.24, 130.75], [42.50, 131.25]])
    first, second = split_at(pts, (R2.lat, R2.lon))
    assert first.tolist() == [[42.19, 130.34], [R2.lat, R2.lon]]
    assert second.tolist() == [[R2.lat, R2.lon], [42.24, 130.75], [42.50, 131.25]]
