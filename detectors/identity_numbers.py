"""The numbers and strings that identify a vessel: IMO numbers, MMSIs, names, call signs,
ship types. Pure functions, no thresholds; :mod:`detectors.identity` builds its anomalies
on them, and the claims and watchlists of ``shadowfleet`` use the same rules.

- **IMO number** (IMO Resolution A.1117(30)): seven digits, the last a check digit, the
  sum of the first six weighted 7, 6, 5, 4, 3, 2, modulo 10. ``9179842``: 9*7 + 1*6 +
  7*5 + 9*4 + 8*3 + 4*2 = 172, check digit 2. AIS type 5 sends 0 for "no IMO"
  (``ais`` turns it into NaN): that is *missing*, not invalid.
- **MMSI** (ITU-R M.585-9, "Assignment and use of identities in the maritime mobile
  service"): nine digits. A ship station is ``MIDXXXXXX`` with a first digit 2-7; the
  other formats are not ships:

  ===============  ====================================================  ==========
  format           station                                               kind
  ===============  ====================================================  ==========
  ``00MIDXXXX``    coast station (base station, AIS repeater)            coast
  ``0MIDXXXXX``    group of ship stations                                group
  ``111MIDXXX``    aircraft taking part in search and rescue             sar_aircraft
  ``8MIDXXXXX``    handheld VHF transceiver with DSC and GNSS            handheld
  ``98MIDXXXX``    craft associated with a parent ship (tender, RIB)     auxiliary
  ``99MIDXXXX``    AIS aid to navigation (buoy, light, virtual AtoN)     aton
  ``970YYXXXX``    AIS-SART (search and rescue transmitter)              sart
  ``972YYXXXX``    MOB (man overboard) device                            mob
  ``974YYXXXX``    EPIRB-AIS                                             epirb
  ``979YYXXXX``    autonomous maritime radio device (M.585-8 and later)  amrd
  ===============  ====================================================  ==========

  ``YY`` is a manufacturer number, not a MID. Every other MMSI is **invalid**: not nine
  digits (0, negative, ten digits or more), a first digit 1 outside ``111``, a ``9``
  outside the ranges above, or a MID (where the format has one) that the ITU has not
  allocated (``detectors/data/mid.csv``, see its SOURCES.md). MMSIs ending in zeros
  (``416000000``) are well formed: they are kept for ships using Inmarsat, and are also
  what an unconfigured transponder sends; whether several ships share one is for
  :mod:`detectors.identity_tracks` to say.
- **Names and call signs** are compared by a key: upper case, the AIS ``@`` padding and
  everything after it dropped, spaces and punctuation removed (``"Maia-1@@@"`` and
  ``"MAIA 1"`` are both ``MAIA1``), so spelling noise is not a renaming.
- **Ship types** (ITU-R M.1371-5, Table 53) are compared by kind: for 20-29 (WIG), 40-49
  (high-speed craft), 60-69 (passenger), 70-79 (cargo), 80-89 (tanker) and 90-99 (other)
  the second digit is the hazardous-cargo category, which follows the voyage's cargo, so
  only the first digit says what the ship is; 30-39 and 50-59 name a kind each (fishing,
  towing, dredging, diving, military, sailing, pleasure; pilot, SAR, tug, port tender,
  anti-pollution, law enforcement, medical, ...) and are compared whole. 0 is "not
  available".
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import re
from importlib import resources

import numpy as np

IMO_MIN = 1_000_000
IMO_MAX = 9_999_999
MMSI_MAX = 999_999_999

SHIP = "ship"
NON_SHIP_KINDS = ("coast", "group", "sar_aircraft", "handheld", "auxiliary", "aton", "sart",
                  "mob", "epirb", "amrd")
INVALID = "invalid"

_FREE_FORM = {"970": "sart", "972": "mob", "974": "epirb", "979": "amrd"}
_WHAT = {SHIP: "a ship station", "coast": "a coast station", "group": "a group of ships",
         "sar_aircraft": "a SAR aircraft", "handheld": "a handheld radio",
         "auxiliary": "a craft of a parent ship", "aton": "an aid to navigation"}
_KEY_DROP = re.compile(r"[^0-9A-Z]")


def imo_check_digit(first_six: int) -> int:
    """The check digit of an IMO number whose first six digits are ``first_six``."""
    digits = [int(c) for c in f"{first_six:06d}"]
    return sum(d * w for d, w in zip(digits, range(7, 1, -1))) % 10


def imo_check_digit_ok(imo: int) -> bool:
    """True when ``imo`` has seven digits and its last is the IMO check digit of the first
    six (IMO Resolution A.1117(30))."""
    if isinstance(imo, bool):
        return False
    try:
        imo = int(imo)
    except (TypeError, ValueError, OverflowError):
        return False
    if not IMO_MIN <= imo <= IMO_MAX:
        return False
    return imo_check_digit(imo // 10) == imo % 10


def imo_problem(imo: int) -> str:
    """Why ``imo`` (a positive number broadcast as an IMO) is not a valid IMO number, or
    "" when it is."""
    if not IMO_MIN <= imo <= IMO_MAX:
        return f"IMO {imo} does not have 7 digits"
    expected = imo_check_digit(imo // 10)
    if expected != imo % 10:
        return f"IMO {imo} fails the IMO check digit (expected {expected}, not {imo % 10})"
    return ""


@dataclasses.dataclass(frozen=True)
class MmsiInfo:
    """What an MMSI says about its station: ``kind`` (``ship``, one of
    :data:`NON_SHIP_KINDS` or ``invalid``), its MID (-1 when the format has none or the
    number is malformed), the MID's country ("" when unallocated) and, for an invalid
    MMSI, ``problem``."""

    mmsi: int
    kind: str
    mid: int
    iso2: str
    country: str
    problem: str

    @property
    def is_ship(self) -> bool:
        return self.kind == SHIP

    @property
    def is_valid(self) -> bool:
        return self.kind != INVALID


@functools.lru_cache(maxsize=1)
def mid_table() -> dict[int, tuple[str, str]]:
    """MID -> (ISO 3166-1 alpha-2, country) from ``detectors/data/mid.csv``."""
    text = resources.files("detectors").joinpath("data", "mid.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(text.splitlines())
    return {int(r["mid"]): (r["iso2"], r["country"]) for r in rows}


def classify_mmsi(mmsi: int) -> MmsiInfo:
    """The station kind, MID and country of ``mmsi`` (ITU-R M.585-9; see the module
    docstring for the formats)."""
    m = int(mmsi)
    if m <= 0 or m > MMSI_MAX:
        return MmsiInfo(m, INVALID, -1, "", "", f"MMSI {m} is not a 9-digit number")
    s = f"{m:09d}"
    if s.startswith("00"):
        kind, mid_text = "coast", s[2:5]
    elif s.startswith("0"):
        kind, mid_text = "group", s[1:4]
    elif s.startswith("111"):
        kind, mid_text = "sar_aircraft", s[3:6]
    elif s.startswith("1"):
        return MmsiInfo(m, INVALID, -1, "", "",
                        f"MMSI {s} starts with 1 but not 111 (SAR aircraft): no such station")
    elif s.startswith("8"):
        kind, mid_text = "handheld", s[1:4]
    elif s.startswith("98"):
        kind, mid_text = "auxiliary", s[2:5]
    elif s.startswith("99"):
        kind, mid_text = "aton", s[2:5]
    elif s.startswith("9"):
        kind = _FREE_FORM.get(s[:3])
        if kind is None:
            return MmsiInfo(m, INVALID, -1, "", "",
                            f"MMSI {s} starts with 9 outside 970/972/974/979, 98 and 99: "
                            "no such station")
        return MmsiInfo(m, kind, -1, "", "", "")
    else:
        kind, mid_text = SHIP, s[:3]
    mid = int(mid_text)
    found = mid_table().get(mid)
    if found is None:
        return MmsiInfo(m, INVALID, mid, "", "",
                        f"MMSI {s} ({_WHAT[kind]} by its format) has MID {mid_text}, which "
                        "the ITU has not allocated to any country")
    return MmsiInfo(m, kind, mid, found[0], found[1], "")


def name_key(value: object) -> str:
    """A vessel name or call sign for comparing and matching: upper case, the AIS ``@``
    padding dropped, spaces and punctuation removed (``"Maia-1@@@"`` -> ``"MAIA1"``); ""
    for missing."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    text = str(value).upper().split("@", 1)[0]
    return _KEY_DROP.sub("", text)


def ship_type_kind(code: float) -> int:
    """The kind of ship an AIS ship-type code says (the code itself for 1-19, 30-39 and
    50-59, its tens digit times ten for the families whose second digit is the
    hazardous-cargo category); -1 for missing or 0 ("not available") or out of range."""
    if code is None or code != code:
        return -1
    c = int(code)
    if c <= 0 or c > 99:
        return -1
    tens = c // 10
    if tens in (2, 4, 6, 7, 8, 9):
        return tens * 10
    return c


def ship_type_kinds(codes: np.ndarray) -> np.ndarray:
    """:func:`ship_type_kind` of an array of codes (float, NaN missing), as int64."""
    c = np.asarray(codes, dtype=np.float64)
    ok = np.isfinite(c) & (c > 0) & (c <= 99)
    ci = np.where(ok, c, 0).astype(np.int64)
    tens = ci // 10
    family = np.isin(tens, (2, 4, 6, 7, 8, 9))
    return np.where(ok, np.where(family, tens * 10, ci), -1)
