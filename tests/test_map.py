"""map.html from hand-made tables: layers, dark periods, escaping of hostile text."""

from __future__ import annotations

import json
import re

import pytest

from shadowfleet.outputs.map import MAX_POINTS_PER_SEGMENT, write_map
from sim_result import BoxRegistry, make_result

HOSTILE = "<script>alert(1)</script>"
HOSTILE_PORT = '<img src=x onerror="alert(2)">'


def _track(mmsi, start, points, every_min=10):
    import pandas as pd

    t0 = pd.Timestamp(start)
    return [dict(mmsi=mmsi, timestamp=t0 + pd.Timedelta(minutes=every_min * i), lat=lat, lon=lon)
            for i, (lat, lon) in enumerate(points)]


def _line(a, b, n):
    return [(a[0] + (b[0] - a[0]) * i / (n - 1), a[1] + (b[1] - a[1]) * i / (n - 1)) for i in range(n)]


@pytest.fixture()
def result():
    # vessel 1 sails Dunay -> sea, goes dark for 30 h, reappears near Dunay
    before = _track(273000001, "2023-09-01T00:00Z", _line((42.884, 132.345), (42.80, 132.10), 12))
    after = _track(273000001, "2023-09-02T08:00Z", _line((42.81, 132.15), (42.884, 132.345), 12))
    other = _track(273000002, "2023-09-01T00:00Z", _line((43.11, 131.885), (42.80, 132.89), 30))
    positions = before + after + other
    import pandas as pd

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
    legs = [dict(leg_id="L-1", mmsi=273000001, name=HOSTILE, origin="Dunay", destination="Najin",
                 depart_origin_utc="2023-09-01T01:00:00Z", arrive_destination_utc="2023-09-01T01:50:00Z",
                 status="inferred", origin_call_id="V-1", destination_call_id="P-1", pair="Dunay|Najin"),
            dict(leg_id="L-2", mmsi=273000002, name="PLAIN NAME", origin="Vladivostok",
                 destination="Nakhodka", depart_origin_utc="2023-09-01T00:00:00Z",
                 arrive_destination_utc="2023-09-01T04:50:00Z", status="observed",
                 origin_call_id="V-2", destination_call_id="V-3", pair="")]
    return make_result(positions, gaps=gaps, legs=legs, statics=statics, registry=BoxRegistry())


def test_hostile_vessel_name_is_escaped_everywhere(result, tmp_path):
    html = write_map(result, tmp_path / "map.html").read_text()
    assert HOSTILE not in html
    assert "alert(1)" in html                     # the name is shown, escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html.replace("\\u003c", "<")


def test_hostile_port_name_is_escaped(result, tmp_path):
    registry = BoxRegistry()
    registry._ports = {HOSTILE_PORT: next(iter(registry._ports.values()))}
    registry.names = (HOSTILE_PORT,)
    result.registry = registry
    html = write_map(result, tmp_path / "map.html").read_text()
    assert HOSTILE_PORT not in html and "<img" not in html.replace("\\u003c", "<")
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


@pytest.mark.parametrize("name", ["`);alert(1);(`", "${alert(2)}",
                                  "\\u003cscript\\u003ealert(3)\\u003c/script\\u003e",
                                  "</div><script>alert(4)</script>"],
                         ids=["backtick", "template-substitution", "js-unicode-escape", "close-tag"])
def test_names_cannot_break_out_of_folium_template_literals(result, tmp_path, name):
    result.statics["name"] = [name, "PLAIN NAME"]
    result.dark_periods["name"] = name
    html = write_map(result, tmp_path / "map.html").read_text()
    for dangerous in ("`);alert", "${alert", "\\u003cscript", "<script>alert"):
        assert dangerous not in html
    assert "alert(" in html                      # shown, but only as text


def _polylines(html):
    return [json.loads(m) for m in re.findall(r"L\.polyline\(\s*(\[\[.*?\]\])", html, flags=re.S)]


def test_layers_ports_tracks_dark_periods_and_legs(result, tmp_path):
    html = write_map(result, tmp_path / "map.html").read_text()
    for layer in ("Ports", "Tracks", "Dark periods", "Legs between ports (schematic)"):
        assert f'"{layer}"' in html
    assert html.count("L.polygon(") == 5
    lines = _polylines(html)
    # the dark period: one dashed straight line from the last fix to the first fix after
    dark = [pts for pts in lines if pts == [[42.80, 132.10], [42.81, 132.15]]]
    assert len(dark) == 1
    assert '"dashArray": "8 6"' in html
    # tracks are broken at the dark period: no track line holds both bounding fixes
    for pts in lines:
        if len(pts) > 2:
            assert not ([42.80, 132.10] in pts and [42.81, 132.15] in pts)
    # an open dark period is a ring at the last fix, not a line
    assert "dark to the end of the data" in html
    # legs: observed solid, inferred dotted
    assert '"2 8"' in html and "inferred leg(s)" in html and "observed leg(s)" in html


def test_tracks_are_simplified_without_cutting_corners(tmp_path):
    import math

    straight = _line((42.0, 131.0), (43.0, 132.0), 3000)
    wiggly = [(42.0 + 0.3 * math.sin(i / 40), 131.0 + i * 0.0005) for i in range(3000)]
    res = make_result(_track(273000009, "2023-09-01T00:00Z", straight, every_min=1)
                      + _track(273000010, "2023-09-01T00:00Z", wiggly, every_min=1))
    html = write_map(res, tmp_path / "map.html").read_text()
    lines = sorted(_polylines(html), key=len)
    assert lines[0] == [[42.0, 131.0], [43.0, 132.0]]
    assert 50 < len(lines[1]) <= MAX_POINTS_PER_SEGMENT
    # every kept point is a real fix, and the curve still reaches its crests
    assert max(p[0] for p in lines[1]) > 42.29


def test_empty_result_still_writes_a_map(tmp_path):
    path = write_map(make_result([]), tmp_path / "map.html")
    assert "L.map(" in path.read_text()
