"""Longitudes that wrap at +-180 degrees, for the behaviour detectors.

DESIGN.md: "Longitudes wrap at +-180 degrees": a ship going from 179.99 E to 179.99 W
moved 0.02 degrees, not 359.98. Haversine distances (:mod:`ports._geo`) already
wrap; what does not is arithmetic on longitudes: interpolating between two fixes,
taking a median or a mean of positions. These helpers do that arithmetic on the short
way round, and leave a longitude already in [-180, 180) untouched to the last bit (a
fix that is not moved keeps its exact value, so a distance computed from it is the
distance computed from the fix).

Every function is a numba ``njit`` function with the project's settings, callable from
Python and from other kernels; the ``*_array`` ones take and return numpy arrays.
"""

from __future__ import annotations

import math

import numpy as np

from ais._numba import njit
from detectors._sorted import median


@njit(inline="always")
def wrap_lon(lon):
    """``lon`` in [-180, 180) (unchanged, bit for bit, when already there; NaN for NaN
    or an infinite longitude)."""
    if lon >= -180.0 and lon < 180.0:
        return lon
    if not math.isfinite(lon):
        return np.nan
    r = (lon + 180.0) - 360.0 * math.floor((lon + 180.0) / 360.0) - 180.0
    if r >= 180.0:      # fmod's rounding can land on the excluded end
        r -= 360.0
    return r


@njit(inline="always")
def lon_delta(lon0, lon1):
    """Signed longitude difference ``lon1 - lon0`` the short way round, in [-180, 180)."""
    return wrap_lon(lon1 - lon0)


@njit(inline="always")
def interp_lon(lon0, lon1, mix):
    """Longitude a fraction ``mix`` of the way from ``lon0`` to ``lon1``, the short way
    round (``lon0`` itself, exactly, when the two are equal or ``mix`` is 0)."""
    return wrap_lon(lon0 + mix * lon_delta(lon0, lon1))


@njit
def median_position(lat, lon):
    """(median latitude, median longitude) of a short track: longitudes are unwrapped
    around the first one before the median (a cluster straddling the antimeridian has
    its median there, not at 0). (NaN, NaN) for no points."""
    n = lat.shape[0]
    if n == 0:
        return np.nan, np.nan
    la = np.empty(n, dtype=np.float64)      # median() of writable arrays only: one build
    un = np.empty(n, dtype=np.float64)
    for i in range(n):
        la[i] = lat[i]
        un[i] = lon[0] + lon_delta(lon[0], lon[i])
    return median(la), wrap_lon(median(un))


@njit
def mean_position(lat, lon):
    """(lat, lon) of the mean of the points' unit vectors on the sphere (the centroid of
    points that may straddle the antimeridian or a pole). (NaN, NaN) for no points."""
    n = lat.shape[0]
    if n == 0:
        return np.nan, np.nan
    x = 0.0
    y = 0.0
    z = 0.0
    for i in range(n):
        p = math.radians(lat[i])
        q = math.radians(lon[i])
        x += math.cos(p) * math.cos(q)
        y += math.cos(p) * math.sin(q)
        z += math.sin(p)
    return (math.degrees(math.atan2(z, math.sqrt(x * x + y * y))),
            wrap_lon(math.degrees(math.atan2(y, x))))


def mean_position_array(lat, lon) -> tuple[float, float]:
    """:func:`mean_position` of two numpy arrays (copied: writable contiguous float64, the
    kernels' own type, so that ``mean_position`` is compiled once)."""
    return mean_position(np.array(lat, dtype=np.float64, order="C"),
                         np.array(lon, dtype=np.float64, order="C"))
