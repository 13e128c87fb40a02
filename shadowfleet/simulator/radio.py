"""Radio model of the simulator: what each vessel transmits and what the stations receive.

Transmission intervals follow ITU-R M.1371 (Class A: 10 s at 0-14 kn, 6 s at 14-23 kn,
2 s above; 3 min at anchor or moored; static data (type 5, two NMEA fragments) every
6 min. Class B "CS": 30 s above 2 kn, 3 min below; type 24 parts A and B every 6 min).
Each transmission reaches each station independently with probability
``p_full`` up to 0.8 of the station's range, falling linearly to zero at the range edge
(slot collisions and range thin a real feed the same way); Class B transmits at 2 W
against Class A's 12.5 W, so its ``p_full`` is lower. A station in an outage window
receives nothing. A second station's receive time lags by ``Station.delay_s`` plus up to
two seconds of jitter, so copies of one transmission arrive seconds apart (duplicates).

While a vessel withholds its position (:data:`~shadowfleet.simulator.tracks.POSITIONS_WITHHELD`)
its position reports go out at the same rate with every kinematic field "not available"
(``available`` False in :func:`transmissions`); its static reports go on.

What goes on the air is encoded in :mod:`shadowfleet.simulator.encoding`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ais.errors import ConfigError
from shadowfleet.simulator.tracks import AT_ANCHOR, MOORED, Passage, Stay
from shadowfleet.simulator.vessels import Vessel
from shadowfleet.simulator.world import STATIONS, Station, haversine_nm


@dataclasses.dataclass(frozen=True, kw_only=True)
class RadioParams:
    """Reception probabilities per transmission (0-1) and the outage windows.

    ``outages``: ((station name, start epoch s, end epoch s), ...). The defaults thin a
    Class A ship at sea to a report every ~2-5 min (10 s transmissions), which keeps a
    70-day scenario near 130,000 lines.
    """

    class_a_p_full: float = 0.035
    class_b_p_full: float = 0.03
    # A ship at a berth or at anchor transmits only every 3 min; receiving those reports
    # more reliably keeps coverage gaps inside ports rare (they still happen).
    stationary_boost: float = 2.5
    outages: tuple = ()

    def __post_init__(self) -> None:
        for name in ("class_a_p_full", "class_b_p_full"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ConfigError(None, f"{name} = {value} is not a probability in (0, 1]",
                                  "give a value such as 0.035")
        if self.stationary_boost < 1.0:
            raise ConfigError(None, f"stationary_boost = {self.stationary_boost} is below 1",
                              "give a factor >= 1")
        names = {s.name for s in STATIONS}
        for outage in self.outages:
            if len(outage) != 3 or outage[0] not in names or not outage[1] < outage[2]:
                raise ConfigError(None, f"outage {outage!r} is not (station, start, end)",
                                  f"name one of {sorted(names)} and start < end")


def _interval_s(part, ais_class: str) -> float:
    if isinstance(part, Stay):
        return 180.0
    if ais_class == "B":
        return 30.0
    v = part.speed_kn
    return 10.0 if v <= 14 else (6.0 if v <= 23 else 2.0)


def _p_station(st: Station, lat, lon, t, p_full: float, outages) -> np.ndarray:
    d = haversine_nm(st.lat, st.lon, lat, lon)
    p = p_full * np.clip((st.range_nm - d) / (0.2 * st.range_nm), 0.0, 1.0)
    for name, a, b in outages:
        if name == st.name:
            p = np.where((t >= a) & (t < b), 0.0, p)
    return p


def transmissions(vessel: Vessel, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Every position report the vessel transmitted: t, lat, lon, sog, cog, heading,
    status (the true values) and ``available`` (False while it withheld its position:
    the report then says "not available", though the radio still carries it from lat,
    lon)."""
    cols: dict[str, list] = {k: [] for k in ("t", "lat", "lon", "sog", "cog", "heading", "status")}
    for part in vessel.track.parts:
        step = _interval_s(part, vessel.ais_class)
        t = np.arange(part.t0 + rng.uniform(0, step), part.t1, step)
        t = t + rng.uniform(-0.4, 0.4, len(t))
        t = t[vessel.track.transmitting(t)]
        n = len(t)
        if n == 0:
            continue
        if isinstance(part, Stay):
            lat = part.lat + rng.normal(0, 1.5e-5, n)
            lon = part.lon + rng.normal(0, 2.0e-5, n)
            sog = np.round(np.abs(rng.normal(0, 0.05, n)), 1)
            cog = np.full(n, 360.0)
            heading = np.full(n, float(rng.integers(0, 360)))
            status = np.full(n, part.status)
        else:
            lat, lon, sog, cog = part.at(t)
            lat = lat + rng.normal(0, 1e-5, n)
            lon = lon + rng.normal(0, 1.3e-5, n)
            sog = np.clip(np.round(sog + rng.normal(0, 0.15, n), 1), 0, 102.2)
            cog = np.round((cog + rng.normal(0, 0.8, n)) % 360.0, 1)
            heading = np.round(cog + rng.normal(0, 2.0, n)) % 360
            status = np.zeros(n)
        for k, v in zip(cols, (t, lat, lon, sog, cog, heading, status)):
            cols[k].append(np.asarray(v, dtype=float))
    out = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
    out["available"] = ~vessel.track.withholding(out["t"])
    return out


def static_times(vessel: Vessel, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times of the static-data transmissions (every 6 min while transmitting) with the
    vessel's position then (for reception)."""
    if not vessel.track.parts:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    t0, t1 = vessel.track.parts[0].t0, vessel.track.end
    t = np.arange(t0 + rng.uniform(0, 360), t1, 360.0)
    t = t[vessel.track.transmitting(t)]
    lat = np.empty(len(t))
    lon = np.empty(len(t))
    for part in vessel.track.parts:
        m = (t >= part.t0) & (t < part.t1)
        if not m.any():
            continue
        if isinstance(part, Stay):
            lat[m], lon[m] = part.lat, part.lon
        else:
            la, lo, _, _ = part.at(t[m])
            lat[m], lon[m] = la, lo
    return t, lat, lon


def receive(t, lat, lon, p_full: float, moored: np.ndarray | None, params: RadioParams,
            rng: np.random.Generator) -> list[np.ndarray]:
    """One boolean mask per station: which transmissions it received."""
    masks = []
    for st in STATIONS:
        p = _p_station(st, lat, lon, t, p_full, params.outages)
        if moored is not None:
            p = np.where(moored, np.minimum(1.0, p * params.stationary_boost), p)
        masks.append(rng.random(len(t)) < p)
    return masks


def moored_mask(vessel: Vessel, t: np.ndarray) -> np.ndarray:
    """True where the vessel was at a berth or at anchor (not where it drifts at sea
    out of every station's range, which changes nothing)."""
    out = np.zeros(len(t), dtype=bool)
    for part in vessel.track.parts:
        if isinstance(part, Stay) and part.status in (MOORED, AT_ANCHOR):
            out |= (t >= part.t0) & (t < part.t1)
    return out


def receptions(masks: list[np.ndarray], t: np.ndarray, rng: np.random.Generator
               ) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Per station: (station index, indices of the transmissions it received, their
    receive times in whole epoch seconds). A station's receive time lags the
    transmission by its ``delay_s`` plus up to two seconds of jitter."""
    out = []
    for k, (st, m) in enumerate(zip(STATIONS, masks)):
        idx = np.flatnonzero(m)
        t_rx = np.floor(t[idx] + st.delay_s + (rng.uniform(0, 2, len(idx)) if st.delay_s else 0))
        out.append((k, idx, t_rx.astype(np.int64)))
    return out


def voyage_eta(vessel: Vessel, t: np.ndarray) -> np.ndarray:
    """The ETA a crew would have entered at time ``t``: the end of the passage under way
    or next to come (the end of the track when none is left)."""
    ends = np.array([p.t1 for p in vessel.track.parts if isinstance(p, Passage)] + [vessel.track.end])
    return ends[np.minimum(np.searchsorted(ends, t, side="right"), len(ends) - 1)]


__all__ = ["RadioParams", "transmissions", "static_times", "receive", "receptions",
           "moored_mask", "voyage_eta"]
