"""Slow, obvious pure-Python references for the ports and port-visit kernels.

Written from the definitions (ports/_pip.py, detectors/port_visits.py), not from the
kernels: plain loops over rings, points and rows, Python floats, no numba.
"""

from __future__ import annotations

import math
from fractions import Fraction

EARTH_NM = 6371.0088 / 1.852


def ref_haversine_nm(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_NM * math.asin(math.sqrt(min(1.0, a)))


def _ref_on_edge(lat, lon, x1, y1, x2, y2):
    """On the segment, in exact rational arithmetic."""
    if not (min(x1, x2) <= lon <= max(x1, x2) and min(y1, y2) <= lat <= max(y1, y2)):
        return False
    f = Fraction
    return (f(x2) - f(x1)) * (f(lat) - f(y1)) == (f(y2) - f(y1)) * (f(lon) - f(x1))


def ref_polygon_contains(polygon, lat, lon):
    """Inside or on the boundary (DESIGN.md "Inside a port", shapely ``covers``): on an
    edge of any ring, else even-odd over every ring of one polygon (shell + holes),
    half-open in latitude; all in exact rational arithmetic."""
    crossings = 0
    f = Fraction
    for ring in polygon:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
            if _ref_on_edge(lat, lon, x1, y1, x2, y2):
                return True
            if (y1 > lat) != (y2 > lat):
                x_at = f(x1) + (f(lat) - f(y1)) * (f(x2) - f(x1)) / (f(y2) - f(y1))
                if f(lon) < x_at:
                    crossings += 1
    return crossings % 2 == 1


def ref_port_contains(feature, lat, lon):
    if lat != lat or lon != lon:
        return False
    return any(ref_polygon_contains(poly, lat, lon) for poly in feature["polygons"])


def ref_segment_nm(lat, lon, a, b):
    """Point to segment a-b ([lon, lat] each) in the local flat projection at the point,
    longitudes taken the short way round (across the antimeridian when that is shorter)."""
    def short(d):
        return (d + 180.0) % 360.0 - 180.0

    kx = 60.0 * math.cos(math.radians(lat))
    ax, ay = short(a[0] - lon) * kx, (a[1] - lat) * 60.0
    bx, by = short(b[0] - lon) * kx, (b[1] - lat) * 60.0
    best = min(math.hypot(ax, ay), math.hypot(bx, by))
    dx, dy = bx - ax, by - ay
    den = dx * dx + dy * dy
    if den > 0:
        u = -(ax * dx + ay * dy) / den
        if 0 <= u <= 1:
            best = min(best, math.hypot(ax + u * dx, ay + u * dy))
    return best


def ref_port_distance_nm(feature, lat, lon):
    if lat != lat or lon != lon:
        return float("nan")
    if ref_port_contains(feature, lat, lon):
        return 0.0
    return min(ref_segment_nm(lat, lon, a, b)
               for poly in feature["polygons"] for ring in poly
               for a, b in zip(ring, ring[1:]))


def ref_locate(features, lat, lon, buffer_nm=0.0):
    for p, f in enumerate(features):
        if ref_port_contains(f, lat, lon):
            return p
    if buffer_nm <= 0 or lat != lat or lon != lon:
        return -1
    dists = [(ref_port_distance_nm(f, lat, lon), p) for p, f in enumerate(features)]
    d, p = min(dists)
    return p if d <= buffer_nm else -1


def ref_port_visits(rows, features, *, min_dwell_s, gap_s, exit_buffer_nm):
    """Visits of ONE vessel. ``rows``: list of (t_seconds, lat, lon) in time order.
    Returns [(first_row, last_row_inside, port, open_at_end)]."""
    visits = []
    state = "at sea"
    port = start = last_inside = None

    def close(is_open):
        if rows[last_inside][0] - rows[start][0] >= min_dwell_s:
            visits.append((start, last_inside, port, is_open))

    for i, (t, lat, lon) in enumerate(rows):
        if state == "in port":
            gap = t - rows[i - 1][0]
            here = ref_locate(features, lat, lon)
            if gap > gap_s:
                close(False)
                state = "at sea"
            elif ref_port_contains(features[port], lat, lon):
                last_inside = i
                continue
            elif here >= 0:
                close(False)
                port, start, last_inside = here, i, i
                continue
            elif ref_port_distance_nm(features[port], lat, lon) <= exit_buffer_nm:
                continue
            else:
                close(False)
                state = "at sea"
                continue
        here = ref_locate(features, lat, lon)
        if here >= 0:
            state, port, start, last_inside = "in port", here, i, i
    if state == "in port":
        close(True)
    return visits
