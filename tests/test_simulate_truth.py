"""The truth builder on hand-made received positions: every DESIGN.md edge, one case each."""

from __future__ import annotations

import types

import pandas as pd
import pytest

from ais.sim_track import Track
from ais.sim_truth import build_truth, default_polygons

T0 = pd.Timestamp("2023-09-01T00:00:00Z")
# berths inside the REFERENCE.md boxes, and a point at sea between them
NAJIN = (42.236, 130.300)
DUNAY = (42.884, 132.345)
VLAD = (43.110, 131.885)
SEA = (42.50, 131.25)


def _sim(rows, ais_off=(), extra_vessel_until_h=None):
    """rows: [(mmsi, hours after T0, (lat, lon))]."""
    df = pd.DataFrame([dict(mmsi=m, timestamp=T0 + pd.Timedelta(seconds=round(h * 3600, 3)), lat=p[0], lon=p[1],
                            msg_type=1, copies=1) for m, h, p in rows])
    if extra_vessel_until_h is not None:   # a second vessel that sets the end of the data
        df = pd.concat([df, pd.DataFrame([dict(mmsi=999, timestamp=T0 + pd.Timedelta(hours=h),
                                               lat=SEA[0], lon=SEA[1], msg_type=1, copies=1)
                                          for h in (0.0, extra_vessel_until_h)])])
    df = df.sort_values(["mmsi", "timestamp"]).reset_index(drop=True)
    df["timestamp"] = df["timestamp"].astype("datetime64[ns, UTC]")
    mmsis = sorted(df["mmsi"].unique())
    vessels = [types.SimpleNamespace(mmsi=int(m), name=f"V{m}", imo=0, callsign="", ais_class="A",
                                     role="test", track=Track(ais_off=list(ais_off)))
               for m in mmsis]
    return types.SimpleNamespace(received=df, vessels=vessels, scenario="test", seed=0, lines=[],
                                 header_lines=0, corrupt=[], outages=())


def _stay(mmsi, start_h, end_h, where, every_h=0.25):
    n = int(round((end_h - start_h) / every_h))
    return [(mmsi, start_h + i * every_h, where) for i in range(n + 1)]


def _truth(rows, **kw):
    return build_truth(_sim(rows, **{k: v for k, v in kw.items() if k in ("ais_off", "extra_vessel_until_h")}),
                       polygons=default_polygons())


@pytest.mark.parametrize("minutes,visit", [(60, True), (59.9, False), (61, True)],
                         ids=["dwell-exactly-60-min-is-a-visit", "just-under-60-min-is-not", "over"])
def test_min_dwell_is_inclusive(minutes, visit):
    rows = [(1, 0.0, NAJIN), (1, minutes / 60, NAJIN), (1, minutes / 60 + 0.5, SEA)]
    assert (len(_truth(rows)["port_visits"]) == 1) is visit


@pytest.mark.parametrize("hours,dark", [(6.0, False), (6.0 + 1 / 3600, True)],
                         ids=["exactly-6h-is-not-dark", "one-second-over-is-dark"])
def test_gap_threshold_is_strict(hours, dark):
    rows = [(1, 0.0, SEA), (1, hours, SEA), (1, hours + 0.1, SEA)]
    gaps = _truth(rows)["dark_periods"]
    assert (len(gaps) == 1) is dark
    if dark:
        assert gaps[0]["start_utc"] == "2023-09-01T00:00:00Z" and not gaps[0]["open"]


def test_long_gap_inside_a_port_splits_the_visit_and_is_a_dark_period():
    rows = _stay(1, 0, 3, NAJIN) + _stay(1, 10, 13, NAJIN) + [(1, 13.5, SEA)]
    t = _truth(rows)
    assert [v["dwell_hours"] for v in t["port_visits"]] == [3.0, 3.0]
    assert len(t["dark_periods"]) == 1
    gap = t["dark_periods"][0]
    assert gap["start_port"] == gap["end_port"] == "Najin"


def test_short_gap_inside_a_port_does_not_end_the_visit():
    rows = _stay(1, 0, 3, NAJIN) + _stay(1, 8, 10, NAJIN)
    t = _truth(rows)
    assert len(t["port_visits"]) == 1 and t["port_visits"][0]["dwell_hours"] == 10.0
    assert t["dark_periods"] == []


def test_silence_to_the_end_of_the_data_is_an_open_dark_period():
    rows = [(1, 0.0, SEA), (1, 1.0, SEA)]
    t = _truth(rows, extra_vessel_until_h=8.0)
    gaps = [g for g in t["dark_periods"] if g["mmsi"] == 1]
    assert len(gaps) == 1 and gaps[0]["open"] and gaps[0]["end_utc"] is None
    assert gaps[0]["hours"] == 7.0


def test_silence_of_exactly_gap_hours_at_the_end_is_not_dark():
    rows = [(1, 0.0, SEA), (1, 2.0, SEA)]
    t = _truth(rows, extra_vessel_until_h=8.0)
    assert [g for g in t["dark_periods"] if g["mmsi"] == 1] == []


def _calls(*ports, start=0.0, stay=3.0, sail=12.0):
    rows, h = [], start
    for p in ports:
        rows += _stay(1, h, h + stay, p)
        h += stay
        rows += [(1, h + k, SEA) for k in range(1, int(sail))]
        h += sail
    return rows


def test_greedy_pairing_n_d_n_d_n_d_gives_two_trips_and_an_open_leg():
    t = _truth(_calls(NAJIN, DUNAY, NAJIN, DUNAY, NAJIN, DUNAY))
    trips = t["round_trips"]
    assert [(x["origin"], x["destination"], x["status"]) for x in trips] == \
        [("Najin", "Dunay", "observed")] * 2
    assert len([x for x in t["legs"] if x["pair"] == ""]) == 5


def test_a_triangle_is_no_round_trip():
    t = _truth(_calls(NAJIN, DUNAY, VLAD, NAJIN))
    assert t["round_trips"] == []
    assert [(x["origin"], x["destination"]) for x in t["legs"]] == \
        [("Najin", "Dunay"), ("Dunay", "Vladivostok"), ("Vladivostok", "Najin")]


def test_dark_period_between_two_dunay_calls_infers_a_najin_call():
    # Dunay, then 40 h dark at sea (Najin reachable), then Dunay again
    rows = _stay(1, 0, 3, DUNAY) + [(1, 4.0, (42.82, 132.20))] + [(1, 44.0, (42.82, 132.20))] \
        + _stay(1, 45, 48, DUNAY)
    t = _truth(rows, ais_off=[(T0.value / 1e9 + 4.5 * 3600, T0.value / 1e9 + 43.5 * 3600)])
    gap = t["dark_periods"][0]
    assert gap["cause"] == "intentional"
    assert "Najin" in gap["possible_port_calls"].split(";")
    assert [(x["origin"], x["destination"], x["status"], x["pair"]) for x in t["round_trips"]] == \
        [("Dunay", "Najin", "inferred", "Dunay|Najin")]
    assert len(t["possible_port_calls"]) == 1
    assert {x["status"] for x in t["legs"]} == {"inferred"}


def test_short_dark_period_leaves_najin_unreachable_and_infers_nothing():
    rows = _stay(1, 0, 3, DUNAY) + [(1, 4.0, (42.82, 132.20))] + [(1, 11.0, (42.82, 132.20))] \
        + _stay(1, 12, 15, DUNAY)
    t = _truth(rows)
    assert t["dark_periods"][0]["cause"] == "coverage"
    assert "Najin" not in t["dark_periods"][0]["possible_port_calls"].split(";")
    assert t["round_trips"] == [] and t["possible_port_calls"] == []


def test_vessel_with_one_position_has_no_events():
    t = _truth([(1, 0.0, NAJIN)])
    assert t["port_visits"] == [] and t["dark_periods"] == [] and t["legs"] == []


def test_scoring_matches_one_to_one_within_tolerance():
    from sim_scoring import score

    truth = [dict(mmsi=1, start_utc="2023-09-01T00:00:00Z", end_utc="2023-09-01T08:00:00Z"),
             dict(mmsi=1, start_utc="2023-09-02T00:00:00Z", end_utc=None)]
    found = pd.DataFrame({"mmsi": [1, 1, 1],
                          "start_utc": pd.to_datetime(["2023-09-01T00:04:00Z", "2023-09-01T00:00:00Z",
                                                       "2023-09-02T00:00:00Z"], utc=True),
                          "end_utc": pd.to_datetime(["2023-09-01T08:00:00Z", "2023-09-01T08:00:00Z",
                                                     None], utc=True)})
    p, r, missed, extra = score(truth, found, ("mmsi",), ("start_utc", "end_utc"), 300)
    assert (r, missed) == (1.0, []) and len(extra) == 1 and p == pytest.approx(2 / 3)
    p, r, missed, _ = score(truth, found.iloc[[1]], ("mmsi",), ("start_utc", "end_utc"), 60)
    assert (p, r) == (1.0, 0.5) and missed == [truth[1]]


@pytest.mark.parametrize("kwargs", [dict(class_a_p_full=0.0), dict(class_b_p_full=1.5),
                                    dict(stationary_boost=0.5),
                                    dict(outages=(("NOWHERE", 0.0, 1.0),)),
                                    dict(outages=(("SIMRX-GMV", 5.0, 1.0),))],
                         ids=["zero-p", "p-over-1", "boost-below-1", "unknown-station",
                              "outage-ends-before-it-starts"])
def test_radio_params_are_validated(kwargs):
    from ais.errors import ConfigError
    from ais.sim_radio import RadioParams

    with pytest.raises(ConfigError):
        RadioParams(**kwargs)


from hypothesis import example, given, settings, strategies as st  # noqa: E402

_PLACES = [NAJIN, DUNAY, VLAD, SEA]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(180, 72000), st.sampled_from(range(len(_PLACES)))),
                min_size=1, max_size=40))
@example([(180, 0), (180, 0), (180, 0), (180, 0), (6700, 0)])   # a visit ending at the last fix
def test_truth_properties_on_random_tracks(steps):
    """Events lie inside the data span, visits do not overlap, every gap over gap_hours
    is exactly one dark period, and round trips pair two legs in order."""
    seconds, rows = 0, []
    for dt, place in steps:                 # whole seconds, as receive times are
        seconds += dt
        rows.append((1, seconds / 3600, _PLACES[place]))
    t = _truth(rows)
    start, end = T0, T0 + pd.Timedelta(seconds=seconds)    # whole seconds: no rounding
    visits = [(pd.Timestamp(v["arrival_utc"]), pd.Timestamp(v["departure_utc"])) for v in t["port_visits"]]
    for a, b in visits:
        assert start <= a <= b <= end and (b - a) >= pd.Timedelta(minutes=60)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(visits, visits[1:]))
    assert len(t["dark_periods"]) == sum(1 for dt, _ in steps[1:] if dt > 6 * 3600)
    for trip in t["round_trips"]:
        times = [pd.Timestamp(trip[k]) for k in ("depart_origin_utc", "arrive_destination_utc",
                                                 "depart_destination_utc", "return_origin_utc")]
        assert times == sorted(times) and trip["origin"] != trip["destination"]
