"""Port visits: named edge cases, kernel against the pure-Python reference on hand-made,
seeded random and real tracks, and hypothesis properties."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ais.errors import ConfigError
from detectors.columns import PORT_VISIT_COLUMNS, PORT_VISIT_TABLE
from detectors.port_visits import PortVisitParams, find_port_visits
from ports import load_ports
from ports.registry import parse_features
from tests.reference_visits import ref_port_visits
from tests._shared import shared

T0 = pd.Timestamp("2023-09-01T00:00:00Z")


def box(w, s, e, n):
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


# Two ports sharing the edge lon -74.20, one far away; negative longitudes on purpose
FEATURES = [
    {"type": "Feature", "properties": {"name": name},
     "geometry": {"type": "Polygon", "coordinates": [ring]}}
    for name, ring in (("West", box(-74.30, 40.50, -74.20, 40.55)),
                       ("East", box(-74.20, 40.50, -74.10, 40.55)),
                       ("Far", box(-73.90, 40.60, -73.85, 40.65)))]
PARSED = parse_features({"type": "FeatureCollection", "features": FEATURES}, None)


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    p = tmp_path_factory.mktemp("ports") / "ports.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": FEATURES}))
    return load_ports(p)


def make_track(points, mmsi=1, start=T0, **extra):
    """``points``: list of (minutes since start, lat, lon)."""
    df = pd.DataFrame({
        "mmsi": np.full(len(points), mmsi, dtype=np.int64),
        "timestamp": [start + pd.Timedelta(minutes=m) for m, _, _ in points],
        "lat": [p[1] for p in points], "lon": [p[2] for p in points],
        "source": "test", "line": np.arange(len(points), dtype=np.int64)})
    for k, v in extra.items():
        df[k] = v
    return df


IN_WEST = (40.52, -74.25)
IN_EAST = (40.52, -74.15)
IN_FAR = (40.62, -73.87)
SEA = (40.40, -74.00)
# 0.3 nm south of West's southern edge (40.50): inside a 0.5 nm exit buffer
JUST_OUT = (40.495, -74.25)


def stay(port, t0, t1, step=10):
    return [(m, *port) for m in range(t0, t1 + 1, step)]


def run(reg, df, **params):
    return find_port_visits(df, reg, PortVisitParams(**params), names={1: "ANGARA"})


def test_simple_visit_columns_and_times(reg):
    df = make_track([(0, *SEA)] + stay(IN_WEST, 30, 150) + [(200, *SEA)])
    v = run(reg, df)
    assert tuple(v.columns) == PORT_VISIT_TABLE and tuple(v.columns[:8]) == PORT_VISIT_COLUMNS
    assert len(v) == 1
    r = v.iloc[0]
    assert (r.port, r.mmsi, r["name"], r.n_positions) == ("West", 1, "ANGARA", 13)
    assert r.arrival_utc == T0 + pd.Timedelta(minutes=30)
    assert r.departure_utc == T0 + pd.Timedelta(minutes=150)
    assert r.dwell_hours == 2.0 and not r.open_at_end and r.call_id == r.visit_id
    assert r.visit_id.startswith("V-") and len(r.visit_id) == 14
    assert str(v["arrival_utc"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize("minutes, n", [(59, 0), (60, 1), (61, 1)])
def test_min_dwell_is_inclusive(reg, minutes, n):
    df = make_track([(0, *SEA), (10, *IN_WEST), (10 + minutes, *IN_WEST), (200, *SEA)])
    assert len(run(reg, df)) == n


@pytest.mark.parametrize("gap_minutes, n_visits", [(360, 1), (361, 2)])
def test_in_port_gap_of_exactly_gap_hours_keeps_the_visit(reg, gap_minutes, n_visits):
    pts = stay(IN_WEST, 0, 60) + stay(IN_WEST, 60 + gap_minutes, 120 + gap_minutes)
    v = run(reg, make_track(pts))
    assert len(v) == n_visits
    if n_visits == 2:
        assert v.departure_utc.iloc[0] == T0 + pd.Timedelta(minutes=60)
        assert v.arrival_utc.iloc[1] == T0 + pd.Timedelta(minutes=60 + gap_minutes)


def test_jitter_on_the_polygon_edge_makes_one_visit_with_the_buffer(reg):
    pts = [(0, *SEA)] + [(10 + 10 * k, *(IN_WEST if k % 2 == 0 else JUST_OUT))
                         for k in range(30)] + [(400, *SEA)]
    df = make_track(pts)
    one = run(reg, df)
    assert len(one) == 1 and one.n_positions.iloc[0] == 29
    # without hysteresis every excursion ends the visit, and none lasts an hour
    assert len(run(reg, df, exit_buffer_nm=0.0)) == 0
    assert len(run(reg, df, exit_buffer_nm=0.0, min_dwell_minutes=0)) == 15


@pytest.mark.parametrize("where", [(40.50, -74.25), (40.55, -74.30), (40.50, -74.30),
                                   (40.525, -74.30)],
                         ids=["on-south-edge", "on-nw-corner", "on-sw-corner", "on-west-edge"])
def test_a_vessel_moored_exactly_on_the_boundary_is_in_port(reg, where):
    """DESIGN.md "Inside a port": on the boundary is inside, with or without hysteresis."""
    df = make_track([(0, *SEA)] + stay(where, 30, 150) + [(300, *SEA)])
    for buffer_nm in (0.0, 0.5):
        v = run(reg, df, exit_buffer_nm=buffer_nm)
        assert list(v.port) == ["West"] and v.n_positions.iloc[0] == 13


def test_a_shared_edge_belongs_to_the_first_port_of_the_registry(reg):
    df = make_track([(0, *SEA)] + stay((40.52, -74.20), 30, 150) + [(300, *SEA)])
    assert list(run(reg, df).port) == ["West"]


def test_two_ports_sharing_an_edge_hand_over_without_waiting_for_the_buffer(reg):
    df = make_track(stay(IN_WEST, 0, 90) + [(100, 40.52, -74.2005), (110, 40.52, -74.1995)]
                    + stay(IN_EAST, 120, 240) + [(300, *SEA)])
    v = run(reg, df)
    assert list(v.port) == ["West", "East"]
    assert v.departure_utc.iloc[0] == T0 + pd.Timedelta(minutes=100)
    assert v.arrival_utc.iloc[1] == T0 + pd.Timedelta(minutes=110)


def test_one_position_vessel(reg):
    df = make_track([(0, *IN_WEST)])
    assert run(reg, df).empty
    v = run(reg, df, min_dwell_minutes=0)
    assert len(v) == 1 and v.open_at_end.iloc[0] and v.dwell_hours.iloc[0] == 0


def test_visit_open_at_the_end_of_the_data(reg):
    v = run(reg, make_track([(0, *SEA)] + stay(IN_FAR, 10, 100)))
    assert len(v) == 1 and bool(v.open_at_end.iloc[0]) and v.port.iloc[0] == "Far"


def test_dark_period_that_starts_inside_a_port(reg):
    """Silent in port for 10 h, next heard at sea: the visit ends at its last position
    inside, closed (the dark period detector reports the silence)."""
    v = run(reg, make_track(stay(IN_WEST, 0, 90) + [(90 + 600, *SEA), (700, *SEA)]))
    assert len(v) == 1 and not v.open_at_end.iloc[0]
    assert v.departure_utc.iloc[0] == T0 + pd.Timedelta(minutes=90)


def test_spoofed_and_missing_rows_are_ignored(reg):
    pts = stay(IN_WEST, 0, 120)
    spoofed = np.zeros(len(pts), dtype=bool)
    pts[6] = (60, *SEA)            # a teleport to sea in the middle of the stay
    spoofed[6] = True
    df = make_track(pts, spoofed=spoofed)
    df.loc[3, "lat"] = np.nan
    v = run(reg, df, exit_buffer_nm=0.0)
    assert len(v) == 1 and v.n_positions.iloc[0] == len(pts) - 2
    # honoured, the teleport splits the stay into two visits of 50 minutes
    assert len(run(reg, df.drop(columns="spoofed"), exit_buffer_nm=0.0,
                   min_dwell_minutes=40)) == 2


def test_enter_needs_the_polygon_not_the_buffer(reg):
    df = make_track([(m, *JUST_OUT) for m in range(0, 200, 10)])
    assert run(reg, df).empty


def test_empty_input_and_no_ports(reg):
    empty = make_track([])
    v = run(reg, empty)
    assert v.empty and tuple(v.columns) == PORT_VISIT_TABLE


@pytest.mark.parametrize("bad", [dict(gap_hours=0), dict(min_dwell_minutes=-1),
                                 dict(exit_buffer_nm=float("nan")), dict(gap_hours="6"),
                                 dict(exit_buffer_nm=True)])
def test_params_are_validated(bad):
    with pytest.raises(ConfigError):
        PortVisitParams(**bad)
    with pytest.raises(TypeError):
        PortVisitParams(6.0)  # keyword-only


def reference_visits(df, params):
    """Reference visits of a whole frame, as comparable tuples."""
    out = []
    use = df[df.lat.notna() & df.lon.notna()]
    if "spoofed" in use.columns:
        use = use[~use.spoofed]
    use = use.sort_values(["mmsi", "timestamp", "source", "line"], kind="mergesort")
    for mmsi, g in use.groupby("mmsi", sort=True):
        ts = list(g.timestamp)
        rows = [(t.value / 1e9, a, b) for t, a, b in zip(ts, g.lat, g.lon)]
        for s, e, p, o in ref_port_visits(rows, PARSED, min_dwell_s=params.min_dwell_minutes * 60,
                                          gap_s=params.gap_hours * 3600,
                                          exit_buffer_nm=params.exit_buffer_nm):
            out.append((int(mmsi), PARSED[p]["name"], ts[s], ts[e], e - s + 1, bool(o)))
    return out


def as_tuples(v):
    return [(int(r.mmsi), r.port, r.arrival_utc, r.departure_utc, int(r.n_positions),
             bool(r.open_at_end)) for r in v.itertuples()]


def random_tracks(rng, n_vessels, n_points):
    """Random walks between and around the three ports, with gaps and edge jitter."""
    frames = []
    anchors = np.array([IN_WEST, IN_EAST, IN_FAR, SEA, JUST_OUT, (40.52, -74.20)])
    for v in range(n_vessels):
        n = int(rng.integers(1, n_points))
        which = rng.integers(0, len(anchors), n)
        which = np.repeat(which[: max(1, n // 5)], 5)[:n]
        lat = anchors[which, 0] + rng.normal(0, 0.01, len(which))
        lon = anchors[which, 1] + rng.normal(0, 0.01, len(which))
        steps = rng.choice([5, 10, 30, 120, 400], size=len(which), p=[.4, .3, .15, .1, .05])
        minutes = np.cumsum(steps)
        pts = list(zip(minutes.tolist(), lat.tolist(), lon.tolist()))
        frames.append(make_track(pts, mmsi=100 + v, spoofed=rng.random(len(pts)) < 0.03))
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("params", [PortVisitParams(), PortVisitParams(
    min_dwell_minutes=20, gap_hours=1, exit_buffer_nm=1.0), PortVisitParams(
    min_dwell_minutes=0, exit_buffer_nm=0.0)], ids=["default", "short", "no-buffer"])
def test_kernel_matches_reference_on_seeded_random_tracks(reg, seed, params):
    df = random_tracks(np.random.default_rng(seed), 25, 120)
    got = find_port_visits(df, reg, params)
    assert as_tuples(got) == reference_visits(df, params)


def test_real_year_track_brisbane_gladstone_matches_reference(tmp_path):
    """A Class B vessel's year in AMSA data against AMSA's own port polygons."""
    gpd = pytest.importorskip("geopandas")
    import shapely

    zips = shared("decoded", "amsa", "port-visit-shapefiles")
    feats = []
    for name in ("brisbane", "gladstone"):
        g = gpd.read_file(f"zip://{zips / (name + '_visit_pl.zip')}")
        feats.append({"type": "Feature", "properties": {"name": name.title()},
                      "geometry": json.loads(json.dumps(shapely.geometry.mapping(
                          g.geometry.iloc[0])))})
    p = tmp_path / "au.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    reg = load_ports(p)
    parsed = parse_features({"type": "FeatureCollection", "features": feats}, None)
    track = pd.read_csv(shared("decoded", "amsa", "503000720.track.csv"))
    track["timestamp"] = pd.to_datetime(track["timestamp"], utc=True)
    track["line"] = np.arange(len(track))
    track["source"] = "amsa"
    params = PortVisitParams()
    v = find_port_visits(track, reg, params)
    rows = [(t.value / 1e9, a, b) for t, a, b in zip(track.timestamp, track.lat, track.lon)]
    want = ref_port_visits(rows, parsed, min_dwell_s=3600, gap_s=6 * 3600, exit_buffer_nm=0.5)
    assert [(parsed[p]["name"], track.timestamp[s], track.timestamp[e]) for s, e, p, _ in want] \
        == list(zip(v.port, v.arrival_utc, v.departure_utc))
    assert len(v) >= 5 and set(v.port) == {"Brisbane"}
    # the two reports off Gladstone are 3 days apart: a gap, not one visit of 3 days
    v0 = find_port_visits(track, reg, PortVisitParams(min_dwell_minutes=0))
    assert (v0.port == "Gladstone").sum() == 2


def _span_ok(v, df):
    lo, hi = df.timestamp.min(), df.timestamp.max()
    return bool(((v.arrival_utc >= lo) & (v.departure_utc <= hi)
                 & (v.arrival_utc <= v.departure_utc)).all())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 6))
def test_properties_span_no_overlap_row_order(reg, seed, n):
    rng = np.random.default_rng(seed)
    df = random_tracks(rng, n, 60)
    v = find_port_visits(df, reg, PortVisitParams(min_dwell_minutes=10))
    assert _span_ok(v, df)
    for _, g in v.groupby("mmsi"):
        assert (g.arrival_utc.iloc[1:].to_numpy() > g.departure_utc.iloc[:-1].to_numpy()).all()
    assert (v.dwell_hours >= 10 / 60 - 1e-12).all()
    shuffled = df.sample(frac=1.0, random_state=int(seed % 1000)).reset_index(drop=True)
    again = find_port_visits(shuffled, reg, PortVisitParams(min_dwell_minutes=10))
    pd.testing.assert_frame_equal(v, again)


def test_microsecond_times_and_minimal_columns(reg):
    """pandas 3 parses text times to microseconds; a bare frame needs only four columns."""
    df = make_track([(0, *SEA)] + stay(IN_EAST, 30, 150) + [(200, *SEA)])
    bare = df[["mmsi", "timestamp", "lat", "lon"]].copy()
    bare["timestamp"] = bare["timestamp"].dt.as_unit("us")
    a, b = run(reg, df), run(reg, bare)
    pd.testing.assert_frame_equal(a, b)
    assert str(b["arrival_utc"].dtype) == "datetime64[ns, UTC]"
