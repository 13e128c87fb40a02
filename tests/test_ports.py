"""Port registry: bundled file, validation errors, point-in-polygon and distances
against the pure-Python reference and shapely."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely

from ais.errors import InputError, ShadowfleetError
from ports.errors import PortsError
from ports._geo import haversine_nm
from ports import BUNDLED_PORTS, load_ports
from tests.reference_visits import ref_port_contains
from ports.registry import PortRegistry, parse_features
from tests.reference_visits import ref_haversine_nm, ref_locate, ref_port_distance_nm
from tests._shared import shared


# WPI / REFERENCE.md positions of the ten bundled ports
REFERENCE_POSITIONS = {
    "Najin": (42.2333, 130.3000), "Dunay": (42.8803, 132.3375),
    "Vladivostok": (43.1089, 131.8883), "Bolshoy Kamen": (43.117, 132.350),
    "Nakhodka": (42.8000, 132.8833), "Vostochny": (42.7500, 133.0833),
    "Slavyanka": (42.8667, 131.3833), "Posyet": (42.6500, 130.8000),
    "Zarubino": (42.6333, 131.0833), "Chongjin": (41.7667, 129.8167),
}


def feature(name, *polygons, kind=None, **props):
    kind = kind or ("Polygon" if len(polygons) == 1 else "MultiPolygon")
    coords = polygons[0] if kind == "Polygon" else list(polygons)
    return {"type": "Feature", "properties": {"name": name, **props},
            "geometry": {"type": kind, "coordinates": coords}}


def _ref_feature(feat):
    """A GeoJSON feature as the reference takes it: {"polygons": [[ring, ...], ...]}."""
    g = feat["geometry"]
    polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
    return {"polygons": [[[tuple(p) for p in ring] for ring in poly] for poly in polys]}


def box(w, s, e, n):
    return [[w, s], [e, s], [e, n], [w, n], [w, s]]


def write(tmp_path, features, name="ports.geojson"):
    p = tmp_path / name
    p.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return p


# hand-made registry: a port with a hole, a multipolygon, two ports sharing an edge,
# negative longitudes (west of Greenwich, south of the equator)
HAND_FEATURES = [
    feature("Holed", [box(-74.10, 40.60, -74.00, 40.70), box(-74.06, 40.64, -74.04, 40.66)]),
    feature("Split", [box(-73.90, 40.60, -73.85, 40.65)], [box(-73.80, 40.60, -73.75, 40.65)]),
    feature("West", [box(-74.30, 40.50, -74.20, 40.55)]),
    feature("East", [box(-74.20, 40.50, -74.10, 40.55)]),
    feature("Southern", [[[151.0, -24.0], [151.4, -24.0], [151.2, -23.7], [151.0, -24.0]]]),
]


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    return load_ports(write(tmp_path_factory.mktemp("p"), HAND_FEATURES))


def test_bundled_registry_has_the_ten_ports_with_properties():
    reg = load_ports()
    assert reg.path == str(BUNDLED_PORTS)
    assert set(reg.names) == set(REFERENCE_POSITIONS)
    for props in reg.properties:
        assert set(props) >= {"name", "country", "unlocode", "source"}
        assert props["country"] in ("KP", "RU") and props["source"]
    assert reg.properties[reg.index("Najin")]["unlocode"] == "KPRJN"


def test_each_reference_position_lies_in_its_own_port_only():
    reg = load_ports()
    lat = np.array([v[0] for v in REFERENCE_POSITIONS.values()])
    lon = np.array([v[1] for v in REFERENCE_POSITIONS.values()])
    got = reg.locate(lat, lon)
    assert [reg.names[i] for i in got] == list(REFERENCE_POSITIONS)
    d = reg.distance_nm(lat, lon)
    assert np.all(d[np.arange(len(lat)), got] == 0)
    assert np.all((d > 0).sum(axis=1) == len(reg.names) - 1)


def test_bundled_ports_do_not_overlap():
    reg = load_ports()
    polys = [shapely.geometry.shape(f["geometry"]) for f in reg.to_geojson()["features"]]
    for i, a in enumerate(polys):
        for b in polys[i + 1:]:
            assert not a.intersects(b)


def test_index_ignores_case_and_spaces_and_lists_known_names():
    reg = load_ports()
    assert reg.index("bolshoy  KAMEN") == reg.index("Bolshoy Kamen") == reg.index("bolshoy_kamen")
    with pytest.raises(InputError) as info:
        reg.index("Rajin port")
    assert "Najin" in str(info.value) and "Dunay" in str(info.value)
    assert "\n" not in str(info.value)


def test_distance_matches_great_circle_north_of_a_box_edge():
    reg = load_ports()
    # 0.1 degree north of Najin's northern edge (42.255): 6 nm
    d = reg.distance_nm([42.355], [130.30])[0, reg.index("Najin")]
    assert d == pytest.approx(haversine_nm(42.255, 130.30, 42.355, 130.30), rel=1e-3)
    assert d == pytest.approx(6.0, rel=2e-3)


def test_haversine_against_reference_and_known_distance():
    rng = np.random.default_rng(1)
    for _ in range(50):
        a, b = rng.uniform(-80, 80, 2), rng.uniform(-179, 179, 2)
        assert haversine_nm(a[0], b[0], a[1], b[1]) == pytest.approx(
            ref_haversine_nm(a[0], b[0], a[1], b[1]), rel=1e-9, abs=1e-9)
    # Najin - Dunay straight line: ~98 nm (REFERENCE.md)
    assert haversine_nm(42.2333, 130.30, 42.8803, 132.3375) == pytest.approx(98, abs=1)


def test_locate_and_distance_agree_with_reference_on_random_points(hand):
    rng = np.random.default_rng(7)
    features = parse_features({"type": "FeatureCollection", "features": HAND_FEATURES}, None)
    lat = np.r_[rng.uniform(40.45, 40.75, 1500), rng.uniform(-24.1, -23.6, 300), np.nan]
    lon = np.r_[rng.uniform(-74.35, -73.70, 1500), rng.uniform(150.9, 151.5, 300), 0.0]
    got = hand.locate(lat, lon)
    want = [ref_locate(features, a, b) for a, b in zip(lat, lon)]
    np.testing.assert_array_equal(got, want)
    got_b = hand.locate(lat, lon, buffer_nm=1.5)
    want_b = [ref_locate(features, a, b, 1.5) for a, b in zip(lat, lon)]
    np.testing.assert_array_equal(got_b, want_b)
    dist = hand.distance_nm(lat, lon)
    want_d = np.array([[ref_port_distance_nm(f, a, b) for f in features]
                       for a, b in zip(lat, lon)])
    np.testing.assert_allclose(dist, want_d, rtol=1e-9, atol=1e-9)
    assert np.isnan(dist[-1]).all() and got[-1] == -1
    for p in range(len(features)):
        np.testing.assert_array_equal(
            hand.contains(p, lat, lon, buffer_nm=0.8),
            [ref_port_distance_nm(features[p], a, b) <= 0.8 for a, b in zip(lat, lon)])


def test_holes_and_multipolygons(hand):
    holed, split = hand.index("Holed"), hand.index("Split")
    got = hand.locate([40.65, 40.62, 40.62, 40.62, 40.62], [-74.05, -74.08, -73.87, -73.82, -73.77])
    assert list(got) == [-1, holed, split, -1, split]
    # the hole's centre is 0.01 deg lon (~0.45 nm) from the hole's edge
    assert hand.distance_nm([40.65], [-74.05])[0, holed] == pytest.approx(
        0.01 * 60 * math.cos(math.radians(40.65)), rel=1e-6)


def _edge_points(shapes, rng, n_per_ring=40):
    """Points exactly on every ring (interpolated, then snapped to the double nearest the
    edge only when shapely says it lies on it), every vertex, and points a few ulps off."""
    lon, lat = [], []
    for shape in shapes:
        for poly in getattr(shape, "geoms", [shape]):
            for ring in [poly.exterior, *poly.interiors]:
                xy = np.asarray(ring.coords)
                lon.extend(xy[:, 0])
                lat.extend(xy[:, 1])
                for f in rng.random(n_per_ring):
                    q = ring.interpolate(f, normalized=True)
                    lon.append(q.x)
                    lat.append(q.y)
                # midpoints of axis-parallel edges lie exactly on them
                mid = (xy[1:] + xy[:-1]) / 2
                lon.extend(mid[:, 0])
                lat.extend(mid[:, 1])
    lon, lat = np.asarray(lon), np.asarray(lat)
    return (np.r_[lon, np.nextafter(lon, -np.inf), np.nextafter(lon, np.inf), lon, lon],
            np.r_[lat, lat, lat, np.nextafter(lat, -np.inf), np.nextafter(lat, np.inf)])


def test_inside_means_covers_everywhere_even_on_edges_and_corners(hand):
    """DESIGN.md "Inside a port": inside or on the boundary (shapely ``covers``), the
    same in the kernel and the reference, for points exactly on edges (slanted ones
    too), on every vertex, a few ulps either side, and at random."""
    rng = np.random.default_rng(3)
    shapes = [shapely.geometry.shape(f["geometry"]) for f in HAND_FEATURES]
    e_lon, e_lat = _edge_points(shapes, rng)
    lon = np.r_[e_lon, rng.uniform(-74.35, -73.70, 3000), rng.uniform(150.9, 151.5, 500)]
    lat = np.r_[e_lat, rng.uniform(40.45, 40.75, 3000), rng.uniform(-24.1, -23.6, 500)]
    pts = shapely.points(lon, lat)
    on_boundary = np.zeros(len(lon), dtype=bool)
    for p, (shape, feat) in enumerate(zip(shapes, HAND_FEATURES)):
        want = shapely.covers(shape, pts)
        on_boundary |= shapely.covers(shape.boundary, pts)
        np.testing.assert_array_equal(hand.contains(p, lat, lon), want, err_msg=feat["properties"]["name"])
        np.testing.assert_array_equal(hand.distance_nm(lat, lon)[:, p] == 0, want)
    assert on_boundary.sum() > 300          # the edge cases really are on edges
    got = hand.locate(lat, lon)
    first = np.full(len(lon), -1)
    for p in reversed(range(len(shapes))):
        first[shapely.covers(shapes[p], pts)] = p
    np.testing.assert_array_equal(got, first)
    sample = rng.choice(len(lon), 400, replace=False)
    ref = [ref_port_contains(_ref_feature(HAND_FEATURES[p]), lat[i], lon[i])
           for i in sample for p in range(len(shapes))]
    np.testing.assert_array_equal(np.reshape(ref, (len(sample), len(shapes))),
                                  np.stack([shapely.covers(s, pts[sample]) for s in shapes], 1))


@pytest.mark.parametrize("lat,lon,inside", [
    (40.50, -74.25, True),           # on West's southern edge
    (40.55, -74.30, True),           # West's north-west corner
    (40.50, -74.30, True),           # its south-west corner (the ring's first vertex)
    (40.5, -74.3000000001, False),   # just west of it
    (40.4999999999, -74.25, False),  # just south of the edge
    (40.64, -74.05, True),           # on the edge of Holed's hole: its boundary
    (40.65, -74.05, False),          # inside the hole
], ids=["edge", "corner", "first-vertex", "just-outside-west", "just-outside-south",
        "hole-edge", "inside-hole"])
def test_named_boundary_cases(hand, lat, lon, inside):
    port = "Holed" if lon > -74.11 else "West"
    assert bool(hand.contains(port, [lat], [lon])[0]) is inside


def test_two_ports_sharing_an_edge_both_cover_it_and_locate_gives_the_first(hand):
    west, east = hand.index("West"), hand.index("East")
    lat = np.linspace(40.501, 40.549, 25)
    lon = np.full(25, -74.20)
    assert hand.contains(west, lat, lon).all() and hand.contains(east, lat, lon).all()
    assert set(hand.locate(lat, lon)) == {west}                  # registry order
    assert list(hand.locate([40.52, 40.52], [-74.2001, -74.1999])) == [west, east]


def test_to_geojson_round_trips(tmp_path, hand):
    p = tmp_path / "again.geojson"
    p.write_text(json.dumps(hand.to_geojson()))
    again = load_ports(p)
    assert again.names == hand.names
    rng = np.random.default_rng(5)
    lat, lon = rng.uniform(40.45, 40.75, 500), rng.uniform(-74.35, -73.70, 500)
    np.testing.assert_array_equal(again.locate(lat, lon), hand.locate(lat, lon))


def test_real_amsa_polygons_load_and_agree_with_reference(tmp_path):
    gpd = pytest.importorskip("geopandas")
    zips = shared("decoded", "amsa", "port-visit-shapefiles")
    feats = []
    for name in ("brisbane", "gladstone"):
        g = gpd.read_file(f"zip://{zips / (name + '_visit_pl.zip')}")
        feats.append({"type": "Feature", "properties": {"name": name.title(), "source": "AMSA"},
                      "geometry": shapely.geometry.mapping(g.geometry.iloc[0])})
    reg = load_ports(write(tmp_path, json.loads(json.dumps(feats))))
    features = parse_features({"type": "FeatureCollection", "features": json.loads(
        json.dumps(feats))}, None)
    rng = np.random.default_rng(11)
    lat = np.r_[rng.uniform(-27.6, -27.3, 300), rng.uniform(-24.0, -23.7, 300)]
    lon = np.r_[rng.uniform(152.9, 153.3, 300), rng.uniform(151.1, 151.4, 300)]
    want = [ref_locate(features, a, b) for a, b in zip(lat, lon)]
    np.testing.assert_array_equal(reg.locate(lat, lon), want)
    assert (np.asarray(want) >= 0).sum() > 100


BAD = {
    "not closed": ([feature("A", [[[1, 1], [2, 1], [2, 2], [1, 2]]])],
                   "feature 0 ('A'), polygon 0, ring 0: ring is not closed"),
    "two vertices": ([feature("A", [[[1, 1], [2, 1], [1, 1], [1, 1]]])],
                     "fewer than 3 distinct vertices"),
    "bow tie": ([feature("A", [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]])],
                "ring intersects itself near lon 0.50000, lat 0.50000"),
    "swapped axes": ([feature("Najin", [[[42.2, 130.2], [42.3, 130.2], [42.3, 130.3],
                                         [42.2, 130.2]]])],
                     "latitude 130.2 is out of range; it looks like [lat, lon] order"),
    "longitude": ([feature("A", [box(179.5, 1, 180.5, 2)])], "longitude 180.5 is out of range"),
    "duplicate": ([feature("Najin", [box(1, 1, 2, 2)]), feature(" najin ", [box(3, 3, 4, 4)])],
                  "feature 1 ('najin'): name repeats feature 0 ('Najin')"),
    "no name": ([{"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [box(1, 1, 2, 2)]}}], "feature 0: no properties.name"),
    "point": ([{"type": "Feature", "properties": {"name": "P"}, "geometry": {
        "type": "Point", "coordinates": [1, 1]}}], "geometry type 'Point' is not a port outline"),
    "hole not closed": ([feature("H", [box(0, 0, 3, 3), [[1, 1], [2, 1], [2, 2], [1, 2]]])],
                        "feature 0 ('H'), polygon 0, ring 1: ring is not closed"),
    "text vertex": ([feature("T", [[["a", 1], [2, 1], [2, 2], ["a", 1]]])],
                    "vertex 0: ['a', 1] is not [lon, lat]"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_validation_errors_are_one_line_naming_file_and_feature(tmp_path, case):
    features, expected = BAD[case]
    p = write(tmp_path, features)
    with pytest.raises(PortsError) as info:
        load_ports(p)
    text = str(info.value)
    assert text.startswith(f"{p}: ") and "\n" not in text
    assert expected in text
    assert isinstance(info.value, ShadowfleetError)


def test_file_level_errors(tmp_path):
    with pytest.raises(PortsError, match="ports file not found"):
        load_ports(tmp_path / "missing.geojson")
    p = tmp_path / "bad.json"
    p.write_text('{"type": "FeatureCollection",\n "features": [,]}')
    with pytest.raises(PortsError, match=rf"{p}:2: not valid JSON"):
        load_ports(p)
    p.write_text('{"type": "Feature"}')
    with pytest.raises(PortsError, match="feature 0: no properties.name"):
        load_ports(p)
    p.write_text('[1, 2]')
    with pytest.raises(PortsError, match="not a GeoJSON FeatureCollection"):
        load_ports(p)
    p.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(PortsError, match="no features"):
        load_ports(p)


def test_contains_with_buffer(hand):
    west = hand.index("West")
    # 0.01 deg south of West's southern edge: 0.6 nm
    assert not hand.contains("West", [40.49], [-74.25])[0]
    assert hand.contains(west, [40.49], [-74.25], buffer_nm=0.7)[0]
    assert not hand.contains(west, [40.49], [-74.25], buffer_nm=0.5)[0]


def test_empty_inputs_and_bad_arguments(hand):
    assert hand.locate([], []).shape == (0,)
    assert hand.distance_nm([], []).shape == (0, len(hand.names))
    with pytest.raises(ValueError):
        hand.locate([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        hand.locate([1.0], [1.0], buffer_nm=-1)
    assert isinstance(hand, PortRegistry)


def test_geo_helpers():
    from ports._geo import (haversine_nm_array, implied_speed_kn, nm_to_deg_lat,
                                nm_to_deg_lon, point_segment_distance_nm)

    assert implied_speed_kn(10.0, 3600.0) == 10.0
    assert implied_speed_kn(1.0, 0.0) == math.inf and implied_speed_kn(0.0, 0.0) == 0.0
    assert nm_to_deg_lat(60.0) == 1.0
    assert nm_to_deg_lon(60.0, 60.0) == pytest.approx(2.0)
    assert math.isfinite(nm_to_deg_lon(1.0, 90.0))
    # 0.1 deg of latitude north of a west-east segment: 6 nm; beyond its end: to the end
    assert point_segment_distance_nm(42.1, 130.0, 42.0, 129.9, 42.0, 130.1) == pytest.approx(6.0)
    assert point_segment_distance_nm(42.0, 130.2, 42.0, 129.9, 42.0, 130.1) == pytest.approx(
        0.1 * 60 * math.cos(math.radians(42.0)))
    a = np.array([42.0, 0.0]), np.array([130.0, -74.0]), np.array([43.0, 1.0]), np.array([131.0, -73.0])
    np.testing.assert_allclose(haversine_nm_array(*a), [ref_haversine_nm(*x) for x in zip(*a)])
    assert math.isnan(haversine_nm(np.nan, 0.0, 0.0, 0.0))


def test_registry_pickles_for_worker_processes(hand):
    import pickle

    again = pickle.loads(pickle.dumps(hand))
    assert again.names == hand.names and again.path == hand.path
    np.testing.assert_array_equal(again.locate([40.62], [-74.08]), hand.locate([40.62], [-74.08]))
