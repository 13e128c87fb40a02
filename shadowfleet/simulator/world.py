"""The simulated world: ports, sea lanes and receiving stations around Peter the Great Gulf.

Port polygons are the approximate boxes of REFERENCE.md ("Geography"); berths lie well
inside them so a detector using a slightly different polygon still sees the same calls.
Sea lanes are waypoint lists that stay off land; Najin-Dunay follows the route of
REFERENCE.md ((42.19, 130.34) (42.50, 131.25) (42.72, 132.20) (42.82, 132.30), ~103 nm)
with one more waypoint, (42.24, 130.75), to pass well south of the Tumen river mouth.
The two receiving stations are fictional shore stations with overlapping coverage: one
near Vladivostok, one on the Gamov peninsula (Najin, ~43 nm away, is near its edge).

Units: degrees WGS84, nautical miles, knots, seconds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

EARTH_RADIUS_NM = 3440.065


@dataclasses.dataclass(frozen=True)
class SimPort:
    """A port: its polygon ring ([lon, lat] pairs, closed) and berths ((lat, lon))."""

    name: str
    ring: tuple[tuple[float, float], ...]
    berths: tuple[tuple[float, float], ...]


def _box(lon0: float, lat0: float, lon1: float, lat1: float) -> tuple[tuple[float, float], ...]:
    return ((lon0, lat0), (lon1, lat0), (lon1, lat1), (lon0, lat1), (lon0, lat0))


# REFERENCE.md boxes; berths at least ~1 km inside every edge.
PORTS: dict[str, SimPort] = {
    "Najin": SimPort("Najin", _box(130.275, 42.215, 130.335, 42.255),
                     ((42.236, 130.300), (42.240, 130.310), (42.232, 130.292))),
    "Dunay": SimPort("Dunay", _box(132.32, 42.86, 132.39, 42.91),
                     ((42.884, 132.345), (42.888, 132.356), (42.880, 132.362))),
    "Vladivostok": SimPort("Vladivostok", _box(131.86, 43.09, 131.93, 43.13),
                           ((43.110, 131.885), (43.106, 131.900), (43.112, 131.875))),
    "Nakhodka": SimPort("Nakhodka", _box(132.85, 42.77, 132.93, 42.83),
                        ((42.805, 132.890), (42.798, 132.900), (42.810, 132.880))),
    "Vostochny": SimPort("Vostochny", _box(133.00, 42.71, 133.13, 42.79),
                         ((42.752, 133.070), (42.745, 133.085), (42.758, 133.060))),
    # the WPI position (42.65 N, 130.80 E) with a box like the others; only the clone of
    # a shared MMSI calls there (shadowfleet.simulator.identity)
    "Posyet": SimPort("Posyet", _box(130.775, 42.635, 130.825, 42.665),
                      ((42.650, 130.800), (42.647, 130.808), (42.653, 130.793))),
}

# Each port's approach point just outside its polygon, and lanes between approaches.
APPROACH: dict[str, tuple[float, float]] = {
    "Najin": (42.19, 130.34),
    "Dunay": (42.82, 132.30),
    "Vladivostok": (43.07, 131.935),
    "Nakhodka": (42.745, 132.885),
    "Vostochny": (42.70, 133.05),
    "Posyet": (42.61, 130.84),
}

_LANES: dict[tuple[str, str], tuple[tuple[float, float], ...]] = {
    ("Najin", "Dunay"): ((42.24, 130.75), (42.50, 131.25), (42.72, 132.20)),
    ("Najin", "Vladivostok"): ((42.24, 130.75), (42.50, 131.25), (42.80, 131.75), (42.96, 131.98)),
    ("Dunay", "Vladivostok"): ((42.86, 132.12), (42.96, 131.98)),
    ("Dunay", "Nakhodka"): ((42.72, 132.45), (42.70, 132.80)),
    ("Dunay", "Vostochny"): ((42.72, 132.45), (42.68, 132.95)),
    ("Vladivostok", "Nakhodka"): ((42.96, 131.98), (42.86, 132.12), (42.72, 132.45),
                                  (42.70, 132.80)),
    ("Vladivostok", "Vostochny"): ((42.96, 131.98), (42.86, 132.12), (42.72, 132.45),
                                   (42.68, 132.95)),
    ("Nakhodka", "Vostochny"): ((42.70, 132.95),),
    ("Najin", "Posyet"): ((42.24, 130.75), (42.45, 130.93)),
}

# Through traffic: enters and leaves the area without calling at a port.
TRANSIT_LANE: tuple[tuple[float, float], ...] = (
    (41.60, 130.20), (42.05, 130.60), (42.45, 131.40), (42.62, 132.20), (42.60, 132.80),
    (42.50, 133.60),
)


@dataclasses.dataclass(frozen=True)
class Station:
    """A receiving station: full reception probability (``RadioParams``) up to 0.8 of its
    range, falling linearly to zero at ``range_nm``; ``delay_s`` its typical forwarding
    delay (receive times of a second station lag the first by seconds)."""

    name: str
    lat: float
    lon: float
    range_nm: float
    delay_s: float


STATIONS: tuple[Station, ...] = (
    Station("SIMRX-VLD", 43.02, 131.90, 75.0, 0.0),
    Station("SIMRX-GMV", 42.57, 131.15, 60.0, 2.0),
)


def haversine_nm(lat1, lon1, lat2, lon2):
    """Great-circle distance in nautical miles (numpy broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_NM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def bearing_deg(lat1, lon1, lat2, lon2):
    """Initial true bearing in degrees [0, 360) (numpy broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def route(origin: str, destination: str, from_berth: tuple[float, float],
          to_berth: tuple[float, float]) -> np.ndarray:
    """Waypoints (n, 2) [lat, lon] from a berth at ``origin`` to a berth at ``destination``."""
    key = (origin, destination)
    if key in _LANES:
        mid = list(_LANES[key])
    elif (destination, origin) in _LANES:
        mid = list(reversed(_LANES[(destination, origin)]))
    else:
        raise KeyError(f"no sea lane between {origin} and {destination}")
    pts = [from_berth, APPROACH[origin], *mid, APPROACH[destination], to_berth]
    return np.asarray(pts, dtype=float)


def densify(points: np.ndarray, step_nm: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Points every ~``step_nm`` along a polyline: (lat_lon (m, 2), cumulative nm (m,))."""
    out = [points[:1]]
    for a, b in zip(points[:-1], points[1:]):
        d = float(haversine_nm(a[0], a[1], b[0], b[1]))
        n = max(1, int(math.ceil(d / step_nm)))
        f = np.linspace(0.0, 1.0, n + 1)[1:, None]
        out.append(a + (b - a) * f)
    pts = np.concatenate(out)
    seg = haversine_nm(pts[:-1, 0], pts[:-1, 1], pts[1:, 0], pts[1:, 1])
    return pts, np.r_[0.0, np.cumsum(seg)]
