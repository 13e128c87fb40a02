"""Slow, obvious pure-Python references for the fast-path kernels of ``ais``.

Each function here does by hand, one message or line at a time, what a numba kernel
in ``ais/decoding/payloads.py`` or ``ais/framing/`` does in bulk; the tests compare them.
"""

from __future__ import annotations

import math

from ais.decoding import payloads as fd
from ais.decoding.fields import MIN_BITS, MIN_BITS_24


def payload_bits(payload: bytes, fill: int) -> str:
    """The message bits as a '0'/'1' string (pyais armour: 48..119 -> 6 bits, else 0)."""
    bits = ""
    for c in payload:
        if 48 <= c <= 119:
            v = c - 48
            if v > 40:
                v -= 8
        else:
            v = 0
        bits += format(v, "06b")
    return bits[:len(bits) - fill] if fill else bits


def armour(bits: str) -> tuple[bytes, int]:
    """'0'/'1' string -> (armoured payload, fill bits): the inverse of ``payload_bits``."""
    fill = (-len(bits)) % 6
    bits += "0" * fill
    out = bytearray()
    for i in range(0, len(bits), 6):
        v = int(bits[i:i + 6], 2)
        out.append(v + 48 if v < 40 else v + 56)
    return bytes(out), fill


def field(bits: str, start: int, width: int, signed: bool = False) -> int:
    if start >= len(bits):
        return 0
    part = bits[start:start + width]
    v = int(part, 2)
    if signed and part[0] == "1":
        v -= 1 << len(part)
    return v


def text(bits: str, start: int, width: int) -> str:
    chars = ""
    for b in range(start, start + width, 6):
        v = field(bits, b, 6)
        chars += chr(v + 64) if v < 32 else chr(v)
    return chars.rstrip("@").strip()


def _ll(v: int, scale: float) -> float:
    # round half away from zero is never needed: v * 1e6 / scale is never a tie
    return round(v / scale, 6)


def decode_one(payload: bytes, fill: int) -> dict:
    """Same keys as ``ais.decoding.payloads.decode_payloads`` (one message, NaN/None = no value)."""
    out = {name: math.nan for name in fd.NUMERIC_FIELDS}
    out.update({name: None for name in fd.TEXT_FIELDS})
    out["status"] = fd.FALLBACK
    bits = payload_bits(payload, fill)
    n = len(payload) * 6 - fill
    out["nbits"] = float(n)
    if n <= 38:
        return out
    mt = field(bits, 0, 6)
    out["msg_type"] = float(mt)
    out["mmsi"] = float(field(bits, 8, 30))
    ship_types = fd.ship_type_table()
    if mt == 24:
        part = field(bits, 38, 2)
        out["partno"] = float(part)
        if part > 1 or n < MIN_BITS_24[part]:
            return out
    elif mt not in MIN_BITS or n < MIN_BITS[mt]:
        return out
    if mt in (1, 2, 3):
        out.update(speed=field(bits, 50, 10) / 10, lon=_ll(field(bits, 61, 28, True), 600000),
                   lat=_ll(field(bits, 89, 27, True), 600000), course=field(bits, 116, 12) / 10,
                   heading=float(field(bits, 128, 9)))
    elif mt in (18, 19):
        out.update(speed=field(bits, 46, 10) / 10, lon=_ll(field(bits, 57, 28, True), 600000),
                   lat=_ll(field(bits, 85, 27, True), 600000), course=field(bits, 112, 12) / 10,
                   heading=float(field(bits, 124, 9)))
        if mt == 19:
            out.update(shipname=text(bits, 143, 120),
                       ship_type=float(ship_types[field(bits, 263, 8)]),
                       to_bow=float(field(bits, 271, 9)), to_stern=float(field(bits, 280, 9)),
                       to_port=float(field(bits, 289, 6)), to_starboard=float(field(bits, 295, 6)))
    elif mt == 27:
        out.update(lon=_ll(field(bits, 44, 18, True), 600), lat=_ll(field(bits, 62, 17, True), 600),
                   speed=float(field(bits, 79, 6)), course=float(field(bits, 85, 9)))
    elif mt == 5:
        out.update(imo=float(field(bits, 40, 30)), callsign=text(bits, 70, 42),
                   shipname=text(bits, 112, 120), ship_type=float(ship_types[field(bits, 232, 8)]),
                   to_bow=float(field(bits, 240, 9)), to_stern=float(field(bits, 249, 9)),
                   to_port=float(field(bits, 258, 6)), to_starboard=float(field(bits, 264, 6)),
                   month=float(field(bits, 274, 4)), day=float(field(bits, 278, 5)),
                   hour=float(field(bits, 283, 5)), minute=float(field(bits, 288, 6)),
                   draught=field(bits, 294, 8) / 10, destination=text(bits, 302, 120))
    elif mt == 24:
        if part == 0:
            out["shipname"] = text(bits, 40, 120)
        elif part == 1:
            aux = 980000000 <= field(bits, 8, 30) <= 989999999
            out.update(ship_type=float(field(bits, 40, 8)), callsign=text(bits, 90, 42))
            if not aux:
                out.update(to_bow=float(field(bits, 132, 9)), to_stern=float(field(bits, 141, 9)),
                           to_port=float(field(bits, 150, 6)), to_starboard=float(field(bits, 156, 6)))
    out["status"] = fd.DECODED
    return out


def frame_line(line: bytes, max_line_bytes: int = 1024):
    """What the reference framer (``ais.framing.nmea``) makes of one line, in the terms of the
    fast framer: ("blank"|"skip"|"other"|"pghp"|"ais"|"reject"|"tag"|"split", value)."""
    from ais.framing import nmea
    line = line.strip()
    if not line:
        return "blank", None
    if line.startswith(b"#"):
        return "skip", None
    if not line.isascii():
        return "reject", None
    segs = nmea.split_sentences(line)
    if len(segs) != 1:
        return "split", None
    if len(line) > max_line_bytes:
        return "reject", nmea.reasons.LINE_TOO_LONG
    kind, v = nmea._parse_segment(line)
    names = {nmea._AIS: "ais", nmea._PGHP: "pghp", nmea._OTHER: "other", nmea._SKIP: "skip",
             nmea._REJECT: "reject"}
    return names.get(kind, "tag"), v


def counted_only_by_pyais(payload: bytes, fill: int) -> bool:
    """The reference path's outcome for one message: True when ``ais.decoding.reference``
    decodes it as type 4 (counted, no row, no reject)."""
    import numpy as np
    from ais.tables.columns import MessageTable
    from ais.decoding.reference import decode_messages
    from ais.decoding.fields import message_type
    m = MessageTable(source=np.zeros(1, np.int32), line=np.zeros(1, np.int64),
                     time=np.zeros(1), station=np.array(["s"], dtype=object),
                     payload=np.array([payload], dtype=object), fill=np.array([fill], np.int8),
                     msg_type=np.array([message_type(payload)], np.int16),
                     text=np.array([payload], dtype=object))
    parts = decode_messages(m)
    return (message_type(payload) == 4 and parts.types == {4: 1} and len(parts.rejects) == 0
            and len(parts.positions) == 0 and len(parts.statics) == 0)
