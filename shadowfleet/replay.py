"""``shadowfleet replay FEED --speed X (--udp HOST:PORT | --stdout)``: a recorded feed, as if live.

Lines are re-emitted byte for byte (tag blocks, ``$PGHP`` lines, prefixes and line ends
kept) in their original order. A line is due ``(t - t0) / X`` seconds after the start,
where ``t`` is its receive time (as ``ais`` reads it: tag block ``c:``, ``$PGHP``, prefix,
trailing epoch) and ``t0`` the first receive time of the feed. A line without a receive
time, or whose time goes backwards, is due with the line before it, so order is never
changed. ``--speed 0`` sends everything as fast as possible. Blank lines are not sent,
and a last line without a line end gets one.

Over UDP the lines due at the same moment share datagrams of at most
:data:`DATAGRAM_BYTES` (a line is never split), as AIS forwarders do: a replay at full
speed then costs a few datagrams per thousand lines instead of one per line.
"""

from __future__ import annotations

import gzip
import socket
import sys
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterable, Iterator

from ais.errors import InputError

DATAGRAM_BYTES = 1400       # below the Ethernet MTU: no IP fragmentation on a real network
_MAX_SLEEP_S = 0.25         # sleep in short steps so SIGINT is handled promptly


def parse_address(text: str, option: str) -> tuple[str, int]:
    """``HOST:PORT`` -> (host, port); a usage error names the option."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InputError(None, f"{option} {text!r} is not HOST:PORT",
                         f"write e.g. {option} 127.0.0.1:10110")
    return host.strip("[]"), int(port)


def feed_lines(path: str | Path) -> Iterator[bytes]:
    """The lines of a feed file (plain or gzip), each with its own line end."""
    path = Path(path)
    try:
        with open(path, "rb") as probe:
            magic = probe.read(2)
    except OSError as exc:
        raise InputError(path, f"cannot read feed ({exc.strerror or exc})",
                         "check the path given to replay") from None
    opener = gzip.open if magic == b"\x1f\x8b" else open
    with opener(path, "rb") as fh:
        for line in fh:
            if line.strip():
                yield line if line.endswith(b"\n") else line + b"\n"


def _default_clock(line: bytes):
    from ais.framing.nmea import receive_time

    return receive_time(line)


def schedule(lines: Iterable[bytes], speed: float,
             clock: Callable[[bytes], object] = _default_clock) -> Iterator[tuple[float, bytes]]:
    """(seconds after the start when the line is due, line) in the original order."""
    if speed < 0:
        raise InputError(None, f"--speed {speed} is negative", "give 0 (as fast as possible) or more")
    t0 = None
    due = 0.0
    for line in lines:
        if speed > 0:
            t = clock(line)
            if t is not None:
                seconds = t.value / 1e9 if hasattr(t, "value") else float(t)
                if t0 is None:
                    t0 = seconds
                due = max(due, (seconds - t0) / speed)
        yield due, line


class _StdoutSink:
    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def send(self, lines: list[bytes]) -> None:
        self.stream.write(b"".join(lines))
        self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


class _UdpSink:
    def __init__(self, host: str, port: int):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.address = (host, port)

    def send(self, lines: list[bytes]) -> None:
        packet: list[bytes] = []
        size = 0
        for line in lines:
            if packet and size + len(line) > DATAGRAM_BYTES:
                self._send(b"".join(packet))
                packet, size = [], 0
            packet.append(line)
            size += len(line)
        if packet:
            self._send(b"".join(packet))

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendto(data, self.address)
        except ConnectionRefusedError:
            pass        # nobody listening (ICMP from an earlier datagram): UDP goes on

    def close(self) -> None:
        self.sock.close()


def replay(feed: str | Path, *, speed: float, udp: tuple[str, int] | None = None,
           stdout: BinaryIO | None = None, clock: Callable[[bytes], object] = _default_clock,
           max_batch_lines: int = 2000) -> int:
    """Re-emit ``feed`` paced by its receive times divided by ``speed``; returns lines sent."""
    sink = _UdpSink(*udp) if udp is not None else _StdoutSink(stdout or sys.stdout.buffer)
    start = time.monotonic()
    sent = 0
    batch: list[bytes] = []
    try:
        for due, line in schedule(feed_lines(feed), speed, clock):
            wait = start + due - time.monotonic()
            if wait > 0 or len(batch) >= max_batch_lines:
                if batch:
                    sink.send(batch)
                    sent += len(batch)
                    batch = []
                while wait > 0:
                    time.sleep(min(wait, _MAX_SLEEP_S))
                    wait = start + due - time.monotonic()
            batch.append(line)
        if batch:
            sink.send(batch)
            sent += len(batch)
    finally:
        sink.close()
    return sent
