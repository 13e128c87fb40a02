"""The reference decoder: pyais, one message at a time, for every message type.

Field rules (units, "not available" values, range checks, short payloads) are those of
``ais.decoding.fields``; the fast path must give the same frames for the same messages. Any
pyais exception on a message makes it a reject ``undecodable``; it never stops a run.
"""

from __future__ import annotations

import math

from pyais.messages import MSG_CLASS, bit_vector

from ais import reasons
from ais.decoding import fields
from ais.tables.columns import MessageTable, RejectTable
from ais.tables.frames import DecodedParts, positions_frame, statics_frame

__all__ = ["decode_messages"]

_NAN = math.nan


def _num(value) -> float:
    return _NAN if value is None else float(value)


def _positive(value) -> float:
    """0 means "not available" (IMO, ship type, draught)."""
    v = _num(value)
    return _NAN if v == 0 else v


def _sum_dims(a, b) -> float:
    if a is None or b is None or (a == 0 and b == 0):
        return _NAN
    return float(a + b)


def _eta(msg) -> str | None:
    month, day = getattr(msg, "month", 0), getattr(msg, "day", 0)
    if not month or not day:
        return None
    return f"{int(month):02d}-{int(day):02d} {int(msg.hour):02d}:{int(msg.minute):02d}"


def _part_number(payload: bytes) -> int:
    c = payload[6] - 48
    if c > 40:
        c -= 8
    return (c >> 2) & 3


def _position(t: int, msg):
    """(lat, lon, sog, cog, heading) with "not available" -> NaN, or a reject reason."""
    lat, lon = float(msg.lat), float(msg.lon)
    if lat == fields.LAT_NOT_AVAILABLE:
        lat = _NAN
    elif abs(lat) > 90:
        return reasons.LAT_OUT_OF_RANGE
    if lon == fields.LON_NOT_AVAILABLE:
        lon = _NAN
    elif abs(lon) > 180:
        return reasons.LON_OUT_OF_RANGE
    sog = float(msg.speed)
    if sog == (fields.SOG_NOT_AVAILABLE_27 if t == 27 else fields.SOG_NOT_AVAILABLE):
        sog = _NAN
    cog = float(msg.course)
    if cog >= fields.COG_LIMIT:
        cog = _NAN
    heading = _NAN
    if t != 27:
        heading = float(msg.heading)
        if heading >= fields.HEADING_LIMIT:
            heading = _NAN
    return lat, lon, sog, cog, heading


def decode_messages(m: MessageTable) -> DecodedParts:
    """Decode every message of ``m`` with pyais (see module docstring)."""
    pos = {k: [] for k in ("mmsi", "time", "lat", "lon", "sog", "cog", "heading", "msg_type",
                           "source", "line")}
    sta = {k: [] for k in ("mmsi", "time", "imo", "name", "callsign", "ship_type", "length",
                           "beam", "draught", "destination", "eta", "msg_type", "source", "line")}
    rej = {k: [] for k in RejectTable.FIELDS}
    types: dict[int, int] = {}

    def reject(i, reason):
        rej["source"].append(int(m.source[i]))
        rej["line"].append(int(m.line[i]))
        rej["reason"].append(reason)
        rej["text"].append(reasons.reject_text(m.text[i]))

    for i in range(len(m)):
        payload = m.payload[i]
        t = int(m.msg_type[i])
        nbits = fields.payload_bits(len(payload), int(m.fill[i]))
        need = fields.MIN_BITS.get(t)
        if t == 24:
            need = fields.MIN_BITS_24.get(_part_number(payload), 0) if len(payload) > 6 else 7 * 6
        if need is not None and nbits < need:
            reject(i, reasons.SHORT_PAYLOAD)
            continue
        try:
            msg = MSG_CLASS[t].from_vector(bit_vector(payload, int(m.fill[i])))
        except Exception:   # noqa: BLE001 - pyais raises many types; all mean "cannot decode"
            reject(i, reasons.UNDECODABLE)
            continue
        station, line, time = m.station[i], int(m.line[i]), float(m.time[i])
        if t in fields.POSITION_TYPES:
            p = _position(t, msg)
            if isinstance(p, str):
                reject(i, p)
                continue
            for k, v in zip(("lat", "lon", "sog", "cog", "heading"), p):
                pos[k].append(v)
            for k, v in (("mmsi", msg.mmsi), ("time", time), ("msg_type", t),
                         ("source", station), ("line", line)):
                pos[k].append(v)
        if t in fields.STATIC_TYPES:
            row = _static(t, msg)
            for k, v in row.items():
                sta[k].append(v)
            for k, v in (("mmsi", msg.mmsi), ("time", time), ("msg_type", t),
                         ("source", station), ("line", line)):
                sta[k].append(v)
        types[t] = types.get(t, 0) + 1
    return DecodedParts(positions_frame(**pos), statics_frame(**sta), RejectTable.from_lists(rej),
                        types)


def _static(t: int, msg) -> dict:
    row = {"imo": _NAN, "name": None, "callsign": None, "ship_type": _NAN, "length": _NAN,
           "beam": _NAN, "draught": _NAN, "destination": None, "eta": None}
    text = fields.table_text
    if t == 5:
        row.update(imo=_positive(msg.imo), name=text(msg.shipname), callsign=text(msg.callsign),
                   ship_type=_positive(int(msg.ship_type)),
                   length=_sum_dims(msg.to_bow, msg.to_stern),
                   beam=_sum_dims(msg.to_port, msg.to_starboard),
                   draught=_positive(msg.draught), destination=text(msg.destination),
                   eta=_eta(msg))
    elif t == 19:
        row.update(name=text(msg.shipname), ship_type=_positive(int(msg.ship_type)),
                   length=_sum_dims(msg.to_bow, msg.to_stern),
                   beam=_sum_dims(msg.to_port, msg.to_starboard))
    elif t == 24:
        if int(msg.partno) == 0:
            row.update(name=text(msg.shipname))
        else:
            row.update(callsign=text(msg.callsign), ship_type=_positive(int(msg.ship_type)))
            if hasattr(msg, "to_bow"):
                row.update(length=_sum_dims(msg.to_bow, msg.to_stern),
                           beam=_sum_dims(msg.to_port, msg.to_starboard))
    return row
