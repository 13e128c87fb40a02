"""The numba line framer agrees with the reference framer (``ais.framing.nmea``) line by line.

Whenever the kernel frames a line itself (AIS sentence, $PGHP, comment, other NMEA,
blank) the reference must make the same of it, field for field; anything else the
kernel hands over. Edge cases written down here: tag blocks with a wrong checksum keep
their time; ``c:`` in ms (13 digits); a 19-digit ns prefix; empty fill bits; two
sentences on one line (handed over); control bytes and non-ASCII (handed over);
``g:`` groups (handed over); $PGHP with an impossible date (no time); a lone tag block
(handed over: it times the next sentence).

``frame_lines`` frames the common line in a one-pass fast path and every other line with
the general per-line framer (``frame_kernel`` runs only the latter): both must give the
same rows for any input, whatever the block size, CRLF or not, with or without a last
newline, payloads of every length (read 8 bytes a step) up to the buffer's end.
"""

from __future__ import annotations

import gzip
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck

from ais.framing import fast_lines, line_kernel as ff
from ais.framing.nmea import FramingParams, _xor
from tests import _fast_reference as ref
from tests._shared import LOCAL, SHARED, ais_files, file_id, have_shared, sample

DATA = SHARED / "ais" if have_shared() else LOCAL / "ais"     # every sample, or the copies
KINDS = {ff.K_AIS: "ais", ff.K_BLANK: "blank", ff.K_SKIP: "skip", ff.K_OTHER: "other",
         ff.K_PGHP: "pghp", ff.K_REJECT: "reject"}


def _files():
    return ais_files()


def _read(p: Path) -> bytes:
    data = p.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def _epoch(v: int) -> float | None:
    t = ff.epoch_seconds(np.array([v]))[0]
    return None if math.isnan(t) else float(t)


def _same_time(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == b)


def check_lines(data: bytes, max_line_bytes: int = 1024) -> np.ndarray:
    """Frame ``data`` with the kernel, compare each framed line with the reference;
    returns the kinds."""
    buf = np.frombuffer(data, dtype=np.uint8)
    rows, pghp = fast_lines.frame_lines(buf, max_line_bytes)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    assert len(rows) == len(lines)
    for k, (row, line) in enumerate(zip(rows, lines)):
        kind = int(row[ff.C_KIND])
        if kind == ff.K_HANDOFF:
            continue
        want, v = ref.frame_line(line, max_line_bytes)
        assert KINDS[kind] == want, (line, KINDS[kind], want)
        assert data[row[ff.C_LSTART]:row[ff.C_LEND]] == line.strip()
        if kind == ff.K_REJECT:
            assert ff.REJECT_REASONS[int(row[ff.C_REASON])] == v, (line, v)
        if kind == ff.K_PGHP:
            got = None if math.isnan(pghp[k]) else float(pghp[k])
            assert _same_time(got, v), (line, got, v)
        if kind != ff.K_AIS:
            continue
        assert v["group"] is None
        assert data[row[ff.C_PS]:row[ff.C_PE]] == v["payload"]
        assert data[row[ff.C_CHS]:row[ff.C_CHE]].decode() == v["channel"]
        assert (row[ff.C_COUNT], row[ff.C_NUMBER], row[ff.C_SEQ], row[ff.C_FILL]) == \
            (v["count"], v["number"], v["seq"], v["fill"]), line
        assert bool(row[ff.C_TAGOK]) == v["tag_ok"], line
        for has, val, name in ((ff.C_TAGHAS, ff.C_TAGV, "tag_t"), (ff.C_PREHAS, ff.C_PREV, "prefix_t"),
                               (ff.C_TRHAS, ff.C_TRV, "trail_t")):
            got = _epoch(row[val]) if row[has] else None
            assert _same_time(got, v[name]), (line, name, got, v[name])
        station = None if row[ff.C_STS] < 0 else data[row[ff.C_STS]:row[ff.C_STE]].decode()
        assert station == v["station"], (line, station, v["station"])
    return rows[:, ff.C_KIND]


@pytest.mark.parametrize("path", _files(), ids=file_id)
def test_kernel_agrees_with_reference_on_real_data(path):
    check_lines(_read(path))


def test_common_styles_are_framed_fast():
    for name, share in (("kystverket/Ais1000Lines.nm4", 0.7), ("go-ais/aistest.nmea", 0.99),
                        ("noaadata/test.ais", 0.97), ("dma-aislib/stream_example.txt", 0.99),
                        ("amsa/nmea-timestamped.txt", 0.99)):
        if not (DATA / name).exists():      # a bare clone: the copies in tests/data only
            continue
        kinds = check_lines(_read(DATA / name))
        assert (kinds != ff.K_HANDOFF).mean() >= share, name


def _sentence(payload="13HOI:0P0000VOHLCnHQKwvL05Ip", fill="0", talker="AI", count="1",
              number="1", seq="", channel="A", checksum=None):
    body = f"{talker}VDM,{count},{number},{seq},{channel},{payload},{fill}"
    cs = f"{_xor(body.encode()):02X}" if checksum is None else checksum
    return f"!{body}*{cs}"


def _tag(text, checksum=None):
    cs = f"{_xor(text.encode()):02X}" if checksum is None else checksum
    return f"\\{text}*{cs}\\"


HAND = [
    _sentence(),
    _sentence(fill=""),
    _sentence(seq="12", count="2", number="2", channel=""),
    _sentence(talker="ab"),
    _sentence(checksum="00"),
    _sentence(payload="13HOI:0P0000VOHLCnHQKwvL05Ip" + "x"),
    _sentence(payload=""),
    _tag("s:rS1,c:1693526400") + _sentence(),
    _tag("s:rS1,c:1693526400123") + _sentence(),
    _tag("c:1693526400", checksum="00") + _sentence(),
    _tag("c:") + _sentence(),
    _tag("c:12") + _sentence(),
    _tag("g:1-2-3,c:1693526400") + _sentence(),
    _tag("s:,c:1693526400,s:X") + _sentence(),
    "1550303566167726840 " + _sentence(),
    "1550303566167 ;" + _sentence(),
    "2023-09-07T12:00:00Z " + _sentence(),
    "1550303566.5 " + _sentence(),
    _sentence() + ",r003669987,1152921693",
    _sentence() + ",x1,s2,d-098,T33.71,r3669961,1152921695",
    _sentence() + ",b003660465",
    _sentence() + ",1328000000000",
    _sentence() + "," + _sentence(),
    _sentence() + _sentence(),
    "$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*" + f"{_xor(b'PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B'):02X}",
    "$PGHP,1,2010,2,30,11,46,11,390*" + f"{_xor(b'PGHP,1,2010,2,30,11,46,11,390'):02X}",
    "$PGHP,1,2012,2,29,23,59,59,999*" + f"{_xor(b'PGHP,1,2012,2,29,23,59,59,999'):02X}",
    "$PGHP,2,2010,6,11,11,46,11,390*" + f"{_xor(b'PGHP,2,2010,6,11,11,46,11,390'):02X}",
    "$PGHP,1,2010,6,11*00",
    "$GPVTG,1,2,3*00",
    "$" + _sentence()[1:],
    "$" + _sentence(talker="BS").replace("VDM", "VDO")[1:],
    "# a comment !AIVDM",
    "   ",
    "",
    "junk",
    _tag("si:AISD"),
    "\t" + _sentence() + " \r",
    _sentence().replace("A,13", "A\x01,13"),
]


def test_hand_made_lines():
    check_lines(("\n".join(HAND) + "\n").encode())


def test_long_lines_are_handed_over():
    line = _tag("s:" + "x" * 2000 + ",c:1693526400") + _sentence()
    kinds = check_lines((line + "\n").encode(), FramingParams().max_sentence_bytes)
    assert kinds[0] == ff.K_HANDOFF


ALPHABET = list("\\!$*,:.;- 0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcrsgp#@\t") + ["\xe9"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(HAND) - 1), st.integers(0, 200),
                          st.sampled_from(ALPHABET), st.booleans()), min_size=1, max_size=20))
def test_mutated_lines(edits):
    """Random one-character edits of the hand-made lines: the kernel either hands the
    line over or agrees with the reference."""
    lines = []
    for which, pos, ch, insert in edits:
        s = HAND[which]
        pos = pos % (len(s) + 1)
        s = s[:pos] + ch + s[pos + (0 if insert else 1):]
        lines.append(s)
    check_lines(("\n".join(lines)).encode("utf-8"))


def test_seeded_random_lines_from_real_data():
    rng = random.Random(5)
    lines = _read(sample("ais", "kystverket", "Ais1000Lines.nm4")).split(b"\n")[:300]
    out = []
    for line in lines:
        b = bytearray(line)
        if b and rng.random() < 0.5:
            b[rng.randrange(len(b))] = rng.choice(b"\\!$*,:0123456789ABCxyz ")
        out.append(bytes(b))
    check_lines(b"\n".join(out))


def test_epoch_seconds_rule():
    v = np.array([0, 99_999_999, 100_000_000, 1_693_526_400, 1_693_526_400_123,
                  1_693_526_400_123_456, 1_693_526_400_123_456_789])
    t = ff.epoch_seconds(v)
    from ais.framing.nmea import parse_epoch
    for a, b in zip(t, v):
        want = parse_epoch(str(int(b)))
        assert (math.isnan(a) and want is None) or a == want


def same_as_general(data: bytes, max_line_bytes: int = 1024, parallel: bool = True):
    """``frame_lines`` (fast path + general framer, in blocks) equals ``frame_kernel``
    (general framer only, serial), every field of every line."""
    buf = np.frombuffer(data, dtype=np.uint8)
    n = ff.count_lines(buf)
    out = np.empty((len(ff.FRAME_FIELDS), n), dtype=np.int64)
    pghp = np.empty(n)
    assert ff.frame_kernel(buf, out, pghp, max_line_bytes) == n
    rows, pghp2 = fast_lines.frame_lines(buf, max_line_bytes, parallel=parallel)
    assert rows.shape == out.T.shape and rows.flags.f_contiguous
    bad = np.flatnonzero((rows != out.T).any(axis=1))
    assert len(bad) == 0, [data.split(b"\n")[k] for k in bad[:3]]
    assert np.array_equal(pghp, pghp2, equal_nan=True)
    same_handed_over(buf, out.T, pghp, max_line_bytes, parallel)
    return rows


def same_handed_over(buf, want, want_pghp, max_line_bytes, parallel):
    """With ``hand_over``, the lines the fast path leaves (``_fast_line`` gives -1 for
    them) are handed over as they are: ``K_HANDOFF``, the bounds ``_frame_line`` strips
    them to, every other field as in a row it hands over; the fast path's rows are the
    general framer's. With fewer lines allowed than it leaves, all are framed."""
    rows, pghp = fast_lines.frame_lines(buf, max_line_bytes, parallel=parallel,
                                        hand_over=len(want))
    handed = rows[:, ff.C_KIND] == ff.K_HANDOFF
    kept = ~handed
    assert (rows[kept] == want[kept]).all()
    assert np.array_equal(pghp[kept], want_pghp[kept], equal_nan=True)
    assert np.isnan(pghp[handed]).all()
    lone = np.zeros(len(ff.FRAME_FIELDS), dtype=np.int64)
    lone[[ff.C_SEQ, ff.C_STS, ff.C_STE]] = -1
    lone[ff.C_TAGOK] = 1
    lone[ff.C_KIND] = ff.K_HANDOFF
    for r in np.flatnonzero(handed):
        expect = lone.copy()
        expect[[ff.C_LSTART, ff.C_LEND]] = want[r, [ff.C_LSTART, ff.C_LEND]]
        assert (rows[r] == expect).all(), (bytes(buf[want[r, ff.C_LSTART]:want[r, ff.C_LEND]]),
                                           rows[r], want[r])
    if handed.any():                # each of them a line the fast path left
        few, _ = fast_lines.frame_lines(buf, max_line_bytes, parallel=parallel,
                                        hand_over=int(handed.sum()) - 1)
        assert (few == want).all()


FAST = [_sentence(), _sentence(fill=""), _sentence(seq="3", channel="B"), _sentence(channel="2"),
        _tag("s:rS1,c:1693526400") + _sentence(), _tag("c:1693526400123,s:X") + _sentence(),
        _tag("c:1693526400,s:,d:x,zz") + _sentence(), _tag("s:a:b,s:c") + _sentence(),
        _tag("c:1693526400", checksum="00") + _sentence(),
        _tag("c:1693526400", checksum="3a") + _sentence(),
        "1550303566167726840 " + _sentence(), "1550303566 ;," + _tag("c:1") + _sentence(),
        "12" + _sentence(),
        "!" + (vdo := "BSVDO,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0") + f"*{_xor(vdo.encode()):02x}"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(HAND + FAST) - 1), st.integers(0, 200),
                          st.sampled_from(ALPHABET + ["\r", "\n", "\x00"]), st.booleans()),
                min_size=1, max_size=20),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_fast_path_equals_general_framer(edits, eol, last_newline):
    lines = []
    for which, pos, ch, insert in edits:
        s = (HAND + FAST)[which]
        pos = pos % (len(s) + 1)
        lines.append(s[:pos] + ch + s[pos + (0 if insert else 1):])
    data = eol.join(lines) + (eol if last_newline else "")
    same_as_general(data.encode("utf-8"))


@pytest.mark.parametrize("line", FAST)
def test_fast_path_frames_the_common_styles(line):
    for eol in ("\n", "\r\n"):
        kinds = check_lines(((line + eol) * 3).encode())
        assert (kinds == ff.K_AIS).all(), line
        same_as_general(((line + eol) * 3).encode())


@pytest.mark.parametrize("n", range(0, 45))
def test_payload_of_every_length_up_to_the_end_of_the_buffer(n):
    payload = ("0@Wwp" * 9)[:n]
    lines = [_sentence(payload=payload),
             _tag("s:x,c:1693526400") + _sentence(payload=payload, fill="")]
    for tail in ("\n", "\r\n", ""):
        data = ("\n".join(lines) + tail).encode()
        same_as_general(data)
        kinds = check_lines(data)
        # a last line without a newline goes to the general framer, which frames it too
        assert (kinds == (ff.K_AIS if n else ff.K_HANDOFF)).all(), (n, tail)


@pytest.mark.parametrize("block_bytes", [1, 2, 7, 64, 333])
def test_lines_across_block_boundaries(monkeypatch, block_bytes):
    monkeypatch.setattr(fast_lines, "BLOCK_BYTES", block_bytes)
    lines = [l.encode() for l in HAND + FAST] + [b"", b"", b"x" * 500]
    data = b"\n" + b"\n".join(lines) + b"\r\n" + b"\n".join(lines)
    for tail in (b"", b"\n", b"\n\n"):
        for parallel in (True, False):
            rows = same_as_general(data + tail, parallel=parallel)
            assert len(rows) == ff.count_lines(np.frombuffer(data + tail, np.uint8))
    assert len(fast_lines.frame_lines(np.frombuffer(b"\n", np.uint8))[0]) == 1


def test_long_line_limit_applies_to_the_fast_path():
    line = (_tag("s:rS1,c:1693526400") + _sentence() + "\n").encode()
    for limit in (len(line) - 2, len(line) - 1, len(line)):
        rows = same_as_general(line * 2, limit)
        assert (rows[:, ff.C_KIND] == (ff.K_AIS if limit >= len(line) - 1 else ff.K_HANDOFF)).all()


def test_parallel_framer_equals_serial():
    data = b"".join(_read(p) for p in _files()[:12]) + b"last line without newline"
    buf = np.frombuffer(data, dtype=np.uint8)
    n = ff.count_lines(buf)
    out = np.empty((len(ff.FRAME_FIELDS), n), dtype=np.int64)
    pghp = np.empty(n)
    assert ff.frame_kernel(buf, out, pghp, 1024) == n
    for parallel in (True, False):
        rows, pghp2 = fast_lines.frame_lines(buf, parallel=parallel)
        assert (rows == out.T).all()
        assert np.array_equal(pghp, pghp2, equal_nan=True)
    assert len(fast_lines.frame_lines(np.zeros(0, dtype=np.uint8))[0]) == 0
    same_as_general(_read(sample("ais", "kystverket", "Ais1000Lines.nm4")).replace(b"\n", b"\r\n"))


def test_receive_time_epochs_equal_epoch_seconds():
    """The per-row epoch rule of ``receive_times`` is ``epoch_seconds``'s, at every
    magnitude boundary."""
    from ais.framing.line_kernel import _epoch, epoch_seconds
    v = np.array([0, 99_999_999, 10**8, 10**11 - 1, 10**11, 10**14 - 1, 10**14, 10**17 - 1,
                  10**17, 1_693_526_400_123, 1_550_303_566_167_726_840, 2**62], dtype=np.int64)
    got = np.array([_epoch(x) for x in v])
    assert np.array_equal(got, epoch_seconds(v), equal_nan=True)
