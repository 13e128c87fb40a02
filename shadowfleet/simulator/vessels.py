"""Simulated vessels: who they are (all fictional) and the track they sail.

MMSIs are 273xxxxxx (the Russian MID), IMOs seven digits with a valid check digit
(IMO resolution A.1078(28)), call signs UBxxN; all drawn from the scenario's seed and
never one of the real ships of the 2023 reports (REFERENCE.md). The identities the
simulator gets wrong on purpose (:mod:`shadowfleet.simulator.identity`) are marked on
the vessel: a second hull sending another's MMSI (``hull``), a change of name and IMO
during the scenario (``identity_changes``), an MMSI that is no valid identity
(``mmsi_fault``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shadowfleet.simulator.tracks import Track

# IMOs and names of the ships in the 2023 reports, and look-alikes (REFERENCE.md).
REAL_IMOS = frozenset({9179842, 8517839, 9358010, 9161003, 9124043, 9242986})
REAL_NAMES = frozenset({"ANGARA", "MARIA", "MAIA-1", "MAIA 1", "LADY R", "SASCO ANGARA"})


@dataclasses.dataclass(frozen=True)
class IdentityChange:
    """From ``t`` (epoch seconds) on, the vessel's static reports carry this name, IMO and
    call sign."""

    t: float
    name: str
    imo: int
    callsign: str


@dataclasses.dataclass
class Vessel:
    """Identity of a simulated vessel (all fictional) and its track. ``name``, ``imo`` and
    ``callsign`` are those it starts with (see :meth:`identity_at`)."""

    mmsi: int
    name: str
    imo: int
    callsign: str
    ship_type: int
    length_m: int
    beam_m: int
    draught_m: float
    destination: str
    ais_class: str                    # "A" or "B"
    role: str                         # shuttle | liner | ferry | resident | transit | small-craft
                                      # | partner | coaster | anchored | passer (behaviour.py)
    track: Track = dataclasses.field(default_factory=Track)
    hull: str = ""                    # "" or a label telling a second hull of one MMSI apart
    identity_changes: tuple = ()      # IdentityChange, in time order
    mmsi_fault: str = ""              # why the MMSI is no valid identity ("" when it is)

    @property
    def key(self) -> str:
        """The hull's own key: its MMSI, and its ``hull`` label when another vessel sends
        the same MMSI (the truth's call ids start with it)."""
        return f"{self.mmsi}/{self.hull}" if self.hull else str(self.mmsi)

    def identity_at(self, version: int) -> "Vessel":
        """The vessel as its static reports show it after ``version`` identity changes
        (0: as it started)."""
        if version <= 0:
            return self
        c = self.identity_changes[version - 1]
        return dataclasses.replace(self, name=c.name, imo=c.imo, callsign=c.callsign)

    def identity_version(self, t: np.ndarray) -> np.ndarray:
        """How many identity changes lie at or before each time ``t``."""
        times = np.array([c.t for c in self.identity_changes], dtype=float)
        return np.searchsorted(times, np.asarray(t, dtype=float), side="right")

    @property
    def final(self) -> "Vessel":
        """The vessel as its last static reports show it."""
        return self.identity_at(len(self.identity_changes))


def imo_with_check_digit(six: int) -> int:
    """Append the IMO check digit to a six-digit number: the last digit of
    sum(digit_i * weight_i) with weights 7..2 (IMO resolution A.1078(28))."""
    digits = [int(c) for c in f"{six:06d}"]
    check = sum(d * w for d, w in zip(digits, range(7, 1, -1))) % 10
    return six * 10 + check


def imo_is_valid(imo: int) -> bool:
    return 1000000 <= imo <= 9999999 and imo_with_check_digit(imo // 10) == imo


class Identities:
    """Unique fictional MMSIs, IMOs and call signs from the seed."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.mmsis: set[int] = set()
        self.imos: set[int] = set()

    def mmsi(self) -> int:
        while True:
            m = 273000000 + int(self.rng.integers(100000, 999999))
            if m not in self.mmsis:
                self.mmsis.add(m)
                return m

    def imo(self) -> int:
        while True:
            imo = imo_with_check_digit(int(self.rng.integers(880000, 989999)))
            if imo not in self.imos and imo not in REAL_IMOS:
                self.imos.add(imo)
                return imo

    def callsign(self) -> str:
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        tail = "".join(letters[i] for i in self.rng.integers(0, 26, 2))
        return f"UB{tail}{int(self.rng.integers(1, 9))}"
