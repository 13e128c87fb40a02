"""Identities the simulator gets wrong on purpose, and their truth.

Every scenario plants three identity anomalies (DESIGN.md, "Behaviour and identity
detectors"), drawn from a random stream of their own (``[seed, 4]``), so that the other
ships' tracks and identities are those the seed gave before:

- a **shared MMSI**: a second hull (role ``clone``, ``hull`` ``"clone"``) sends the MMSI,
  name, IMO and call sign of the liner trading Nakhodka <-> Vostochny, from a day drawn
  20 to 35 days into the scenario to its end, while it shuttles Najin <-> Posyet some 95
  nm and more to the west: two ships in different seas, one identity on the air at
  once (what Global Fishing Watch calls spoofing). The liner's round trips, and the
  clone's, are in the truth like any other ship's (each hull's calls apart);
- a **rename with a new IMO**: another liner's static reports carry a new name and a new
  IMO (valid check digit) from a moment drawn 28 to 42 days into the scenario; its call
  sign stays;
- an **invalid MMSI**: a Class B small craft sends an MMSI that is no valid station
  identity, drawn between the factory default 123456789 of a transponder nobody set up
  (a first digit 1 outside 111, the SAR aircraft prefix: no such station) and its own
  number with MID 200, which the ITU has not allocated to any country (a mistyped MID).
  A digit left out would not do: 27312345 reads as 027312345, a group of ship stations
  by its format (ITU-R M.585), which the detectors rightly do not flag.

:func:`identity_truth` records them as what happened, the ``identity`` section of the
truth file (:mod:`shadowfleet.simulator.truth`); it shares no code with the identity
detectors. Clone and liner are added or changed after the scenario's draws: the clone is
the last vessel, so the radio draws of every other vessel stay the same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shadowfleet.simulator.tracks import Track
from shadowfleet.simulator.vessels import (REAL_IMOS, REAL_NAMES, IdentityChange, Vessel,
                                           imo_with_check_digit)
from shadowfleet.simulator.world import PORTS, route

CLONE = "clone"
EAST = frozenset({"Nakhodka", "Vostochny"})      # the cloned liner's ports
_NEW_NAMES = ("SEVERNY VETER", "ZARYA VOSTOKA", "MORSKOY KONVOY", "TIKHAYA GAVAN")
# MID 200 precedes the first allocated MID (201, Albania): no country has it
UNALLOCATED_MID = 200
FACTORY_DEFAULT_MMSI = 123456789

__all__ = ["CLONE", "plant", "identity_truth"]


def _t(ts: pd.Timestamp) -> float:
    return ts.value / 1e9


def _ports(v: Vessel) -> set[str]:
    return {p.port for p in v.track.stays() if p.port}


def _clone_track(rng, start: float, end: float) -> Track:
    """Najin <-> Posyet from ``start`` to ``end``: 12-36 h in port, 10-12 kn between."""
    track = Track(start=start)
    berths = PORTS["Najin"].berths
    here = "Najin"
    berth = berths[int(rng.integers(0, len(berths)))]
    track.stay(here, berth, float(rng.uniform(6, 24)))
    while True:
        there = "Posyet" if here == "Najin" else "Najin"
        to = PORTS[there].berths[int(rng.integers(0, len(PORTS[there].berths)))]
        track.sail(route(here, there, berth, to), float(rng.uniform(10, 12)), here, there)
        stay_h = float(rng.uniform(12, 36))
        if track.end + (stay_h + 8) * 3600.0 >= end:
            track.stay(there, to, max((end - track.end) / 3600.0, 1.0))
            return track
        track.stay(there, to, stay_h)
        here, berth = there, to


def plant(vessels: list[Vessel], *, seed: int, start: pd.Timestamp, end: pd.Timestamp
          ) -> list[Vessel]:
    """The scenario's vessels with the three anomalies planted (module docstring):
    the liner and the small craft changed in place, the clone appended."""
    rng = np.random.default_rng([seed, 4])
    liners = [v for v in vessels if v.role == "liner"]
    original = next(v for v in liners if _ports(v) <= EAST)
    renamed = next(v for v in liners if v is not original)
    small = next(v for v in vessels if v.role == "small-craft")

    # the shared MMSI: a second hull with the liner's identity, in the west
    t0 = _t(start) + float(rng.uniform(20, 35)) * 86400.0
    clone = Vessel(original.mmsi, original.name, original.imo, original.callsign,
                   original.ship_type, int(rng.integers(90, 120)), int(rng.integers(15, 20)),
                   round(float(rng.uniform(5.0, 7.0)), 1), "POSYET", "A", CLONE,
                   _clone_track(rng, t0, _t(end)), hull=CLONE)

    # the rename with a new IMO
    names = {v.name for v in vessels}
    imos = {v.imo for v in vessels}
    new_name = next(str(n) for n in rng.permutation(_NEW_NAMES)
                    if n not in names and n not in REAL_NAMES)
    while True:
        new_imo = imo_with_check_digit(int(rng.integers(880000, 989999)))
        if new_imo not in imos and new_imo not in REAL_IMOS:
            break
    when = _t(start) + float(rng.uniform(28, 42)) * 86400.0
    renamed.identity_changes = (IdentityChange(when, new_name, new_imo, renamed.callsign),)

    # the invalid MMSI
    if rng.random() < 0.5:
        small.mmsi = FACTORY_DEFAULT_MMSI
        small.mmsi_fault = (f"MMSI {small.mmsi} is a transponder's factory default (first "
                            "digit 1 outside 111: no such station)")
    else:
        small.mmsi = UNALLOCATED_MID * 1_000_000 + small.mmsi % 1_000_000
        small.mmsi_fault = (f"MMSI {small.mmsi} has MID {UNALLOCATED_MID}, which the ITU has "
                            "not allocated to any country")
    return vessels + [clone]


def _iso(t: float) -> str:
    return pd.Timestamp(round(float(t)), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _on_air(v: Vessel) -> tuple[float, float]:
    return v.track.parts[0].t0, v.track.end


def identity_truth(sim) -> dict:
    """The ``identity`` section of the truth file: what was planted, as it happened.

    - ``shared_mmsi``: per MMSI sent by several hulls, the hulls (key, name, role) and
      when they were all on the air at once (``start_utc`` .. ``end_utc``);
    - ``identity_changes``: per changed field (``imo``, ``name``, ``callsign``) of a
      vessel's static reports, the value before and after and when (``utc``);
    - ``invalid_mmsi``: per vessel whose MMSI is no valid identity, why.
    """
    by_mmsi: dict[int, list[Vessel]] = {}
    for v in sim.vessels:
        by_mmsi.setdefault(v.mmsi, []).append(v)
    shared = []
    for mmsi, hulls in sorted(by_mmsi.items()):
        if len(hulls) < 2:
            continue
        lo = max(_on_air(v)[0] for v in hulls)
        hi = min(_on_air(v)[1] for v in hulls)
        if hi > lo:
            shared.append(dict(mmsi=mmsi, hulls=[dict(vessel=v.key, name=v.name, role=v.role,
                                                      ports=sorted(_ports(v)))
                                                 for v in hulls],
                               start_utc=_iso(lo), end_utc=_iso(hi)))
    changes = []
    for v in sim.vessels:
        before = v
        for k, c in enumerate(v.identity_changes, start=1):
            after = v.identity_at(k)
            for field in ("imo", "name", "callsign"):
                old, new = getattr(before, field), getattr(after, field)
                if old != new:
                    changes.append(dict(mmsi=v.mmsi, vessel=v.key, field=field,
                                        before=str(old), after=str(new), utc=_iso(c.t)))
            before = after
    invalid = [dict(mmsi=v.mmsi, vessel=v.key, name=v.name, role=v.role, reason=v.mmsi_fault)
               for v in sim.vessels if v.mmsi_fault]
    return dict(shared_mmsi=shared, identity_changes=changes, invalid_mmsi=invalid,
                planted=len(shared) + len(changes) + len(invalid))
