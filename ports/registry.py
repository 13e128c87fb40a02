"""The port registry: GeoJSON polygons, validated on load, located fast.

A port is a GeoJSON Feature whose geometry is a Polygon or MultiPolygon (holes allowed)
and whose properties give ``name`` (required, unique ignoring case and spaces) and
optionally ``country``, ``unlocode`` and ``source`` (where the polygon comes from).
The bundled file ``ports/data/ports.geojson`` holds the ten ports of the Najin/Dunay
case (REFERENCE.md, "Geography"): the boxes given there for Najin, Dunay, Vostochny,
Vladivostok and Nakhodka, and hand-drawn harbour outlines around the World Port Index
positions of the others. ``--ports FILE`` replaces it with a user's file.

Validation (each problem is one :class:`ais.errors.PortsError` line naming the file and
the feature): valid JSON; a FeatureCollection; each ring closed, with at least 3
distinct vertices and no self-intersection; longitudes in [-180, 180] and latitudes in
[-90, 90] (a latitude beyond 90 with a longitude that would be a valid latitude usually
means [lat, lon] order: GeoJSON is [lon, lat]); names present and unique.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from ais._numba import readonly
from ais.errors import InputError
from ports.errors import PortsError
from ports import _pip

BUNDLED_PORTS = Path(__file__).resolve().parent / "data" / "ports.geojson"


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).casefold()


class PortRegistry:
    """Port polygons in a flat array layout for the numba kernels of :mod:`ports._pip`.

    ``names`` are in file order; a port's index is its position there. ``arrays`` is
    the tuple ``(vx, vy, ring_off, poly_ring, port_poly, bbox)`` that kernels take.
    """

    def __init__(self, features: list[dict[str, Any]], path: str | Path | None = None):
        self.path = None if path is None else str(path)
        self.features = features
        self.names: tuple[str, ...] = tuple(f["name"] for f in features)
        self.properties: tuple[dict[str, Any], ...] = tuple(f["properties"] for f in features)
        self._by_norm = {_norm(n): i for i, n in enumerate(self.names)}
        vx: list[float] = []
        vy: list[float] = []
        ring_off = [0]
        poly_ring = [0]
        port_poly = [0]
        bbox: list[list[float]] = []
        for f in features:
            for polygon in f["polygons"]:
                for ring in polygon:
                    for x, y in ring:
                        vx.append(float(x))
                        vy.append(float(y))
                    ring_off.append(len(vx))
                poly_ring.append(len(ring_off) - 1)
                shell = np.asarray(polygon[0], dtype=np.float64)
                bbox.append([shell[:, 0].min(), shell[:, 1].min(),
                             shell[:, 0].max(), shell[:, 1].max()])
            port_poly.append(len(poly_ring) - 1)
        self.arrays = (np.asarray(vx, dtype=np.float64), np.asarray(vy, dtype=np.float64),
                       np.asarray(ring_off, dtype=np.int64),
                       np.asarray(poly_ring, dtype=np.int64),
                       np.asarray(port_poly, dtype=np.int64),
                       np.asarray(bbox, dtype=np.float64).reshape(-1, 4))

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"PortRegistry({len(self.names)} ports from {self.path})"

    def index(self, name: str) -> int:
        """Index of the port called ``name`` (case, spaces, '-' and '_' ignored)."""
        i = self._by_norm.get(_norm(name))
        if i is None:
            raise InputError(self.path, f"unknown port {name!r}",
                             f"known ports: {', '.join(self.names)}")
        return i

    def locate(self, lat, lon, buffer_nm: float = 0.0) -> np.ndarray:
        """Port index of each position (int32, -1 for none): the first port containing
        it, or with ``buffer_nm > 0`` the nearest port within that distance."""
        lat = readonly(np.ascontiguousarray(lat, dtype=np.float64).ravel())
        lon = readonly(np.ascontiguousarray(lon, dtype=np.float64).ravel())
        if lat.shape != lon.shape:
            raise ValueError("lat and lon must have the same length")
        if not (buffer_nm >= 0.0 and math.isfinite(buffer_nm)):
            raise ValueError(f"buffer_nm must be a finite number >= 0, got {buffer_nm!r}")
        out = np.empty(len(lat), dtype=np.int32)
        if len(lat) and len(self.names):
            _pip.locate_many(lat, lon, float(buffer_nm), *self.arrays, out)
        else:
            out[:] = -1
        return out

    def distance_nm(self, lat, lon) -> np.ndarray:
        """(n, n_ports) distances in nm to each port polygon (0 inside, NaN for NaN)."""
        lat = readonly(np.ascontiguousarray(lat, dtype=np.float64).ravel())
        lon = readonly(np.ascontiguousarray(lon, dtype=np.float64).ravel())
        if lat.shape != lon.shape:
            raise ValueError("lat and lon must have the same length")
        out = np.empty((len(lat), len(self.names)), dtype=np.float64)
        if len(lat) and len(self.names):
            _pip.distance_many(lat, lon, *self.arrays, out)
        return out

    def nearest(self, lat, lon, max_nm: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
        """(port index int32, distance nm float64) of the port nearest to each position:
        0 inside a polygon, else to its nearest edge; longitudes wrap at +-180. Without a
        port within ``max_nm`` (inclusive) the index is -1 and the distance inf; for a NaN
        position -1 and NaN. Unlike :meth:`distance_nm` it never builds the (n, n_ports)
        matrix, and a finite ``max_nm`` skips every port whose bounding box lies
        farther."""
        lat = readonly(np.ascontiguousarray(lat, dtype=np.float64).ravel())
        lon = readonly(np.ascontiguousarray(lon, dtype=np.float64).ravel())
        if lat.shape != lon.shape:
            raise ValueError("lat and lon must have the same length")
        if not max_nm >= 0.0:
            raise ValueError(f"max_nm must be a number >= 0, got {max_nm!r}")
        port = np.full(len(lat), -1, dtype=np.int32)
        dist = np.where(np.isnan(lat) | np.isnan(lon), np.nan, np.inf)
        if len(lat) and len(self.names):
            _pip.nearest_many(lat, lon, float(max_nm), *self.arrays, port, dist)
        return port, dist

    def contains(self, port: int | str, lat, lon, buffer_nm: float = 0.0) -> np.ndarray:
        """Bool array: position inside port (or within ``buffer_nm`` of it)."""
        p = self.index(port) if isinstance(port, str) else int(port)
        lat = readonly(np.ascontiguousarray(lat, dtype=np.float64).ravel())
        lon = readonly(np.ascontiguousarray(lon, dtype=np.float64).ravel())
        if lat.shape != lon.shape:
            raise ValueError("lat and lon must have the same length")
        if not 0 <= p < len(self.names):
            raise IndexError(f"port index {p} out of range (registry of {len(self.names)})")
        out = np.zeros(len(lat), dtype=np.bool_)
        if len(lat):
            _pip.within_many(lat, lon, p, float(buffer_nm), *self.arrays, out)
        return out

    def to_geojson(self) -> dict:
        """The registry as a GeoJSON FeatureCollection (Polygon or MultiPolygon)."""
        feats = []
        for f in self.features:
            polys = [[[list(map(float, v)) for v in ring] for ring in poly]
                     for poly in f["polygons"]]
            geom = ({"type": "Polygon", "coordinates": polys[0]} if f["kind"] == "Polygon"
                    else {"type": "MultiPolygon", "coordinates": polys})
            feats.append({"type": "Feature", "properties": dict(f["properties"]),
                          "geometry": geom})
        return {"type": "FeatureCollection", "features": feats}


def load_ports(path: str | Path | None = None) -> PortRegistry:
    """Load and validate a GeoJSON port file (the bundled registry when ``path`` is None)."""
    path = BUNDLED_PORTS if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PortsError(path, "ports file not found",
                         "give an existing GeoJSON file or leave --ports out") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PortsError(path, f"cannot read ports file ({exc.__class__.__name__})",
                         "give a UTF-8 GeoJSON file") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PortsError(path, f"not valid JSON ({exc.msg})", "fix the GeoJSON syntax",
                         line=exc.lineno) from None
    return PortRegistry(parse_features(doc, path), path)


def parse_features(doc: Any, path: str | Path | None) -> list[dict[str, Any]]:
    """Validated features ``{name, properties, kind, polygons}`` of a GeoJSON document."""
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = {"type": "FeatureCollection", "features": [doc]}
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" \
            or not isinstance(doc.get("features"), list):
        raise PortsError(path, "not a GeoJSON FeatureCollection",
                         'give {"type": "FeatureCollection", "features": [...]}')
    if not doc["features"]:
        raise PortsError(path, "the FeatureCollection has no features",
                         "add at least one port polygon")
    out: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, feat in enumerate(doc["features"]):
        out.append(_parse_feature(feat, i, path))
        key = _norm(out[-1]["name"])
        if key in seen:
            raise PortsError(path, f"feature {i} ({out[-1]['name']!r}): name repeats "
                             f"feature {seen[key]} ({out[seen[key]]['name']!r})",
                             "give every port a unique name")
        seen[key] = i
    return out


def _parse_feature(feat: Any, i: int, path) -> dict[str, Any]:
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise PortsError(path, f"feature {i}: not a GeoJSON Feature",
                         'give {"type": "Feature", "properties": {...}, "geometry": {...}}')
    props = feat.get("properties") or {}
    name = props.get("name") if isinstance(props, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise PortsError(path, f"feature {i}: no properties.name",
                         "give every port a non-empty name")
    name = name.strip()
    where = f"feature {i} ({name!r})"
    geom = feat.get("geometry")
    kind = geom.get("type") if isinstance(geom, dict) else None
    coords = geom.get("coordinates") if isinstance(geom, dict) else None
    if kind == "Polygon":
        polygons = [coords]
    elif kind == "MultiPolygon":
        polygons = coords
    else:
        raise PortsError(path, f"{where}: geometry type {kind!r} is not a port outline",
                         "use a Polygon or MultiPolygon")
    if not isinstance(polygons, list) or not polygons:
        raise PortsError(path, f"{where}: geometry has no coordinates",
                         "give [[[lon, lat], ...]] rings")
    clean = []
    for g, poly in enumerate(polygons):
        if not isinstance(poly, list) or not poly:
            raise PortsError(path, f"{where}: polygon {g} has no rings",
                             "give [[[lon, lat], ...]] rings")
        clean.append([_check_ring(ring, f"{where}, polygon {g}, ring {r}", path)
                      for r, ring in enumerate(poly)])
    properties = {"name": name, "country": str(props.get("country") or ""),
                  "unlocode": str(props.get("unlocode") or ""),
                  "source": str(props.get("source") or "")}
    properties.update({k: v for k, v in props.items() if k not in properties})
    return {"name": name, "properties": properties, "kind": kind, "polygons": clean}


def _check_ring(ring: Any, where: str, path) -> list[tuple[float, float]]:
    if not isinstance(ring, list):
        raise PortsError(path, f"{where}: not a list of [lon, lat] vertices",
                         "give [[lon, lat], ...]")
    pts: list[tuple[float, float]] = []
    for k, v in enumerate(ring):
        if (not isinstance(v, (list, tuple)) or len(v) < 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in v[:2])):
            raise PortsError(path, f"{where}, vertex {k}: {v!r} is not [lon, lat]",
                             "give numbers in [lon, lat] order")
        lon, lat = float(v[0]), float(v[1])
        if not (math.isfinite(lon) and math.isfinite(lat)):
            raise PortsError(path, f"{where}, vertex {k}: coordinate is not finite",
                             "give finite numbers")
        if abs(lat) > 90:
            hint = ("it looks like [lat, lon] order: GeoJSON wants [lon, lat]"
                    if abs(lon) <= 90 else "latitudes lie in [-90, 90]")
            raise PortsError(path, f"{where}, vertex {k}: latitude {lat:g} is out of range",
                             hint)
        if abs(lon) > 180:
            raise PortsError(path, f"{where}, vertex {k}: longitude {lon:g} is out of range",
                             "longitudes lie in [-180, 180]")
        pts.append((lon, lat))
    if len(pts) < 2 or pts[0] != pts[-1]:
        raise PortsError(path, f"{where}: ring is not closed",
                         "repeat the first vertex as the last one")
    if len(set(pts[:-1])) < 3:
        raise PortsError(path, f"{where}: ring has fewer than 3 distinct vertices",
                         "draw the port outline with at least 3 corners")
    crossing = _self_intersection(pts)
    if crossing is not None:
        raise PortsError(path, f"{where}: ring intersects itself near "
                         f"lon {crossing[0]:.5f}, lat {crossing[1]:.5f}",
                         "redraw the outline so edges do not cross")
    return pts


def _self_intersection(pts: list[tuple[float, float]]) -> tuple[float, float] | None:
    """A point where the closed ring ``pts`` touches or crosses itself, or None."""
    import shapely

    ring = shapely.LinearRing(pts)
    if ring.is_simple:
        return None
    reason = shapely.is_valid_reason(shapely.Polygon(pts))
    m = re.search(r"\[([-\d.eE+]+) ([-\d.eE+]+)\]", reason)
    if m:
        return float(m.group(1)), float(m.group(2))
    return pts[0]
