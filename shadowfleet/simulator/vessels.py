"""Simulated vessels: who they are (all fictional) and the track they sail.

MMSIs are 273xxxxxx (the Russian MID), IMOs seven digits with a valid check digit
(IMO resolution A.1078(28)), call signs UBxxN; all drawn from the scenario's seed and
never one of the real ships of the 2023 reports (REFERENCE.md).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from shadowfleet.simulator.tracks import Track

# IMOs and names of the ships in the 2023 reports, and look-alikes (REFERENCE.md).
REAL_IMOS = frozenset({9179842, 8517839, 9358010, 9161003, 9124043, 9242986})
REAL_NAMES = frozenset({"ANGARA", "MARIA", "MAIA-1", "MAIA 1", "LADY R", "SASCO ANGARA"})


@dataclasses.dataclass
class Vessel:
    """Identity of a simulated vessel (all fictional) and its track."""

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
