"""Numba point-in-polygon and point-to-polygon distance over a flat polygon layout.

Layout (built by :class:`ports.registry.PortRegistry`), all contiguous arrays:

- ``vx``, ``vy`` float64: ring vertices (lon, lat), every ring closed (last == first);
- ``ring_off`` int64: ring r is vertices ``ring_off[r]:ring_off[r+1]``;
- ``poly_ring`` int64: polygon g is rings ``poly_ring[g]:poly_ring[g+1]`` (shell first,
  then holes);
- ``port_poly`` int64: port p is polygons ``port_poly[p]:port_poly[p+1]`` (a
  MultiPolygon has several);
- ``bbox`` float64 (n_polygons, 4): min lon, min lat, max lon, max lat of each shell.

**Inside a port** (DESIGN.md, contract): inside the polygon or on its boundary, as
shapely's ``covers`` says. A point on any ring's edge or vertex (a hole's too: the
hole's edge is the polygon's boundary) is inside; elsewhere the even-odd rule over all
rings decides, so holes are outside. "On an edge" is decided exactly: Shewchuk's
orientation filter (``ccwerrboundA``), and when the floating-point sign is not certain
an exact expansion of the determinant, so a point that lies on a slanted edge in its
double coordinates is on it, whatever the rounding. A point on an edge shared by two
ports lies in both; :func:`locate_one` gives the first in registry order.
Distances use the local equirectangular projection of :mod:`ports._geo` and are
0 inside. :func:`nearest_one` (the nearest port, for the behaviour detectors) compares
each polygon with the point moved by whole turns of longitude to its side of the
antimeridian; the other helpers take longitudes as they are. The bounding-box prefilter skips every polygon whose box (grown by the
buffer) does not contain the point: for a feed of a whole sea most positions touch no
box at all.

The per-point helpers are ``inline="always"``: called per point from a serial loop, a
compiled call that passes six arrays costs about ten times the bounding-box test it
guards (reference counting of every array argument), measured on a 1,000,000-point feed.
The walks over a polygon's edges behind that test (:func:`_in_polygon`,
:func:`_polygon_edge_distance_nm`) are plain calls, compiled once: inlined, numba typed
and lowered them again at every call site in the four kernels here and
the port-visit kernel (half their compile on the first run after an install), and a
call costs little beside the edge loop it starts.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ports._geo import (NM_PER_DEG_LAT, nm_to_deg_lat, nm_to_deg_lon,
                            point_segment_distance_nm)
from ais._numba import njit


_EPS = 2.0 ** -53
_CCW_ERRBOUND_A = (3.0 + 16.0 * _EPS) * _EPS      # Shewchuk, "Adaptive precision ..." 1997
_SPLITTER = 134217729.0                            # 2**27 + 1


@njit(inline="always")
def _two_sum(a, b):
    x = a + b
    bv = x - a
    av = x - bv
    return x, (a - av) + (b - bv)


@njit(inline="always")
def _two_product(a, b):
    x = a * b
    c = _SPLITTER * a
    ahi = c - (c - a)
    alo = a - ahi
    c = _SPLITTER * b
    bhi = c - (c - b)
    blo = b - bhi
    err = x - ahi * bhi - alo * bhi - ahi * blo
    return x, alo * blo - err


@njit
def _exact_orientation(x1, y1, x2, y2, px, py):
    """Exact sign of (x2 - x1) (py - y1) - (y2 - y1) (px - x1): every difference as an
    exact two-term sum, every product as an exact two-term product, the sixteen terms
    summed into a non-overlapping expansion (Grow-Expansion with zero elimination,
    Shewchuk 1997) whose largest component has the sign of the whole."""
    ax, axt = _two_sum(x2, -x1)
    ay, ayt = _two_sum(y2, -y1)
    bx, bxt = _two_sum(px, -x1)
    by, byt = _two_sum(py, -y1)
    left = ((ax, by), (ax, byt), (axt, by), (axt, byt))
    right = ((ay, bx), (ay, bxt), (ayt, bx), (ayt, bxt))
    terms = np.empty(16)
    k = 0
    for u, v in left:
        hi, lo = _two_product(u, v)
        terms[k] = hi
        terms[k + 1] = lo
        k += 2
    for u, v in right:
        hi, lo = _two_product(u, v)
        terms[k] = -hi
        terms[k + 1] = -lo
        k += 2
    e = np.zeros(40)
    n = 0
    for t in terms:
        q = t
        m = 0
        for i in range(n):
            q, h = _two_sum(q, e[i])
            if h != 0.0:
                e[m] = h
                m += 1
        if q != 0.0:
            e[m] = q
            m += 1
        n = m
    if n == 0:
        return 0
    return 1 if e[n - 1] > 0.0 else -1


@njit(inline="always")
def _orientation(x1, y1, x2, y2, px, py):
    """Sign of (x2 - x1) (py - y1) - (y2 - y1) (px - x1), exact: +1 when (px, py) lies
    left of the directed line (x1, y1) -> (x2, y2), -1 right, 0 on it."""
    left = (x2 - x1) * (py - y1)
    right = (y2 - y1) * (px - x1)
    det = left - right
    if abs(det) > _CCW_ERRBOUND_A * (abs(left) + abs(right)):
        return 1 if det > 0.0 else -1
    return _exact_orientation(x1, y1, x2, y2, px, py)


@njit
def _in_polygon(lat, lon, g, vx, vy, ring_off, poly_ring):
    """Inside polygon ``g`` or on its boundary (shapely ``covers``): on an edge, or an
    odd number of edges crossing the horizontal ray to the point's east (half-open in
    latitude, so a vertex counts once)."""
    inside = False
    for r in range(poly_ring[g], poly_ring[g + 1]):
        a = ring_off[r]
        b = ring_off[r + 1]
        for k in range(a, b - 1):
            x1 = vx[k]
            y1 = vy[k]
            x2 = vx[k + 1]
            y2 = vy[k + 1]
            crosses = (y1 > lat) != (y2 > lat)
            in_box = (lon >= min(x1, x2) and lon <= max(x1, x2)
                      and lat >= min(y1, y2) and lat <= max(y1, y2))
            if not (crosses or in_box) or lon > max(x1, x2):
                continue
            o = _orientation(x1, y1, x2, y2, lon, lat)
            if o == 0 and in_box:
                return True                      # on the boundary
            if crosses and (o > 0) == (y2 > y1):
                inside = not inside              # the edge crosses east of the point
    return inside


@njit
def _polygon_edge_distance_nm(lat, lon, g, vx, vy, ring_off, poly_ring):
    best = np.inf
    for r in range(poly_ring[g], poly_ring[g + 1]):
        for k in range(ring_off[r], ring_off[r + 1] - 1):
            d = point_segment_distance_nm(lat, lon, vy[k], vx[k], vy[k + 1], vx[k + 1])
            if d < best:
                best = d
    return best


@njit(inline="always")
def _in_bbox(lat, lon, g, bbox, dlat, dlon):
    return (lon >= bbox[g, 0] - dlon and lon <= bbox[g, 2] + dlon
            and lat >= bbox[g, 1] - dlat and lat <= bbox[g, 3] + dlat)


@njit(inline="always")
def point_in_port(lat, lon, p, vx, vy, ring_off, poly_ring, port_poly, bbox):
    """True when (lat, lon) lies inside port ``p`` or on its boundary (any of its
    polygons, outside holes)."""
    if not (lat == lat and lon == lon):
        return False
    for g in range(port_poly[p], port_poly[p + 1]):
        if _in_bbox(lat, lon, g, bbox, 0.0, 0.0):
            if _in_polygon(lat, lon, g, vx, vy, ring_off, poly_ring):
                return True
    return False


@njit(inline="always")
def distance_to_port_nm(lat, lon, p, vx, vy, ring_off, poly_ring, port_poly, bbox):
    """Distance in nm from (lat, lon) to port ``p``: 0 inside, else to the nearest edge.
    NaN for a NaN position."""
    if not (lat == lat and lon == lon):
        return np.nan
    best = np.inf
    for g in range(port_poly[p], port_poly[p + 1]):
        if _in_polygon(lat, lon, g, vx, vy, ring_off, poly_ring):
            return 0.0
        d = _polygon_edge_distance_nm(lat, lon, g, vx, vy, ring_off, poly_ring)
        if d < best:
            best = d
    return best


@njit(inline="always")
def within_port_nm(lat, lon, p, buffer_nm, vx, vy, ring_off, poly_ring, port_poly, bbox):
    """True when (lat, lon) is inside port ``p`` or within ``buffer_nm`` of it; the
    bounding boxes, grown by the buffer, are checked first."""
    if not (lat == lat and lon == lon):
        return False
    dlat = nm_to_deg_lat(buffer_nm)
    dlon = nm_to_deg_lon(buffer_nm, abs(lat) + dlat)
    for g in range(port_poly[p], port_poly[p + 1]):
        if not _in_bbox(lat, lon, g, bbox, dlat, dlon):
            continue
        if _in_polygon(lat, lon, g, vx, vy, ring_off, poly_ring):
            return True
        if buffer_nm > 0.0:
            if _polygon_edge_distance_nm(lat, lon, g, vx, vy, ring_off, poly_ring) <= buffer_nm:
                return True
    return False


@njit(inline="always")
def locate_one(lat, lon, buffer_nm, vx, vy, ring_off, poly_ring, port_poly, bbox):
    """Index of the port covering (lat, lon) (inside or on its boundary), the first in
    registry order if several;
    when none contains it and ``buffer_nm > 0``, the nearest port within ``buffer_nm``;
    else -1."""
    n_ports = port_poly.shape[0] - 1
    if not (lat == lat and lon == lon):
        return -1
    for p in range(n_ports):
        if point_in_port(lat, lon, p, vx, vy, ring_off, poly_ring, port_poly, bbox):
            return p
    if buffer_nm <= 0.0:
        return -1
    dlat = nm_to_deg_lat(buffer_nm)
    dlon = nm_to_deg_lon(buffer_nm, abs(lat) + dlat)
    best = -1
    best_d = np.inf
    for p in range(n_ports):
        for g in range(port_poly[p], port_poly[p + 1]):
            if not _in_bbox(lat, lon, g, bbox, dlat, dlon):
                continue
            d = _polygon_edge_distance_nm(lat, lon, g, vx, vy, ring_off, poly_ring)
            if d <= buffer_nm and d < best_d:
                best_d = d
                best = p
    return best


@njit(parallel=True)
def locate_many(lat, lon, buffer_nm, vx, vy, ring_off, poly_ring, port_poly, bbox, out):
    """Fill ``out[i]`` (int32) with :func:`locate_one` of every position."""
    for i in numba.prange(lat.shape[0]):
        out[i] = locate_one(lat[i], lon[i], buffer_nm, vx, vy, ring_off, poly_ring,
                            port_poly, bbox)


@njit
def within_many(lat, lon, p, buffer_nm, vx, vy, ring_off, poly_ring, port_poly, bbox, out):
    """Fill ``out[i]`` (bool) with :func:`within_port_nm` of every position for port p."""
    for i in range(lat.shape[0]):
        out[i] = within_port_nm(lat[i], lon[i], p, buffer_nm, vx, vy, ring_off, poly_ring,
                                port_poly, bbox)


@njit
def distance_many(lat, lon, vx, vy, ring_off, poly_ring, port_poly, bbox, out):
    """Fill ``out[i, p]`` with the distance in nm of position i to port p (0 inside)."""
    n_ports = port_poly.shape[0] - 1
    for i in range(lat.shape[0]):
        for p in range(n_ports):
            out[i, p] = distance_to_port_nm(lat[i], lon[i], p, vx, vy, ring_off, poly_ring,
                                            port_poly, bbox)



@njit(inline="always")
def _near_lon(lon, centre):
    """``lon`` moved by whole turns to lie within 180 degrees of ``centre`` (longitudes
    wrap at +-180: a point at 179.9 E is 0.2 degrees from a port at 179.9 W)."""
    d = lon - centre
    while d >= 180.0:
        d -= 360.0
    while d < -180.0:
        d += 360.0
    return centre + d


@njit(inline="always")
def _bbox_distance_nm(lat, lon, g, bbox):
    """Distance in nm from the point to polygon g's bounding box, in the local
    equirectangular projection of :func:`ports._geo.point_segment_distance_nm`: a
    lower bound of the distance to the polygon in the same projection (0 inside it)."""
    kx = NM_PER_DEG_LAT * math.cos(math.radians(lat))
    dx = max(bbox[g, 0] - lon, 0.0, lon - bbox[g, 2]) * kx
    dy = max(bbox[g, 1] - lat, 0.0, lat - bbox[g, 3]) * NM_PER_DEG_LAT
    return math.sqrt(dx * dx + dy * dy)


@njit(inline="always")
def nearest_one(lat, lon, max_nm, vx, vy, ring_off, poly_ring, port_poly, bbox):
    """(index, distance in nm) of the port nearest to (lat, lon): 0 inside a polygon,
    else to the nearest edge; the first in registry order on a tie. (-1, inf) when no
    port lies within ``max_nm`` (inclusive), (-1, NaN) for a NaN position. Each polygon
    is compared with the point moved by whole turns of longitude to its side of the
    antimeridian; a polygon whose bounding box is farther than the best distance so far
    (or than ``max_nm``) is skipped without reading its edges."""
    if not (lat == lat and lon == lon):
        return -1, np.nan
    n_ports = port_poly.shape[0] - 1
    best = -1
    best_d = max_nm
    for p in range(n_ports):
        for g in range(port_poly[p], port_poly[p + 1]):
            plon = _near_lon(lon, 0.5 * (bbox[g, 0] + bbox[g, 2]))
            if _bbox_distance_nm(lat, plon, g, bbox) > best_d:
                continue
            if _in_polygon(lat, plon, g, vx, vy, ring_off, poly_ring):
                d = 0.0
            else:
                d = _polygon_edge_distance_nm(lat, plon, g, vx, vy, ring_off, poly_ring)
            if d < best_d or (d == best_d and best < 0):
                best_d = d
                best = p
    if best < 0:
        return -1, np.inf
    return best, best_d


@njit(parallel=True)
def nearest_many(lat, lon, max_nm, vx, vy, ring_off, poly_ring, port_poly, bbox, out_port,
                 out_nm):
    """Fill ``out_port[i]`` (int32) and ``out_nm[i]`` with :func:`nearest_one` of every
    position."""
    for i in numba.prange(lat.shape[0]):
        p, d = nearest_one(lat[i], lon[i], max_nm, vx, vy, ring_off, poly_ring, port_poly,
                           bbox)
        out_port[i] = p
        out_nm[i] = d
