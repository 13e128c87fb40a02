"""Real public AIS files (../shared/data/ais, or on a bare clone the copies in tests/data):
every NMEA file decodes, agrees with a plain pyais loop on every position field, and the
fast decoder agrees with the reference."""

from __future__ import annotations

import math

import pytest

import ais
from tests._shared import ais_files, file_id, shared
from tests.ais_reference import plain_pyais_positions

NMEA_FILES = ais_files()


@pytest.fixture(scope="module")
def decoded():
    return {p: ais.read_inputs([p], decoder="pyais") for p in NMEA_FILES}


def _same(a, b) -> bool:
    return (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("path", NMEA_FILES, ids=file_id)
def test_agrees_with_plain_pyais_loop(path, decoded):
    d = decoded[path]
    expected = plain_pyais_positions(path)
    got = {int(r.line): (int(r.mmsi), float(r.lat), float(r.lon), float(r.sog), float(r.cog),
                         float(r.heading)) for r in d.positions.itertuples()}
    assert len(got) == len(d.positions)          # one position per line in these files
    for line, row in got.items():
        assert line in expected, line            # nothing decoded that pyais would not
        assert all(_same(a, b) for a, b in zip(row, expected[line])), (line, row, expected[line])
    rejected = set(d.rejects["line"].tolist())
    missing = [line for line in expected if line not in got and line not in rejected]
    assert len(missing) <= d.stats["duplicates"], missing[:5]
    # what pyais decodes and shadowfleet does not is explained line by line
    explained = {line for line in expected if line in got or line in rejected}
    assert len(explained) + len(missing) == len(expected)


def test_every_file_decodes_with_contract_columns(decoded):
    for path, d in decoded.items():
        assert tuple(d.positions.columns[:10]) == ais.POSITION_COLUMNS, path
        assert tuple(d.statics.columns[:14]) == ais.STATIC_COLUMNS, path
        assert tuple(d.rejects.columns[:4]) == ais.REJECT_COLUMNS, path
        keys = list(zip(d.positions["mmsi"], d.positions["timestamp"].fillna(
            d.positions["timestamp"].max())))
        assert d.positions["mmsi"].is_monotonic_increasing, path
        assert len(keys) == len(d.positions)


@pytest.mark.parametrize("path", ais_files(max_bytes=100_000), ids=file_id)
def test_fast_decoder_agrees_with_reference(path, decoded):
    fast = ais.read_inputs([path], decoder="fast")
    ref = decoded[path]
    assert fast.positions.equals(ref.positions)
    assert fast.statics.equals(ref.statics)
    assert fast.rejects.equals(ref.rejects)


def test_known_surprises_of_the_real_files(decoded):
    shared("ais")
    by_name = {p.name: d for p, d in decoded.items()}
    ky = by_name["Ais1000Lines.nm4"]
    assert ky.stats["tagblock_checksum_errors"] >= 246 and ky.stats["no_receive_time"] == 0
    amsa = by_name["nmea-timestamped.txt"]
    assert amsa.stats["tagblock_checksum_errors"] == 100 and amsa.positions["timestamp"].notna().all()
    dma = by_name["stream_example.txt"]                 # $PGHP before each sentence
    assert dma.positions["timestamp"].notna().mean() > 0.99
    uscg = by_name["test.ais"]                          # ,rSTATION,epoch after the checksum
    assert uscg.positions["timestamp"].notna().all()
    assert uscg.positions["source"].str.startswith("r").all()
    goais = by_name["aistest.nmea"]                     # nanosecond epoch prefix
    assert goais.positions["timestamp"].notna().all()
    ee = by_name["exact-earth-with-tag-block.txt"]      # g: groups, later parts without s:/c:
    assert len(ee.statics) == 21 and ee.stats["rejected"] == 0
    assert ee.statics.set_index("line").loc[1, "source"] == "rEV02"
    assert ee.statics["timestamp"].notna().all()
    gpsd = by_name["ais-18-27.log"]                     # type 24 part number 3: undecodable
    assert gpsd.stats["rejected_by_reason"] == {"undecodable": 69}
    big = by_name["ais.txt.gz"]                         # !=IVDM: not a talker id
    assert big.stats["rejected_by_reason"]["unknown_talker"] >= 1256
    assert big.stats["non_ais_sentences"] > 10_000


@pytest.mark.parametrize("path", NMEA_FILES, ids=file_id)
def test_statics_agree_with_plain_pyais_loop(path, decoded):
    from tests.ais_reference import plain_pyais_statics
    d = decoded[path]
    expected = plain_pyais_statics(path)
    cols = ["mmsi", "imo", "name", "callsign", "ship_type", "length", "beam", "draught",
            "destination"]
    got = {}
    for r in d.statics.itertuples():
        got.setdefault(int(r.line), tuple(getattr(r, c) for c in cols))
    compared = 0
    for line, row in expected.items():
        if line in got:
            compared += 1
            assert all(_same(a, b) for a, b in zip(got[line], row)), (line, got[line], row)
    assert compared >= 0.9 * len(expected) - d.stats["duplicates"] - d.stats["rejected"]
