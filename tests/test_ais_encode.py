"""``ais.encode``: what it writes, ``ais`` and pyais read back."""

from __future__ import annotations

import math

import pytest
from pyais import decode

import ais
from ais.encode import checksum, encode_message, reframe, tag_block


@pytest.mark.parametrize("msg_type", [1, 2, 3, 18])
def test_position_reports_read_back_with_their_type_and_tenths(msg_type, tmp_path):
    fields = {"type": msg_type, "mmsi": 273000001, "lat": 42.123456, "lon": 131.25,
              "speed": 10.3, "course": 359.94, "heading": 359 if msg_type != 18 else 511}
    sentences = encode_message(fields, channel="B")
    msg = decode(*sentences).asdict()
    # pyais writes the layout's default type and truncates tenths unless told otherwise
    assert (msg["msg_type"], msg["speed"], msg["course"]) == (msg_type, 10.3, 359.9)
    feed = tmp_path / "f.nmea"
    feed.write_text("".join(f"{tag_block({'s': 'X', 'c': 1693526400})}{s}\n" for s in sentences))
    pos = ais.read_inputs([feed]).positions.iloc[0]
    assert (pos.msg_type, pos.sog, pos.cog) == (msg_type, 10.3, 359.9)
    assert pos.lat == pytest.approx(42.123456, abs=1e-6 + 1e-9)     # 1/10000 minute units
    assert str(pos.timestamp) == "2023-09-01 00:00:00+00:00"


def test_not_available_values_decode_as_nan(tmp_path):
    s = encode_message({"type": 1, "mmsi": 273000001, "lat": 91, "lon": 181, "speed": 102.3,
                        "course": 360, "heading": 511})
    feed = tmp_path / "f.nmea"
    feed.write_text(f"{tag_block({'s': 'X', 'c': 1693526400})}{s[0]}\n")
    decoded = ais.read_inputs([feed])
    assert decoded.rejects.empty and len(decoded.positions) == 1
    row = decoded.positions.iloc[0]
    assert all(math.isnan(row[c]) for c in ("lat", "lon", "sog", "cog", "heading"))


def test_type5_two_fragments_and_reframe():
    s = encode_message({"type": 5, "mmsi": 273000001, "imo": 9179842, "shipname": "TEST",
                        "callsign": "UBAB1", "destination": "DUNAY", "draught": 6.3},
                       seq_id=0)
    assert len(s) == 2 and s[0].startswith("!AIVDM,2,1,0,A,")
    again = [reframe(x, 7, "B") for x in s]
    assert again[0].startswith("!AIVDM,2,1,7,B,") and again[1].startswith("!AIVDM,2,2,7,B,")
    for x in again:
        body, _, tail = x[1:].partition("*")
        assert checksum(body) == tail
    msg = decode(*again).asdict()
    assert (msg["imo"], msg["shipname"], msg["draught"]) == (9179842, "TEST", 6.3)


def test_tag_block_checksum():
    assert tag_block({"s": "SIMRX-VLD", "c": 1693526400}) == \
        f"\\s:SIMRX-VLD,c:1693526400*{checksum('s:SIMRX-VLD,c:1693526400')}\\"
    body = "AIVDM,1,1,,A,15M67FC000G?ufbE`FepT@3n00Sa,0"
    xor = 0
    for ch in body:                 # the NMEA definition, one character at a time
        xor ^= ord(ch)
    assert checksum(body) == f"{xor:02X}" and len(checksum("")) == 2
