"""Pieces of replay and watch that need no decoder: line splitting under hostile input,
pacing, UDP datagram packing, TCP reconnect with back-off (real loopback sockets)."""

import io
import socket
import threading
import time

import pandas as pd
import pytest

from ais.errors import ConfigError, InputError
from shadowfleet.replay import DATAGRAM_BYTES, parse_address, replay, schedule
from shadowfleet.watch import _TOO_LONG, ChunkQueue, LineSplitter, WatchLimits, _Reader


def _clock(line: bytes):
    """Test clock: a line 'T<seconds> ...' is received at that epoch second."""
    if line.startswith(b"T"):
        return pd.Timestamp(int(line[1:].split()[0]), unit="s", tz="UTC")
    return None


# ---------------------------------------------------------------- LineSplitter

def test_splitter_joins_lines_across_chunks_and_strips_cr():
    s = LineSplitter(100)
    got = list(s.push(b"!AIVDM,a\r\n!AIV")) + list(s.push(b"DM,b\r\n\n  \n"))
    assert got == [b"!AIVDM,a", b"!AIVDM,b"]


def test_splitter_cuts_a_huge_line_without_buffering_it():
    s = LineSplitter(16)
    out = []
    for _ in range(1000):                       # 1 MB without a newline
        out += list(s.push(b"x" * 1000))
        assert len(s.buf) <= 16
    out += list(s.push(b"tail\nok\n"))
    assert out[0] == (_TOO_LONG, b"x" * 16)
    assert out[1:] == [b"ok"], "the rest of the long line is dropped, the next line kept"


def test_splitter_line_of_exactly_the_limit_is_kept():
    s = LineSplitter(8)
    assert list(s.push(b"12345678\n123456789\n")) == [b"12345678", (_TOO_LONG, b"12345678")]


def test_splitter_reset_returns_partial_line():
    s = LineSplitter(100)
    assert list(s.push(b"abc")) == []
    assert s.reset() == b"abc" and s.buf == bytearray()


# ---------------------------------------------------------------- pacing

def test_schedule_paces_by_receive_time_and_never_reorders():
    lines = [b"T100 a\n", b"no time\n", b"T160 b\n", b"T130 late\n", b"T220 c\n"]
    due = [d for d, _ in schedule(lines, 60.0, clock=_clock)]
    assert due == [0.0, 0.0, 1.0, 1.0, 2.0]
    assert [l for _, l in schedule(lines, 0, clock=_clock)] == lines
    assert all(d == 0 for d, _ in schedule(lines, 0, clock=_clock))


def test_schedule_rejects_negative_speed():
    with pytest.raises(InputError):
        list(schedule([b"x\n"], -1, clock=_clock))


def test_parse_address():
    assert parse_address("127.0.0.1:10110", "--udp") == ("127.0.0.1", 10110)
    assert parse_address("[::1]:5", "--tcp") == ("::1", 5)
    for bad in ("localhost", ":80", "host:x", "host:70000"):
        with pytest.raises(InputError):
            parse_address(bad, "--udp")


def test_replay_stdout_is_byte_for_byte_and_paced(tmp_path):
    feed = tmp_path / "feed.nmea"
    body = b"\\c:1,s:r1*00\\T100 one\r\nno time\r\nT101 two\nT102 three"
    feed.write_bytes(body)
    out = io.BytesIO()
    started = time.monotonic()
    n = replay(feed, speed=4.0, stdout=out, clock=lambda l: _clock(l.split(b"\\")[-1]))
    elapsed = time.monotonic() - started
    assert n == 4
    assert out.getvalue() == body + b"\n"
    assert 0.45 <= elapsed < 2.0


def test_replay_udp_packs_whole_lines_into_datagrams(tmp_path):
    lines = [b"T%d !AIVDM,1,1,,A,%s,0*00\n" % (100 + i // 50, b"x" * (20 + i % 40))
             for i in range(400)]
    feed = tmp_path / "feed.nmea"
    feed.write_bytes(b"".join(lines))
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.settimeout(2)
    got = []

    def receive():
        try:
            while sum(d.count(b"\n") for d in got) < len(lines):
                got.append(rx.recv(65535))
        except socket.timeout:
            pass

    t = threading.Thread(target=receive)
    t.start()
    replay(feed, speed=0, udp=rx.getsockname(), clock=_clock)
    t.join(5)
    rx.close()
    assert b"".join(got) == b"".join(lines)
    assert all(len(d) <= DATAGRAM_BYTES and d.endswith(b"\n") for d in got)
    assert len(got) < len(lines) / 5


# ---------------------------------------------------------------- TCP reader

def test_tcp_reader_reconnects_with_backoff_and_loses_no_line():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(10)
    host, port = server.getsockname()
    lines = ChunkQueue(1 << 20)
    stop = threading.Event()
    messages = []
    limits = WatchLimits(reconnect_min_s=0.05, reconnect_max_s=0.2)
    reader = _Reader("tcp", (host, port), limits, lines, stop, messages.append)
    reader.start()
    try:
        for round_ in range(3):
            conn, _ = server.accept()
            with conn:
                conn.sendall(b"line %d-a\nline %d-" % (round_, round_))
                time.sleep(0.05)
                conn.sendall(b"b\n")
            # the connection drops here; the reader must come back
        got = []
        while len(got) < 6:
            chunk = lines.get(timeout=5)
            assert chunk is not None, got
            got.extend(chunk)
    finally:
        stop.set()
        reader.join(5)
        server.close()
    assert got == [b"line 0-a", b"line 0-b", b"line 1-a", b"line 1-b", b"line 2-a", b"line 2-b"]
    assert reader.connections == 3
    assert any("reconnecting" in m for m in messages)


def test_tcp_reader_backs_off_when_nobody_listens():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    host, port = probe.getsockname()
    probe.close()                               # nothing listens on this port now
    messages = []
    stop = threading.Event()
    limits = WatchLimits(reconnect_min_s=0.05, reconnect_max_s=0.2)
    reader = _Reader("tcp", (host, port), limits, ChunkQueue(1 << 20), stop, messages.append)
    reader.start()
    time.sleep(0.8)
    stop.set()
    reader.join(5)
    delays = [float(m.split(" in ")[1].split()[0]) for m in messages if "reconnecting" in m]
    assert delays[:3] == [0.05, 0.1, 0.2] and max(delays) == 0.2
    assert not reader.is_alive()


@pytest.mark.parametrize("bad", [dict(every_seconds=0), dict(max_line_bytes=0),
                                 dict(reconnect_min_s=2, reconnect_max_s=1)])
def test_watch_limits_validate(bad):
    with pytest.raises(ConfigError):
        WatchLimits(**bad)


# ---------------------------------------------------------------- properties

from hypothesis import given, settings, strategies as st  # noqa: E402

_line = st.binary(min_size=0, max_size=40).map(lambda b: b.replace(b"\n", b"x"))


@settings(max_examples=60, deadline=None)
@given(lines=st.lists(_line, max_size=30), cuts=st.lists(st.integers(0, 2000), max_size=8),
       limit=st.integers(8, 50))
def test_splitter_output_does_not_depend_on_how_the_stream_is_cut(lines, cuts, limit):
    data = b"".join(l + b"\n" for l in lines)
    whole = list(LineSplitter(limit).push(data))
    s = LineSplitter(limit)
    pieces, last = [], 0
    for c in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        pieces.append(data[last:c])
        last = c
    chunked = [item for p in pieces for item in s.push(p)]
    assert chunked == whole
    expected = []
    for l in lines:
        if len(l) > limit:
            expected.append((_TOO_LONG, l[:limit]))
        elif l.rstrip(b"\r").strip():
            expected.append(l.rstrip(b"\r"))
    assert whole == expected


def test_chunk_queue_is_bounded_by_bytes_and_fifo():
    q = ChunkQueue(100)
    assert q.put([b"a" * 60], 61, timeout=0.01)
    assert not q.put([b"b" * 60], 61, timeout=0.01), "full: the second chunk waits"
    assert q.get() == [b"a" * 60] and q.empty()
    assert q.put([b"c" * 500], 501, timeout=0.01), "an empty queue admits any one chunk"
    assert q.get(timeout=0.01) == [b"c" * 500] and q.get(timeout=0.01) is None
    got = []
    consumer = threading.Thread(target=lambda: [got.append(q.get(timeout=2)) for _ in range(50)])
    consumer.start()
    for i in range(50):
        while not q.put([b"%03d" % i], 40, timeout=0.5):
            pass
    consumer.join(5)
    assert got == [[b"%03d" % i] for i in range(50)]
