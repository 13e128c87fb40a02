"""Inputs: files, .gz, directories, stdin, decoded tables (MarineCadastre, DMA, positions
CSV/Parquet), bad inputs (one-line error, exit 1), the decode command and its outputs,
and random valid messages made with pyais.encode round-tripping through decode."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import sys

import pandas as pd
import pyais
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

import ais
from ais.errors import InputError, NoReceiveTimeError
from shadowfleet.cli import main
from shadowfleet.outputs.decoded import build_summary
from tests.test_ais_framing import POS, POS2, T0, tag
from tests._shared import sample, shared

FEED = b"\n".join([tag(b"c:1696161600") + POS, tag(b"c:1696161601") + POS2,
                   b"this line is garbage"]) + b"\n"


@pytest.mark.parametrize("decoder", ["fast", "pyais"])
def test_sha256_and_lines_of_a_file_read_in_many_pieces(tmp_path, monkeypatch, decoder):
    """The reported sha256 is that of the raw bytes (the .gz as stored), whatever the
    pieces: read ahead, hashed in their own thread, cut inside lines, a last line with no
    newline, a stretch longer than a piece without any newline."""
    lines = [tag(b"c:%d" % (1696161600 + k)) + (POS if k % 2 else POS2) for k in range(3000)]
    text = b"\n".join(lines[:1500]) + b"\n" + b"x" * 70000 + b"\n" + b"\n".join(lines[1500:])
    plain = tmp_path / "feed.nmea"
    plain.write_bytes(text)
    gz = tmp_path / "feed.nmea.gz"
    gz.write_bytes(gzip.compress(text))
    monkeypatch.setattr(ais.reading.sources, "CHUNK_BYTES", 8191)
    monkeypatch.setattr(ais.reading.sources, "GZ_READ_BYTES", 997)
    for path in (plain, gz):
        d = ais.read_inputs([path], decoder=decoder)
        assert d.stats["inputs"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert d.stats["inputs"][0]["lines"] == 3001
        assert d.stats["rejected"] == 1 and d.stats["messages"] == 3000


def test_plain_gz_directory_and_stdin_agree(tmp_path, monkeypatch):
    (tmp_path / "d").mkdir()
    plain = tmp_path / "feed.nmea"
    plain.write_bytes(FEED)
    gz = tmp_path / "d" / "feed.nmea.gz"
    gz.write_bytes(gzip.compress(FEED))
    a = ais.read_inputs([plain], decoder="pyais")
    b = ais.read_inputs([tmp_path / "d"], decoder="pyais")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(FEED)))
    c = ais.read_inputs(["-"], decoder="pyais")
    cols = ["mmsi", "timestamp", "lat", "lon", "sog", "cog", "heading", "msg_type", "line"]
    assert a.positions[cols].equals(b.positions[cols]) and a.positions[cols].equals(c.positions[cols])
    assert b.stats["inputs"][0]["sha256"] != a.stats["inputs"][0]["sha256"]   # of the raw .gz bytes
    assert c.stats["inputs"][0]["path"] == "<stdin>"
    assert list(c.positions["source"].unique()) == ["stdin"]
    assert a.stats["rejected_by_reason"] == {"not_nmea": 1}


@pytest.mark.parametrize("content, problem", [
    pytest.param(None, "no such file", id="missing"),
    pytest.param(b"", "empty", id="empty"),
    pytest.param(b"\n  \n", "empty", id="blank"),
    pytest.param(bytes(range(256)) * 40, "binary", id="binary"),
    pytest.param(b"just some text\nwith no AIS at all\n", "no AIS", id="no-ais"),
])
def test_unusable_files_raise_one_line_input_error(tmp_path, content, problem):
    path = tmp_path / "input.nmea"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as info:
        ais.read_inputs([path])
    msg = str(info.value)
    assert "\n" not in msg and str(path) in msg and problem in msg and ";" in msg


def test_require_times_refuses_a_file_without_receive_times(tmp_path):
    path = tmp_path / "untimed.nmea"
    path.write_bytes(POS + b"\n" + POS2 + b"\n")
    with pytest.raises(NoReceiveTimeError) as info:
        ais.read_inputs([path], require_times=True)
    assert "c:" in str(info.value) and "$PGHP" in str(info.value)
    d = ais.read_inputs([path], require_times=False)
    assert d.positions["timestamp"].isna().all()
    assert d.warnings and "2 messages have no receive time" in d.warnings[0]


def test_decode_command_writes_contract_files(tmp_path):
    feed = tmp_path / "feed.nmea"
    feed.write_bytes(FEED + b"=HYPERLINK(\"x\")\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["decode", str(feed), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "positions: 2" in res.output
    pos = pd.read_parquet(out / "positions.parquet")
    assert tuple(pos.columns) == ais.POSITION_COLUMNS
    assert str(pos["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert tuple(pd.read_parquet(out / "statics.parquet").columns) == ais.STATIC_COLUMNS
    rejects = pd.read_csv(out / "rejects.csv")
    assert tuple(rejects.columns) == ais.REJECT_COLUMNS
    assert rejects["text"].tolist()[-1].startswith("'=")          # formula neutralised
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lines_read"] == 4 and summary["messages_by_type"] == {"1": 1, "18": 1}
    assert summary["rejected_by_reason"] == {"not_nmea": 2}
    assert summary["vessels"] == 2 and summary["duplicates"] == 0
    assert summary["time_span"] == {"start": "2023-10-01T12:00:00Z", "end": "2023-10-01T12:00:01Z"}
    assert summary["inputs"][0]["sha256"] and summary["inputs"][0]["lines"] == 4


def test_decode_command_bad_input_is_one_line_exit_1(tmp_path):
    res = CliRunner().invoke(main, ["decode", str(tmp_path / "nope.nmea"), "--out", str(tmp_path)])
    assert res.exit_code == 1
    assert res.output.strip().count("\n") == 0 and "Traceback" not in res.output


def test_build_summary_adds_event_counts():
    d = ais.read_inputs([sample("ais", "libais", "tagblock.nmea")])
    s = build_summary(d.stats, {"port_visits": 3})
    assert s["events"] == {"port_visits": 3} and s["lines_read"] == 5
    assert s["messages_decoded"] == 4


# --- decoded tables ------------------------------------------------------------------

def test_marinecadastre_csv(tmp_path):
    d = ais.read_inputs([shared("decoded", "marinecadastre", "NYHarbor_2020_06_30_first_hour.csv")])
    assert len(d.positions) == 8689 and d.stats["rejected"] == 0
    assert d.positions["mmsi"].nunique() == 295 and d.stats["vessels"] == 295
    assert d.positions["timestamp"].notna().all()
    assert d.positions["msg_type"].eq(0).all()
    assert (d.positions["cog"].dropna() >= 0).all()          # negative courses are NaN
    named = d.statics.set_index("mmsi")
    assert named.loc[367000140, "name"] == "SAMUEL I NEWHOUSE"
    assert named.loc[367000140, "imo"] == 7702774


def test_positions_csv_gz_and_parquet_detected_from_content(tmp_path):
    src = shared("decoded", "marinecadastre", "NYHarbor_2020_12_first_week.points.csv.gz")
    d = ais.read_inputs([src])
    assert len(d.positions) == 172_679 and d.stats["vessels"] == 140
    pq = tmp_path / "positions.dat"            # no telling extension
    d.positions.head(1000).to_parquet(pq)
    e = ais.read_inputs([pq])
    assert e.positions.equals(d.positions.head(1000))


def test_dma_csv_hand_made(tmp_path):
    text = ("# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
            "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
            "Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D\n"
            "07/09/2023 12:00:00,Class A,273000001,42.2333,130.3,Moored,0,0.1,360,511,9179842,"
            "UBRH7,ANGARA,Cargo,,20,120,GPS,6.5,=DUNAY,12/09/2023 08:00:00,AIS,,,,\n"
            "07/09/2023 12:05:00,Class A,273000001,91,181,Moored,0,102.3,12.5,90,9179842,"
            "UBRH7,ANGARA,Cargo,,20,120,GPS,6.5,=DUNAY,12/09/2023 08:00:00,AIS,,,,\n"
            "07/09/2023 12:06:00,Class A,273000001,95,130,Moored,0,1,12.5,90,9179842,"
            "UBRH7,ANGARA,Cargo,,20,120,GPS,6.5,=DUNAY,12/09/2023 08:00:00,AIS,,,,\n"
            "not a date,Class A,xyz,1,2,,,,,,,,,,,,,,,,,,,,,\n")
    path = tmp_path / "aisdk.csv"
    path.write_text(text)
    d = ais.read_inputs([path])
    p = d.positions
    assert len(p) == 2 and p["timestamp"].iloc[0] == pd.Timestamp("2023-09-07T12:00:00Z")
    assert math.isnan(p["cog"].iloc[0]) and math.isnan(p["heading"].iloc[0])
    assert math.isnan(p["lat"].iloc[1]) and math.isnan(p["sog"].iloc[1])
    assert d.stats["rejected_by_reason"] == {"bad_row": 1, "lat_out_of_range": 1}
    s = d.statics.iloc[0]
    assert (s["imo"], s["name"], s["callsign"], s["length"], s["beam"], s["draught"]) == \
        (9179842, "ANGARA", "UBRH7", 120, 20, 6.5)
    assert s["destination"] == "=DUNAY" and s["eta"] == "09-12 08:00"


# --- round trip of random valid messages ---------------------------------------------

lat = st.one_of(st.just(91.0), st.integers(-90 * 600000, 90 * 600000).map(lambda v: v / 600000))
lon = st.one_of(st.just(181.0), st.integers(-180 * 600000, 180 * 600000).map(lambda v: v / 600000))


@st.composite
def position_messages(draw):
    t = draw(st.sampled_from([1, 2, 3, 18]))
    return {"msg_type": t, "mmsi": draw(st.integers(1, 999_999_999)), "lat": draw(lat),
            "lon": draw(lon), "speed": draw(st.integers(0, 1023)) / 10,
            "course": draw(st.integers(0, 3600)) / 10, "heading": draw(st.integers(0, 511))}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(position_messages(), min_size=1, max_size=8))
def test_random_encoded_messages_round_trip(msgs):
    lines = []
    for i, m in enumerate(msgs):
        s = pyais.encode_dict(m, talker_id="AI")[0].encode()
        lines.append(tag(b"c:%d" % (T0 + 20 * i)) + s)
    dec = ais.IncrementalDecoder(decoder="pyais")
    d = ais.Decoded.merge([dec.feed("rt.nmea", b"\n".join(lines) + b"\n"), dec.finish()])
    assert d.stats["rejected"] == 0
    got = d.positions.sort_values("line")
    assert len(got) == len(msgs)
    for m, row in zip(msgs, got.itertuples()):
        want = pyais.decode(pyais.encode_dict(m, talker_id="AI")[0])
        assert row.mmsi == m["mmsi"] and row.msg_type == m["msg_type"]
        assert (math.isnan(row.lat) if m["lat"] == 91.0 else row.lat == want.lat)
        assert (math.isnan(row.lon) if m["lon"] == 181.0 else row.lon == want.lon)
        assert (math.isnan(row.sog) if want.speed == 102.3 else row.sog == want.speed)
        assert (math.isnan(row.cog) if want.course >= 360 else row.cog == want.course)
        assert (math.isnan(row.heading) if want.heading >= 360 else row.heading == want.heading)


def test_own_positions_parquet_reads_back_unchanged(tmp_path):
    d = ais.read_inputs([sample("ais", "kystverket", "Ais1000Lines.nm4")], decoder="pyais")
    pq = tmp_path / "positions.parquet"
    d.positions.to_parquet(pq)
    e = ais.read_inputs([pq])
    assert e.stats["rejected"] == 0
    assert e.positions.equals(d.positions)


def test_stray_file_in_a_directory_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "feed.nmea").write_bytes(FEED)
    (tmp_path / "README.txt").write_text("notes about this archive\n")
    d = ais.read_inputs([tmp_path])
    assert [i["path"] for i in d.stats["inputs"]] == [str(tmp_path / "feed.nmea")]
    assert any("README.txt" in w and "no AIS" in w for w in d.warnings)
    with pytest.raises(InputError):
        ais.read_inputs([tmp_path / "README.txt"])     # named explicitly: an error
    only = tmp_path / "only"
    only.mkdir()
    (only / "x.bin").write_bytes(bytes(range(256)) * 10)
    with pytest.raises(InputError, match="no usable AIS file"):
        ais.read_inputs([only])


SIXBIT_TEXT = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.", max_size=20)


@st.composite
def static_messages(draw):
    return {"msg_type": 5, "mmsi": draw(st.integers(1, 999_999_999)),
            "imo": draw(st.integers(0, 2 ** 30 - 1)), "callsign": draw(SIXBIT_TEXT.map(lambda s: s[:7])),
            "shipname": draw(SIXBIT_TEXT), "ship_type": draw(st.integers(0, 99)),
            "to_bow": draw(st.integers(0, 511)), "to_stern": draw(st.integers(0, 511)),
            "to_port": draw(st.integers(0, 63)), "to_starboard": draw(st.integers(0, 63)),
            "month": draw(st.integers(0, 12)), "day": draw(st.integers(0, 31)),
            "hour": draw(st.integers(0, 24)), "minute": draw(st.integers(0, 60)),
            "draught": draw(st.integers(0, 255)) / 10, "destination": draw(SIXBIT_TEXT)}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(static_messages(), st.sampled_from(["pyais", "fast"]))
def test_random_static_messages_round_trip(m, decoder):
    frags = [s.encode() for s in pyais.encode_dict(m, talker_id="AI", seq_id=3)]
    lines = [tag(b"s:S,c:1696161600") + f for f in frags]
    dec = ais.IncrementalDecoder(decoder=decoder)
    d = ais.Decoded.merge([dec.feed("rt.nmea", b"\n".join(lines) + b"\n"), dec.finish()])
    assert d.stats["rejected"] == 0 and len(d.statics) == 1
    row = d.statics.iloc[0]
    want = pyais.decode(*frags)

    def text(v):
        return v.strip() or None if v else None

    assert row["mmsi"] == m["mmsi"]
    assert (math.isnan(row["imo"]) if m["imo"] == 0 else row["imo"] == m["imo"])
    assert row["name"] == text(want.shipname) and row["callsign"] == text(want.callsign)
    assert row["destination"] == text(want.destination)
    st_want = int(want.ship_type)        # pyais maps reserved codes (1..19) to 0, "not available"
    assert (math.isnan(row["ship_type"]) if st_want == 0 else row["ship_type"] == st_want)
    dims = m["to_bow"] + m["to_stern"]
    assert (math.isnan(row["length"]) if m["to_bow"] == m["to_stern"] == 0 else row["length"] == dims)
    assert (math.isnan(row["draught"]) if want.draught == 0 else row["draught"] == want.draught)
    if m["month"] and m["day"]:
        assert row["eta"] == f"{m['month']:02d}-{m['day']:02d} {m['hour']:02d}:{m['minute']:02d}"
    else:
        assert row["eta"] is None


def test_truncated_gzip_decodes_what_is_there_with_a_warning(tmp_path):
    lines = b"".join(tag(b"c:%d" % (T0 + 20 * i)) + POS + b"\n" for i in range(2000))
    whole = gzip.compress(lines)
    cut = tmp_path / "cut.nmea.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    d = ais.read_inputs([cut])
    assert 0 < len(d.positions) < 2000
    assert any("gzip data ends early" in w for w in d.warnings)


def test_utf16_text_from_windows_is_read(tmp_path):
    path = tmp_path / "powershell.nmea"
    path.write_bytes(FEED.decode("ascii").encode("utf-16"))
    d = ais.read_inputs([path], decoder="pyais")
    assert len(d.positions) == 2 and d.stats["rejected_by_reason"] == {"not_nmea": 1}


@pytest.mark.parametrize("decoder", ["pyais", "fast"])
def test_type24_parts_and_auxiliary_craft(decoder):
    a = pyais.encode_dict({"msg_type": 24, "mmsi": 273000009, "partno": 0, "shipname": "LADY R@@"},
                          talker_id="AI")[0].encode()
    b = pyais.encode_dict({"msg_type": 24, "mmsi": 273000009, "partno": 1, "ship_type": 70,
                           "callsign": "UBRH7", "to_bow": 100, "to_stern": 20, "to_port": 9,
                           "to_starboard": 9}, talker_id="AI")[0].encode()
    aux = pyais.encode_dict({"msg_type": 24, "mmsi": 981234567, "partno": 1, "ship_type": 30,
                             "callsign": "ABC", "mothership_mmsi": 273000001},
                            talker_id="AI")[0].encode()
    dec = ais.IncrementalDecoder(decoder=decoder)
    d = dec.feed("x", b"\n".join([a, b, aux]) + b"\n")
    s = d.statics.set_index("line")
    assert s.loc[1, "name"] == "LADY R" and s.loc[1, "callsign"] is None
    assert (s.loc[2, "callsign"], s.loc[2, "ship_type"], s.loc[2, "length"], s.loc[2, "beam"]) == \
        ("UBRH7", 70, 120, 18)
    assert s.loc[2, "name"] is None
    assert math.isnan(s.loc[3, "length"]) and s.loc[3, "callsign"] == "ABC"
