"""map.html from hand-made tables: one self-contained page, GeoJSON layers with the events'
ids, tracks cut at dark periods and at the map's edge, hostile text kept inert."""

from __future__ import annotations

import html as html_lib
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from map_page_parse import PageParts, csp_hash, features, layer, page_data
from shadowfleet.outputs.map import MapBudget, write_map, write_map_stats
from shadowfleet.outputs.map_page import script_json
from shadowfleet.outputs.map_tracks import Fixes, LonWindow, lon_window, simplify_lines
from sim_result import BoxRegistry, make_result

HOSTILE = "</script><script>document.title='PWNED'</script>"
HOSTILE_PORT = '<img src=x onerror="document.title=\'PWNED\'">'


def _track(mmsi, start, points, every_min=10):
    t0 = pd.Timestamp(start)
    return [dict(mmsi=mmsi, timestamp=t0 + pd.Timedelta(minutes=every_min * i), lat=lat, lon=lon)
            for i, (lat, lon) in enumerate(points)]


def _line(a, b, n):
    return [(a[0] + (b[0] - a[0]) * i / (n - 1), a[1] + (b[1] - a[1]) * i / (n - 1)) for i in range(n)]


def hand_made_result():
    """Two vessels around Dunay, one event of each kind; vessel 1 bears a hostile name."""
    # vessel 1 sails Dunay -> sea, goes dark for 30 h, reappears near Dunay
    before = _track(273000001, "2023-09-01T00:00Z", _line((42.884, 132.345), (42.80, 132.10), 12))
    after = _track(273000001, "2023-09-02T08:00Z", _line((42.81, 132.15), (42.884, 132.345), 12))
    other = _track(273000002, "2023-09-01T00:00Z", _line((43.11, 131.885), (42.80, 132.89), 30))
    statics = pd.DataFrame({"mmsi": [273000001, 273000002], "name": [HOSTILE, "PLAIN NAME"],
                            "timestamp": pd.to_datetime(["2023-09-01", "2023-09-01"], utc=True)})
    gaps = [dict(gap_id="G-1", mmsi=273000001, name=HOSTILE, start_utc="2023-09-01T01:50:00Z",
                 end_utc="2023-09-02T08:00:00Z", hours=30.17, start_lat=42.80, start_lon=132.10,
                 end_lat=42.81, end_lon=132.15, distance_nm=2.3, implied_speed_kn=0.08,
                 others_received=3, possible_port_calls="Najin;Vladivostok"),
            dict(gap_id="G-2", mmsi=273000002, name="PLAIN NAME", start_utc="2023-09-01T04:50:00Z",
                 end_utc=None, hours=40.0, start_lat=42.80, start_lon=132.89, end_lat=None,
                 end_lon=None, distance_nm=None, implied_speed_kn=None, others_received=0,
                 possible_port_calls="")]
    visits = [dict(visit_id="V-1", mmsi=273000001, name=HOSTILE, port="Dunay",
                   arrival_utc="2023-09-02T09:00:00Z", departure_utc="2023-09-02T09:50:00Z",
                   dwell_hours=0.83, n_positions=6)]
    calls = [dict(call_id="P-1", mmsi=273000001, name=HOSTILE, port="Najin", gap_id="G-1",
                  start_utc="2023-09-01T01:50:00Z", end_utc="2023-09-02T08:00:00Z",
                  pair="Dunay|Najin")]
    legs = [dict(leg_id="L-1", mmsi=273000001, name=HOSTILE, origin="Dunay", destination="Najin",
                 depart_origin_utc="2023-09-01T01:00:00Z", arrive_destination_utc="2023-09-01T01:50:00Z",
                 status="inferred", origin_call_id="V-1", destination_call_id="P-1", pair="Dunay|Najin"),
            dict(leg_id="L-2", mmsi=273000002, name="PLAIN NAME", origin="Vladivostok",
                 destination="Nakhodka", depart_origin_utc="2023-09-01T00:00:00Z",
                 arrive_destination_utc="2023-09-01T04:50:00Z", status="observed",
                 origin_call_id="V-2", destination_call_id="V-3", pair="")]
    trips = [dict(trip_id="T-1", mmsi=273000001, name=HOSTILE, origin="Dunay", destination="Najin",
                  depart_origin_utc="2023-09-01T01:00:00Z", arrive_destination_utc=None,
                  depart_destination_utc=None, return_origin_utc="2023-09-02T09:00:00Z",
                  duration_hours=32.0, status="inferred")]
    res = make_result(before + after + other, visits=visits, gaps=gaps, calls=calls, legs=legs,
                      trips=trips, statics=statics, registry=BoxRegistry())
    res.alerts = pd.DataFrame([dict(alert_id="A-1", kind="dark_period", mmsi=273000001, name=HOSTILE,
                                    imo=None, start_utc="2023-09-01T01:50:00Z",
                                    end_utc="2023-09-02T08:00:00Z", lat=42.80, lon=132.10,
                                    score=0.7, summary=f"{HOSTILE} went dark", evidence="G-1",
                                    claim_ids="")])
    return res


@pytest.fixture()
def result():
    return hand_made_result()


def _page(result, tmp_path, **kw):
    text = write_map(result, tmp_path / "map.html", **kw).read_text(encoding="utf-8")
    return text, page_data(text)


# ----------------------------------------------------------------------------- the page

def test_page_references_no_outside_script_or_stylesheet(result, tmp_path):
    text, _ = _page(result, tmp_path)
    parts = PageParts(text)
    assert len(parts.scripts) == 3                      # data, Leaflet, the page's script
    assert all("src" not in attrs for attrs, _ in parts.scripts)
    assert not [link for link in parts.links if "stylesheet" in str(link.get("rel", ""))]
    assert not parts.sources                            # no img/iframe/link/object with a URL
    for css in parts.styles:
        assert "@import" not in css
        assert not re.search(r"url\(\s*['\"]?(?!data:|#)", css), "a stylesheet loads a file"
    assert "Leaflet 1.9.4" in parts.scripts[1][1]
    # the Content Security Policy lets exactly the page's two scripts run
    csp = next(m["content"] for m in parts.metas
               if m.get("http-equiv", "").lower() == "content-security-policy")
    allowed = re.search(r"script-src ([^;]+)", csp).group(1).split()
    assert sorted(allowed) == sorted(csp_hash(body) for _, body in parts.scripts[1:])
    assert "default-src 'none'" in csp


def test_hostile_vessel_name_stays_inert_text(result, tmp_path):
    text, data = _page(result, tmp_path)
    assert HOSTILE not in text and "<script>document" not in text
    assert text.count("</script>") == 3
    # read back, the data hold the name exactly: the page shows it as text
    labels = {v["mmsi"]: v["label"] for v in data["vessels"]}
    assert labels[273000001] == f"{HOSTILE} (273000001)"
    gap = next(f for f in features(data, "dark_periods") if f["properties"]["gap_id"] == "G-1")
    assert gap["properties"]["name"] == HOSTILE
    alert = features(data, "alerts")[0]["properties"]
    assert alert["summary"] == f"{HOSTILE} went dark"


def test_hostile_port_name_and_title(result, tmp_path):
    registry = BoxRegistry()
    registry._ports = {HOSTILE_PORT: next(iter(registry._ports.values()))}
    registry.names = (HOSTILE_PORT,)
    result.registry = registry
    text, data = _page(result, tmp_path)
    assert "<img" not in text
    assert [f["properties"]["port"] for f in features(data, "ports")] == [HOSTILE_PORT]
    assert PageParts(text).title == "shadowfleet map"


@pytest.mark.parametrize("name", ["</script><script>alert(1)</script>", "<!--", "<![CDATA[",
                                  "a\u2028b\u2029c", "`${alert(2)}`", "\\u003c/script\\u003e",
                                  "&lt;b&gt; &amp;", "\"'><svg onload=alert(3)>"],
                         ids=["close-script", "comment", "cdata", "line-separators",
                              "template-literal", "escaped-escape", "entities", "attribute"])
def test_script_json_is_safe_and_exact(name):
    text = script_json({"name": name})
    assert not set(text) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(text) == {"name": name}


def test_long_texts_are_cut(result, tmp_path):
    result.alerts.loc[0, "summary"] = "x" * 10_000
    _, data = _page(result, tmp_path, budget=MapBudget(text_chars=100))
    summary = features(data, "alerts")[0]["properties"]["summary"]
    assert len(summary) == 100 and summary.endswith("\u2026")


def test_simulated_title_and_banner(result, tmp_path):
    result.simulated_note = "SIMULATED AIS: test"
    text, data = _page(result, tmp_path)
    assert PageParts(text).title == "SIMULATED DATA: shadowfleet map"
    assert "SIMULATED DATA: every vessel on this map is fictional" in text
    assert data["meta"]["simulated"]
    result.simulated_note = None
    text, data = _page(result, tmp_path)
    assert "SIMULATED" not in text and not data["meta"]["simulated"]


# ----------------------------------------------------------------------------- layers

def test_one_layer_per_kind_with_the_events_ids(result, tmp_path):
    _, data = _page(result, tmp_path)
    ids = {x["id"]: [f["properties"].get(x["idField"]) for f in x["features"]["features"]]
           for x in data["layers"]}
    assert ids["dark_periods"] == ["G-1", "G-2"]
    assert ids["port_visits"] == ["V-1"]
    assert ids["possible_calls"] == ["P-1"]
    assert ids["legs"] == ["L-1", "L-2"]
    assert ids["round_trips"] == ["T-1"]
    assert ids["alerts"] == ["A-1"]
    assert len(ids["ports"]) == len(BoxRegistry().names)
    # kinds the run has no table for (encounters, loitering, stops) have no layer
    assert not {"encounters", "loitering", "stops"} & set(ids)
    trip = features(data, "round_trips")[0]["properties"]
    assert trip["status"] == "inferred" and trip["origin"] == "Dunay"
    assert layer(data, "round_trips")["schematic"] == "loop"
    assert layer(data, "legs")["schematic"] == "arc"


def test_new_kinds_are_drawn_when_the_run_has_them(result, tmp_path):
    result.encounters = pd.DataFrame([dict(encounter_id="E-1", mmsi_1=273000001, name_1=HOSTILE,
                                           mmsi_2=999000001, name_2="OTHER", lat=42.5, lon=132.0,
                                           start_utc="2023-09-01T00:00:00Z", hours=3.0)])
    result.loitering = pd.DataFrame([dict(loiter_id="LO-1", mmsi=273000002, name="PLAIN NAME",
                                          lat=42.6, lon=132.2, hours=5.0)])
    result.stops = pd.DataFrame([dict(stop_id="S-1", lat=42.9, lon=132.3, n_stays=4,
                                      mmsis="1;2", n_vessels=2)])
    _, data = _page(result, tmp_path)
    assert [f["properties"]["encounter_id"] for f in features(data, "encounters")] == ["E-1"]
    assert [f["properties"]["loiter_id"] for f in features(data, "loitering")] == ["LO-1"]
    assert [f["properties"]["stop_id"] for f in features(data, "stops")] == ["S-1"]
    assert features(data, "stops")[0]["geometry"] == {"type": "Point", "coordinates": [132.3, 42.9]}


def test_tracks_are_cut_at_dark_periods(result, tmp_path):
    _, data = _page(result, tmp_path)
    tracks = {f["properties"]["mmsi"]: f for f in features(data, "tracks")}
    lines = tracks[273000001]["geometry"]["coordinates"]
    assert tracks[273000001]["geometry"]["type"] == "MultiLineString" and len(lines) == 2
    # the last fix before the silence ends one line, the first after starts the next
    assert lines[0][-1] == [132.1, 42.8] and lines[1][0] == [132.15, 42.81]
    assert len(tracks[273000002]["geometry"]["coordinates"]) == 1
    # the dark period is its own straight dashed line from fix to fix
    gap = next(f for f in features(data, "dark_periods") if f["properties"]["gap_id"] == "G-1")
    assert gap["geometry"] == {"type": "LineString", "coordinates": [[132.1, 42.8], [132.15, 42.81]]}
    assert layer(data, "dark_periods")["style"]["dashArray"] == "8 6"
    # an open dark period is a ring at the last fix
    open_gap = next(f for f in features(data, "dark_periods") if f["properties"]["gap_id"] == "G-2")
    assert open_gap["geometry"] == {"type": "Point", "coordinates": [132.89, 42.8]}
    assert "end_utc" not in open_gap["properties"]
    assert layer(data, "dark_periods")["pointStyle"]["fill"] is False


def test_track_popup_says_why_the_vessel_is_shown(result, tmp_path):
    _, data = _page(result, tmp_path)
    props = {f["properties"]["mmsi"]: f["properties"] for f in features(data, "tracks")}
    assert props[273000001]["shown_because"] == ["highest alert score 0.70 (dark_period A-1)"]
    assert props[273000002]["shown_because"] == ["among the vessels received most often (30 positions)"]
    assert props[273000001]["positions"] == 24 and props[273000001]["segments"] == 2
    assert props[273000001]["first_utc"] == "2023-09-01T00:00:00Z"


def test_visit_is_drawn_at_the_vessels_fix_during_the_stay(result, tmp_path):
    _, data = _page(result, tmp_path)
    visit = features(data, "port_visits")[0]
    # fixes at 09:00 .. 09:50 are the 7th..12th of the second leg: the middle one is drawn
    after = _line((42.81, 132.15), (42.884, 132.345), 12)
    inside = after[6:12]
    mid = inside[(len(inside) - 1) // 2]
    assert visit["geometry"]["coordinates"] == [round(mid[1], 4), round(mid[0], 4)]


def test_possible_call_is_the_path_through_the_port(result, tmp_path):
    _, data = _page(result, tmp_path)
    call = features(data, "possible_calls")[0]
    coords = call["geometry"]["coordinates"]
    assert len(coords) == 3 and coords[0] == [132.1, 42.8] and coords[2] == [132.15, 42.81]
    najin = next(f for f in features(data, "ports") if f["properties"]["port"] == "Najin")
    ring = np.asarray(najin["geometry"]["coordinates"][0][0])
    assert ring[:, 0].min() <= coords[1][0] <= ring[:, 0].max()


def test_empty_result_still_writes_a_map(tmp_path):
    text, data = _page(make_result([]), tmp_path)
    assert data["vessels"] == [] and data["bounds"] is None
    assert "Leaflet 1.9.4" in text


def test_the_page_is_deterministic(result, tmp_path):
    a = write_map(result, tmp_path / "a.html").read_bytes()
    b = write_map(result, tmp_path / "b.html").read_bytes()
    assert a == b


# ----------------------------------------------------------------------------- tracks

def _douglas_peucker(pts: np.ndarray, tol: float) -> np.ndarray:
    """The textbook recursion, distances to the segment (as GEOS measures them)."""
    if len(pts) <= 2:
        return pts
    a, b = pts[0], pts[-1]
    ab = b - a
    denom = float(ab @ ab)
    if denom == 0:
        d = np.hypot(*(pts[1:-1] - a).T)
    else:
        f = np.clip(((pts[1:-1] - a) @ ab) / denom, 0, 1)
        d = np.hypot(*(pts[1:-1] - (a + f[:, None] * ab)).T)
    k = int(np.argmax(d))
    if d[k] <= tol:
        return np.array([a, b])
    left = _douglas_peucker(pts[:k + 2], tol)
    right = _douglas_peucker(pts[k + 1:], tol)
    return np.r_[left[:-1], right]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_simplification_matches_textbook_douglas_peucker(seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 400, 12)
    seg = np.repeat(np.arange(len(sizes)), sizes)
    x = np.concatenate([np.cumsum(rng.normal(0, 0.01, n)) for n in sizes])
    y = np.concatenate([np.cumsum(rng.normal(0, 0.01, n)) for n in sizes])
    xy, idx, tol = simplify_lines(x, y, seg, point_budget=10**9, base_tolerance_deg=0.02)
    assert tol == 0.02
    for s, n in enumerate(sizes):
        got = xy[idx == s]
        pts = np.c_[x[seg == s], y[seg == s]]
        want = np.array([pts[0], pts[0]]) if n == 1 else _douglas_peucker(pts, 0.02)
        np.testing.assert_allclose(got, want)


def test_tracks_fit_the_point_budget_without_cutting_corners(tmp_path):
    straight = _line((42.0, 131.0), (43.0, 132.0), 3000)
    wiggly = [(42.0 + 0.3 * math.sin(i / 40), 131.0 + i * 0.0005) for i in range(3000)]
    res = make_result(_track(273000009, "2023-09-01T00:00Z", straight, every_min=1)
                      + _track(273000010, "2023-09-01T00:00Z", wiggly, every_min=1))
    stats = write_map_stats(res, tmp_path / "map.html", budget=MapBudget(track_points=200))
    data = page_data(stats.path.read_text(encoding="utf-8"))
    lines = {f["properties"]["mmsi"]: f["geometry"]["coordinates"] for f in features(data, "tracks")}
    assert lines[273000009] == [[[131.0, 42.0], [132.0, 43.0]]]
    curve = lines[273000010][0]
    assert stats.track_vertices <= 200 and 50 < len(curve) <= 198
    # every kept vertex is a real fix, and the curve still reaches its crests
    fixes = {(round(lon, 4), round(lat, 4)) for lat, lon in wiggly}
    assert all(tuple(p) in fixes for p in curve)
    assert max(p[1] for p in curve) > 42.29 and min(p[1] for p in curve) < 41.71


def test_one_fix_between_two_silences_is_a_dot(tmp_path):
    pts = [(42.0, 131.0), (42.1, 131.1), (42.2, 131.2)]
    rows = [dict(mmsi=1, timestamp=pd.Timestamp("2023-09-01T00:00Z") + pd.Timedelta(hours=10 * i),
                 lat=a, lon=b) for i, (a, b) in enumerate(pts)]
    _, data = _page(make_result(rows), tmp_path)
    lines = features(data, "tracks")[0]["geometry"]["coordinates"]
    assert lines == [[[131.0, 42.0], [131.0, 42.0]], [[131.1, 42.1], [131.1, 42.1]],
                     [[131.2, 42.2], [131.2, 42.2]]]


def test_spoofed_and_missing_positions_are_not_drawn(tmp_path):
    rows = _track(1, "2023-09-01T00:00Z", _line((42.0, 131.0), (42.0, 131.5), 6))
    rows[2]["lat"] = 10.0
    rows[4]["lat"] = float("nan")
    res = make_result(rows)
    res.positions["spoofed"] = [False, False, True, False, False, False]
    _, data = _page(res, tmp_path)
    line = features(data, "tracks")[0]["geometry"]["coordinates"][0]
    assert all(lat == 42.0 for _, lat in line)
    assert features(data, "tracks")[0]["properties"]["positions"] == 4


# ----------------------------------------------------------------------------- antimeridian

@pytest.mark.parametrize("lons,west", [
    ([131.0, 132.5], -180.0),                     # Sea of Japan: the usual window
    ([-70.0, 10.0], -180.0),                      # Atlantic
    ([175.0, 179.9, -179.9, -175.0], None),       # astride 180: the edge moves away
    (list(range(-180, 180)), -180.0),             # every longitude: the usual window
    ([], -180.0),
], ids=["japan", "atlantic", "antimeridian", "world", "empty"])
def test_lon_window(lons, west):
    window = lon_window(lons)
    if west is not None:
        assert window.west == west
    else:
        assert -175.0 < window.west < 175.0
        x = window.wrap(lons)
        assert x.max() - x.min() < 11.0          # drawn as one piece


def test_track_across_the_antimeridian_is_one_piece_in_the_pacific(tmp_path):
    lons = np.r_[np.linspace(178.0, 180.0, 20, endpoint=False), np.linspace(-180.0, -178.0, 20)]
    rows = _track(1, "2023-09-01T00:00Z", [(52.0 + 0.01 * i, lon) for i, lon in enumerate(lons)])
    res = make_result(rows)
    res.dark_periods = pd.DataFrame([dict(gap_id="G-9", mmsi=1, start_lat=52.0, start_lon=179.5,
                                          end_lat=52.1, end_lon=-179.5,
                                          start_utc="2023-09-01T00:00:00Z")])
    _, data = _page(res, tmp_path)
    line = features(data, "tracks")[0]["geometry"]["coordinates"]
    assert len(line) == 1
    xs = [p[0] for p in line[0]]
    assert data["meta"]["west"] != -180.0
    assert min(xs) == pytest.approx(178.0) and max(xs) == pytest.approx(182.0)
    gap = features(data, "dark_periods")[0]["geometry"]["coordinates"]
    assert abs(gap[1][0] - gap[0][0]) == pytest.approx(1.0)       # the short way
    (s, w), (n, e) = data["bounds"]
    assert e - w < 5.0


def test_track_across_the_edge_of_a_world_wide_map_is_cut(tmp_path):
    """With data at every longitude no edge is free: the crossing track is cut there."""
    world = [dict(mmsi=2, timestamp=pd.Timestamp("2023-09-01T00:00Z") + pd.Timedelta(hours=i),
                  lat=0.0, lon=float(lon)) for i, lon in enumerate(range(-179, 180, 1))]
    crossing = _track(1, "2023-09-01T00:00Z",
                      [(52.0, lon) for lon in (179.0, 179.5, -179.8, -179.2)])
    _, data = _page(make_result(world + crossing), tmp_path)
    assert data["meta"]["west"] == -180.0
    lines = {f["properties"]["mmsi"]: f["geometry"]["coordinates"] for f in features(data, "tracks")}
    assert [[p[0] for p in line] for line in lines[1]] == [[179.0, 179.5], [-179.8, -179.2]]


def test_follow_takes_the_short_way():
    assert LonWindow.follow(-179.0, 179.0) == pytest.approx(181.0)
    assert LonWindow.follow(179.0, -179.0) == pytest.approx(-181.0)
    assert LonWindow.follow(10.0, 0.0) == pytest.approx(10.0)
    assert LonWindow(west=0.0).wrap(-10.0) == pytest.approx(350.0)


def test_fix_lookup_matches_a_plain_loop():
    rng = np.random.default_rng(5)
    n = 500
    positions = pd.DataFrame({"mmsi": rng.integers(1, 6, n),
                              "timestamp": pd.to_datetime(rng.integers(0, 10**6, n), unit="s", utc=True),
                              "lat": rng.uniform(0, 1, n), "lon": rng.uniform(0, 1, n)})
    fixes = Fixes.of(positions, [1, 2, 3, 4, 5])
    q_m = rng.integers(1, 6, 50)
    q_t = rng.uniform(-10, 10**6 + 10, 50)
    for side in ("left", "right"):
        got = fixes.index_at(q_m, q_t, side)
        for m, t, g in zip(q_m, q_t, got):
            rows = np.flatnonzero(fixes.mmsi == m)
            later = [i for i in rows if (fixes.t[i] >= t if side == "left" else fixes.t[i] > t)]
            assert g == (later[0] if later else rows[-1] + 1)


def test_html_title_is_escaped():
    from shadowfleet.outputs.map_page import render_page

    text = render_page(title="<b>x</b>", banner="<i>y</i>", data={"layers": []})
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in text
    assert html_lib.escape("<i>y</i>") in text and "<i>" not in text
