"""Reception caveats measured in the data and the run's registry (DESIGN.md: "Caveats are
computed from the data and the registry, never written for one port"), on a registry
whose ports are neither Najin nor Vladivostok."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from shadowfleet.claims.caveats import ReceptionIndex
from tests.claims_tables import claim, evaluate, gaps, positions, track

DARK, OTHER, FAR = 273000001, 273000002, 273000003


def _haversine_nm(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 / 1.852 * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    from ports import load_ports

    def box(name, lat, lon):
        ring = [[lon - 0.05, lat - 0.05], [lon + 0.05, lat - 0.05], [lon + 0.05, lat + 0.05],
                [lon - 0.05, lat + 0.05], [lon - 0.05, lat - 0.05]]
        return {"type": "Feature", "properties": {"name": name},
                "geometry": {"type": "Polygon", "coordinates": [ring]}}

    path = tmp_path_factory.mktemp("ports") / "ports.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        box("Alpha Harbour", 10.0, 100.0), box("Beta Roads", 10.5, 100.0)]}))
    return load_ports(path)


def _gap(others=0, own=None, end="2023-09-02T00:00Z", gid="G-1"):
    g = gaps((gid, DARK, "2023-09-01T12:00Z", end, others, ""))
    g.loc[0, ["start_lat", "start_lon", "end_lat", "end_lon"]] = [10.0, 100.0, 10.0, 100.1]
    if end is None:
        g.loc[0, ["end_lat", "end_lon"]] = [np.nan, np.nan]
    if own is not None:
        g["own_messages"] = own
    return g


def _caveats(registry, g, pos):
    c = claim("dark_periods", ports=(), mmsi=[DARK], at_least=1, start="2023-09-01",
              end="2023-09-03")
    r = evaluate([c], registry_=registry, dark_periods=g, positions=pos).results[0]
    assert r.evidence_ids == (g["gap_id"].iloc[0],)
    return [x for x in r.caveats if x.startswith("Reception")]


def test_nearest_vessel_received_while_it_lasted(registry):
    pos = positions(track(DARK, "2023-09-01T00:00Z", "2023-09-01T12:00Z", lat=10.0, lon=100.0),
                    # received in Beta Roads while the vessel was dark, and nearer before it
                    track(OTHER, "2023-09-01T13:00Z", "2023-09-01T20:00Z", lat=10.5, lon=100.0),
                    track(FAR, "2023-09-01T00:00Z", "2023-09-01T11:00Z", lat=10.1, lon=100.0),
                    track(FAR, "2023-09-01T14:00Z", "2023-09-01T16:00Z", lat=10.1, lon=100.0,
                          spoofed=True))
    (text,) = _caveats(registry, _gap(), pos)
    want = min(_haversine_nm(10.0, 100.0, 10.5, 100.0), _haversine_nm(10.0, 100.1, 10.5, 100.0))
    assert text == (
        "Reception: no other vessel was received within 20 nm of G-1 while it lasted (it began "
        "in Alpha Harbour and ended 3.0 nm from Alpha Harbour); the nearest position received "
        f"from another vessel meanwhile was {want:.1f} nm away (that position in Beta Roads), so "
        "the silence may be a lack of coverage there rather than a transponder switched off.")
    assert "Najin" not in text and "Vladivostok" not in text


def test_nobody_received_anywhere_while_it_lasted(registry):
    pos = positions(track(FAR, "2023-09-01T00:00Z", "2023-09-01T11:00Z", lat=10.3, lon=100.0),
                    track(FAR, "2023-09-02T00:00Z", "2023-09-02T03:00Z", lat=10.3, lon=100.0))
    (text,) = _caveats(registry, _gap(), pos)
    want = _haversine_nm(10.0, 100.0, 10.3, 100.0)
    assert "no other vessel was received anywhere in the data while it lasted" in text
    assert (f"the nearest position another vessel ever had in the data is {want:.1f} nm away "
            "(that position 9.0 nm from Beta Roads): the silence proves nothing about the "
            "transponder.") in text


def test_an_open_dark_period_lasts_to_the_end_of_the_data(registry):
    pos = positions(track(OTHER, "2023-09-03T00:00Z", "2023-09-03T06:00Z", lat=10.5, lon=100.0))
    (text,) = _caveats(registry, _gap(end=None), pos)
    assert "(it began in Alpha Harbour)" in text
    assert "the nearest position received from another vessel meanwhile was 30.0 nm away" in text


def test_a_vessel_heard_during_its_silence_withheld_positions(registry):
    (text,) = _caveats(registry, _gap(own=3), None)
    assert text == ("Reception: 3 messages of the vessel itself without a usable position were "
                    "received during G-1: its transponder was on, so positions were withheld "
                    "(or not available), not AIS switched off.")


def test_no_reception_caveat_when_others_were_heard_nearby(registry):
    assert _caveats(registry, _gap(others=4, own=0), None) == []


def test_many_silent_dark_periods_are_listed_after_the_first_six(registry):
    frames = []
    for i in range(8):
        g = _gap(gid=f"G-{i}")
        g["start_utc"] += pd.Timedelta(hours=i)
        frames.append(g)
    c = claim("dark_periods", ports=(), mmsi=[DARK], at_least=1, start="2023-09-01",
              end="2023-09-03")
    r = evaluate([c], registry_=registry,
                 dark_periods=pd.concat(frames, ignore_index=True)).results[0]
    reception = [x for x in r.caveats if x.startswith("Reception")]
    assert len(reception) == 7
    assert reception[-1] == ("Reception: 2 more dark periods with no other vessel received "
                             "nearby: G-6, G-7.")


def test_reception_index_nearest_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    n = 400
    t0 = pd.Timestamp("2023-09-01T00:00Z")
    frame = pd.DataFrame({"mmsi": rng.integers(1, 6, n).astype("int64"),
                          "timestamp": [t0 + pd.Timedelta(minutes=int(m))
                                        for m in rng.integers(0, 5000, n)],
                          "lat": rng.uniform(9, 11, n), "lon": rng.uniform(99, 101, n),
                          "spoofed": rng.random(n) < 0.1})
    index = ReceptionIndex(frame)
    for _ in range(30):
        own = int(rng.integers(1, 6))
        a = t0 + pd.Timedelta(minutes=int(rng.integers(0, 4000)))
        b = a + pd.Timedelta(minutes=int(rng.integers(1, 2000)))
        points = [(float(rng.uniform(9, 11)), float(rng.uniform(99, 101))) for _ in range(2)]
        best = None
        for m, ts, lat, lon, bad in frame.itertuples(index=False):
            if m == own or bad or not a < ts < b:
                continue
            d = min(_haversine_nm(p, q, lat, lon) for p, q in points)
            if best is None or d < best[0]:
                best = (d, lat, lon)
        got = index.nearest(own, points, a, b)
        if best is None:
            assert got is None
        else:
            assert got[0] == pytest.approx(best[0], rel=1e-9)
            assert (got[1], got[2]) == (best[1], best[2])
