"""NMEA framing: receive-time styles and their ranking, tag blocks, groups, streams
without newlines, and every framing reject reason (the lines around a bad line decode
exactly as if it were absent)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from functools import reduce

import pyais
import pytest
from hypothesis import given, settings, strategies as st

from ais import reasons
from ais.errors import ConfigError
from ais.incremental.decoder import IncrementalDecoder
from ais.framing.nmea import FramingParams, parse_epoch, parse_timestamp, receive_time

T0 = 1696161600.0           # 2023-10-01T12:00:00Z
POS = b"!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23"


def cs(body: bytes) -> bytes:
    return b"%02X" % reduce(lambda a, b: a ^ b, body, 0)


def sentence(payload: bytes, fill=0, count=1, number=1, seq=b"", channel=b"A", talker=b"AI"):
    body = b"%sVDM,%d,%d,%s,%s,%s,%d" % (talker, count, number, seq, channel, payload, fill)
    return b"!" + body + b"*" + cs(body)


POS2 = sentence(b"B>qc:003wk?8mP=18D3Q3wgTiT;T", channel=b"B")   # type 18, every field "not available"


def tag(fields: bytes, good=True) -> bytes:
    return b"\\" + fields + b"*" + (cs(fields) if good else b"00") + b"\\"


def pghp(t: float) -> bytes:
    d = datetime.fromtimestamp(t, tz=timezone.utc)
    body = b"PGHP,1,%d,%d,%d,%d,%d,%d,%d,0,0,0,1,00" % (d.year, d.month, d.day, d.hour,
                                                         d.minute, d.second, d.microsecond // 1000)
    return b"$" + body + b"*" + cs(body)


def decode(data: bytes, name="feed.nmea", decoder="pyais"):
    dec = IncrementalDecoder(decoder=decoder)
    out = [dec.feed(name, data), dec.finish()]
    from ais.tables.decoded import Decoded
    return Decoded.merge(out)


def test_hand_made_sentences_have_valid_checksums():
    assert sentence(b"13HOI:0P0000VOHLCnHQKwvL05Ip") == POS
    assert pyais.decode(POS).mmsi == 227006760


@pytest.mark.parametrize("line, expected", [
    pytest.param(tag(b"c:1696161600") + POS, T0, id="tagblock-seconds"),
    pytest.param(tag(b"c:1696161600500") + POS, T0 + 0.5, id="tagblock-milliseconds"),
    pytest.param(tag(b"c:1696161600", good=False) + POS, T0, id="tagblock-bad-checksum-kept"),
    pytest.param(b"1696161600 " + POS, T0, id="prefix-epoch-s-space"),
    pytest.param(b"1696161600250," + POS, T0 + 0.25, id="prefix-epoch-ms-comma"),
    pytest.param(b"1696161600000000000\t" + POS, T0, id="prefix-epoch-ns-tab"),
    pytest.param(b"1696161600.5;" + POS, T0 + 0.5, id="prefix-epoch-fraction-semicolon"),
    pytest.param(b"2023-10-01T12:00:00Z " + POS, T0, id="prefix-iso-z"),
    pytest.param(b"2023-10-01 12:00:00.125," + POS, T0 + 0.125, id="prefix-iso-naive-is-utc"),
    pytest.param(b"2023-10-01T14:00:00+02:00;" + POS, T0, id="prefix-iso-offset"),
    pytest.param(POS + b",1696161600000", T0, id="trailing-exactearth-ms"),
    pytest.param(POS + b",r003669987,1696161600", T0, id="trailing-uscg"),
    pytest.param(POS, None, id="none"),
    pytest.param(b"garbage" + POS, None, id="unparseable-prefix-ignored"),
])
def test_receive_time_styles(line, expected):
    got = receive_time(line)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, abs=1e-6)


def test_receive_time_ranking_tag_then_pghp_then_prefix_then_trailing():
    full = b"1696161700 " + tag(b"c:1696161600") + POS + b",1696161800"
    assert receive_time(full, pending_pghp=T0 + 50) == T0
    no_tag = b"1696161700 " + POS + b",1696161800"
    assert receive_time(no_tag, pending_pghp=T0 + 50) == T0 + 50
    assert receive_time(no_tag) == T0 + 100
    assert receive_time(POS + b",1696161800") == T0 + 200
    assert receive_time(pghp(T0 + 1.5)) == pytest.approx(T0 + 1.5)


def test_parse_epoch_magnitudes_and_rejects():
    assert parse_epoch(b"1696161600") == T0
    assert parse_epoch(b"1696161600000") == T0
    assert parse_epoch(b"1696161600000000") == T0
    assert parse_epoch(b"1696161600000000000") == T0
    assert parse_epoch(b"12345") is None          # too small to be a receive time
    assert parse_epoch(b"abc") is None
    assert parse_timestamp("not a time") is None


def test_pghp_line_times_the_next_sentence_only():
    data = b"\n".join([pghp(T0), POS, POS2]) + b"\n"
    d = decode(data)
    ts = dict(zip(d.positions["line"], d.positions["timestamp"]))
    assert ts[2].timestamp() == T0
    assert ts[3] is None or str(ts[3]) == "NaT"
    assert d.stats["no_receive_time"] == 1


def test_tagblock_checksum_fault_keeps_time_and_station_and_is_counted():
    data = tag(b"s:rStation9,c:1696161600", good=False) + POS + b"\n"
    d = decode(data)
    assert d.stats["tagblock_checksum_errors"] == 1
    assert d.stats["rejected"] == 0
    row = d.positions.iloc[0]
    assert row["timestamp"].timestamp() == T0
    assert row["source"] == "rStation9"


def test_station_defaults_to_file_name_and_uscg_station():
    d = decode(POS + b"\n" + POS2 + b",r003669987,1696161600\n", name="/x/y/feed.nmea")
    assert sorted(d.positions["source"]) == ["feed.nmea", "r003669987"]


def test_lone_tag_block_line_applies_to_next_sentence():
    d = decode(tag(b"c:1696161600") + b"\n" + POS + b"\n")
    assert d.positions["timestamp"].iloc[0].timestamp() == T0


def test_group_fragments_inherit_station_and_time_from_first_sentence():
    p5 = pyais.encode_dict({"type": 5, "mmsi": 273000001, "shipname": "ANGARA", "imo": 9179842},
                           talker_id="AI")
    f1, f2 = (s.encode() for s in p5)
    data = (tag(b"g:1-2-77,s:rSAT,c:1696161600") + f1 + b"\n"
            + tag(b"g:2-2-77") + f2 + b"\n")
    d = decode(data)
    assert len(d.statics) == 1
    row = d.statics.iloc[0]
    assert row["source"] == "rSAT" and row["timestamp"].timestamp() == T0
    assert row["imo"] == 9179842 and row["name"] == "ANGARA"


def test_stream_without_newlines_is_split_into_sentences():
    pos_b = sentence(b"13HOI:0P0000VOHLCnHQKwvL05Ip", channel=b"B")
    data = (tag(b"c:1696161600") + POS + tag(b"c:1696161601") + POS2 + pghp(T0 + 5) + pos_b
            + tag(b"c:1696161630") + POS)
    d = decode(data + b"\n")
    assert d.stats["rejected"] == 0
    assert d.stats["sentences"] == 4
    # POS again on channel B 5 s later is a second receiver's copy; 30 s later it is new
    assert d.stats["duplicates"] == 1
    assert sorted(t.timestamp() for t in d.positions["timestamp"]) == [T0, T0 + 1, T0 + 30]


def test_non_ais_sentences_and_comments_are_skipped_not_rejected():
    data = b"\n".join([b"# a comment", b"$GPVTG,000.0,T,,M,0.0,N,0.0,K,A*0D", b"$AIVSI,,1,2,3*00",
                       b"!AIPWR,UNIT=1*00", b"", POS]) + b"\n"
    d = decode(data)
    assert d.stats["rejected"] == 0
    assert d.stats["non_ais_sentences"] == 3
    assert len(d.positions) == 1


BAD_LINES = [
    pytest.param(POS[:-3] + b"*00", reasons.BAD_CHECKSUM, id="bad_checksum"),
    pytest.param(POS[:30], reasons.TRUNCATED, id="truncated"),
    pytest.param(sentence(b"13HOI:0P0000VOHLCnHQKwvL05Ip", talker=b"=I"), reasons.UNKNOWN_TALKER,
                 id="unknown_talker"),
    pytest.param(b"hello world, this is not AIS", reasons.NOT_NMEA, id="not_nmea"),
    pytest.param(b"x" * 100_000, reasons.LINE_TOO_LONG, id="line_too_long"),
    pytest.param(b"!AIVDM,1,1,,A,13HOI:0P\xff\xfe0000VOHLCnHQKwvL05Ip,0*23", reasons.INVALID_UTF8,
                 id="invalid_utf8"),
    pytest.param(sentence(b"13HOI:0P0000VOHLCnHQKwvL05Ip", count=1, number=2), reasons.BAD_FIELDS,
                 id="bad_fields"),
    pytest.param(sentence(b"13HOI:0P0000VOHL{nHQKwvL05Ip"), reasons.BAD_PAYLOAD, id="bad_payload"),
    pytest.param(sentence(b"13HOI:0P0000", fill=0), reasons.SHORT_PAYLOAD, id="short_payload"),
]


@pytest.mark.parametrize("bad, reason", BAD_LINES)
def test_each_bad_line_is_a_reject_and_neighbours_decode_as_if_absent(bad, reason):
    good = [tag(b"c:%d" % (T0 + i)) + (POS if i % 2 == 0 else POS2) for i in range(4)]
    clean = decode(b"\n".join(good) + b"\n")
    dirty = decode(b"\n".join(good[:2] + [bad] + good[2:]) + b"\n")
    assert list(dirty.rejects["reason"]) == [reason]
    assert dirty.rejects["line"].iloc[0] == 3
    assert len(dirty.rejects["text"].iloc[0]) <= 200
    cols = ["mmsi", "timestamp", "lat", "lon", "sog", "cog", "heading", "msg_type", "source"]
    assert clean.positions[cols].equals(dirty.positions[cols])


def test_framing_params_validate():
    with pytest.raises(ConfigError):
        FramingParams(max_sentence_bytes=10)
    with pytest.raises(TypeError):
        FramingParams(1024)   # keyword-only


def test_not_available_values_become_nan():
    d = decode(tag(b"c:1696161600") + POS2 + b"\n")   # type 18 with every sentinel
    row = d.positions.iloc[0]
    for col in ("lat", "lon", "sog", "cog", "heading"):
        assert math.isnan(row[col]), col


@pytest.mark.parametrize("line, reason", [
    pytest.param(b"!AIVDO,1,1,,A,144FV@OP000eid0nG0@00001P000,0*3A", reasons.LAT_OUT_OF_RANGE,
                 id="lat_out_of_range-95"),
    pytest.param(b"!AIVDO,1,1,,A,144FV@OP00Bi8j0Igth00001P000,0*70", reasons.LON_OUT_OF_RANGE,
                 id="lon_out_of_range-minus185"),
    pytest.param(b"!AIVDM,1,1,,A,H3KLehdt00000000?6ekkjm000000,0*2C", reasons.UNDECODABLE,
                 id="undecodable-type24-part3"),
])
@pytest.mark.parametrize("decoder", ["pyais", "fast"])
def test_decode_stage_rejects(line, reason, decoder):
    dec = IncrementalDecoder(decoder=decoder)
    d = dec.feed("f.nmea", tag(b"c:1696161600") + POS + b"\n" + line + b"\n")
    assert list(d.rejects["reason"]) == [reason]
    assert list(d.rejects["line"]) == [2]
    assert len(d.positions) == 1 and len(d.statics) == 0


def test_sentences_separated_by_bare_carriage_returns_or_spaces():
    one = tag(b"c:1696161600") + POS + b"\r" + tag(b"c:1696161601") + POS2 + b"  " + POS2
    d = decode(one + b"\r\n")
    assert d.stats["sentences"] == 3 and d.stats["rejected"] == 0
    assert d.stats["lines_read"] == 1 and set(d.positions["line"]) == {1}


def test_live_stream_without_newlines_is_framed_once_the_buffer_is_large():
    dec = IncrementalDecoder(decoder="pyais",
                             framing=FramingParams(max_unterminated_bytes=2048))
    one = tag(b"c:1696161600") + POS
    got = [dec.feed("live", one * 40) for _ in range(3)]      # no newline ever
    assert len(dec.framer.states[0].partial) <= 2048
    rest = dec.finish()
    assert sum(d.stats["sentences"] for d in got) + rest.stats["sentences"] == 120
    assert sum(d.stats["rejected"] for d in got) + rest.stats["rejected"] == 0


NMEA_ALPHABET = st.sampled_from([b"!", b"$", b"\\", b"*", b",", b"AIVDM", b"PGHP", b"c:", b"s:",
                                 b"g:1-2-3", b"1", b"2", b"A", b"0", b"5F", b" ", b"\xff", b"\x00",
                                 b"\r", b"13HOI:0P0000", b"#"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(NMEA_ALPHABET, max_size=12).map(b"".join), min_size=1, max_size=4),
       st.sampled_from(["pyais", "fast"]))
def test_garbage_between_valid_lines_never_changes_them(garbage, decoder):
    good = [tag(b"s:G,c:%d" % (T0 + 30 * i)) + (POS if i % 2 == 0 else POS2) for i in range(4)]
    clean = decode(b"\n".join(good) + b"\n")
    lines = good[:1] + [g.replace(b"\n", b"") for g in garbage] + good[1:]
    dirty = decode(b"\n".join(lines) + b"\n", decoder=decoder)
    cols = ["mmsi", "timestamp", "lat", "lon", "sog", "cog", "heading", "msg_type", "source"]
    assert clean.positions[cols].equals(dirty.positions[cols])


@pytest.mark.parametrize("decoder", ["pyais", "fast"])
def test_dollar_lead_vdm_is_read_like_bang(decoder):
    d = decode(tag(b"c:1696161600") + b"$" + POS[1:] + b"\n", decoder=decoder)
    assert len(d.positions) == 1 and d.stats["non_ais_sentences"] == 0


def test_group_of_one_sentence_is_not_remembered():
    dec = IncrementalDecoder(decoder="pyais")
    d = dec.feed("f", tag(b"g:1-1-5,c:1696161600") + POS + b"\n")
    assert len(d.positions) == 1 and dec.framer.states[0].groups == {}
