"""Dark periods: named edge cases, reception check, reachability, kernel vs reference."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from ais.errors import ConfigError
from detectors.columns import DARK_PERIOD_COLUMNS, DARK_PERIOD_TABLE
from detectors.dark_periods import DarkPeriodParams, find_dark_periods, messages_without_position
from ports import load_ports
from tests.reference_gaps import make_positions, random_tracks, ref_dark_periods

T0 = 1_693_526_400  # 2023-09-01T00:00:00Z
H = 3600


def _box(name, lon0, lat0, lon1, lat1):
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """West and East share the edge lon 130.1; Far lies ~55 nm away; Bay is at negative
    longitudes."""
    doc = {"type": "FeatureCollection", "features": [
        _box("West", 130.0, 42.0, 130.1, 42.1), _box("East", 130.1, 42.0, 130.2, 42.1),
        _box("Far", 131.0, 42.6, 131.1, 42.7), _box("Bay", -70.1, 41.0, -70.0, 41.1)]}
    path = tmp_path_factory.mktemp("ports") / "tiny.geojson"
    path.write_text(json.dumps(doc))
    return load_ports(path)


@pytest.fixture(scope="module")
def bundled():
    return load_ports()


def test_columns_and_types(tiny):
    gaps = find_dark_periods(make_positions([(1, T0, 42.05, 130.05), (1, T0 + 7 * H, 42.05, 130.15)]),
                             tiny, names={1: "ANGARA"})
    assert tuple(gaps.columns) == DARK_PERIOD_TABLE and DARK_PERIOD_TABLE[:len(DARK_PERIOD_COLUMNS)] == DARK_PERIOD_COLUMNS
    g = gaps.iloc[0]
    assert g["gap_id"].startswith("G-") and g["name"] == "ANGARA"
    assert g["hours"] == pytest.approx(7.0) and not g["open"]
    assert str(gaps["start_utc"].dtype) == "datetime64[ns, UTC]"
    assert gaps["others_received"].dtype == np.int64


@pytest.mark.parametrize("dt,expected", [(6 * H, 0), (6 * H + 1, 1), (6 * H - 1, 0)])
def test_gap_of_exactly_gap_hours_is_not_a_dark_period(tiny, dt, expected):
    gaps = find_dark_periods(make_positions([(1, T0, 42.5, 130.5), (1, T0 + dt, 42.5, 130.6)]), tiny)
    assert len(gaps) == expected


def test_one_position_vessel(tiny):
    df = make_positions([(1, T0, 42.5, 130.5), (2, T0, 42.6, 130.6), (2, T0 + 10 * H, 42.6, 130.6)])
    gaps = find_dark_periods(df, tiny)
    one = gaps[gaps["mmsi"] == 1]
    assert len(one) == 1 and bool(one["open"].iloc[0]) and one["hours"].iloc[0] == pytest.approx(10)
    # a lone position at the very end of the data is no dark period
    assert find_dark_periods(make_positions([(1, T0, 42.5, 130.5)]), tiny).empty


def test_open_gap_at_the_end_of_the_data(tiny):
    df = make_positions([(1, T0, 42.05, 130.05), (1, T0 + H, 42.05, 130.05),
                         (2, T0, 42.06, 130.06), (2, T0 + 20 * H, 42.06, 130.06)])
    g = find_dark_periods(df, tiny).set_index("mmsi").loc[1]
    assert bool(g["open"]) and pd.isna(g["end_utc"]) and g["hours"] == pytest.approx(19.0)
    assert math.isnan(g["end_lat"]) and math.isnan(g["distance_nm"])
    assert math.isnan(g["implied_speed_kn"]) and g["possible_port_calls"] == ""
    assert g["start_port"] == "West" and g["end_port"] == ""
    assert g["others_received"] == 1          # vessel 2's position at T0+20h counts
    # an explicit data_end (naive = UTC) moves the end of open gaps
    later = find_dark_periods(df, tiny, data_end=pd.Timestamp(T0 + 30 * H, unit="s"))
    assert later.set_index("mmsi").loc[1, "hours"] == pytest.approx(29.0)
    assert len(later) == 3           # vessel 2 is now open too, after its closed gap
    early = find_dark_periods(df, tiny, data_end=pd.Timestamp(T0 + 5 * H, unit="s", tz="UTC"))
    # data_end only bounds open gaps: vessel 1 is silent 4 h by then, vessel 2's gap is closed
    assert early["mmsi"].tolist() == [2] and not early["open"].any()


def test_gap_id_survives_the_gap_closing(tiny):
    rows = [(1, T0, 42.5, 130.5), (2, T0 + 8 * H, 42.5, 130.6)]
    open_ = find_dark_periods(make_positions(rows), tiny)
    closed = find_dark_periods(make_positions(rows + [(1, T0 + 9 * H, 42.5, 130.5)]), tiny)
    assert open_.loc[open_["mmsi"] == 1, "gap_id"].item() == closed.loc[closed["mmsi"] == 1, "gap_id"].item()
    assert bool(open_["open"].iloc[0]) and not closed.loc[closed["mmsi"] == 1, "open"].item()


def test_dark_period_starting_inside_a_port(tiny):
    # leaves West (inside), reappears at sea; 20 h: Far (~50 nm) and East reachable
    g = find_dark_periods(make_positions([(1, T0, 42.05, 130.05),
                                          (1, T0 + 20 * H, 42.3, 130.5)]), tiny).iloc[0]
    assert g["start_port"] == "West" and g["end_port"] == ""
    calls = g["possible_port_calls"].split(";")
    assert "West" not in calls and "East" in calls and "Far" in calls and "Bay" not in calls


def test_two_ports_sharing_an_edge(tiny):
    g = find_dark_periods(make_positions([(1, T0, 42.05, 130.05),
                                          (1, T0 + 10 * H, 42.05, 130.15)]), tiny).iloc[0]
    assert (g["start_port"], g["end_port"]) == ("West", "East")
    assert g["possible_port_calls"] == "Far"
    # a fix exactly on the shared edge belongs to one port only
    g = find_dark_periods(make_positions([(1, T0, 42.05, 130.1),
                                          (1, T0 + 7 * H, 42.05, 130.1)]), tiny).iloc[0]
    assert g["start_port"] in ("West", "East")
    assert g["start_port"] not in g["possible_port_calls"].split(";")


def test_negative_longitudes(tiny):
    g = find_dark_periods(make_positions([(1, T0, 41.05, -70.05), (1, T0 + 8 * H, 41.5, -70.5)]),
                          tiny).iloc[0]
    assert g["start_port"] == "Bay" and g["end_port"] == ""
    assert g["start_lon"] == -70.05 and g["distance_nm"] == pytest.approx(33.8, abs=0.1)
    assert g["possible_port_calls"] == ""


def test_reachability_threshold(tiny):
    """distance(start, P) + distance(P, end) <= reach_speed_kn * (hours - dwell)."""
    fix = (42.05, 130.05)
    d = tiny.distance_nm([fix[0]], [fix[1]])[0, tiny.index("Far")]
    params = DarkPeriodParams(reach_speed_kn=15.0, min_dwell_minutes=60.0)
    need_h = 2 * d / 15.0 + 1.0
    for hours, reachable in ((need_h - 0.01, False), (need_h + 0.01, True)):
        g = find_dark_periods(make_positions([(1, T0, *fix), (1, T0 + round(hours * H), *fix)]),
                              tiny, params).iloc[0]
        assert ("Far" in g["possible_port_calls"].split(";")) is reachable


def test_others_received(tiny):
    start, end = (42.05, 130.05), (42.5, 130.5)
    rows = [(1, T0, *start), (1, T0 + 10 * H, *end),
            (2, T0 + 1 * H, 42.1, 130.1),      # near the start, during: counts
            (2, T0 + 2 * H, 42.1, 130.1),      # same vessel again: still one
            (3, T0 + 9 * H, 42.45, 130.55),    # near the end, during: counts
            (4, T0, 42.05, 130.06),            # at the start instant: not "while it lasted"
            (4, T0 + 10 * H, 42.5, 130.51),    # at the end instant: neither
            (5, T0 + 5 * H, 43.5, 131.9),      # far away
            (6, T0 + 5 * H, 42.05, 130.07)]    # spoofed below
    spoofed = [False] * 8 + [True]
    gaps = find_dark_periods(make_positions(rows, spoofed=spoofed), tiny)
    g = gaps[gaps["mmsi"] == 1].iloc[0]
    assert g["others_received"] == 2
    small = find_dark_periods(make_positions(rows, spoofed=spoofed), tiny,
                              DarkPeriodParams(reception_radius_nm=1.0))
    assert small[small["mmsi"] == 1]["others_received"].item() == 0


@pytest.mark.parametrize("lon", [179.99, -179.99])
def test_others_received_across_the_antimeridian(tiny, lon):
    """Vessels a mile away on the other side of 180 degrees are near (DESIGN.md: longitudes
    wrap), on both sides and at both fixes; one 30 nm away is not."""
    west = -lon
    rows = [(1, T0, 10.0, lon), (1, T0 + 10 * H, 10.2, lon),
            (2, T0 + 1 * H, 10.0, west),                    # 1.2 nm from the start
            (3, T0 + 9 * H, 10.21, west),                   # near the end
            (4, T0 + 5 * H, 10.0, west - math.copysign(0.5, west))]   # 30 nm away
    gaps = find_dark_periods(make_positions(rows), tiny)
    assert gaps[gaps["mmsi"] == 1]["others_received"].item() == 2
    expected = ref_dark_periods(make_positions(rows), tiny)
    assert [g["others_received"] for g in expected if g["mmsi"] == 1] == [2]


def test_spoofed_rows_do_not_fill_a_gap(tiny):
    df = make_positions([(1, T0, 42.5, 130.5), (1, T0 + 4 * H, 44.0, 134.0),
                         (1, T0 + 8 * H, 42.5, 130.6)], spoofed=[False, True, False])
    gaps = find_dark_periods(df, tiny)
    assert len(gaps) == 1 and gaps["hours"].item() == pytest.approx(8.0)


def test_empty_and_missing_rows(tiny):
    assert find_dark_periods(make_positions([]), tiny).columns.tolist() == list(DARK_PERIOD_TABLE)
    df = make_positions([(1, T0, 42.5, 130.5), (1, T0 + 3 * H, 42.5, 130.5),
                         (1, T0 + 8 * H, 42.5, 130.5)])
    df.loc[1, "lat"] = np.nan
    assert len(find_dark_periods(df, tiny)) == 1
    df.loc[1, "lat"] = 42.5
    df.loc[1, "timestamp"] = pd.NaT
    assert len(find_dark_periods(df, tiny)) == 1


@pytest.mark.parametrize("field,value", [("gap_hours", 0), ("gap_hours", -1.0),
                                         ("reception_radius_nm", float("inf")),
                                         ("reach_speed_kn", "15"), ("min_dwell_minutes", -5)])
def test_params_are_validated(field, value):
    with pytest.raises(ConfigError) as err:
        DarkPeriodParams(**{field: value})
    assert field in str(err.value)


def _compare(gaps: pd.DataFrame, ref: list[dict]):
    assert len(gaps) == len(ref)
    for (_, g), r in zip(gaps.iterrows(), ref):
        assert int(g["mmsi"]) == r["mmsi"]
        assert g["start_utc"].value / 1e9 == r["start"]
        assert bool(g["open"]) == r["open"]
        if not r["open"]:
            assert g["end_utc"].value / 1e9 == r["end"]
            assert g["distance_nm"] == pytest.approx(r["distance_nm"], rel=1e-9, abs=1e-9)
        assert g["hours"] == pytest.approx(r["hours"])
        assert int(g["others_received"]) == r["others_received"], (g["gap_id"], r)
        assert g["possible_port_calls"] == r["possible_port_calls"]
        assert (g["start_port"], g["end_port"]) == (r["start_port"], r["end_port"])
        assert int(g["own_messages"]) == r["own_messages"], (g["gap_id"], r)


@pytest.mark.parametrize("seed", range(5))
def test_kernel_agrees_with_reference_on_random_tracks(bundled, seed):
    df = random_tracks(seed, n_vessels=10, n_rows=50)
    params = DarkPeriodParams(gap_hours=4.0 + seed, reception_radius_nm=10.0 + 10 * seed)
    gaps = find_dark_periods(df, bundled, params)
    ref = ref_dark_periods(df, bundled, gap_hours=params.gap_hours,
                           reception_radius_nm=params.reception_radius_nm)
    assert len(ref) > 0
    _compare(gaps, ref)


def test_kernel_agrees_with_reference_in_a_crowded_harbour(bundled):
    # many vessels within a few nm of each other: the reception count matters
    df = random_tracks(42, n_vessels=25, n_rows=40, lat=(42.20, 42.30), lon=(130.25, 130.40),
                       gap_chance=0.2)
    gaps = find_dark_periods(df, bundled)
    _compare(gaps, ref_dark_periods(df, bundled))
    assert gaps["others_received"].max() > 3


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), shuffle=st.integers(0, 10_000))
def test_properties(bundled, seed, shuffle):
    df = random_tracks(seed, n_vessels=5, n_rows=30)
    gaps = find_dark_periods(df, bundled)
    again = find_dark_periods(df.sample(frac=1.0, random_state=shuffle), bundled)
    pd.testing.assert_frame_equal(gaps, again)
    lo, hi = df["timestamp"].min(), df["timestamp"].max()
    assert (gaps["start_utc"] >= lo).all() and (gaps["start_utc"] <= hi).all()
    assert (gaps["end_utc"].dropna() <= hi).all()
    assert (gaps["hours"] > 6.0).all()
    for _, v in gaps.groupby("mmsi"):
        ends = v["end_utc"].fillna(hi + pd.Timedelta(days=1))
        assert (v["start_utc"].iloc[1:].to_numpy() >= ends.iloc[:-1].to_numpy()).all()
        assert v["open"].sum() <= 1 and (not v["open"].any() or bool(v["open"].iloc[-1]))


@pytest.mark.parametrize("radius_nm,gap_hours", [(0.3, 6.0), (150.0, 6.0), (20.0, 1.0), (20.0, 48.0)])
def test_reception_agrees_with_reference_for_any_radius_and_bucket(bundled, radius_nm, gap_hours):
    """Tiny radius (cells smaller than the jitter), huge radius (whole cells inside),
    buckets much shorter and much longer than the gaps."""
    df = random_tracks(11, n_vessels=12, n_rows=40, lat=(42.0, 42.6), lon=(130.2, 131.0),
                       gap_chance=0.25)
    params = DarkPeriodParams(reception_radius_nm=radius_nm, gap_hours=gap_hours)
    gaps = find_dark_periods(df, bundled, params)
    ref = ref_dark_periods(df, bundled, gap_hours=gap_hours, reception_radius_nm=radius_nm)
    assert len(ref) > 0
    _compare(gaps, ref)


# ---- own messages: the transponder heard while no position came ----------------------

def _statics(rows) -> pd.DataFrame:
    """A statics frame from (mmsi, epoch seconds or None) rows."""
    return pd.DataFrame({"mmsi": np.array([m for m, _ in rows], dtype=np.int64),
                         "timestamp": pd.to_datetime(pd.Series(
                             [None if t is None else pd.Timestamp(t, unit="s", tz="UTC")
                              for _, t in rows], dtype=object), utc=True),
                         "name": "X", "msg_type": 5})


def test_own_messages_count_static_and_position_not_available_reports(tiny):
    pos = make_positions([(1, T0, 42.5, 130.5), (1, T0 + 10 * H, 42.5, 130.6),
                          (1, T0 + 11 * H, 42.5, 130.6), (1, T0 + 20 * H, 42.5, 130.6),
                          (2, T0, 42.6, 130.6), (2, T0 + 20 * H, 42.6, 130.6)])
    blank = make_positions([(1, T0 + 2 * H, float("nan"), float("nan")),      # lat 91 / lon 181
                            (1, T0 + 3 * H, 42.5, float("nan")),
                            (2, T0 + 4 * H, float("nan"), float("nan"))])     # another vessel
    statics = _statics([(1, T0 + 5 * H), (1, T0),             # at the gap's start: not inside
                        (1, T0 + 10 * H),                    # at its end: not inside
                        (1, T0 + 15 * H), (1, None), (3, T0 + 5 * H)])
    own = messages_without_position(pd.concat([pos, blank], ignore_index=True), statics)
    assert list(own.columns) == ["mmsi", "timestamp", "track"] and len(own) == 3 + 6 - 1  # no NaT
    assert (own["track"] == 0).all()                     # frames without tracks: track 0
    gaps = find_dark_periods(pos, tiny, own_messages=own)
    mine = gaps[gaps.mmsi == 1].set_index("start_utc")
    first = mine.loc[pd.Timestamp(T0, unit="s", tz="UTC")]
    second = mine.loc[pd.Timestamp(T0 + 11 * H, unit="s", tz="UTC")]
    assert first["own_messages"] == 3                             # 2 h, 3 h, 5 h
    assert first["own_first_utc"] == pd.Timestamp(T0 + 2 * H, unit="s", tz="UTC")
    assert first["own_last_utc"] == pd.Timestamp(T0 + 5 * H, unit="s", tz="UTC")
    assert second["own_messages"] == 1                           # 15 h
    assert list(gaps[gaps.mmsi == 2]["own_messages"]) == [1]     # its own blank report only
    # none given: every count 0, columns still there
    plain = find_dark_periods(pos, tiny)
    assert (plain["own_messages"] == 0).all() and plain["own_first_utc"].isna().all()


def test_own_messages_of_an_open_gap_run_to_the_end_of_the_data(tiny):
    pos = make_positions([(1, T0, 42.5, 130.5), (2, T0, 42.6, 130.6), (2, T0 + 20 * H, 42.6, 130.6)])
    own = messages_without_position(None, _statics([(1, T0 + 20 * H), (1, T0 + 21 * H)]))
    g = find_dark_periods(pos, tiny, own_messages=own).set_index("mmsi").loc[1]
    assert bool(g["open"]) and g["own_messages"] == 1      # at data_end counts, after it not


@pytest.mark.parametrize("seed", range(3))
def test_own_messages_agree_with_reference_on_random_tracks(bundled, seed):
    df = random_tracks(seed, n_vessels=8, n_rows=40)
    rng = np.random.default_rng(seed)
    t_lo = df["timestamp"].min().value / 1e9
    t_hi = df["timestamp"].max().value / 1e9
    rows = [(int(m), float(t)) for m, t in zip(rng.choice(df["mmsi"].unique(), 300),
                                               np.round(rng.uniform(t_lo, t_hi + 3600, 300)))]
    rows += [(int(m), float(t.value / 1e9)) for m, t in zip(df["mmsi"], df["timestamp"])][::7]
    own = messages_without_position(None, _statics(rows))
    gaps = find_dark_periods(df, bundled, own_messages=own.sample(frac=1, random_state=seed))
    ref = ref_dark_periods(df, bundled, own_messages=[(m, pd.Timestamp(t, unit="s", tz="UTC"))
                                                      for m, t in rows])
    _compare(gaps, ref)
    assert gaps["own_messages"].sum() > 0


def test_dark_period_alert_says_positions_withheld_when_the_vessel_was_heard(tiny):
    from detectors.alerts import build_alerts

    pos = make_positions([(1, T0, 42.5, 130.5), (1, T0 + 10 * H, 42.5, 130.6),
                          (2, T0, 42.6, 130.6), (2, T0 + 10 * H, 42.6, 130.6)])
    own = messages_without_position(None, _statics([(1, T0 + 4 * H), (1, T0 + 6 * H)]))
    gaps = find_dark_periods(pos, tiny, own_messages=own)
    alerts = build_alerts(None, None, None, gaps, None, names={1: "ANGARA", 2: "MARIA"})
    text = dict(zip(alerts["mmsi"], alerts["summary"]))
    assert "positions withheld, not AIS switched off" in text[1]
    assert "2 messages without a position from 2023-09-01 04:00Z to 2023-09-01 06:00Z" in text[1]
    assert "not received for 10.0 h" in text[2] and "withheld" not in text[2]
