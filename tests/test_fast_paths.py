"""The fast path of ``ais`` gives the same tables as the pyais reference path.

On every NMEA file of the real samples, on feeds cut into random pieces (with the
decoder carried between pieces as a job carries it, and the two paths taking turns on
one decoder), and on
hypothesis feeds of messages made by ``pyais.encode_dict`` (fragments, several stations,
copies of one broadcast, bad lines): positions, statics, rejects and stats are equal,
floats bit for bit.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyais
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

import ais
import ais.incremental.fast_framing
import ais.reading.sources
from ais.tables.decoded import Decoded
from ais.incremental.decoder import IncrementalDecoder
from ais.framing.nmea import _xor
from tests._carry import carried
from tests._shared import MISSING, ais_files, ais_sample, file_id


def _files():
    return ais_files()


# The lines the numba fast path leaves (comments, junk, bad checksums, trailing fields,
# $PGHP) go to the reference framer when a chunk has few of them and to the numba
# general framer otherwise (``fast_framing.hand_over_left``): the tests below run both
# ways, with the rule as it is (on these small feeds, the reference) and with every
# such line framed by the numba general framer.
ROUTES = ["as-is", "general-framer"]


def _route(mp: pytest.MonkeyPatch, route: str) -> None:
    if route == "general-framer":
        mp.setattr(ais.incremental.fast_framing, "hand_over_left", lambda size: 0)


def assert_same(a: Decoded, b: Decoded):
    for k in ("positions", "statics", "rejects"):
        pd.testing.assert_frame_equal(getattr(a, k), getattr(b, k), check_exact=True)
    assert a.stats == b.stats


@pytest.mark.parametrize("path", _files(), ids=file_id)
def test_read_inputs_fast_equals_pyais(path):
    try:
        ref = ais.read_inputs([path], decoder="pyais")
    except ais.InputError as exc:
        with pytest.raises(type(exc)):
            ais.read_inputs([path], decoder="fast")
        return
    assert_same(ais.read_inputs([path], decoder="fast"), ref)


def _feed_in_pieces(data: bytes, decoders, seed: int, name: str = "feed.nmea") -> Decoded:
    """Feed ``data`` in random pieces; the decoder is carried between pieces as a job
    carries it (its state through JSON and an ``.npz``) and its ``decoder`` switched
    round-robin through ``decoders``."""
    rng = random.Random(seed)
    dec = IncrementalDecoder(decoder=decoders[0])
    parts = []
    pos = 0
    k = 0
    while pos < len(data):
        step = rng.choice([1, 7, 50, 333, 4096, 20000] if len(data) < 20000 else [333, 4096, 65536])
        parts.append(dec.feed(name, data[pos:pos + step]))
        pos += step
        dec = carried(dec)
        k += 1
        dec.decoder = decoders[k % len(decoders)]
    parts.append(dec.finish())
    return Decoded.merge(parts)


def _read(p: Path) -> bytes:
    data = p.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


@pytest.mark.parametrize("name", ["kystverket/Ais1000Lines.nm4", "dma-aislib/stream_example.txt",
                                  "amsa/exact-earth-with-tag-block.txt", "noaadata/test.ais",
                                  "gfw-ais-tools/multi-part.nmea", "libais/test.aivdm"])
@pytest.mark.parametrize("route", ROUTES)
def test_pieces_and_switching_paths(name, route, monkeypatch):
    _route(monkeypatch, route)
    data = _read(ais_sample(name))
    ref = _feed_in_pieces(data, ["pyais"], seed=1)
    assert_same(_feed_in_pieces(data, ["fast"], seed=1), ref)
    assert_same(_feed_in_pieces(data, ["fast", "pyais"], seed=2), ref)


# --- hypothesis feeds ----------------------------------------------------------------

def _tagged(sentence: str, station: str, t: int) -> str:
    tag = f"s:{station},c:{t}"
    return f"\\{tag}*{_xor(tag.encode()):02X}\\{sentence}"


def _pghp(t: int) -> str:
    d = pd.Timestamp(t, unit="s")
    body = f"PGHP,1,{d.year},{d.month},{d.day},{d.hour},{d.minute},{d.second},0"
    return f"${body}*{_xor(body.encode()):02X}"


@st.composite
def feeds(draw):
    lines = []
    t = 1_693_526_400
    for _ in range(draw(st.integers(1, 40))):
        mt = draw(st.sampled_from([1, 3, 18, 27, 5, 24, 4]))
        d = {"type": mt, "mmsi": draw(st.integers(0, (1 << 30) - 1))}
        if mt in (1, 3, 18):
            d.update(lat=draw(st.integers(-91 * 600000, 91 * 600000)) / 600000,
                     lon=draw(st.integers(-181 * 600000, 181 * 600000)) / 600000,
                     speed=draw(st.integers(0, 1023)) / 10, course=draw(st.integers(0, 3600)) / 10,
                     heading=draw(st.integers(0, 511)))
        elif mt == 5:
            d.update(imo=draw(st.integers(0, 9999999)), shipname=draw(st.text("AB @", max_size=20)),
                     destination=draw(st.text("DUNAY @", max_size=20)), month=draw(st.integers(0, 12)),
                     day=draw(st.integers(0, 31)), draught=draw(st.integers(0, 255)) / 10)
        elif mt == 24:
            d.update(partno=draw(st.integers(0, 1)), shipname="X", callsign="AB1",
                     mothership_mmsi=1)
        seq = str(draw(st.integers(0, 9)))
        sentences = pyais.encode_dict(d, talker_id="AI", sentence_type="VDM", seq_id=seq)
        t += draw(st.integers(0, 12))
        stations = draw(st.lists(st.sampled_from(["rA", "rB", "rC"]), min_size=1, max_size=3))
        for station in stations:              # copies heard by several stations
            for s in sentences:
                line = _tagged(s, station, t)
                fault = draw(st.integers(0, 40))
                if fault == 0:
                    line = line[:-3]          # a cut sentence
                elif fault == 1:              # a wrong checksum
                    line = line[:-2] + ("00" if line[-2:] != "00" else "11")
                elif fault == 2:
                    line = line.split("*")[0]  # no checksum at all
                lines.append(line)
        extra = draw(st.integers(0, 15))
        if extra == 0:
            lines.append("$PGHP,1,2023,9,1,0,0,0,0*00")
        elif extra == 1:                      # a $PGHP time for the next sentence
            lines.append(_pghp(t + 1))
        elif extra == 2:                      # a lone tag block for the next sentence
            tag = f"s:rL,c:{t + 2}"
            lines.append(f"\\{tag}*{_xor(tag.encode()):02X}\\")
    return "\n".join(lines) + "\n"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds(), st.integers(0, 3), st.sampled_from(ROUTES))
def test_hypothesis_feeds(feed, seed, route):
    data = feed.encode()
    ref = _feed_in_pieces(data, ["pyais"], seed=seed)
    with pytest.MonkeyPatch.context() as mp:
        _route(mp, route)
        assert_same(_feed_in_pieces(data, ["fast"], seed=seed), ref)


@pytest.mark.parametrize("folder", ["dma-aislib", "gfw-ais-tools", "libais"])
def test_directories_fast_equals_pyais(folder):
    """Several files through one decoder: dedup and state carry across files."""
    paths = [p for p in _files() if p.parent.name == folder]
    if not paths:
        pytest.skip(f"ais/{folder}: {MISSING}")
    assert_same(ais.read_inputs(paths, decoder="fast"), ais.read_inputs(paths, decoder="pyais"))


@pytest.mark.parametrize("route", ROUTES)
def test_handed_over_lines_in_one_call_and_the_fall_back(route, monkeypatch):
    """Faulty lines are framed by the reference in one call per chunk; a lone tag block
    among them (it times the next line) sends the chunk back to one call per line. Both
    give the reference's tables."""
    _route(monkeypatch, route)
    good = pyais.encode_dict({"type": 1, "mmsi": 273_000_001, "lat": 42.3, "lon": 130.4},
                             talker_id="AI")[0]
    bad = good[:-2] + ("00" if good[-2:] != "00" else "11")
    tag = "s:rX,c:1693526500"
    lone = f"\\{tag}*{_xor(tag.encode()):02X}\\"
    clean = [_tagged(good, "rA", 1_693_526_400), bad, _tagged(good, "rB", 1_693_526_401)[:30],
             _tagged(good, "rA", 1_693_526_402), bad]
    for lines in (clean, clean + [lone, good, bad, _tagged(good, "rC", 1_693_526_403)]):
        data = ("\n".join(lines) + "\n").encode()
        ref = _feed_in_pieces(data, ["pyais"], seed=0)
        assert ref.stats["rejected"] >= 2
        assert_same(_feed_in_pieces(data, ["fast"], seed=0), ref)
        dec = IncrementalDecoder(decoder="fast")
        whole = Decoded.merge([dec.feed("feed.nmea", data), dec.finish()])
        assert_same(whole, ref)


@pytest.mark.parametrize("route", ROUTES)
def test_lines_rejected_by_the_kernel_end_the_framing_state(route, monkeypatch):
    """A wrong checksum or a missing ``*hh`` is rejected by the numba framer itself; like
    the reference, that drops a pending ``$PGHP`` time or lone tag block, so the next
    sentence has no time from them. Same tables as the reference, whole and in pieces."""
    _route(monkeypatch, route)
    good = pyais.encode_dict({"type": 1, "mmsi": 273_000_001, "lat": 42.3, "lon": 130.4},
                             talker_id="AI")[0]
    bad = good[:-2] + ("00" if good[-2:] != "00" else "11")
    cut = good.split("*")[0]
    tag = "s:rX,c:1693526500"
    lone = f"\\{tag}*{_xor(tag.encode()):02X}\\"
    lines = [_pghp(1_693_526_400), bad, good, lone, bad, good, _pghp(1_693_526_401), cut, good,
             lone, _pghp(1_693_526_402), cut, good, _tagged(bad, "rA", 1_693_526_403), good,
             _pghp(1_693_526_404), good, lone, good]
    data = ("\n".join(lines) + "\n").encode()
    ref = _feed_in_pieces(data, ["pyais"], seed=0)
    assert ref.stats["rejected_by_reason"] == {"bad_checksum": 3, "truncated": 2}
    assert ref.stats["no_receive_time"] == 5
    for seed in range(6):
        assert_same(_feed_in_pieces(data, ["fast"], seed=seed), ref)
    dec = IncrementalDecoder(decoder="fast")
    assert_same(Decoded.merge([dec.feed("feed.nmea", data), dec.finish()]), ref)


@pytest.mark.parametrize("name", ["dma-aislib/stream_example.txt", "amsa/exact-earth-with-tag-block.txt"])
def test_read_in_small_pieces_with_framing_ahead(name, monkeypatch, tmp_path):
    """Pieces cut at line ends and framed in the read-ahead thread give the tables of
    reading each file in one piece, on both paths, plain and gzip."""
    path = ais_sample(name)
    gz = tmp_path / (path.name + ".gz")
    gz.write_bytes(gzip.compress(_read(path)))
    want = {p: ais.read_inputs([p], decoder="pyais") for p in (path, gz)}
    monkeypatch.setattr(ais.reading.sources, "CHUNK_BYTES", 8191)
    monkeypatch.setattr(ais.reading.sources, "GZ_READ_BYTES", 997)
    for p in (path, gz):
        for decoder in ("fast", "pyais"):
            assert_same(ais.read_inputs([p], decoder=decoder), want[p])


def test_kept_buffers_are_used_again_without_changing_the_tables(monkeypatch, tmp_path):
    """The read buffers and framed rows of the fast path are kept and handed to the next
    pieces of a read: with one buffer of each kept, every buffer holds several pieces in
    turn, and the tables are still those of the reference, read after read. The pools
    are empty once a read ends (and ``release_freed_memory`` empties any)."""
    from ais.reading.buffers import BufferPool
    path = ais_sample("dma-aislib/stream_example.txt")
    want = ais.read_inputs([path], decoder="pyais")
    reads = BufferPool(np.uint8, 0, 1)
    rows = BufferPool(np.int64, 0, 1)
    monkeypatch.setattr(ais.reading.sources, "_BUFFERS", reads)
    monkeypatch.setattr(ais.incremental.fast_framing, "_ROWS", rows)
    monkeypatch.setattr(ais.reading.sources, "CHUNK_BYTES", 4093)
    taken = []
    take = reads.take
    monkeypatch.setattr(reads, "take", lambda size: taken.append(take(size)) or taken[-1])
    for _ in range(2):
        assert_same(ais.read_inputs([path], decoder="fast"), want)
    assert len(taken) > 10
    assert len({id(b) for b in taken}) < len(taken) / 2     # mostly the same buffer again
    assert len(reads._free) == 0 and len(rows._free) == 0
    from shadowfleet.tuning import release_freed_memory
    reads.give(np.zeros(8, dtype=np.uint8))
    release_freed_memory()
    assert len(reads._free) == 0


def test_buffer_pool_keeps_the_largest():
    from ais.reading.buffers import BufferPool
    pool = BufferPool(np.int64, 10, 2)
    a, b, c = pool.take(5), pool.take(100), pool.take(50)
    assert len(a) == 10 and len(b) == 100 and len(c) == 50
    for buf in (a, b, c):
        pool.give(buf)
    assert sorted(len(x) for x in pool._free) == [50, 100]     # the smallest went
    assert pool.take(60) is b and pool.take(60) is not c      # none left large enough
    pool.give(np.zeros(3, dtype=np.float64))                   # another kind: not kept
    assert all(x.dtype == np.int64 for x in pool._free)


def test_chunk_extended_in_the_spare_room_after_it():
    """A chunk that is the start of a lent buffer grows in place (no copy of the chunk);
    anything else is copied."""
    from ais.incremental.fast_feed import _append, _store
    spare = np.zeros(16, dtype=np.uint8)
    spare[:5] = np.frombuffer(b"abcde", np.uint8)
    buf = np.frombuffer(memoryview(spare)[:5], dtype=np.uint8)
    store = _store(buf, spare)
    assert store is spare
    big = _append(buf, store, np.frombuffer(b"fg", np.uint8), np.frombuffer(b"h", np.uint8))
    assert big.tobytes() == b"abcdefgh" and np.shares_memory(big, spare)
    big = _append(big, store, np.frombuffer(b"ij", np.uint8))      # again, after the last
    assert big.tobytes() == b"abcdefghij" and np.shares_memory(big, spare)
    too_long = _append(big, store, np.zeros(7, np.uint8))
    assert not np.shares_memory(too_long, spare) and too_long[:10].tobytes() == b"abcdefghij"
    other = np.frombuffer(b"abcde", np.uint8)                       # not the buffer's start
    assert _store(other, spare) is None and _store(buf[1:], spare) is None
    assert _append(other, None, np.frombuffer(b"x", np.uint8)).tobytes() == b"abcdex"

