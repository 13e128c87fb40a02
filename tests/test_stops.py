"""Stays and unlisted stops: named edge cases, the stay kernel against the plain-loop
reference, DBSCAN against a plain DBSCAN, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ais.errors import ConfigError
from detectors.columns import STAY_TABLE, STOP_TABLE, STOP_COLUMNS
from detectors.stops import StopParams, cluster_stays, find_stays, find_unlisted_stops
from tests.reference_behaviour import (T0, assert_stays_match, box_registry, drifting_fleet,
                                       haversine_m, offset, ref_dbscan, ref_stays, sailing,
                                       stationary)
from tests.reference_gaps import make_positions

MIN = 60
H = 3600
DAY = 86400
PIER = (42.62, 131.20)         # a pier outside both test ports


@pytest.fixture(scope="module")
def bay():
    return box_registry(("Bay", 131.0, 42.0, 131.1, 42.1), ("Cove", 131.6, 42.5, 131.7, 42.6))


def calls(mmsi, where, days, hours=6.0, jitter_m=15.0):
    """Rows of ``mmsi`` lying ``hours`` at ``where`` on each of ``days`` (sailing off in
    between, out of the data)."""
    rows = []
    for d in days:
        rows += stationary(mmsi, *where, T0 + d * DAY, hours, jitter_m=jitter_m, seed=mmsi + d)
    return rows


def test_columns_types_and_ids(bay):
    res = find_unlisted_stops(make_positions(calls(5, PIER, [0, 2, 4])), bay, names={5: "SEVER"})
    assert tuple(res.stops.columns) == STOP_TABLE
    assert STOP_TABLE[:len(STOP_COLUMNS)] == STOP_COLUMNS
    assert tuple(res.stays.columns) == STAY_TABLE
    s = res.stops.iloc[0]
    assert s["stop_id"].startswith("S-") and s["n_stays"] == 3 and s["n_vessels"] == 1
    assert s["mmsis"] == "5" and s["radius_m"] < 50
    assert s["first_utc"] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert s["last_utc"] == pd.Timestamp(T0 + 4 * DAY + 6 * H, unit="s", tz="UTC")
    assert s["stay_hours"] == pytest.approx(18.0)
    assert s["nearest_port"] == "Cove" and s["port_distance_nm"] > 0
    assert haversine_m(s["lat"], s["lon"], *PIER) < 20
    assert res.stays["stay_id"].str.startswith("ST-").all() and (res.stays["name"] == "SEVER").all()
    assert (res.stays["stop_id"] == s["stop_id"]).all()
    assert str(res.stops["first_utc"].dtype) == "datetime64[ns, UTC]"
    assert res.stops["n_stays"].dtype == np.int64
    empty = find_unlisted_stops(make_positions([]), bay)
    assert empty.stops.empty and empty.stays.empty
    assert tuple(empty.stops.columns) == STOP_TABLE and tuple(empty.stays.columns) == STAY_TABLE


@pytest.mark.parametrize("bad", [dict(stop_min_hours=0), dict(stop_cluster_radius_m=0),
                                  dict(stop_cluster_min_stays=0), dict(stop_cluster_min_stays=2.5),
                                  dict(gap_hours=-1)])
def test_bad_thresholds(bad):
    with pytest.raises(ConfigError):
        StopParams(**bad)


def test_a_single_meeting_of_two_ships_is_not_a_stop():
    la2, lo2 = offset(*PIER, north_m=80)
    res = find_unlisted_stops(make_positions(stationary(1, *PIER, T0, 5)
                                             + stationary(2, la2, lo2, T0, 5)), None)
    assert len(res.stays) == 2 and res.stops.empty
    assert (res.stays["stop_id"] == "").all()


@pytest.mark.parametrize("case,rows,n_vessels", [
    ("three_stays_of_one_ship_at_the_same_pier", calls(1, PIER, [0, 3, 6]), 1),
    ("three_ships_once_each", calls(1, PIER, [0]) + calls(2, PIER, [1]) + calls(3, PIER, [2]), 3),
    ("two_ships_three_stays", calls(1, PIER, [0, 5]) + calls(2, offset(*PIER, 200, 0), [2]), 2),
])
def test_three_stays_at_the_same_pier_are_a_stop(case, rows, n_vessels):
    res = find_unlisted_stops(make_positions(rows), None)
    assert len(res.stops) == 1
    assert res.stops["n_stays"].iloc[0] == 3 and res.stops["n_vessels"].iloc[0] == n_vessels


def test_waiting_at_anchor_inside_a_port_polygon_is_no_stay(bay):
    rows = calls(1, (42.05, 131.05), [0, 1, 2, 3])
    assert find_unlisted_stops(make_positions(rows), bay).stays.empty
    # the registry without Bay: the same anchorage is an unlisted stop
    no_bay = box_registry(("Cove", 131.6, 42.5, 131.7, 42.6))
    res = find_unlisted_stops(make_positions(rows), no_bay)
    assert len(res.stops) == 1 and res.stops["nearest_port"].iloc[0] == "Cove"


def test_a_stay_just_outside_a_polygon_counts(bay):
    lat = 42.05
    lon = 131.1 + 0.1 / (60 * math.cos(math.radians(lat)))       # 0.1 nm east of Bay
    res = find_unlisted_stops(make_positions(calls(1, (lat, lon), [0, 1, 2], jitter_m=0)), bay)
    assert len(res.stops) == 1
    assert res.stops["nearest_port"].iloc[0] == "Bay"
    assert res.stops["port_distance_nm"].iloc[0] == pytest.approx(0.1, abs=1e-6)


@pytest.mark.parametrize("case,hours,found", [("exactly_2_h", 2.0, 1), ("1_h_59", 119 / 60, 0)])
def test_exactly_2_hours(case, hours, found):
    assert len(find_stays(make_positions(stationary(1, *PIER, T0, hours, every=1)), None)) == found


def test_stay_radius_and_gaps():
    # drifting at 0.5 kn: 500 m of the anchor fix after ~32 minutes: no 2-hour stay
    assert find_stays(make_positions(sailing(1, *PIER, T0, 6, 0.5, 0)), None).empty
    # 0.1 kn (185 m an hour), a fix every 10 minutes: 500 m from the anchor fix after
    # 2.7 h, so stays of 160 minutes from minutes 0, 170 and 340
    stays = find_stays(make_positions(sailing(1, *PIER, T0, 9, 0.1, 0)), None)
    assert [(r.start_utc.value // 10**9 - T0) // MIN for r in stays.itertuples()] == [0, 170, 340]
    assert (stays["hours"] == 160 / 60).all()
    # a silence over gap_hours splits a stay; one of exactly gap_hours does not
    for gap, n in ((6 * H, 1), (6 * H + 60, 2)):
        rows = stationary(1, *PIER, T0, 3) + stationary(1, *PIER, T0 + 3 * H + gap, 3)
        assert len(find_stays(make_positions(rows), None)) == n


def test_places_farther_apart_than_the_cluster_radius_are_separate_stops():
    a, b = PIER, offset(*PIER, north_m=1500)
    rows = (calls(1, a, [0]) + calls(2, a, [1]) + calls(3, a, [2])
            + calls(4, b, [0]) + calls(5, b, [1]) + calls(6, b, [2]))
    res = find_unlisted_stops(make_positions(rows), None)
    assert len(res.stops) == 2
    assert sorted(res.stops["mmsis"]) == ["1;2;3", "4;5;6"]


def test_stop_id_stays_the_same_as_later_stays_join():
    first = find_unlisted_stops(make_positions(calls(1, PIER, [0, 2, 4])), None).stops
    later = find_unlisted_stops(make_positions(calls(1, PIER, [0, 2, 4, 6])
                                               + calls(2, PIER, [7])), None).stops
    assert first["stop_id"].tolist() == later["stop_id"].tolist()
    assert later["n_stays"].iloc[0] == 5 and later["mmsis"].iloc[0] == "1;2"


def test_across_the_antimeridian():
    west, east = (-16.8, -179.9999), (-16.8, 179.9999)        # 21 m apart
    rows = calls(1, west, [0]) + calls(2, east, [1]) + calls(3, west, [2])
    res = find_unlisted_stops(make_positions(rows), None)
    assert len(res.stops) == 1 and res.stops["n_stays"].iloc[0] == 3
    assert abs(res.stops["lon"].iloc[0]) > 179.999 and res.stops["radius_m"].iloc[0] < 50


@pytest.mark.parametrize("seed", range(10))
def test_stay_kernel_matches_reference(bay, seed):
    pos = drifting_fleet(seed, n_vessels=6, lat=42.05, lon=131.12, spread_m=2000)
    assert_stays_match(find_stays(pos, bay), ref_stays(pos, bay))
    pos = drifting_fleet(60 + seed, n_vessels=4, lat=-16.5, lon=179.995)
    assert_stays_match(find_stays(pos, None), ref_stays(pos, None))


def test_stay_kernel_matches_reference_with_other_thresholds(bay):
    pos = drifting_fleet(4, n_vessels=8, lat=42.05, lon=131.12, spread_m=2000)
    p = StopParams(stop_min_hours=1.0, stop_stay_radius_m=120, gap_hours=0.5)
    ref = ref_stays(pos, bay, min_hours=1.0, radius_m=120, gap_hours=0.5)
    assert len(ref) > 10
    assert_stays_match(find_stays(pos, bay, p), ref)


def _random_stays(seed, n=120):
    rng = np.random.default_rng(seed)
    centres = [offset(*PIER, *rng.uniform(-9000, 9000, 2)) for _ in range(6)]
    rows = []
    for i in range(n):
        c = centres[rng.integers(len(centres))] if rng.random() < 0.7 else PIER
        lat, lon = offset(*c, *rng.normal(0, 350, 2)) if rng.random() < 0.8 else \
            offset(*PIER, *rng.uniform(-12000, 12000, 2))
        rows.append({"stay_id": f"x{i}", "mmsi": int(rng.integers(1, 15)), "name": "",
                     "start_utc": pd.Timestamp(T0 + i * H, unit="s", tz="UTC"),
                     "end_utc": pd.Timestamp(T0 + i * H + 3 * H, unit="s", tz="UTC"),
                     "hours": 3.0, "lat": lat, "lon": lon, "n_positions": 10, "stop_id": "",
                     "track": 0})
    return pd.DataFrame(rows)[list(STAY_TABLE)]


@pytest.mark.parametrize("seed", range(6))
def test_clusters_match_a_plain_dbscan(seed):
    stays = _random_stays(seed)
    res = cluster_stays(stays, None)
    st_ = res.stays
    labels = ref_dbscan(list(zip(st_["lat"], st_["lon"])), 1000.0, 3)
    # same partition (cluster labels are named differently)
    got = {}
    for label, sid in zip(labels, st_["stop_id"]):
        assert (label == -1) == (sid == "")
        if label >= 0:
            assert got.setdefault(label, sid) == sid
    assert len(set(got.values())) == len(got) == len(res.stops)
    assert len(res.stops) >= 3
    for s in res.stops.itertuples():
        members = st_[st_["stop_id"] == s.stop_id]
        assert s.n_stays == len(members) and s.n_vessels == members["mmsi"].nunique()
        assert s.radius_m == pytest.approx(max(haversine_m(s.lat, s.lon, a, b)
                                               for a, b in zip(members["lat"], members["lon"])), rel=1e-6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), perm_seed=st.integers(0, 2**32 - 1))
def test_properties_row_order_and_spans(seed, perm_seed):
    pos = drifting_fleet(seed, n_vessels=5, spread_m=1200)
    res = find_unlisted_stops(pos, None)
    shuffled = pos.sample(frac=1.0, random_state=perm_seed).reset_index(drop=True)
    again = find_unlisted_stops(shuffled, None)
    pd.testing.assert_frame_equal(again.stops, res.stops)
    pd.testing.assert_frame_equal(again.stays, res.stays)
    span = pos.groupby("mmsi")["timestamp"].agg(["min", "max"])
    for r in res.stays.itertuples():
        assert span.loc[r.mmsi, "min"] <= r.start_utc < r.end_utc <= span.loc[r.mmsi, "max"]
        assert r.hours >= 2
    for _, g in res.stays.groupby("mmsi"):
        assert (g["start_utc"].iloc[1:].to_numpy() > g["end_utc"].iloc[:-1].to_numpy()).all()
    for s in res.stops.itertuples():
        members = res.stays[res.stays["stop_id"] == s.stop_id]
        assert s.n_stays == len(members) >= 3
        assert s.first_utc == members["start_utc"].min() and s.last_utc == members["end_utc"].max()
