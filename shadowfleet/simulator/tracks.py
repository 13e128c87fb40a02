"""A simulated vessel's true movement: a sequence of moored stays and passages.

A passage follows a waypoint route at ``speed_kn``, slowing to ``harbour_speed_kn``
within ``harbour_nm`` of either end (ships do not leave a berth at full speed). The
track answers "where was the ship at time t" for arrays of times; the radio model
(:mod:`shadowfleet.simulator.radio`) decides which of its transmissions anyone received.

A track also holds its **silences**, the intervals its crew kept AIS quiet, of two
kinds: ``transmitter_off`` (nothing is sent) and ``positions_withheld`` (the transponder
stays on and sends its static reports and position reports whose position is "not
available", lat 91 / lon 181). The truth file (:mod:`shadowfleet.simulator.truth`)
records both, as what the ship did.

Times are float epoch seconds (UTC); positions degrees; speeds knots.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shadowfleet.simulator.world import bearing_deg, densify

# AIS navigational status codes (ITU-R M.1371 table 45).
UNDER_WAY = 0
AT_ANCHOR = 1
MOORED = 5

TRANSMITTER_OFF = "transmitter_off"
POSITIONS_WITHHELD = "positions_withheld"
SILENCE_KINDS = (TRANSMITTER_OFF, POSITIONS_WITHHELD)


@dataclasses.dataclass(frozen=True)
class Silence:
    """AIS kept quiet from ``t0`` to ``t1`` (epoch seconds, ``t1`` excluded): ``kind`` is
    one of :data:`SILENCE_KINDS`."""

    t0: float
    t1: float
    kind: str = TRANSMITTER_OFF

    def __post_init__(self) -> None:
        if self.kind not in SILENCE_KINDS:
            raise ValueError(f"unknown silence kind {self.kind!r}")
        if not self.t0 < self.t1:
            raise ValueError(f"silence ends ({self.t1}) before it starts ({self.t0})")


@dataclasses.dataclass
class Stay:
    """Moored (or anchored) at ``lat, lon`` from ``t0`` to ``t1``; ``port`` "" at sea;
    ``place`` names a place of :mod:`shadowfleet.simulator.behaviour` the stay is at (an
    unlisted pier, a fishing ground, a rendezvous at sea, a port's roads), "" for none."""

    t0: float
    t1: float
    lat: float
    lon: float
    port: str = ""
    status: int = MOORED
    place: str = ""


@dataclasses.dataclass
class Passage:
    """Under way along ``points`` ([lat, lon] rows) from ``t0``; ``t1`` follows from the
    speed profile."""

    t0: float
    points: np.ndarray
    speed_kn: float
    harbour_speed_kn: float = 5.0
    harbour_nm: float = 3.0
    origin: str = ""
    destination: str = ""

    def __post_init__(self) -> None:
        pts, s = densify(self.points)
        total = s[-1]
        ramp = np.minimum(s, total - s) / self.harbour_nm
        v = self.harbour_speed_kn + (self.speed_kn - self.harbour_speed_kn) * np.clip(ramp, 0, 1)
        vmid = 0.5 * (v[1:] + v[:-1])
        dt = np.diff(s) / np.maximum(vmid, 0.5) * 3600.0
        self._pts = pts
        self._s = s
        self._t = self.t0 + np.r_[0.0, np.cumsum(dt)]
        self._v = v
        self.t1 = float(self._t[-1])
        self.length_nm = float(total)

    def at(self, t: np.ndarray) -> tuple[np.ndarray, ...]:
        """(lat, lon, sog_kn, cog_deg) at times ``t`` (clipped to the passage)."""
        t = np.clip(np.asarray(t, dtype=float), self.t0, self.t1)
        s = np.interp(t, self._t, self._s)
        lat = np.interp(s, self._s, self._pts[:, 0])
        lon = np.interp(s, self._s, self._pts[:, 1])
        i = np.clip(np.searchsorted(self._s, s, side="right"), 1, len(self._s) - 1)
        cog = bearing_deg(self._pts[i - 1, 0], self._pts[i - 1, 1], self._pts[i, 0], self._pts[i, 1])
        sog = np.interp(s, self._s, self._v)
        return lat, lon, sog, cog

    def time_at_distance(self, nm: float) -> float:
        """Time the passage reaches ``nm`` nautical miles from its start."""
        return float(np.interp(nm, self._s, self._t))


@dataclasses.dataclass
class Track:
    """A vessel's whole simulated life from ``start``: consecutive stays and passages,
    plus its silences (:class:`Silence`, in time order, not overlapping)."""

    start: float = 0.0
    parts: list = dataclasses.field(default_factory=list)
    silences: list = dataclasses.field(default_factory=list)

    @property
    def end(self) -> float:
        return self.parts[-1].t1 if self.parts else self.start

    def stay(self, port: str, berth: tuple[float, float], hours: float,
             status: int = MOORED, place: str = "") -> Stay:
        t0 = self.end
        part = Stay(t0, t0 + hours * 3600.0, berth[0], berth[1], port, status, place)
        self.parts.append(part)
        return part

    def sail(self, points: np.ndarray, speed_kn: float, origin: str = "",
             destination: str = "") -> Passage:
        part = Passage(self.end, np.asarray(points, dtype=float), speed_kn,
                       origin=origin, destination=destination)
        self.parts.append(part)
        return part

    def silence(self, t0: float, t1: float, kind: str = TRANSMITTER_OFF) -> Silence:
        part = Silence(float(t0), float(t1), kind)
        self.silences.append(part)
        return part

    def _in(self, t: np.ndarray, kind: str) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        out = np.zeros(t.shape, dtype=bool)
        for s in self.silences:
            if s.kind == kind:
                out |= (t >= s.t0) & (t < s.t1)
        return out

    def transmitting(self, t: np.ndarray) -> np.ndarray:
        """True where the transmitter was on at times ``t``."""
        return ~self._in(t, TRANSMITTER_OFF)

    def withholding(self, t: np.ndarray) -> np.ndarray:
        """True where the transponder sent "position not available" at times ``t``."""
        return self._in(t, POSITIONS_WITHHELD)

    def stays(self) -> list[Stay]:
        return [p for p in self.parts if isinstance(p, Stay)]

    def passages(self) -> list[Passage]:
        return [p for p in self.parts if isinstance(p, Passage)]
