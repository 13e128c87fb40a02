"""Slow, obvious references for the ``ais`` stages, used by tests/test_ais_*.py."""

from __future__ import annotations

import math
import re

import pyais

_SENTENCE = re.compile(rb"![A-Z0-9=\-]{2}VD[MO],[^*]*\*[0-9A-Fa-f]{2}")


def dedup_reference(payloads, times, window_s=10.0):
    """Duplicate flags by the AisLib rule, one message at a time with a dict."""
    kept: dict = {}
    out = []
    for p, t in zip(payloads, times):
        if t is None or math.isnan(t):
            out.append(False)
            continue
        k = kept.get(p)
        if k is not None and abs(t - k) <= window_s:
            out.append(True)
        else:
            kept[p] = t
            out.append(False)
    return out


def plain_pyais_positions(path_or_lines):
    """Every single-sentence position report (types 1, 2, 3, 18, 19, 27) pyais decodes,
    found line by line with a plain regex: {line number: (mmsi, lat, lon, sog, cog, heading)}
    with the "not available" rules of ais.decoding.fields applied."""
    if isinstance(path_or_lines, (list, tuple)):
        lines = path_or_lines
    else:
        import gzip
        with open(path_or_lines, "rb") as fh:
            data = fh.read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        lines = data.split(b"\n")
    out = {}
    for no, line in enumerate(lines, 1):
        if line.lstrip().startswith(b"#"):
            continue
        found = _SENTENCE.findall(line)
        if len(found) != 1:
            continue
        s = found[0]
        if s.split(b",")[1] != b"1":
            continue
        try:
            msg = pyais.decode(s.replace(s[1:3], b"AI", 1) if not s[1:3].isalpha() else s)
        except Exception:  # noqa: BLE001
            continue
        if msg.msg_type not in (1, 2, 3, 18, 19, 27):
            continue
        if None in (msg.lat, msg.lon, msg.speed, msg.course):
            continue
        lat = math.nan if msg.lat == 91 else msg.lat
        lon = math.nan if msg.lon == 181 else msg.lon
        sog = math.nan if msg.speed == (63 if msg.msg_type == 27 else 102.3) else msg.speed
        cog = math.nan if msg.course >= 360 else msg.course
        heading = math.nan
        if msg.msg_type != 27 and msg.heading is not None and msg.heading < 360:
            heading = float(msg.heading)
        out[no] = (msg.mmsi, lat, lon, sog, cog, heading)
    return out


def _text(v):
    if v is None:
        return None
    v = str(v).split("@", 1)[0].strip()
    return v or None


def _pos(v):
    return math.nan if v is None or v == 0 else float(v)


def _dims(a, b):
    return math.nan if a is None or b is None or (a == 0 and b == 0) else float(a + b)


def plain_pyais_statics(path):
    """Static reports pyais decodes from a plain pass: single sentences (types 19, 24) and
    two-fragment type 5 whose fragments are on consecutive lines. {line of first fragment:
    (mmsi, imo, name, callsign, ship_type, length, beam, draught, destination)} with the
    rules of ais.decoding.fields applied."""
    import gzip
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    lines = data.split(b"\n")
    out = {}
    for no, line in enumerate(lines, 1):
        if line.lstrip().startswith(b"#"):
            continue
        found = _SENTENCE.findall(line)
        if len(found) != 1 or not found[0][1:3].isalpha():
            continue
        f = found[0].split(b",")
        group = [found[0]]
        if f[1] == b"2" and f[2] == b"1" and no < len(lines):
            nxt = _SENTENCE.findall(lines[no])
            if len(nxt) != 1:
                continue
            g = nxt[0].split(b",")
            if g[1:5] != [b"2", b"2", f[3], f[4]]:
                continue
            group.append(nxt[0])
        elif f[1] != b"1":
            continue
        try:
            msg = pyais.decode(*group)
        except Exception:  # noqa: BLE001
            continue
        t = msg.msg_type
        if t not in (5, 19, 24):
            continue
        row = [msg.mmsi, math.nan, None, None, math.nan, math.nan, math.nan, math.nan, None]
        if t == 5:
            if None in (msg.destination, msg.draught):
                continue
            row[1:] = [_pos(msg.imo), _text(msg.shipname), _text(msg.callsign),
                       _pos(int(msg.ship_type)), _dims(msg.to_bow, msg.to_stern),
                       _dims(msg.to_port, msg.to_starboard), _pos(msg.draught),
                       _text(msg.destination)]
        elif t == 19:
            if msg.to_starboard is None:
                continue
            row[2], row[4] = _text(msg.shipname), _pos(int(msg.ship_type))
            row[5], row[6] = _dims(msg.to_bow, msg.to_stern), _dims(msg.to_port, msg.to_starboard)
        elif msg.partno == 0:
            if msg.shipname is None:
                continue
            row[2] = _text(msg.shipname)
        else:
            if getattr(msg, "to_starboard", 0) is None or msg.callsign is None:
                continue
            row[3], row[4] = _text(msg.callsign), _pos(int(msg.ship_type))
            if hasattr(msg, "to_bow"):
                row[5], row[6] = _dims(msg.to_bow, msg.to_stern), _dims(msg.to_port, msg.to_starboard)
        out[no] = tuple(row)
    return out
