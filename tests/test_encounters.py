"""Encounters: named edge cases, the kernel against the all-pairs reference, GFW's test
series, hypothesis properties."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st, target

from ais.errors import ConfigError
from ports._geo import haversine_nm
from detectors.columns import ENCOUNTER_TABLE, ENCOUNTER_COLUMNS
from detectors.encounters import EncounterParams, find_encounters
from tests.reference_behaviour import (T0, assert_encounters_match, box_registry, drifting_fleet,
                                       offset, ref_encounters, sailing, stationary)
from tests.reference_gaps import make_positions

SERIES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "decoded" / \
    "gfw-encounters" / "series.csv"
MIN = 60
H = 3600
SEA = (42.30, 131.50)            # open sea off Zarubino, > 20 nm from any test port


@pytest.fixture(scope="module")
def bay():
    return box_registry(("Bay", 131.0, 42.0, 131.1, 42.1), ("Cove", 131.6, 42.5, 131.7, 42.6))


def pair_at(distance_m, *, hours=3.0, lat=SEA[0], lon=SEA[1], every=10.0, start=T0):
    la2, lo2 = offset(lat, lon, north_m=distance_m)
    return make_positions(stationary(1, lat, lon, start, hours, every)
                          + stationary(2, la2, lo2, start, hours, every))


# ---- columns, ids, inputs ----------------------------------------------------------

def test_columns_types_ids_and_names():
    enc = find_encounters(pair_at(200), None, names={1: "ANGARA", 2: "=cmd"})
    assert tuple(enc.columns) == ENCOUNTER_TABLE
    assert ENCOUNTER_TABLE[:len(ENCOUNTER_COLUMNS)] == ENCOUNTER_COLUMNS
    e = enc.iloc[0]
    assert e["encounter_id"].startswith("E-") and (e["name_1"], e["name_2"]) == ("ANGARA", "=cmd")
    assert (e["mmsi_1"], e["mmsi_2"]) == (1, 2) and e["hours"] == pytest.approx(3.0)
    assert e["median_distance_m"] == pytest.approx(200, abs=0.5)
    assert e["median_speed_kn"] == 0.0 and e["n_steps"] == 19
    assert str(enc["start_utc"].dtype) == "datetime64[ns, UTC]" and enc["mmsi_1"].dtype == np.int64
    assert e["nearest_port"] == "" and math.isnan(e["port_distance_nm"])
    again = find_encounters(pair_at(200), None)
    assert again["encounter_id"].tolist() == enc["encounter_id"].tolist()


def test_empty_one_vessel_and_spoofed_rows():
    assert find_encounters(make_positions([]), None).empty
    assert tuple(find_encounters(make_positions([]), None).columns) == ENCOUNTER_TABLE
    assert find_encounters(make_positions(stationary(1, *SEA, T0, 5)), None).empty
    pos = pair_at(200)
    spoofed = np.zeros(len(pos), dtype=bool)
    spoofed[pos["mmsi"].to_numpy() == 2] = True      # every fix of vessel 2 is a spoofing jump
    pos["spoofed"] = spoofed
    assert find_encounters(pos, None).empty


@pytest.mark.parametrize("bad", [dict(encounter_distance_m=0), dict(encounter_step_minutes=0),
                                  dict(encounter_min_minutes=-1), dict(encounter_max_speed_kn=math.nan),
                                  dict(encounter_step_minutes=10.001), dict(encounter_merge_hours="4")])
def test_bad_thresholds_are_config_errors(bad):
    with pytest.raises(ConfigError):
        EncounterParams(**bad)
    with pytest.raises(TypeError):
        find_encounters(pair_at(200), None, params={"encounter_distance_m": 500})


# ---- named edge cases -------------------------------------------------------------------

def _lat_at_exactly(limit_m, lat, lon):
    """The largest latitude north of (lat, lon) whose distance by the detectors' own
    haversine is at most ``limit_m``."""
    la = lat + math.degrees(limit_m / (6371.0088e3))      # the spherical arc, to a few ulps
    while haversine_nm(lat, lon, la, lon) * 1852 > limit_m:
        la = np.nextafter(la, -np.inf)
    while haversine_nm(lat, lon, np.nextafter(la, np.inf), lon) * 1852 <= limit_m:
        la = np.nextafter(la, np.inf)
    return la


@pytest.mark.parametrize("case,found", [("exactly_500_m", 1), ("just_over_500_m", 0)])
def test_exactly_500_m_is_close(case, found):
    lat, lon = SEA
    la = _lat_at_exactly(500.0, lat, lon)
    if case == "just_over_500_m":
        la = np.nextafter(la, np.inf)
    assert (haversine_nm(lat, lon, la, lon) * 1852 <= 500.0) == bool(found)
    pos = make_positions(stationary(1, lat, lon, T0, 3) + stationary(2, la, lon, T0, 3))
    assert len(find_encounters(pos, None)) == found


@pytest.mark.parametrize("case,rows,found", [
    ("exactly_120_min_on_the_grid", dict(hours=2.0), 1),
    ("110_min_on_the_grid", dict(hours=110 / 60), 0),
    # 120 minutes of fixes from 00:01 to 02:01 cover the grid 00:10..02:00 only: 110 minutes
    ("120_min_off_the_grid", dict(hours=2.0, start=T0 + MIN), 0),
    ("130_min_off_the_grid", dict(hours=130 / 60, start=T0 + MIN), 1),
])
def test_exactly_120_minutes(case, rows, found):
    assert len(find_encounters(pair_at(100, every=1.0, **rows), None)) == found


@pytest.mark.parametrize("case,gap_min,expected", [
    ("gap_of_60_min_interpolated", 60, [(0, 250)]),
    ("gap_of_61_min_in_the_middle", 61, [(0, 120)]),
])
def test_gap_in_the_middle(case, gap_min, expected):
    """Vessel 1 silent from minute 120 for ``gap_min`` minutes while both lie together
    250 minutes: a gap over 60 minutes is not interpolated, the run splits and the piece
    after it (190..250) is too short."""
    lat, lon = SEA
    la2, lo2 = offset(lat, lon, north_m=150)
    one = [r for r in stationary(1, lat, lon, T0, 250 / 60, every=1.0)
           if not (120 * MIN < r[1] - T0 < (120 + gap_min) * MIN)]
    pos = make_positions(one + stationary(2, la2, lo2, T0, 250 / 60, every=1.0))
    enc = find_encounters(pos, None)
    assert [((r.start_utc.value // 10**9 - T0) // MIN, (r.end_utc.value // 10**9 - T0) // MIN)
            for r in enc.itertuples()] == expected


@pytest.mark.parametrize("case,apart_min,n", [
    ("pieces_3h50_apart_merge", 230, 1),
    ("pieces_4h_apart_do_not_merge", 240, 2),
])
def test_merge_less_than_4_hours_apart(case, apart_min, n):
    """Two 3-hour meetings of the same pair (vessel 2 away at 20 km in between): merged
    into one when the second starts less than 4 h after the first ends."""
    lat, lon = SEA
    la2, lo2 = offset(lat, lon, north_m=150)
    far2 = offset(lat, lon, north_m=20_000)
    second = 180 + apart_min
    rows = stationary(1, lat, lon, T0, (second + 180) / 60)
    for i in range(0, second + 181, 10):
        here = i <= 180 or i >= second
        rows.append((2, T0 + i * MIN, *((la2, lo2) if here else far2)))
    enc = find_encounters(make_positions(rows), None)
    assert len(enc) == n
    assert enc["start_utc"].iloc[0] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert enc["end_utc"].iloc[-1] == pd.Timestamp(T0 + (second + 180) * MIN, unit="s", tz="UTC")
    if n == 1:
        assert enc["n_steps"].iloc[0] == 19 + 19


def test_pair_straddling_the_antimeridian():
    rows = (stationary(5, -16.5, 179.9995, T0, 3) + stationary(4, -16.5, -179.9995, T0, 3))
    enc = find_encounters(make_positions(rows), None)
    assert len(enc) == 1
    e = enc.iloc[0]
    assert (e["mmsi_1"], e["mmsi_2"]) == (4, 5)
    assert e["median_distance_m"] == pytest.approx(0.001 * 60 * 1852 * math.cos(math.radians(16.5)), rel=1e-3)
    assert abs(abs(e["lon"]) - 180.0) < 1e-6
    # a vessel drifting east across 180 degrees interpolates the short way round
    drift = [(6, T0 + i * 30 * MIN, -16.5, (179.9990 + i * 0.0004 + 180) % 360 - 180)
             for i in range(7)]
    enc = find_encounters(make_positions(rows + drift), None)
    assert {(r.mmsi_1, r.mmsi_2) for r in enc.itertuples()} == {(4, 5), (4, 6), (5, 6)}


@pytest.mark.parametrize("case,where,found", [
    ("inside_a_port", "inside", 0),
    ("4.9_nm_from_a_port", 4.9, 0),
    ("5.1_nm_from_a_port", 5.1, 1),
])
def test_distance_from_ports(bay, case, where, found):
    lat = 42.05
    if where == "inside":
        lon = 131.05
    else:
        lon = 131.1 + where / (60 * math.cos(math.radians(lat)))
    enc = find_encounters(pair_at(100, lat=lat, lon=lon), bay)
    assert len(enc) == found
    if found:
        assert enc["nearest_port"].iloc[0] == "Bay"
        assert enc["port_distance_nm"].iloc[0] == pytest.approx(5.1, abs=0.01)


def test_two_ships_moored_in_the_same_port(bay):
    rows = stationary(1, 42.05, 131.05, T0, 12) + stationary(2, 42.0505, 131.0505, T0, 12)
    assert find_encounters(make_positions(rows), bay).empty


def test_fast_ships_passing_within_500_m():
    lat, lon = SEA
    # opposite courses, 200 m apart abeam: close for a minute or two
    la2, lo2 = offset(lat, lon, east_m=200, north_m=12 * 1852 * 1.5)
    rows = sailing(1, lat, lon, T0, 3, 12, 0, every=1) + sailing(2, la2, lo2, T0, 3, 12, 180, every=1)
    assert find_encounters(make_positions(rows), None).empty
    # sailing in company 300 m apart at 10 kn for 3 h: close all along, but not slow
    la3, lo3 = offset(lat, lon, east_m=300)
    rows = sailing(1, lat, lon, T0, 3, 10, 45) + sailing(3, la3, lo3, T0, 3, 10, 45)
    assert find_encounters(make_positions(rows), None).empty
    # the same at 1.5 kn is an encounter (a slow tow, a transfer under way)
    rows = sailing(1, lat, lon, T0, 3, 1.5, 45) + sailing(3, la3, lo3, T0, 3, 1.5, 45)
    enc = find_encounters(make_positions(rows), None)
    assert len(enc) == 1 and enc["median_speed_kn"].iloc[0] == pytest.approx(1.5, rel=1e-3)


def test_one_slow_and_one_fast_vessel_is_no_encounter():
    """Both vessels' median speeds must be under the threshold: a vessel going to and
    fro at 2.27 kn within 350 m of a drifting one is not in an encounter with it; at
    1.94 kn it is."""
    lat, lon = SEA
    for half_m, found in ((350, 0), (300, 1)):
        rows = stationary(1, lat, lon, T0, 3)
        for i in range(19):
            rows.append((2, T0 + i * 10 * MIN, *offset(lat, lon, east_m=half_m * (-1) ** i)))
        enc = find_encounters(make_positions(rows), None)
        assert len(enc) == found
        if found:
            assert enc["median_speed_2_kn"].iloc[0] == pytest.approx(600 / 1852 * 6, rel=1e-2)


# ---- against the all-pairs reference ---------------------------------------------------

@pytest.mark.parametrize("seed", range(12))
def test_kernel_matches_all_pairs_reference(bay, seed):
    pos = drifting_fleet(seed, n_vessels=7)
    enc = find_encounters(pos, bay)
    ref = ref_encounters(pos, bay)
    assert_encounters_match(enc, ref)


@pytest.mark.parametrize("seed", range(4))
def test_kernel_matches_reference_near_a_port_and_across_180(bay, seed):
    # a fleet lying astride the line 5 nm east of Bay: the port rule cuts runs
    pos = drifting_fleet(100 + seed, n_vessels=7, lat=42.05, lon=131.2123, spread_m=900)
    near = find_encounters(pos, bay)
    assert_encounters_match(near, ref_encounters(pos, bay))
    assert len(near) < len(find_encounters(pos, None))
    # a fleet drifting over the antimeridian
    pos = drifting_fleet(200 + seed, n_vessels=6, lat=-16.5, lon=179.995)
    assert (pos["lon"] < 0).any() and (pos["lon"] > 0).any()
    assert_encounters_match(find_encounters(pos, None), ref_encounters(pos, None))


def test_kernel_matches_reference_with_other_thresholds(bay):
    pos = drifting_fleet(7, n_vessels=8, spread_m=2500)
    p = EncounterParams(encounter_distance_m=800, encounter_min_minutes=45,
                        encounter_max_speed_kn=1.2, encounter_step_minutes=5,
                        encounter_max_gap_minutes=30, encounter_merge_hours=1)
    ref = ref_encounters(pos, bay, distance_m=800, min_minutes=45, max_speed_kn=1.2,
                         step_minutes=5, max_gap_minutes=30, merge_hours=1)
    assert len(ref) > 0
    assert_encounters_match(find_encounters(pos, bay, p), ref)


def test_random_fleets_do_find_encounters(bay):
    """The reference comparison above is not vacuous: the fleets meet."""
    n = sum(len(ref_encounters(drifting_fleet(s, n_vessels=7), bay)) for s in range(12))
    assert n >= 60


# ---- Global Fishing Watch's pipe-encounters test series -----------------------------------

@pytest.fixture(scope="module")
def gfw_series():
    if not SERIES.exists():
        pytest.skip(f"GFW encounter series not present ({SERIES})")
    df = pd.read_csv(SERIES)
    out = {}
    for case, g in df.groupby("case", sort=False):
        rows = [(int(r.id), pd.Timestamp(r.timestamp.replace(" UTC", "")).tz_localize("UTC"),
                 r.lat, r.lon) for r in g.itertuples()]
        out[case] = make_positions(rows)
    return out


GFW = EncounterParams(encounter_min_minutes=30)   # GFW's tests use 30 minutes, 500 m


def _utc(text):
    return pd.Timestamp(text, tz="UTC")


@pytest.mark.parametrize("case,expected", [
    # (mmsi_1, mmsi_2, start, end, median distance km, median speed of 1 and 2) from
    # pipe-encounters tests/test_compute_encounters.py (the raw encounters of each side)
    ("simple", [(1, 2, "2011-01-01 16:10", "2011-01-01 17:00", 0.20333088100150815,
                 0.6467305031568592, 1.1175558891689739)]),
    ("dateline", [(1, 2, "2011-01-01 16:10", "2011-01-01 17:10", 0.21170220169329662,
                   0.12370707201347748, 0.24416289971953248)]),
    ("multi", [(1, 2, "2011-01-01 15:40", "2011-01-01 17:40", 0.0, 0.0, 0.0),
               (1, 3, "2011-01-01 15:40", "2011-01-01 17:40", 0.11119492664455874, 0.0, 0.0),
               (2, 3, "2011-01-01 15:20", "2011-01-01 17:50", 0.11119492664455874, 0.0, 0.0)]),
    ("fastsep", []),
    # GFW gives 07:40-10:10 from 563418000's side and 07:40-20:10 from 441910000's: its
    # per-vessel runs go on across the vessel's own silence 10:19-18:27, when the other
    # was silent too (10:17-18:10) and never again within 500 m of it. Compared on both
    # vessels' grid positions, the meeting is the symmetric 07:40-10:10.
    ("real", [(441910000, 563418000, "2015-03-19 07:40", "2015-03-19 10:10",
               0.030350584066300215, None, 0.17049202182476167)]),
])
def test_gfw_pipe_encounters_series(gfw_series, case, expected):
    enc = find_encounters(gfw_series[case], None, GFW)
    assert len(enc) == len(expected)
    for r, (m1, m2, start, end, km, s1, s2) in zip(enc.itertuples(), expected):
        assert (r.mmsi_1, r.mmsi_2) == (m1, m2)
        assert (r.start_utc, r.end_utc) == (_utc(start), _utc(end))
        assert r.median_distance_m == pytest.approx(km * 1000, rel=1e-3, abs=1e-6)
        if s1 is not None:
            assert r.median_speed_1_kn == pytest.approx(s1, rel=1e-3, abs=1e-9)
        assert r.median_speed_2_kn == pytest.approx(s2, rel=1e-3, abs=1e-9)


def test_gfw_series_against_the_reference(gfw_series):
    for case, pos in gfw_series.items():
        assert_encounters_match(find_encounters(pos, None, GFW),
                                 ref_encounters(pos, None, min_minutes=30))


# ---- properties --------------------------------------------------------------------------

@st.composite
def fleets(draw):
    """2 to 4 vessels starting within a few hundred metres of each other, moving by
    small random steps (some long), fixes 1 to 90 minutes apart."""
    n = draw(st.integers(2, 4))
    rows = []
    for v in range(n):
        mmsi = draw(st.sampled_from([211000001, 273000002, 412000003, 636000004, 999000005]))
        while any(r[0] == mmsi for r in rows):
            mmsi += 1
        t = T0 + draw(st.integers(0, 12)) * 10 * MIN
        lat, lon = offset(*SEA, *draw(st.tuples(st.integers(-300, 300), st.integers(-300, 300))))
        for dt, dn, de in draw(st.lists(st.tuples(st.integers(1, 90), st.integers(-150, 150),
                                                  st.integers(-150, 150)), min_size=1, max_size=40)):
            rows.append((mmsi, t, lat, lon))
            t += dt * MIN
            lat, lon = offset(lat, lon, dn, de)
    return make_positions(rows)


FAST = EncounterParams(encounter_min_minutes=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=fleets(), perm_seed=st.integers(0, 2**32 - 1))
def test_properties_row_order_symmetry_span_overlap(pos, perm_seed):
    enc = find_encounters(pos, None, FAST)
    target(float(len(enc)))               # steer the search towards fleets that meet
    # independent of input row order
    shuffled = pos.sample(frac=1.0, random_state=perm_seed % 2**32).reset_index(drop=True)
    pd.testing.assert_frame_equal(find_encounters(shuffled, None, FAST), enc)
    # symmetric: relabelling the vessels (which one is "1") changes nothing but the labels
    ids = sorted(pos["mmsi"].unique())
    relabel = dict(zip(ids, reversed(ids)))
    swapped = find_encounters(pos.assign(mmsi=pos["mmsi"].map(relabel)), None, FAST)
    back = {(min(relabel[a], relabel[b]), max(relabel[a], relabel[b]), s, e)
            for a, b, s, e in zip(swapped["mmsi_1"], swapped["mmsi_2"], swapped["start_utc"],
                                  swapped["end_utc"])}
    assert back == set(zip(enc["mmsi_1"], enc["mmsi_2"], enc["start_utc"], enc["end_utc"]))
    assert (enc["mmsi_1"] < enc["mmsi_2"]).all()
    # inside the span of both vessels' data, no overlaps within a pair, the thresholds hold
    span = pos.groupby("mmsi")["timestamp"].agg(["min", "max"])
    for r in enc.itertuples():
        for m in (r.mmsi_1, r.mmsi_2):
            assert span.loc[m, "min"] <= r.start_utc <= r.end_utc <= span.loc[m, "max"]
        assert r.hours >= 0.5 and r.median_distance_m <= 500
        assert r.median_speed_1_kn < 2 and r.median_speed_2_kn < 2
    for _, g in enc.groupby(["mmsi_1", "mmsi_2"]):
        g = g.sort_values("start_utc")
        assert (g["start_utc"].iloc[1:].to_numpy() - g["end_utc"].iloc[:-1].to_numpy()
                >= np.timedelta64(4 * H, "s")).all()
    # and the all-pairs reference agrees
    assert_encounters_match(enc, ref_encounters(pos, None, min_minutes=30))
