"""Numba point-in-polygon and point-to-polygon distance over a flat polygon layout.

Layout (built by :class:`ports.registry.PortRegistry`), all contiguous arrays:

- ``vx``, ``vy`` float64: ring vertices (lon, lat), every ring closed (last == first);
- ``ring_off`` int64: ring r is vertices ``ring_off[r]:ring_off[r+1]``;
- ``poly_ring`` int64: polygon g is rings ``poly_ring[g]:poly_ring[g+1]`` (shell first,
  then holes);
- ``port_poly`` int64: port p is polygons ``port_poly[p]:port_poly[p+1]`` (a
  MultiPolygon has several);
- ``bbox`` float64 (n_polygons, 4): min lon, min lat, max lon, max lat of each shell.

Inside is the even-odd rule over all rings of a polygon, so holes are outside. The
crossing test is half-open (a vertex counts for the edge above it only), so a point on
an edge shared by two ports belongs to exactly one of them, never both nor neither.
Distances use the local equirectangular projection of :mod:`ports._geo` and are
0 inside. The bounding-box prefilter skips every polygon whose box (grown by the
buffer) does not contain the point: for a feed of a whole sea most positions touch no
box at all.

The helpers are ``inline="always"``: called per point from a serial loop, a compiled
call that passes six arrays costs about ten times the bounding-box test it guards
(reference counting of every array argument), measured on a 1,000,000-point feed.
"""

from __future__ import annotations

import numba
import numpy as np

from ais._numba import njit
from ports._geo import nm_to_deg_lat, nm_to_deg_lon, point_segment_distance_nm


@njit(inline="always")
def _in_polygon(lat, lon, g, vx, vy, ring_off, poly_ring):
    inside = False
    for r in range(poly_ring[g], poly_ring[g + 1]):
        a = ring_off[r]
        b = ring_off[r + 1]
        for k in range(a, b - 1):
            x1 = vx[k]
            y1 = vy[k]
            x2 = vx[k + 1]
            y2 = vy[k + 1]
            if (y1 > lat) != (y2 > lat):
                xc = x1 + (lat - y1) * (x2 - x1) / (y2 - y1)
                if lon < xc:
                    inside = not inside
    return inside


@njit(inline="always")
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
    """True when (lat, lon) lies inside port ``p`` (any of its polygons, outside holes)."""
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
    """Index of the port containing (lat, lon), the first in registry order if several;
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


@njit(parallel=True)
def within_many(lat, lon, p, buffer_nm, vx, vy, ring_off, poly_ring, port_poly, bbox, out):
    """Fill ``out[i]`` (bool) with :func:`within_port_nm` of every position for port p."""
    for i in numba.prange(lat.shape[0]):
        out[i] = within_port_nm(lat[i], lon[i], p, buffer_nm, vx, vy, ring_off, poly_ring,
                                port_poly, bbox)


@njit(parallel=True)
def distance_many(lat, lon, vx, vy, ring_off, poly_ring, port_poly, bbox, out):
    """Fill ``out[i, p]`` with the distance in nm of position i to port p (0 inside)."""
    n_ports = port_poly.shape[0] - 1
    for i in numba.prange(lat.shape[0]):
        for p in range(n_ports):
            out[i, p] = distance_to_port_nm(lat[i], lon[i], p, vx, vy, ring_off, poly_ring,
                                            port_poly, bbox)

