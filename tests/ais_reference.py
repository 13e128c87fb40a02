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
    with the "not available" rules of ais.fields applied."""
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
