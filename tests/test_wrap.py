"""Longitude arithmetic that wraps at +-180 degrees (detectors._wrap)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from detectors._wrap import interp_lon, lon_delta, mean_position, median_position, wrap_lon


@pytest.mark.parametrize("lon,expected", [(0.0, 0.0), (179.999, 179.999), (180.0, -180.0),
                                          (-180.0, -180.0), (190.0, -170.0), (-190.0, 170.0),
                                          (540.0, -180.0), (-900.0, -180.0), (-539.0, -179.0)])
def test_wrap_lon(lon, expected):
    assert wrap_lon(lon) == pytest.approx(expected, abs=1e-9)


def test_wrap_lon_non_finite():
    assert math.isnan(wrap_lon(math.nan)) and math.isnan(wrap_lon(math.inf))


# no deadline: the first example compiles the kernels on an empty numba cache
@settings(deadline=None)
@given(st.floats(-180, 180, exclude_max=True, allow_nan=False))
def test_wrap_lon_leaves_valid_longitudes_bit_for_bit(lon):
    assert wrap_lon(lon) == lon
    assert interp_lon(lon, lon, 0.37) == lon and interp_lon(lon, 10.0, 0.0) == lon


@settings(deadline=None)
@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_wrap_lon_range(lon):
    w = wrap_lon(lon)
    assert -180.0 <= w < 180.0
    assert math.isclose(math.cos(math.radians(w)), math.cos(math.radians(lon)), abs_tol=1e-9)


def test_the_short_way_round():
    assert lon_delta(179.9, -179.9) == pytest.approx(0.2)
    assert lon_delta(-179.9, 179.9) == pytest.approx(-0.2)
    assert interp_lon(179.9, -179.9, 0.5) == pytest.approx(-180.0)
    assert interp_lon(179.9, -179.9, 0.25) == pytest.approx(179.95)


def test_median_and_mean_positions_across_180():
    lat = np.array([10.0, 10.1, 10.2])
    lon = np.array([179.99, -179.99, 179.98])
    mlat, mlon = median_position(lat, lon)
    assert mlat == pytest.approx(10.1) and mlon == pytest.approx(179.99)
    alat, alon = mean_position(lat, lon)
    assert alat == pytest.approx(10.1, abs=1e-4) and abs(alon) > 179.98
    assert all(math.isnan(x) for x in median_position(lat[:0], lon[:0]))
    assert all(math.isnan(x) for x in mean_position(lat[:0], lon[:0]))
