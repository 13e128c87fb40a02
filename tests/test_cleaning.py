"""Cleaning: not-available positions dropped, spoofing jumps flagged (kernel vs reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from ais.errors import ConfigError, ShadowfleetError
from detectors.cleaning import CleaningParams, clean_positions
from detectors.columns import JUMP_COLUMNS
from tests.reference_gaps import make_positions, random_tracks, ref_jumps

T0 = 1_693_526_400  # 2023-09-01T00:00:00Z


def _jumps(jumps: pd.DataFrame) -> list[tuple]:
    return [(int(m), p.value / 1e9, u.value / 1e9)
            for m, p, u in zip(jumps["mmsi"], jumps["prev_utc"], jumps["utc"])]


def test_isolated_outlier_flags_itself_not_the_return():
    pos, jumps = clean_positions(make_positions([
        (1, T0, 42.0, 130.0), (1, T0 + 600, 42.02, 130.0),
        (1, T0 + 1200, 44.0, 135.0),        # 200+ nm in 10 min
        (1, T0 + 1800, 42.05, 130.0)]))
    assert pos["spoofed"].tolist() == [False, False, True, False]
    assert list(jumps.columns) == list(JUMP_COLUMNS)
    assert len(jumps) == 1
    j = jumps.iloc[0]
    assert (j["prev_lat"], j["lat"]) == (42.02, 44.0)
    assert j["implied_speed_kn"] > 1000 and j["distance_nm"] > 200
    assert j["jump_id"].startswith("J-")


def _track(n, t0=T0 + 3600, lat=42.0, step_s=600):
    """n plausible positions 10 min apart, drifting north at ~6 kn."""
    return [(1, t0 + k * step_s, lat + 0.0017 * k, 130.0) for k in range(n)]


def test_false_first_position_does_not_flag_the_track():
    rows = [(1, T0, 0.0, 0.0)] + _track(8)          # 0 N 0 E, then the real track
    pos, jumps = clean_positions(make_positions(rows))
    assert pos["spoofed"].tolist() == [False, True] + [False] * 7
    assert len(jumps) == 1 and jumps["prev_lat"].item() == 0.0


def test_pairwise_rule_with_new_track_positions_1():
    rows = [(1, T0, 42.0, 130.0), (1, T0 + 600, 44.0, 135.0), (1, T0 + 1200, 42.01, 130.0)]
    pos, _ = clean_positions(make_positions(rows), CleaningParams(new_track_positions=1))
    assert pos["spoofed"].tolist() == [False, True, True]
    pos, _ = clean_positions(make_positions(rows))
    assert pos["spoofed"].tolist() == [False, True, False]


def test_short_burst_and_shared_mmsi_stay_flagged():
    # two consistent false positions, then back: fewer than new_track_positions
    burst = [(1, T0, 42.0, 130.0), (1, T0 + 600, 44.0, 135.0), (1, T0 + 1200, 44.01, 135.0),
             (1, T0 + 1800, 42.01, 130.0)]
    pos, jumps = clean_positions(make_positions(burst))
    assert pos["spoofed"].tolist() == [False, True, True, False] and len(jumps) == 2
    # two ships on one MMSI, reports interleaved: the second ship's are flagged
    rows = []
    for k in range(6):
        rows.append((1, T0 + k * 600, 42.0 + 0.0017 * k, 130.0))
        rows.append((1, T0 + k * 600 + 300, 43.0 + 0.0017 * k, 131.0))
    pos, _ = clean_positions(make_positions(rows))
    assert pos["spoofed"].tolist() == [False, True] * 6


def test_not_available_positions_are_dropped():
    df = make_positions([(1, T0, 42.0, 130.0), (1, T0 + 60, 42.0, 130.0), (2, T0, 1.0, 1.0)])
    df.loc[1, "lat"] = np.nan
    df.loc[2, "lon"] = np.nan
    pos, jumps = clean_positions(df)
    assert len(pos) == 1 and pos["line"].tolist() == [1] and jumps.empty


def test_exactly_max_speed_is_not_a_jump():
    # 50 nm north in one hour: 50 kn exactly (up to the haversine's precision)
    lat2 = 42.0 + 50.0 / (6371.0088 / 1.852) * 180 / np.pi
    pos, jumps = clean_positions(make_positions([(1, T0, 42.0, 130.0),
                                                 (1, T0 + 3600, lat2 - 1e-9, 130.0)]))
    assert not pos["spoofed"].any()
    pos, jumps = clean_positions(make_positions([(1, T0, 42.0, 130.0),
                                                 (1, T0 + 3600, lat2 + 1e-6, 130.0)]))
    assert pos["spoofed"].tolist() == [False, True]


def test_same_time_and_short_hops_are_not_jumps():
    # two receivers, same second, 0.3 nm apart: below min_jump_nm
    pos, jumps = clean_positions(make_positions([(1, T0, 42.0, 130.0),
                                                 (1, T0, 42.005, 130.0)]))
    assert jumps.empty
    # same second, 30 nm apart: a jump with a finite speed (dt counted as 1 s)
    pos, jumps = clean_positions(make_positions([(1, T0, 42.0, 130.0),
                                                 (1, T0, 42.5, 130.0)]))
    assert len(jumps) == 1 and np.isfinite(jumps["implied_speed_kn"].iloc[0])


def test_one_position_vessel_and_empty_frame():
    pos, jumps = clean_positions(make_positions([(5, T0, 42.0, 130.0)]))
    assert pos["spoofed"].tolist() == [False] and jumps.empty
    pos, jumps = clean_positions(make_positions([]))
    assert pos.empty and "spoofed" in pos.columns and list(jumps.columns) == list(JUMP_COLUMNS)


def test_rows_without_time_are_kept_but_not_checked():
    df = make_positions([(1, T0, 42.0, 130.0), (1, T0 + 60, 45.0, 130.0),
                         (1, T0 + 120, 42.01, 130.0)])
    df.loc[1, "timestamp"] = pd.NaT
    pos, jumps = clean_positions(df)
    assert len(pos) == 3 and not pos["spoofed"].any() and jumps.empty


def test_negative_longitudes_use_the_same_distances():
    pos, jumps = clean_positions(make_positions([(1, T0, 42.0, -70.0), (1, T0 + 600, 42.0, -68.0)]))
    assert pos["spoofed"].tolist() == [False, True]
    assert jumps["distance_nm"].iloc[0] == pytest.approx(89.2, abs=0.5)


@pytest.mark.parametrize("field,value", [("max_speed_kn", 0), ("max_speed_kn", -1),
                                         ("max_speed_kn", float("nan")),
                                         ("min_jump_nm", -0.1), ("min_jump_nm", True),
                                         ("new_track_positions", 0),
                                         ("new_track_positions", 2.5)])
def test_params_are_validated(field, value):
    with pytest.raises(ConfigError) as err:
        CleaningParams(**{field: value})
    assert isinstance(err.value, ShadowfleetError) and field in str(err.value)


def test_params_are_frozen_and_keyword_only():
    p = CleaningParams(max_speed_kn=40)
    with pytest.raises(Exception):
        p.max_speed_kn = 10
    with pytest.raises(TypeError):
        CleaningParams(40)  # type: ignore[misc]


@pytest.mark.parametrize("seed", range(6))
def test_kernel_agrees_with_reference_on_random_tracks(seed):
    df = random_tracks(seed, jump_chance=0.08, teleport_chance=0.05)
    params = CleaningParams(max_speed_kn=30 + 10 * seed, min_jump_nm=0.5 * seed,
                            new_track_positions=1 + seed % 4)
    pos, jumps = clean_positions(df, params)
    expected = ref_jumps(df, params.max_speed_kn, params.min_jump_nm,
                         params.new_track_positions)
    assert _jumps(jumps) == expected
    assert int(pos["spoofed"].sum()) == len(expected)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), shuffle=st.integers(0, 10_000))
def test_result_does_not_depend_on_row_order(seed, shuffle):
    df = random_tracks(seed, n_vessels=4, n_rows=25, jump_chance=0.1)
    a_pos, a_jumps = clean_positions(df)
    b_pos, b_jumps = clean_positions(df.sample(frac=1.0, random_state=shuffle))
    pd.testing.assert_frame_equal(a_jumps, b_jumps)
    assert a_pos["spoofed"].tolist() == b_pos["spoofed"].tolist()
    # every jump lies inside the data's time span
    if len(a_jumps):
        assert (a_jumps["utc"] <= df["timestamp"].max()).all()
        assert (a_jumps["prev_utc"] >= df["timestamp"].min()).all()
