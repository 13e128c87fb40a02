"""What a claim is: a public statement about ship movements that AIS can test.

A claim (DESIGN.md, "Claims file") names a kind of event (``round_trips``, ``legs``,
``port_calls``, ``dark_periods``, and of the behaviour detectors ``encounters`` and
``loitering``), the ports involved, a window of whole UTC days, the vessels (by IMO,
MMSI or name; none = any vessel) and the count the source asserts (``at_least``). An
``encounters`` claim may name the other vessel of the meetings (``with``, by IMO, MMSI or
name); a ``loitering`` claim, like a ``dark_periods`` one, may place the events ``near``
a port within ``radius_nm``. A claim of kind ``untestable`` records a statement of a source that AIS
cannot test (a container total, rail cars, an intelligence judgement) with the
``reason``: it has no ports, vessels or count, its window is optional, and its verdict is
always ``untestable``, so every claim of a report is on record. Loading and validation
live in :mod:`shadowfleet.claims.loader`, evaluation in :mod:`shadowfleet.claims.evaluate`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd

# imo_check_digit_ok is defined with the other vessel-number rules and re-exported here
from detectors.identity_numbers import imo_check_digit_ok, name_key  # noqa: F401

TESTABLE_KINDS = ("round_trips", "legs", "port_calls", "dark_periods", "encounters",
                  "loitering")
# kinds that take no ports: they count events of the named vessels anywhere (or near a
# port, with ``near`` and ``radius_nm``)
PORTLESS_KINDS = ("dark_periods", "encounters", "loitering")
UNTESTABLE = "untestable"
KINDS = TESTABLE_KINDS + (UNTESTABLE,)


def normalise_name(name: object) -> str:
    """A vessel or port name for matching: upper case, AIS ``@`` padding dropped, spaces
    and punctuation removed (``"Maia-1@@@"`` -> ``"MAIA1"``); "" for missing. The key of
    :func:`detectors.identity_numbers.name_key`, so claims, watchlists and the identity
    detectors compare names alike."""
    return name_key(name)


@dataclasses.dataclass(frozen=True)
class Window:
    """Whole UTC days: the window is the closed interval [start 00:00Z, end 24:00Z]."""

    start: dt.date
    end: dt.date

    @property
    def start_utc(self) -> pd.Timestamp:
        return pd.Timestamp(self.start).tz_localize("UTC")

    @property
    def end_utc(self) -> pd.Timestamp:
        """24:00Z of the last day, i.e. 00:00Z of the day after (included)."""
        return pd.Timestamp(self.end).tz_localize("UTC") + pd.Timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()} .. {self.end.isoformat()}"


@dataclasses.dataclass(frozen=True)
class Vessels:
    """The vessels a claim names; all empty means "any vessel"."""

    imo: tuple[int, ...] = ()
    mmsi: tuple[int, ...] = ()
    names: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        """True when the claim names no vessel (it then counts every vessel in the data)."""
        return not (self.imo or self.mmsi or self.names)

    def __len__(self) -> int:
        return len(self.imo) + len(self.mmsi) + len(self.names)


@dataclasses.dataclass(frozen=True)
class Claim:
    """One claim of a claims file, validated.

    ``ports`` are the names as written in the file (matched against the registry
    case/space-insensitively); ``labels`` maps an IMO or MMSI to a display name
    (optional, for reports); ``min_hours`` applies to ``dark_periods`` claims only,
    ``near`` and ``radius_nm`` to ``dark_periods`` and ``loitering`` claims, ``with_vessels``
    (the file's ``with``: the other vessel of each meeting) to ``encounters`` claims. An
    ``untestable`` claim has a ``reason``, no ports, vessels or ``at_least`` (None), and
    maybe no ``window`` (None).
    """

    id: str
    kind: str
    statement: str
    ports: tuple[str, ...]
    window: Window | None
    vessels: Vessels
    at_least: int | None
    source: str
    published: str = ""
    url: str = ""
    file: str = ""
    min_hours: float | None = None
    near: str = ""
    radius_nm: float = 0.0
    labels: tuple[tuple[int, str], ...] = ()
    note: str = ""
    reason: str = ""
    with_vessels: Vessels = Vessels()

    @property
    def testable(self) -> bool:
        """False for a claim of kind ``untestable`` (AIS cannot test it)."""
        return self.kind != UNTESTABLE

    def label(self, key: int) -> str:
        """The display name a file gives to an IMO or MMSI, "" when none."""
        return dict(self.labels).get(int(key), "")

    def describe_ports(self) -> str:
        """``Najin <-> Dunay``, ``Najin -> Dunay``, ``Najin`` or ``any port``."""
        if not self.testable:
            return ""
        if self.kind == "round_trips" and len(self.ports) == 2:
            return f"{self.ports[0]} <-> {self.ports[1]}"
        if self.kind == "legs" and len(self.ports) == 2:
            return f"{self.ports[0]} -> {self.ports[1]}"
        if self.ports:
            return ", ".join(self.ports)
        if self.kind == "encounters" and len(self.with_vessels):
            return f"with {self.describe_with()}"
        if self.near:
            return (f"within {self.radius_nm:g} nm of {self.near}" if self.radius_nm
                    else f"near {self.near}")
        return "anywhere"

    def describe_with(self) -> str:
        """The other vessel of an ``encounters`` claim as the file names it
        (``IMO 9179842 (ANGARA)``, ``MMSI 273...``, ``name MARIA``), "" when none."""
        w = self.with_vessels
        parts = [f"IMO {i}" + (f" ({self.label(i)})" if self.label(i) else "") for i in w.imo]
        parts += [f"MMSI {m}" + (f" ({self.label(m)})" if self.label(m) else "") for m in w.mmsi]
        parts += [f"name {n}" for n in w.names]
        return " or ".join(parts)

    @property
    def path(self) -> Path | None:
        return Path(self.file) if self.file else None
