"""PortRegistry.nearest: the nearest port and its distance, against the pure-Python
reference, with a finite search radius and across the antimeridian."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ports import load_ports
from tests.reference_behaviour import box_registry, port_distance
from tests.reference_visits import ref_port_distance_nm


@pytest.fixture(scope="module")
def bundled():
    return load_ports()


def test_nearest_matches_the_distance_matrix_and_reference(bundled):
    rng = np.random.default_rng(3)
    lat = rng.uniform(41.5, 43.5, 400)
    lon = rng.uniform(129.5, 133.5, 400)
    lat[:40] = 42.235                      # some inside Najin
    lon[:40] = rng.uniform(130.28, 130.33, 40)
    idx, d = bundled.nearest(lat, lon)
    matrix = bundled.distance_nm(lat, lon)
    assert (idx == matrix.argmin(axis=1)).all()
    assert np.allclose(d, matrix.min(axis=1), rtol=0, atol=1e-12)
    assert (d[:40] == 0).all() and (idx[:40] == bundled.index("Najin")).all()
    for i in range(0, 400, 37):
        ref = min(ref_port_distance_nm(f, lat[i], lon[i]) for f in bundled.features)
        assert d[i] == pytest.approx(ref, abs=1e-9)


def test_max_nm_is_inclusive_and_skips_far_ports(bundled):
    lat = np.array([42.5, 42.235, np.nan])
    lon = np.array([131.5, 130.30, 131.0])
    idx, d = bundled.nearest(lat, lon)
    near_idx, near_d = bundled.nearest(lat, lon, max_nm=d[0])
    assert near_idx[0] == idx[0] and near_d[0] == d[0]
    far_idx, far_d = bundled.nearest(lat, lon, max_nm=d[0] * 0.999)
    assert far_idx[0] == -1 and far_d[0] == math.inf
    assert far_idx[1] == bundled.index("Najin") and far_d[1] == 0.0
    assert idx[2] == -1 and math.isnan(d[2])
    with pytest.raises(ValueError):
        bundled.nearest(lat, lon, max_nm=-1)
    with pytest.raises(ValueError):
        bundled.nearest(lat, lon[:2])
    e_idx, e_d = bundled.nearest([], [])
    assert len(e_idx) == 0 and len(e_d) == 0


def test_longitudes_wrap_at_180():
    reg = box_registry(("Anadyr-ish", 179.90, 64.70, 179.99, 64.75),
                       ("Fiji-ish", -179.95, -16.85, -179.85, -16.75))
    idx, d = reg.nearest([64.72, 64.72, -16.80, -16.80], [-179.99, 179.95, 179.99, -179.90])
    assert idx.tolist() == [0, 0, 1, 1]
    assert d[1] == 0.0 and d[3] == 0.0
    assert d[0] == pytest.approx(0.02 * 60 * math.cos(math.radians(64.72)), rel=1e-6)
    assert d[2] == pytest.approx(0.06 * 60 * math.cos(math.radians(16.80)), rel=1e-6)
    assert d[0] == pytest.approx(port_distance(reg, 64.72, -179.99), abs=1e-9)
