"""The simulator's scenarios: who sails where, when, and when they switch AIS off.

``najin-dunay-2023``: two cargo ships shuttle Najin <-> Dunay from mid-August to
mid-October 2023 with 12-48 h port stays (REFERENCE.md, RUSI / Washington Post, October
2023), the second opening its season with a pickup at Najin in plain sight; on most round trips AIS goes quiet shortly after leaving Dunay (or some 20-40 nm
before Najin) and comes back on the way in, so the whole Najin call is dark, as
reported; on the others every leg is broadcast. Mostly the transmitter is switched off;
on about one quiet trip in four the transponder stays on and withholds its position
(static reports and "position not available" reports go on), drawn from a stream of
the seed of its own so the tracks do not depend on it. ``control``: the same ships trade
Vladivostok <-> Nakhodka instead, always broadcasting.

Both scenarios share the background: liners between Vladivostok, Nakhodka and
Vostochny, a Najin <-> Vladivostok ferry, a ship moored at Najin, through traffic that
enters and leaves the area, and Class B small craft on day trips to their fishing
grounds. One receiving station has an outage of 7.5-9 h (a coverage hole where every
vessel drops out). The behaviour at sea and its look-alikes
(:mod:`shadowfleet.simulator.behaviour`) come on top: in ``najin-dunay-2023`` the first
shuttle meets a bunker vessel at sea twice on its way back from Najin, once in plain
sight and once with AIS off; in both scenarios a coaster uses a pier no registry has, a
bulk carrier anchors inside Vostochny's polygon, and two ships pass each other at speed.

All names, MMSIs (273xxxxxx, the Russian MID) and IMOs (valid check digit) are
fictional and drawn from the seed; none is a ship named in the 2023 reports. Both
scenarios also carry the identity anomalies of :mod:`shadowfleet.simulator.identity`
(a liner's MMSI shared with a clone shuttling Najin <-> Posyet, a liner renamed with a
new IMO, a small craft with an invalid MMSI).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shadowfleet.simulator.behaviour import MeetingPlan, add_behaviour, fishing_spot
from shadowfleet.simulator.tracks import (AT_ANCHOR, POSITIONS_WITHHELD, TRANSMITTER_OFF,
                                          UNDER_WAY, Track)
from shadowfleet.simulator.identity import plant
from shadowfleet.simulator.vessels import Identities, Vessel
from shadowfleet.simulator.world import PORTS, STATIONS, TRANSIT_LANE, route

SCENARIOS = ("najin-dunay-2023", "control")

START = pd.Timestamp("2023-08-10T00:00:00Z")
END = pd.Timestamp("2023-10-20T00:00:00Z")
SHUTTLE_FROM = pd.Timestamp("2023-08-13T00:00:00Z")
SHUTTLE_UNTIL = pd.Timestamp("2023-10-14T00:00:00Z")

_SHUTTLE_NAMES = ("SEVERNAYA ZVEZDA", "TUMANNY BEREG", "KEDROVAYA PAD", "BELY MYS")
_LINER_NAMES = ("PRIMORSKY TRADER", "ZOLOTOY ROG", "USSURI BAY", "AMUR LINE", "OKEAN PRIDE",
                "NAKHODKA STAR", "VOSTOK CARRIER", "ASKOLD", "RUSSKY BRIDGE", "SIKHOTE")
_TRANSIT_NAMES = ("EAST SEA PIONEER", "HANSAN GLORY", "OCEAN LOTUS", "PACIFIC WREN")
_SMALL_CRAFT_NAMES = ("CHAIKA", "VOLNA 7", "BRIZ", "KAMBALA", "ORLAN", "ZARYA")


def _t(ts: pd.Timestamp) -> float:
    return ts.value / 1e9


def _berth(rng, port: str) -> tuple[float, float]:
    berths = PORTS[port].berths
    return berths[int(rng.integers(0, len(berths)))]


def _sail(track: Track, rng, origin: str, dest: str, speed: float) -> tuple:
    """Sail from the current berth at ``origin`` to a berth at ``dest``; return (passage, berth)."""
    last = track.parts[-1]
    berth = _berth(rng, dest)
    passage = track.sail(route(origin, dest, (last.lat, last.lon), berth), speed, origin, dest)
    return passage, berth


def _shuttle(track: Track, rng, quiet_rng, home: str, a: str, b: str, dark: bool,
             until: float, plan: MeetingPlan | None = None, k: int = 0) -> None:
    """Cycles a -> b -> a from the current port ``a``; ``dark``: most b calls hidden
    (``quiet_rng`` draws how: transmitter off or positions withheld); ``plan``: on which
    voyages back from b shuttle ``k`` meets a ship at sea on the way."""
    n_cycle = 0
    while track.end < until:
        side_trip = n_cycle > 0 and rng.random() < 0.4
        if side_trip:
            _sail(track, rng, a, home, float(rng.uniform(10, 12)))
            track.stay(home, (track.parts[-1].points[-1][0], track.parts[-1].points[-1][1]),
                       float(rng.uniform(48, 120)))
            p, berth = _sail(track, rng, home, a, float(rng.uniform(10, 12)))
            track.stay(a, berth, float(rng.uniform(12, 36)))
            continue
        hide = dark and n_cycle != 1 and rng.random() < 0.8
        out, berth_b = _sail(track, rng, a, b, float(rng.uniform(10, 12.5)))
        track.stay(b, berth_b, float(rng.uniform(12, 48)))
        speed = float(rng.uniform(10, 12.5))
        berth_a = _berth(rng, a)
        pts = route(b, a, berth_b, berth_a)
        if plan is None:
            back = track.sail(pts, speed, b, a)
        else:      # the back leg, maybe with a meeting at sea (a Leg of two passages)
            back = plan.sail_back(track, pts, speed, b, a, plan.wants(k, n_cycle, hide, track.end),
                                  k, hide)
        if hide:
            if rng.random() < 0.3:   # off some 20-40 nm before b, on 20-40 nm after it
                off = out.time_at_distance(out.length_nm - rng.uniform(20, 40))
                on = back.time_at_distance(rng.uniform(20, 40))
            else:                    # off soon after leaving a, on shortly before a
                off = out.time_at_distance(rng.uniform(8, 15))
                on = back.time_at_distance(back.length_nm - rng.uniform(8, 15))
            kind = POSITIONS_WITHHELD if quiet_rng.random() < 0.25 else TRANSMITTER_OFF
            track.silence(off, on, kind)
        track.stay(a, berth_a, float(rng.uniform(12, 48)))
        n_cycle += 1


def _shuttles(rng, quiet_rng, ids: Identities, scenario: str,
              plan: MeetingPlan | None = None) -> list[Vessel]:
    names = rng.choice(_SHUTTLE_NAMES, 2, replace=False)
    out = []
    for k, (name, home) in enumerate(zip(names, ("Vostochny", "Vladivostok"))):
        track = Track(start=_t(START))
        berth = _berth(rng, home)
        start_h = (_t(SHUTTLE_FROM) - _t(START)) / 3600 + rng.uniform(0, 72) + 40 * k
        track.stay(home, berth, start_h)
        a, b = ("Dunay", "Najin") if scenario == "najin-dunay-2023" else ("Nakhodka", "Vladivostok")
        dark = scenario == "najin-dunay-2023"
        if dark and k == 1:
            # the second shuttle's season opens with a pickup at b, in plain sight, so its
            # chain runs b, a, [b dark], a, b: DESIGN.md's "each leg is counted once" case
            _, berth = _sail(track, rng, home, b, 11.0)
            track.stay(b, berth, float(rng.uniform(12, 36)))
            _, berth = _sail(track, rng, b, a, 11.0)
            track.stay(a, berth, float(rng.uniform(12, 36)))
        elif home != a:
            _, berth = _sail(track, rng, home, a, 11.0)
            track.stay(a, berth, float(rng.uniform(12, 36)))
        _shuttle(track, rng, quiet_rng, home, a, b, dark,
                 _t(SHUTTLE_UNTIL) - rng.uniform(0, 48) * 3600, plan, k)
        if a != home:
            _, berth = _sail(track, rng, a, home, 11.0)
        last = track.parts[-1]
        end_berth = (last.lat, last.lon) if hasattr(last, "lat") else berth
        track.stay(home, end_berth, (_t(END) - track.end) / 3600)
        out.append(Vessel(ids.mmsi(), str(name), ids.imo(), ids.callsign(), 70,
                          int(rng.integers(95, 130)), int(rng.integers(16, 21)),
                          round(float(rng.uniform(5.5, 7.5)), 1), "VOSTOCHNY" if k == 0 else "VLADIVOSTOK",
                          "A", "shuttle", track))
    return out


def _liner(rng, ids: Identities, name: str, a: str, b: str, role: str = "liner") -> Vessel:
    track = Track(start=_t(START))
    berth = _berth(rng, a)
    # at least 3 h: a call cut by the start of the data is still long enough to be a
    # port visit (min_dwell_minutes) however thinly it was received
    track.stay(a, berth, float(rng.uniform(3, 60)))
    here, there = a, b
    while True:
        speed = float(rng.uniform(10, 14))
        _, berth = _sail(track, rng, here, there, speed)
        remaining = (_t(END) - track.end) / 3600
        stay_h = float(rng.uniform(24, 96))
        if remaining <= stay_h + 30:
            track.stay(there, berth, max(remaining, 1.0))
            break
        track.stay(there, berth, stay_h)
        here, there = there, here
    return Vessel(ids.mmsi(), name, ids.imo(), ids.callsign(), int(rng.choice([70, 71, 79, 80])),
                  int(rng.integers(80, 190)), int(rng.integers(14, 30)),
                  round(float(rng.uniform(5, 10)), 1), b.upper(), "A", role, track)


def _resident(rng, ids: Identities, name: str) -> Vessel:
    track = Track(start=_t(START))
    track.stay("Najin", _berth(rng, "Najin"), (_t(END) - _t(START)) / 3600)
    return Vessel(ids.mmsi(), name, ids.imo(), ids.callsign(), 70, int(rng.integers(70, 110)),
                  int(rng.integers(12, 18)), 5.0, "RAJIN", "A", "resident", track)


def _transit(rng, ids: Identities, name: str) -> Vessel:
    """Passes through the area every 6-12 days; out of every station's range between."""
    track = Track(start=_t(START))
    lane = np.asarray(TRANSIT_LANE)
    outside = tuple(lane[0])
    track.stay("", outside, float(rng.uniform(0, 96)), status=UNDER_WAY)
    forward = bool(rng.integers(0, 2))
    while True:
        pts = lane if forward else lane[::-1]
        speed = float(rng.uniform(12, 16))
        track.sail(pts, speed)
        wait = float(rng.uniform(6, 12)) * 24
        if track.end + wait * 3600 > _t(END):
            track.stay("", tuple(pts[-1]), (_t(END) - track.end) / 3600, status=UNDER_WAY)
            break
        track.stay("", tuple(pts[-1]), wait, status=UNDER_WAY)
        forward = not forward
    return Vessel(ids.mmsi(), name, ids.imo(), ids.callsign(), 80, int(rng.integers(150, 230)),
                  int(rng.integers(24, 36)), 9.0, "BUSAN", "A", "transit", track)


def _small_craft(rng, ids: Identities, name: str, home: str, index: int = 0) -> Vessel:
    """Class B: day trips to its fishing ground a few miles offshore (the ``index``-th
    craft of ``home`` has its own, :func:`~shadowfleet.simulator.behaviour.fishing_spot`),
    nights in port."""
    track = Track(start=_t(START))
    berth = _berth(rng, home)
    track.stay(home, berth, float(rng.uniform(20, 30)))
    lane = route(home, "Dunay" if home == "Vladivostok" else "Vostochny", berth, berth)[:3]
    while True:
        spot, ground = fishing_spot(rng, home, index)
        out_pts = np.vstack([lane[:2], [spot]])
        track.sail(out_pts, float(rng.uniform(6, 9)))
        track.stay("", spot, float(rng.uniform(3, 7)), status=AT_ANCHOR, place=ground)
        track.sail(out_pts[::-1], float(rng.uniform(6, 9)))
        rest = float(rng.uniform(14, 20)) + (24.0 if rng.random() < 0.3 else 0.0)
        if track.end + (rest + 12) * 3600 > _t(END):
            track.stay(home, berth, (_t(END) - track.end) / 3600)
            break
        track.stay(home, berth, rest)
    return Vessel(ids.mmsi(), name, 0, ids.callsign(), int(rng.choice([30, 37])),
                  int(rng.integers(8, 16)), int(rng.integers(3, 5)), 0.0, "", "B",
                  "small-craft", track)


def build(scenario: str, seed: int) -> tuple[list[Vessel], tuple]:
    """The scenario's vessels (tracks included, the identity anomalies of
    :mod:`shadowfleet.simulator.identity` planted) and its station outages."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}")
    rng = np.random.default_rng(seed)
    ids = Identities(rng)
    plan = MeetingPlan(scenario, seed)
    vessels = _shuttles(rng, np.random.default_rng([seed, 3]), ids, scenario, plan)
    pairs = [("Vladivostok", "Nakhodka"), ("Vladivostok", "Vostochny"), ("Nakhodka", "Vostochny")]
    n_liners = int(rng.integers(5, 8))
    names = list(rng.choice(_LINER_NAMES, n_liners + 2, replace=False))
    for i in range(n_liners):
        a, b = pairs[i % len(pairs)]
        if rng.random() < 0.5:
            a, b = b, a
        vessels.append(_liner(rng, ids, str(names[i]), a, b))
    vessels.append(_liner(rng, ids, str(names[n_liners]), "Najin", "Vladivostok", role="ferry"))
    vessels.append(_resident(rng, ids, str(names[n_liners + 1])))
    for name in rng.choice(_TRANSIT_NAMES, 2, replace=False):
        vessels.append(_transit(rng, ids, str(name)))
    n_small = int(rng.integers(3, 5))
    for i, name in enumerate(rng.choice(_SMALL_CRAFT_NAMES, n_small, replace=False)):
        vessels.append(_small_craft(rng, ids, str(name), ("Vladivostok", "Nakhodka")[i % 2],
                                    i // 2))
    day = _t(pd.Timestamp("2023-09-05T00:00:00Z")) + rng.uniform(0, 25) * 86400
    outage = (STATIONS[1].name, day, day + rng.uniform(7.5, 9.0) * 3600)
    vessels += add_behaviour(scenario, seed, ids, plan, _t(START), _t(END))
    return plant(vessels, seed=seed, start=START, end=END), (outage,)
