"""Shared geometry for the port registry and the detectors, in nautical miles.

It lives in ``ports``, the lowest layer that needs it (the point-in-polygon index's
entry buffers); ``detectors`` imports it from here.

Distances are great-circle (haversine) on a sphere of mean Earth radius 6371.0088 km
(IUGG), i.e. 3440.065 nm. At the latitudes of the Sea of Japan (41-44 N) the spherical
error against WGS84 is below 0.5 %, far below the uncertainty of a port polygon.

Short-range work (distance from a point to a polygon edge, a few nm) uses a local
equirectangular projection around the point: x = dlon * cos(lat) * 60 nm, y = dlat * 60 nm.
Over tens of nm its error is well under 1 %. Longitudes are not unwrapped across the
antimeridian: the ports and feeds of this project lie far from it; negative longitudes
are handled like any other.

Every function here is a numba ``njit`` function with the project's settings, callable
from Python on scalars and from other kernels.
"""

from __future__ import annotations

import math

import numpy as np

from ais._numba import njit, readonly

M_PER_NM = 1852.0
EARTH_RADIUS_NM = 6371.0088 / 1.852
NM_PER_DEG_LAT = 60.0
SECONDS_PER_HOUR = 3600.0


@njit
def haversine_nm(lat1, lon1, lat2, lon2):
    """Great-circle distance in nautical miles between two points given in degrees.
    NaN if any input is NaN."""
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    s = math.sin(dp * 0.5) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl * 0.5) ** 2
    if s > 1.0:
        s = 1.0
    return 2.0 * EARTH_RADIUS_NM * math.asin(math.sqrt(s))


def haversine_nm_array(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Element-wise :func:`haversine_nm` of four equally long float64 arrays (from Python;
    passed to the kernel as read-only contiguous float64 views, so that it is compiled
    once whatever arrays the callers hold: ``readonly``)."""
    return _haversine_nm_array(*(readonly(np.ascontiguousarray(a, dtype=np.float64))
                                 for a in (lat1, lon1, lat2, lon2)))


@njit
def _haversine_nm_array(lat1, lon1, lat2, lon2):
    n = lat1.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        out[i] = haversine_nm(lat1[i], lon1[i], lat2[i], lon2[i])
    return out


@njit(inline="always")
def implied_speed_kn(distance_nm, seconds):
    """Speed in knots to cover ``distance_nm`` in ``seconds``; +inf for a positive
    distance in zero (or negative) time, 0 for no distance in no time."""
    if seconds <= 0.0:
        if distance_nm > 0.0:
            return np.inf
        return 0.0
    return distance_nm / (seconds / SECONDS_PER_HOUR)


@njit
def point_segment_distance_nm(lat, lon, lat_a, lon_a, lat_b, lon_b):
    """Distance in nm from point (lat, lon) to the segment a-b, in a local
    equirectangular projection centred on the point (good to well under 1 % over
    tens of nm), longitudes taken the short way round (a segment across the
    antimeridian is the short one)."""
    kx = NM_PER_DEG_LAT * math.cos(math.radians(lat))
    ky = NM_PER_DEG_LAT
    ax = _short_dlon(lon_a - lon) * kx
    ay = (lat_a - lat) * ky
    bx = _short_dlon(lon_b - lon) * kx
    by = (lat_b - lat) * ky
    dx = bx - ax
    dy = by - ay
    den = dx * dx + dy * dy
    if den <= 0.0:
        return math.sqrt(ax * ax + ay * ay)
    u = -(ax * dx + ay * dy) / den
    if u < 0.0:
        u = 0.0
    elif u > 1.0:
        u = 1.0
    px = ax + u * dx
    py = ay + u * dy
    return math.sqrt(px * px + py * py)


@njit(inline="always")
def _short_dlon(dlon):
    """A longitude difference the short way round (unchanged within [-180, 180])."""
    while dlon > 180.0:
        dlon -= 360.0
    while dlon < -180.0:
        dlon += 360.0
    return dlon


@njit(inline="always")
def nm_to_deg_lat(nm):
    """Degrees of latitude spanned by ``nm`` nautical miles."""
    return nm / NM_PER_DEG_LAT


@njit(inline="always")
def nm_to_deg_lon(nm, lat):
    """Degrees of longitude spanned by ``nm`` nautical miles at latitude ``lat``
    (capped near the poles so a bounding box never becomes infinite)."""
    c = math.cos(math.radians(lat))
    if c < 1e-6:
        c = 1e-6
    return nm / (NM_PER_DEG_LAT * c)
