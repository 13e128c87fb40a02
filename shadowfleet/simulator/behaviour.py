"""Behaviour at sea that the scenarios plant for the encounter, loitering and
unlisted-stop detectors, and the look-alikes that must not fire.

Places (:data:`PLACES`; every one outside the port polygons of the simulated world but
the roads, and at least 1.5 nm from the 5 nm line that decides loitering):

- ``Novik pier``: a fictional pier in Novik Bay, Russky Island, 2.7 nm south of
  Vladivostok's polygon: a place no port registry has;
- ``fishing ground V1``, ``V2`` (7.5 nm out of Vladivostok, in Ussuri Bay) and ``N1``,
  ``N2`` (2.9 and 3.5 nm out of Nakhodka): each small craft anchors at its own;
- ``rendezvous R1`` (on the Najin-Dunay lane, 14 nm off Slavyanka, in both stations'
  cover) and ``rendezvous R2`` (on the same lane 12.7 nm out of Najin, one station's);
- ``Vostochny roads``: an anchorage inside Vostochny's polygon.

What the scenarios do there (:func:`add_behaviour` adds the vessels; the shuttles meet
through a :class:`MeetingPlan`):

- **ship-to-ship transfers** (``najin-dunay-2023``): the first shuttle, sailing back
  loaded from Najin, comes alongside a bunker vessel (role ``partner``) for 6-8 h twice:
  at R1 on its cycle 1 (never hidden: in plain sight), and at R2 on the first cycle whose
  AIS goes quiet, at least 40 h after the first meeting (R2 lies inside the silence
  however the crew switched off: from soon after Dunay, or from 20-40 nm before Najin to
  20-40 nm after it). The partner comes out of Vladivostok, waits at anchor 6-10 h
  before the shuttle arrives and leaves 0.5-2 h after it: loitering at sea. In
  ``control`` it waits the same way at R1 and R2 on dates of its own, and nobody comes;
- **an unlisted pier**: a coaster (role ``coaster``) runs Vladivostok -> Novik pier ->
  Vladivostok every 1-3 days and lies at the pier 4-9 h (stays at a place used dozens of
  times; too near a port to be loitering);
- **fishing**: each small craft anchors 3-7 h a trip within ~100 m of its ground
  (:func:`fishing_spot`): grounds off Vladivostok give loitering (4 h or more) and an
  unlisted stop, those off Nakhodka an unlisted stop only (under 5 nm from a port).

Look-alikes (what a detector must not report):

- **passing at speed**: two ships (role ``passer``) sail the Vladivostok-Nakhodka run
  opposite ways at the same times and speed, one of them on the lane shifted 280 m north,
  so they pass within a few hundred metres at 10-12 kn on every voyage;
- **at anchor inside a port polygon**: a bulk carrier (role ``anchored``) calls at
  Vostochny by anchoring in its roads, 10-30 h a call, from Nakhodka;
- **two ships moored in one port**: berths are shared, so ships lie side by side in port
  all the time (the truth lists them, :mod:`shadowfleet.simulator.behaviour_truth`).

Every vessel here draws from a random stream of its own (``np.random.default_rng([seed,
5, k])``), so the vessels of :mod:`shadowfleet.simulator.scenarios` draw as before.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from shadowfleet.simulator.tracks import AT_ANCHOR, MOORED, Passage, Track
from shadowfleet.simulator.vessels import Identities, Vessel
from shadowfleet.simulator.world import APPROACH, EARTH_RADIUS_NM, PORTS, route

H = 3600.0


@dataclasses.dataclass(frozen=True)
class Place:
    """A place the scenarios use: ``kind`` is ``pier``, ``fishing_ground``,
    ``rendezvous`` or ``roads`` (inside a port polygon: ``port`` names it)."""

    name: str
    kind: str
    lat: float
    lon: float
    port: str = ""


PIER = Place("Novik pier", "pier", 43.045, 131.850)
R1 = Place("rendezvous R1", "rendezvous", 42.599, 131.678)
R2 = Place("rendezvous R2", "rendezvous", 42.2156, 130.550)
ROADS = Place("Vostochny roads", "roads", 42.728, 133.030, port="Vostochny")
FISHING_GROUNDS: dict[str, tuple[Place, ...]] = {
    "Vladivostok": (Place("fishing ground V1", "fishing_ground", 42.985, 132.030),
                    Place("fishing ground V2", "fishing_ground", 43.010, 132.060)),
    "Nakhodka": (Place("fishing ground N1", "fishing_ground", 42.722, 132.872),
                 Place("fishing ground N2", "fishing_ground", 42.712, 132.920)),
}
PLACES: dict[str, Place] = {p.name: p for p in (PIER, R1, R2, ROADS,
                                                *(g for gs in FISHING_GROUNDS.values()
                                                  for g in gs))}

# from Vladivostok's berths out of the Golden Horn, west through the Eastern Bosphorus
# into Amur Bay and into Novik Bay
PIER_ROUTE = ((43.098, 131.872), (43.088, 131.848), (43.076, 131.822), (43.063, 131.818),
              (43.052, 131.836))
# the partner's way out of Vladivostok to each rendezvous (the Najin-Vladivostok lane)
PARTNER_ROUTES = {R1.name: ((42.96, 131.98), (42.80, 131.75)),
                  R2.name: ((42.96, 131.98), (42.80, 131.75), (42.50, 131.25), (42.24, 130.75))}
PARTNER_OFFSET_M = (60.0, 40.0)          # the partner lies 60 m north, 40 m east of the shuttle
PASSER_SHIFT_DEG = 0.0025                # the second passer's lane, shifted north (~280 m)
MEETING_GAP_H = 40.0                     # hours between the first meeting and the second


def _offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    m_per_deg = EARTH_RADIUS_NM * 1852.0 * math.pi / 180.0
    return lat + north_m / m_per_deg, lon + east_m / (m_per_deg * math.cos(math.radians(lat)))


def _berth(rng, port: str) -> tuple[float, float]:
    berths = PORTS[port].berths
    return berths[int(rng.integers(0, len(berths)))]


def fishing_spot(rng, home: str, index: int) -> tuple[tuple[float, float], str]:
    """Where a small craft of ``home`` (the ``index``-th of that port) anchors this trip:
    its ground, give or take ~70 m, and the ground's name."""
    ground = FISHING_GROUNDS[home][index % len(FISHING_GROUNDS[home])]
    return (ground.lat + float(rng.normal(0, 0.0006)),
            ground.lon + float(rng.normal(0, 0.0008))), ground.name


def split_at(points: np.ndarray, p: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A waypoint route cut at the point ``p`` of (or nearest to) it: (up to p, from p)."""
    pts = np.asarray(points, dtype=float)
    best, best_d = 0, math.inf
    for i in range(len(pts) - 1):
        a, b = pts[i], pts[i + 1]
        k = math.cos(math.radians(a[0]))
        ax, ay, bx, by = a[1] * k, a[0], b[1] * k, b[0]
        px, py = p[1] * k, p[0]
        dx, dy = bx - ax, by - ay
        u = 0.0 if dx == dy == 0 else min(1.0, max(0.0, ((px - ax) * dx + (py - ay) * dy)
                                                   / (dx * dx + dy * dy)))
        d = math.hypot(ax + u * dx - px, ay + u * dy - py)
        if d < best_d:
            best, best_d = i, d
    here = np.asarray([p], dtype=float)
    return np.vstack([pts[:best + 1], here]), np.vstack([here, pts[best + 1:]])


class Leg:
    """A voyage between two calls sailed as passages with stays at sea between (a
    meeting): its length along the passages and the time at a distance, as
    :class:`~shadowfleet.simulator.tracks.Passage` has them."""

    def __init__(self, passages: list[Passage]):
        self.passages = passages
        self.length_nm = float(sum(p.length_nm for p in passages))

    def time_at_distance(self, nm: float) -> float:
        for p in self.passages:
            if nm <= p.length_nm or p is self.passages[-1]:
                return p.time_at_distance(nm)
            nm -= p.length_nm
        raise AssertionError("unreachable")


@dataclasses.dataclass
class Meeting:
    """A ship-to-ship meeting at ``place`` from ``t0`` to ``t1`` (epoch s): the shuttle
    alongside (``shuttle`` its index, None when nobody comes, as in ``control``)."""

    place: Place
    t0: float
    t1: float
    shuttle: int | None
    dark: bool


class MeetingPlan:
    """When the first shuttle meets the partner (module docstring). The shuttle's loop
    asks :meth:`wants` before each voyage back from Najin, and sails it with
    :meth:`sail_back`; :attr:`meetings` then lists what happened."""

    def __init__(self, scenario: str, seed: int):
        self.enabled = scenario == "najin-dunay-2023"
        self.rng = np.random.default_rng([seed, 5, 0])
        self.meetings: list[Meeting] = []

    def wants(self, shuttle: int, cycle: int, hidden: bool, now: float) -> Place | None:
        """The rendezvous of this voyage back from Najin, or None."""
        if not self.enabled or shuttle != 0:
            return None
        done = {m.place.name for m in self.meetings}
        if R1.name not in done:
            return R1 if cycle == 1 and not hidden else None
        if R2.name not in done and hidden and now >= self.meetings[0].t1 + MEETING_GAP_H * H:
            return R2
        return None

    def sail_back(self, track: Track, points: np.ndarray, speed: float, origin: str,
                  destination: str, place: Place | None, shuttle: int, hidden: bool):
        """Sail ``points`` from ``origin`` to ``destination``; with a ``place``, stop
        there alongside the partner for 6-8 h on the way. Returns the passage, or a
        :class:`Leg` of the two passages around the meeting."""
        if place is None:
            return track.sail(points, speed, origin, destination)
        first, second = split_at(points, (place.lat, place.lon))
        a = track.sail(first, speed, origin, "")
        stay = track.stay("", (place.lat, place.lon), float(self.rng.uniform(6, 8)),
                          status=MOORED, place=place.name)
        b = track.sail(second, speed, "", destination)
        self.meetings.append(Meeting(place, stay.t0, stay.t1, shuttle, hidden))
        return Leg([a, b])

    def control_meetings(self, start: float) -> None:
        """``control``: the partner's waits, at R1 and R2 on dates of their own."""
        for place, day in ((R1, 14), (R2, 41)):
            t0 = start + day * 86400 + float(self.rng.uniform(0, 48)) * H
            self.meetings.append(Meeting(place, t0, t0 + float(self.rng.uniform(6, 8)) * H,
                                         None, False))


def _partner(rng, ids: Identities, meetings: list[Meeting], start: float,
             end: float) -> Vessel:
    home = "Vladivostok"
    track = Track(start=start)
    berth = _berth(rng, home)
    for m in sorted(meetings, key=lambda m: m.t0):
        lat, lon = _offset(m.place.lat, m.place.lon, *PARTNER_OFFSET_M)
        out = np.asarray([berth, APPROACH[home], *PARTNER_ROUTES[m.place.name], (lat, lon)])
        speed = float(rng.uniform(10, 11.5))
        sail_s = Passage(0.0, out, speed).t1
        depart = m.t0 - float(rng.uniform(6, 10)) * H - sail_s
        if depart < track.end + H:
            raise ValueError(f"the partner cannot reach {m.place.name} in time")
        track.stay(home, berth, (depart - track.end) / H)
        track.sail(out, speed, home, "")
        track.stay("", (lat, lon), (m.t1 + float(rng.uniform(0.5, 2)) * H - track.end) / H,
                   status=AT_ANCHOR, place=m.place.name)
        berth = _berth(rng, home)
        back = np.asarray([(lat, lon), *reversed(PARTNER_ROUTES[m.place.name]), APPROACH[home],
                           berth])
        track.sail(back, speed, "", home)
    track.stay(home, berth, max((end - track.end) / H, 1.0))
    return Vessel(ids.mmsi(), "", ids.imo(), ids.callsign(), 80, int(rng.integers(70, 95)),
                  int(rng.integers(12, 16)), round(float(rng.uniform(4.5, 6.0)), 1), "AT SEA",
                  "A", "partner", track)


def _coaster(rng, ids: Identities, start: float, end: float) -> Vessel:
    home = "Vladivostok"
    track = Track(start=start)
    berth = _berth(rng, home)
    track.stay(home, berth, float(rng.uniform(6, 40)))
    while True:
        pier = (PIER.lat + float(rng.normal(0, 0.0001)), PIER.lon + float(rng.normal(0, 0.0001)))
        speed = float(rng.uniform(8, 10))
        track.sail(np.asarray([berth, *PIER_ROUTE, pier]), speed, home, "")
        track.stay("", pier, float(rng.uniform(4, 9)), status=MOORED, place=PIER.name)
        berth = _berth(rng, home)
        track.sail(np.asarray([pier, *reversed(PIER_ROUTE), berth]), speed, "", home)
        rest = float(rng.uniform(18, 60))
        if track.end + (rest + 24) * H > end:
            track.stay(home, berth, max((end - track.end) / H, 1.0))
            break
        track.stay(home, berth, rest)
    return Vessel(ids.mmsi(), "", ids.imo(), ids.callsign(), 70, int(rng.integers(40, 70)),
                  int(rng.integers(9, 13)), round(float(rng.uniform(3.0, 4.5)), 1), "NOVIK",
                  "A", "coaster", track)


def _anchored(rng, ids: Identities, start: float, end: float) -> Vessel:
    home, port = "Nakhodka", ROADS.port
    track = Track(start=start)
    berth = _berth(rng, home)
    track.stay(home, berth, float(rng.uniform(10, 60)))
    while True:
        spot = (ROADS.lat + float(rng.normal(0, 0.0008)), ROADS.lon + float(rng.normal(0, 0.001)))
        speed = float(rng.uniform(9, 11))
        track.sail(route(home, port, berth, spot), speed, home, port)
        track.stay(port, spot, float(rng.uniform(10, 30)), status=AT_ANCHOR, place=ROADS.name)
        berth = _berth(rng, home)
        track.sail(route(port, home, spot, berth), speed, port, home)
        rest = float(rng.uniform(24, 72))
        if track.end + (rest + 40) * H > end:
            track.stay(home, berth, max((end - track.end) / H, 1.0))
            break
        track.stay(home, berth, rest)
    return Vessel(ids.mmsi(), "", ids.imo(), ids.callsign(), 70, int(rng.integers(160, 200)),
                  int(rng.integers(27, 32)), round(float(rng.uniform(9, 12)), 1), "VOSTOCHNY",
                  "A", "anchored", track)


def _passers(rng, ids: Identities, start: float, end: float) -> list[Vessel]:
    ends = ("Vladivostok", "Nakhodka")
    tracks = [Track(start=start), Track(start=start)]
    berths = [_berth(rng, ends[0]), _berth(rng, ends[1])]
    here = [ends[0], ends[1]]
    first = float(rng.uniform(10, 40))
    for k in (0, 1):
        tracks[k].stay(here[k], berths[k], first)
    while True:
        speed = float(rng.uniform(10, 12))
        for k in (0, 1):
            there = ends[1] if here[k] == ends[0] else ends[0]
            new = _berth(rng, there)
            pts = route(here[k], there, berths[k], new)
            if k == 1:                      # keep to the lane's other side
                pts[2:-2, 0] += PASSER_SHIFT_DEG
            tracks[k].sail(pts, speed, here[k], there)
            berths[k], here[k] = new, there
        rest = float(rng.uniform(24, 48))
        until = max(t.end for t in tracks) + rest * H
        last = until + 30 * H > end
        for k in (0, 1):
            tracks[k].stay(here[k], berths[k], ((end if last else until) - tracks[k].end) / H)
        if last:
            break
    return [Vessel(ids.mmsi(), "", ids.imo(), ids.callsign(), 70, int(rng.integers(90, 140)),
                   int(rng.integers(15, 22)), round(float(rng.uniform(6, 8)), 1),
                   ends[1 - k].upper(), "A", "passer", tracks[k]) for k in (0, 1)]


_NAMES = {"partner": ("ZALIV SUPPLIER", "PRIMORYE BUNKER", "SEVER TANKER"),
          "coaster": ("OSTROV EXPRESS", "NOVIK SHUTTLE", "RUSSKY LINK"),
          "anchored": ("WRANGEL BULKER", "KOZMINO FORTUNE", "AMERIKA BAY"),
          "passer": ("BOSPHOR", "GAIDAMAK", "PODYAPOLSKY", "TRUDNY")}


def add_behaviour(scenario: str, seed: int, ids: Identities, plan: MeetingPlan, start: float,
                  end: float) -> list[Vessel]:
    """The vessels of the planted behaviour and look-alikes (module docstring): the
    partner (meeting the shuttles through ``plan``, or waiting alone in ``control``),
    the coaster, the anchored bulk carrier and the two passers; names drawn from the
    seed, identities from ``ids``."""
    if not plan.enabled:
        plan.control_meetings(start)
    rng = [np.random.default_rng([seed, 5, k]) for k in range(1, 6)]
    names = np.random.default_rng([seed, 5, 9])
    vessels = [_partner(rng[0], ids, plan.meetings, start, end), _coaster(rng[1], ids, start, end),
               _anchored(rng[2], ids, start, end), *_passers(rng[3], ids, start, end)]
    passers = list(names.choice(_NAMES["passer"], 2, replace=False))
    for v in vessels:
        v.name = str(passers.pop(0) if v.role == "passer" else names.choice(_NAMES[v.role]))
    return vessels


__all__ = ["Place", "PLACES", "PIER", "R1", "R2", "ROADS", "FISHING_GROUNDS", "Meeting",
           "MeetingPlan", "Leg", "add_behaviour", "fishing_spot", "split_at"]
