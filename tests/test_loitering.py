"""Loitering: named edge cases, the kernel against the plain-loop reference, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st, target

from ais.errors import ConfigError
from detectors.columns import LOITER_TABLE, LOITER_COLUMNS
from detectors.encounters import find_encounters
from detectors.loitering import LoiteringParams, find_loitering
from tests.reference_behaviour import (T0, assert_loitering_match, box_registry, drifting_fleet,
                                       offset, ref_loitering, sailing, stationary)
from tests.reference_gaps import make_positions

MIN = 60
H = 3600
SEA = (42.30, 131.50)


@pytest.fixture(scope="module")
def bay():
    return box_registry(("Bay", 131.0, 42.0, 131.1, 42.1), ("Cove", 131.6, 42.5, 131.7, 42.6))


def minutes(frame, col):
    return [(v.value // 10**9 - T0) // MIN for v in frame[col]]


def test_columns_types_ids_and_ports(bay):
    lat, lon = 42.05, 131.1 + 8 / (60 * math.cos(math.radians(42.05)))
    lo = find_loitering(make_positions(stationary(7, lat, lon, T0, 5, jitter_m=10)), bay,
                        names={7: "@SUM(A1)"})
    assert tuple(lo.columns) == LOITER_TABLE
    assert LOITER_TABLE[:len(LOITER_COLUMNS)] == LOITER_COLUMNS
    r = lo.iloc[0]
    assert r["loiter_id"].startswith("LO-") and r["name"] == "@SUM(A1)"
    assert r["hours"] == pytest.approx(5.0) and r["n_positions"] == 31
    assert r["nearest_port"] == "Bay" and r["port_distance_nm"] == pytest.approx(8.0, abs=0.01)
    assert 0 < r["mean_speed_kn"] <= r["max_speed_kn"] < 2
    assert str(lo["start_utc"].dtype) == "datetime64[ns, UTC]" and lo["mmsi"].dtype == np.int64
    none = find_loitering(make_positions(stationary(7, *SEA, T0, 5)), None)
    assert none["nearest_port"].iloc[0] == "" and math.isnan(none["port_distance_nm"].iloc[0])
    assert find_loitering(make_positions([]), bay).empty
    assert tuple(find_loitering(make_positions([]), bay).columns) == LOITER_TABLE


@pytest.mark.parametrize("bad", [dict(loiter_min_hours=0), dict(loiter_max_speed_kn=-1),
                                  dict(loiter_port_distance_nm=math.inf)])
def test_bad_thresholds(bad):
    with pytest.raises(ConfigError):
        LoiteringParams(**bad)


@pytest.mark.parametrize("case,hours,found", [("exactly_4_h", 4.0, 1), ("3_h_59", 239 / 60, 0)])
def test_exactly_4_hours(case, hours, found):
    assert len(find_loitering(make_positions(stationary(1, *SEA, T0, hours, every=1)), None)) == found


@pytest.mark.parametrize("case,speed,found", [("1.99_kn", 1.99, 1), ("2.01_kn", 2.01, 0)])
def test_speed_threshold(case, speed, found):
    rows = sailing(1, *SEA, T0, 5, speed, 30)
    assert len(find_loitering(make_positions(rows), None)) == found


@pytest.mark.parametrize("case,gap_min,expected", [
    ("gap_of_60_min_kept", 60, [(0, 600)]),
    ("gap_of_61_min_in_the_middle", 61, [(0, 300)]),
])
def test_gap_in_the_middle(case, gap_min, expected):
    """Ten hours at one spot with a silence from minute 300: 60 minutes keeps one run; 61
    minutes ends it (a silence is a dark period) and the piece after it, 299 minutes of
    fixes from minute 361, is too short."""
    rows = [r for r in stationary(1, *SEA, T0, 10, every=1)
            if not (300 * MIN < r[1] - T0 < (300 + gap_min) * MIN)]
    lo = find_loitering(make_positions(rows), None)
    assert list(zip(minutes(lo, "start_utc"), minutes(lo, "end_utc"))) == expected


@pytest.mark.parametrize("case,where,found", [
    ("inside_a_port", "inside", 0),
    ("4.9_nm_from_a_port", 4.9, 0),
    ("5.1_nm_from_a_port", 5.1, 1),
])
def test_distance_from_ports(bay, case, where, found):
    lat = 42.05
    lon = 131.05 if where == "inside" else 131.1 + where / (60 * math.cos(math.radians(lat)))
    assert len(find_loitering(make_positions(stationary(1, lat, lon, T0, 6)), bay)) == found


def test_waiting_at_anchor_inside_a_port_polygon_is_not_loitering(bay):
    rows = stationary(1, 42.05, 131.05, T0, 30, jitter_m=30, seed=4)
    assert find_loitering(make_positions(rows), bay).empty
    # the same anchorage with no registry around it is loitering
    assert len(find_loitering(make_positions(rows), None)) == 1


def test_drifting_out_of_the_port_zone_ends_the_run(bay):
    """A vessel drifting east at 1 kn from 3.95 nm off Bay, a fix every 6 minutes:
    loitering starts at its first fix past 5 nm (minute 66, 5.05 nm), not before."""
    lat = 42.05
    lon = 131.1 + 3.95 / (60 * math.cos(math.radians(lat)))
    lo = find_loitering(make_positions(sailing(1, lat, lon, T0, 8, 1.0, 90, every=6)), bay)
    assert len(lo) == 1
    assert minutes(lo, "start_utc") == [66] and minutes(lo, "end_utc") == [480]


def test_across_the_antimeridian():
    rows = sailing(1, -16.5, 179.99, T0, 6, 0.5, 90)
    assert any(r[3] < 0 for r in rows) and any(r[3] > 0 for r in rows)
    lo = find_loitering(make_positions(rows), None)
    assert len(lo) == 1
    r = lo.iloc[0]
    assert r["mean_speed_kn"] == pytest.approx(0.5, rel=2e-3)
    assert r["lon"] == pytest.approx(-179.984, abs=1e-3)      # 1.5 nm east of 179.99 E


def test_duplicates_spoofing_and_jitter():
    rows = stationary(1, *SEA, T0, 5)
    # a fix repeated at the same time and place moves at 0 kn: still loitering
    assert len(find_loitering(make_positions(rows + [rows[10]]), None)) == 1
    # the same time at another place is an infinite speed: the run breaks there
    far = (1, rows[10][1], *offset(*SEA, north_m=3000))
    split = find_loitering(make_positions(rows + [far]), None)
    assert split.empty
    # ... unless that fix is flagged as a spoofing jump
    pos = make_positions(rows + [far], spoofed=[False] * len(rows) + [True])
    assert len(find_loitering(pos, None)) == 1
    # GPS jitter of 10 m at 10-minute fixes is far below 2 kn
    assert len(find_loitering(make_positions(stationary(1, *SEA, T0, 5, jitter_m=10)), None)) == 1


def test_a_long_encounter_is_also_loitering_of_both_ships():
    la2, lo2 = offset(*SEA, north_m=120)
    pos = make_positions(stationary(1, *SEA, T0, 5, jitter_m=5, seed=1)
                         + stationary(2, la2, lo2, T0, 5, jitter_m=5, seed=2))
    assert len(find_encounters(pos, None)) == 1
    assert find_loitering(pos, None)["mmsi"].tolist() == [1, 2]


@pytest.mark.parametrize("seed", range(10))
def test_kernel_matches_reference(bay, seed):
    pos = drifting_fleet(seed, n_vessels=6, lat=42.05, lon=131.2123, spread_m=1500)
    lo = find_loitering(pos, bay)
    assert_loitering_match(lo, ref_loitering(pos, bay))
    pos = drifting_fleet(50 + seed, n_vessels=4, lat=-16.5, lon=179.995)
    assert_loitering_match(find_loitering(pos, None), ref_loitering(pos, None))


def test_kernel_matches_reference_with_other_thresholds(bay):
    pos = drifting_fleet(3, n_vessels=8, lat=42.05, lon=131.2123, spread_m=1500)
    p = LoiteringParams(loiter_max_speed_kn=0.5, loiter_min_hours=1.0,
                        loiter_port_distance_nm=4.5, loiter_max_gap_minutes=30)
    ref = ref_loitering(pos, bay, max_speed_kn=0.5, min_hours=1.0, port_distance_nm=4.5,
                        max_gap_minutes=30)
    assert len(ref) > 10
    assert_loitering_match(find_loitering(pos, bay, p), ref)


def test_random_fleets_do_loiter(bay):
    n = [len(ref_loitering(drifting_fleet(s, n_vessels=6, lat=42.05, lon=131.2123,
                                          spread_m=1500), bay)) for s in range(10)]
    assert sum(n) >= 20 and min(n) >= 0


@st.composite
def wanderers(draw):
    n = draw(st.integers(1, 3))
    rows = []
    for v in range(n):
        t = T0 + draw(st.integers(0, 60)) * MIN
        lat, lon = SEA
        for dt, dn, de in draw(st.lists(st.tuples(st.integers(1, 75), st.integers(-400, 400),
                                                  st.integers(-400, 400)), min_size=1, max_size=60)):
            rows.append((100 + v, t, lat, lon))
            t += dt * MIN
            lat, lon = offset(lat, lon, dn, de)
    return make_positions(rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=wanderers(), perm_seed=st.integers(0, 2**32 - 1))
def test_properties(pos, perm_seed):
    p = LoiteringParams(loiter_min_hours=1.0)
    lo = find_loitering(pos, None, p)
    target(float(len(lo)))
    shuffled = pos.sample(frac=1.0, random_state=perm_seed).reset_index(drop=True)
    pd.testing.assert_frame_equal(find_loitering(shuffled, None, p), lo)
    span = pos.groupby("mmsi")["timestamp"].agg(["min", "max"])
    for r in lo.itertuples():
        assert span.loc[r.mmsi, "min"] <= r.start_utc < r.end_utc <= span.loc[r.mmsi, "max"]
        assert r.hours >= 1.0 and r.max_speed_kn < 2.0
    for _, g in lo.groupby("mmsi"):
        assert (g["start_utc"].iloc[1:].to_numpy() > g["end_utc"].iloc[:-1].to_numpy()).all()
    assert_loitering_match(lo, ref_loitering(pos, None, min_hours=1.0))
