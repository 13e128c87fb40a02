"""What shadowfleet reads from each AIS message type, and the value rules both decoders follow.

Source: ITU-R M.1371-5 (message layouts, "not available" values); pyais 3.3 is the
reference implementation and the fast path must agree with it field for field.

Positions (types 1, 2, 3, 18, 19, 27): lat, lon in degrees (1/10000 min; type 27 1/10 min),
sog in knots (1/10 kn; type 27 whole knots), cog in degrees (1/10 deg; type 27 whole
degrees), heading in degrees (types 1, 2, 3, 18, 19).

"Not available" -> NaN: lat 91, lon 181, sog 102.3 (type 27: 63), cog >= 360 (3600 raw;
type 27: 511), heading >= 360 (511 is "not available"; 360..510 are not valid headings).
Any other |lat| > 90 or |lon| > 180 makes the message a reject (``lat_out_of_range`` /
``lon_out_of_range``).

Statics (types 5, 19, 24): text is 6-bit ASCII cut at the first ``@`` and stripped of
spaces, ``None`` when empty; imo 0 -> NaN; ship_type 0 -> NaN; length = to_bow + to_stern
and beam = to_port + to_starboard, NaN when both parts are 0; draught 0 -> NaN (metres,
1/10 m raw); eta is ``"MM-DD HH:MM"`` as broadcast, ``None`` when month or day is 0.
Type 24 part A gives only the name, part B the call sign, ship type and dimensions
(dimensions NaN for an auxiliary craft, MMSI 98xxxxxxx, whose part B carries the
mother ship's MMSI instead). Type 24 with part number 2 or 3 is not defined: reject
``undecodable``.

A message of these types with fewer bits than ``MIN_BITS[type]`` (the end of the last
field read) is a reject ``short_payload``; extra bits are ignored. Other message types
are counted (``messages_by_type``) and otherwise not used.
"""

from __future__ import annotations

POSITION_TYPES = frozenset({1, 2, 3, 18, 19, 27})
STATIC_TYPES = frozenset({5, 19, 24})

# bit index one past the last field shadowfleet reads, per type (type 24: per part)
MIN_BITS = {
    1: 137, 2: 137, 3: 137,   # heading, bits 128..136
    18: 133,                  # heading, bits 124..132
    19: 301,                  # to_starboard, bits 295..300
    27: 94,                   # course, bits 85..93
    5: 422,                   # destination, bits 302..421
}
MIN_BITS_24 = {0: 160, 1: 162}   # part A: name to bit 159; part B: to_starboard to bit 161

LAT_NOT_AVAILABLE = 91.0
LON_NOT_AVAILABLE = 181.0
SOG_NOT_AVAILABLE = 102.3
SOG_NOT_AVAILABLE_27 = 63.0
COG_LIMIT = 360.0
HEADING_LIMIT = 360.0

# 6-bit payload armour: '0'..'W' and '`'..'w'
ARMOUR = frozenset(range(0x30, 0x58)) | frozenset(range(0x60, 0x78))


def payload_bits(n_chars: int, fill: int) -> int:
    """Number of payload bits in ``n_chars`` armoured characters with ``fill`` fill bits."""
    return 6 * n_chars - fill


def message_type(payload: bytes) -> int:
    """AIS message type: the first 6-bit character of the payload."""
    if not payload:
        return 0
    c = payload[0] - 48
    if c > 40:
        c -= 8
    return c


def table_text(value) -> str | None:
    """A text field as the statics table holds it: cut at the first ``@``, stripped of
    spaces, ``None`` when empty (or not given)."""
    if value is None:
        return None
    value = str(value).split("@", 1)[0].strip()
    return value or None
