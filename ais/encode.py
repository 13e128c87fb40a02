"""Encoding AIS messages as NMEA 0183 sentences: the inverse of reading, for tools that
write feeds (the project's simulator, tests).

``ais`` is the one package that knows NMEA and the AIS bit layouts, in both directions:
everything else builds a feed through these functions. pyais is the encoder, as it is
the reference decoder (ITU-R M.1371-5 layouts; NMEA 0183 4.10 framing and tag blocks).

Values are given in the units the decoders return (degrees, knots, metres). Fields kept
in tenths on the air (speed, course, draught) are rounded to the nearest tenth: pyais
multiplies by ten and truncates, so 10.3 kn could otherwise go out as 10.2. The
message type written is ``type`` (pyais chooses the layout by it but writes the
layout's default type, so a type 3 went out as type 1).
"""

from __future__ import annotations

from typing import Mapping

from pyais import encode_dict

from ais.framing.nmea import _xor

__all__ = ["encode_message", "checksum", "tag_block", "reframe"]

_TENTHS = ("speed", "course", "draught")


def _nearest_tenth(value: float) -> float:
    """A value that pyais' ``int(value * 10)`` turns into ``round(value * 10)`` exactly."""
    return (round(float(value) * 10.0) + 0.5) / 10.0


def encode_message(fields: Mapping[str, object], *, channel: str = "A",
                   seq_id: int | None = None, talker_id: str = "AI") -> list[str]:
    """The ``!AIVDM`` sentences of one message (several fragments for a long one).

    ``fields`` are pyais' field names (``type``, ``mmsi``, ``lat``, ``lon``, ``speed``,
    ``course``, ``heading``, ``shipname``, ...); "not available" is written with the
    AIS values (lat 91, lon 181, speed 102.3, course 360, heading 511), which the
    decoders read back as NaN.

    >>> encode_message({"type": 1, "mmsi": 273000001, "lat": 42.5, "lon": 131.25})[0][:14]
    '!AIVDM,1,1,,A,'
    """
    data = dict(fields)
    if "type" in data:     # pyais picks the layout by "type" but writes "msg_type"'s default
        data.setdefault("msg_type", data["type"])
    for name in _TENTHS:
        if data.get(name) is not None:
            data[name] = _nearest_tenth(data[name])
    kwargs = {"talker_id": talker_id, "sentence_type": "VDM", "radio_channel": channel}
    if seq_id is not None:
        kwargs["seq_id"] = seq_id
    return list(encode_dict(data, **kwargs))


def checksum(body: str) -> str:
    """NMEA checksum (two upper-case hex digits) of the text between the start character
    and ``*``."""
    return f"{_xor(body.encode('ascii')):02X}"


def tag_block(fields: Mapping[str, object]) -> str:
    """An NMEA 4.10 tag block, ``\\s:STATION,c:EPOCH*hh\\``, from ``{"s": ..., "c": ...}``
    (keys in the order given; ``c`` whole epoch seconds)."""
    body = ",".join(f"{k}:{v}" for k, v in fields.items())
    return f"\\{body}*{checksum(body)}\\"


def reframe(sentence: str, seq_id: int | None, channel: str) -> str:
    """The same sentence with another sequence id (multi-fragment sentences only) and
    channel, checksum recomputed: one encoding serves every repetition of a message."""
    body = sentence[1:sentence.rindex("*")]
    fields = body.split(",")
    if fields[1] != "1" and seq_id is not None:
        fields[3] = str(seq_id)
    fields[4] = channel
    body = ",".join(fields)
    return f"{sentence[0]}{body}*{checksum(body)}"
