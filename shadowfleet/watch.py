"""``shadowfleet watch (--udp HOST:PORT | --tcp HOST:PORT | -) --out DIR``: a live feed.

Sentences are decoded as they arrive by the same incremental decoder a scheduled job
carries, and every ``every_seconds`` (when something new arrived) the vessels' tails
and the new data are analysed and the alert book updated exactly as ``job`` does
(:mod:`shadowfleet.job_tails`): new alert versions are
appended to ``alerts_log.csv`` as they fire and the outputs are replaced atomically. With
a state directory (default ``OUT/state``) each analysis is committed, so a watch
restarted later (or a ``job`` on the same state) carries on where it stopped.

Sources:
- UDP: bind HOST:PORT (port 0 picks a free one, printed on stderr); a datagram may hold
  several lines.
- TCP: connect to HOST:PORT (a feed server); a dropped or refused connection is retried
  with exponential back-off from :attr:`WatchLimits.reconnect_min_s` to
  :attr:`WatchLimits.reconnect_max_s`, reset once a connection delivers data.
- ``-``: standard input, until end of file.

Bounded memory against a hostile feed: a line longer than ``max_line_bytes`` is cut off
at the limit and recorded as a reject (``line_too_long``) without being buffered; lines
wait in a queue of at most ``max_queued_bytes`` (the reader then blocks: TCP and stdin
push back, UDP datagrams wait in the socket's buffer and are dropped by the kernel when it
is full too); fragment buffers are bounded by the
decoder (``ais.assembly.fragments.AssemblyParams.max_pending``); the rejects kept for
``rejects.csv`` are the last ``max_rejects_kept`` (their counts in ``summary.json`` stay
whole). What is held is each vessel's tail (its last day and open events), every
static report and the events; older positions go to the state's archive.

A stream that carries the simulator's ``# SIMULATED AIS`` comment line (``replay`` of a
simulated feed sends it) marks every output of the watch simulated from then on
(:mod:`shadowfleet.provenance`).

SIGINT or SIGTERM stops the reader, decodes what is queued, runs a last analysis, writes
and commits, then exits 0.
"""

from __future__ import annotations

import collections
import dataclasses
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pandas as pd

import ais
import ais.schema as schema
from ais import reasons
from ais.errors import ConfigError, InputError
from shadowfleet import provenance
from shadowfleet.job import MAX_REJECTS_KEPT, Analysis, accumulate, analyse_state, publish, reconcile_log
from shadowfleet.job_state import JobState, load_state, remove_stale, state_lock


@dataclasses.dataclass(frozen=True, kw_only=True)
class WatchLimits:
    """Limits of a watch. NMEA 0183 sentences are at most 82 characters; a tag block adds
    at most a few hundred, so 4 KiB lines are already far past any real one."""

    every_seconds: float = 10.0
    max_line_bytes: int = 4096
    max_queued_bytes: int = 64 << 20
    feed_every_lines: int = 5000
    reconnect_min_s: float = 0.5
    reconnect_max_s: float = 30.0
    udp_receive_buffer_bytes: int = 8 << 20
    max_rejects_kept: int = MAX_REJECTS_KEPT

    def __post_init__(self):
        if not self.every_seconds > 0:
            raise ConfigError(None, f"every_seconds must be > 0, not {self.every_seconds}")
        for name in ("max_line_bytes", "max_queued_bytes", "feed_every_lines",
                     "udp_receive_buffer_bytes", "max_rejects_kept"):
            if getattr(self, name) < 1:
                raise ConfigError(None, f"{name} must be at least 1, not {getattr(self, name)}")
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ConfigError(None, "reconnect back-off must satisfy 0 < reconnect_min_s "
                              f"<= reconnect_max_s (got {self.reconnect_min_s}, "
                              f"{self.reconnect_max_s})")


_TOO_LONG = object()


class LineSplitter:
    """Bytes in, whole lines out, never holding more than ``max_line_bytes`` of a line."""

    def __init__(self, max_line_bytes: int):
        self.max = max_line_bytes
        self.buf = bytearray()
        self.discarding = False

    def push(self, data: bytes):
        """Yield complete lines (without line end) or ``(_TOO_LONG, head)`` for cut ones."""
        start = 0
        while True:
            nl = data.find(b"\n", start)
            chunk = data[start:] if nl < 0 else data[start:nl]
            if self.discarding:
                if nl >= 0:
                    self.discarding = False
            elif len(self.buf) + len(chunk) > self.max:
                head = bytes(self.buf + chunk[: max(0, self.max - len(self.buf))])
                self.buf.clear()
                self.discarding = nl < 0
                yield (_TOO_LONG, head)
            elif nl >= 0:
                line = bytes(self.buf + chunk).rstrip(b"\r")
                self.buf.clear()
                if line.strip():
                    yield line
            else:
                self.buf += chunk
            if nl < 0:
                return
            start = nl + 1

    def reset(self) -> bytes:
        """Drop a partial line (connection lost); return it."""
        partial = bytes(self.buf)
        self.buf.clear()
        self.discarding = False
        return partial


class ChunkQueue:
    """FIFO of line chunks (lists of lines) bounded by the bytes it holds: ``put`` waits
    while full. One chunk is always admitted into an empty queue, so a chunk larger than
    the bound cannot block the reader for ever."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.items: collections.deque = collections.deque()
        self.size = 0
        self.cond = threading.Condition()

    def put(self, chunk: list, nbytes: int, timeout: float) -> bool:
        with self.cond:
            if self.size and self.size + nbytes > self.max_bytes:
                self.cond.wait(timeout)
                if self.size and self.size + nbytes > self.max_bytes:
                    return False
            self.items.append((chunk, nbytes))
            self.size += nbytes
            self.cond.notify_all()
            return True

    def get(self, timeout: float = 0.0) -> list | None:
        with self.cond:
            if not self.items and timeout > 0:
                self.cond.wait(timeout)
            if not self.items:
                return None
            chunk, nbytes = self.items.popleft()
            self.size -= nbytes
            self.cond.notify_all()
            return chunk

    def empty(self) -> bool:
        return not self.items


def _chunk_bytes(chunk: list) -> int:
    return sum(len(item[1]) if isinstance(item, tuple) else len(item) for item in chunk) + len(chunk)


class _Reader(threading.Thread):
    """Reads the source into the line queue until stopped (or end of stdin)."""

    def __init__(self, kind: str, address, limits: WatchLimits, lines: ChunkQueue,
                 stop: threading.Event, log: Callable[[str], None],
                 warn: Callable[[str], None] | None = None):
        super().__init__(daemon=True, name=f"watch-{kind}")
        self.kind, self.address, self.limits = kind, address, limits
        self.lines, self.stop, self.log = lines, stop, log
        self.warn = warn or log
        self.splitter = LineSplitter(limits.max_line_bytes)
        self.ready = threading.Event()
        self.bound: tuple | None = None
        self.eof = False
        self.error: BaseException | None = None
        self.connections = 0

    def _put(self, chunk: list) -> None:
        nbytes = _chunk_bytes(chunk)
        while not self.stop.is_set():
            if self.lines.put(chunk, nbytes, timeout=0.2):
                return

    def _push(self, data: bytes) -> None:
        items = list(self.splitter.push(data))
        if items:
            self._put(items)

    def run(self) -> None:
        try:
            {"udp": self._udp, "tcp": self._tcp, "stdin": self._stdin}[self.kind]()
        except BaseException as exc:      # reported by the main thread
            self.error = exc
        finally:
            self.ready.set()
            self.eof = True

    def _udp(self) -> None:
        host, port = self.address
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            self._grow_receive_buffer(sock)
            sock.bind((host, port))
            sock.settimeout(0.2)
            self.bound = sock.getsockname()[:2]
            self.ready.set()
            size = max(65535, self.limits.max_line_bytes + 1)
            while not self.stop.is_set():
                try:
                    data = sock.recv(size)
                except socket.timeout:
                    continue
                self._push(data if data.endswith(b"\n") else data + b"\n")
        finally:
            sock.close()

    def _grow_receive_buffer(self, sock: socket.socket) -> None:
        """Ask for a large receive buffer: a burst arriving while an analysis runs waits
        there. SO_RCVBUFFORCE may pass the system's cap (root); SO_RCVBUF may not."""
        wanted = self.limits.udp_receive_buffer_bytes
        force = getattr(socket, "SO_RCVBUFFORCE", None)
        try:
            if force is None:
                raise PermissionError
            sock.setsockopt(socket.SOL_SOCKET, force, wanted)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, wanted)
        got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        if got < wanted:
            self.warn(f"UDP receive buffer is {got} bytes (asked for {wanted}); raise "
                     "net.core.rmem_max if bursts are lost")

    def _tcp(self) -> None:
        host, port = self.address
        delay = self.limits.reconnect_min_s
        self.bound = (host, port)
        self.ready.set()
        while not self.stop.is_set():
            got_data = False
            try:
                with socket.create_connection((host, port), timeout=5) as sock:
                    self.connections += 1
                    self.log(f"connected to {host}:{port}")
                    sock.settimeout(0.2)
                    while not self.stop.is_set():
                        try:
                            data = sock.recv(65536)
                        except socket.timeout:
                            continue
                        if not data:
                            break
                        got_data = True
                        delay = self.limits.reconnect_min_s
                        self._push(data)
            except OSError as exc:
                self.warn(f"connection to {host}:{port} failed: {exc.__class__.__name__}")
            partial = self.splitter.reset()     # a last line without its line end
            if partial.strip():
                self._put([partial.rstrip(b"\r")])
            if self.stop.is_set():
                return
            self.log(f"reconnecting to {host}:{port} in {delay:g} s")
            self.stop.wait(delay)
            if not got_data:
                delay = min(delay * 2, self.limits.reconnect_max_s)

    def _stdin(self) -> None:
        self.ready.set()
        stream = sys.stdin.buffer
        while not self.stop.is_set():
            data = stream.read1(65536) if hasattr(stream, "read1") else stream.readline()
            if not data:
                tail = self.splitter.reset()
                if tail.strip():
                    self._put([tail.rstrip(b"\r")])
                return
            self._push(data)


@dataclasses.dataclass
class WatchReport:
    lines: int = 0
    analyses: int = 0
    too_long: int = 0
    counts: dict = dataclasses.field(default_factory=lambda: {"new": 0, "changed": 0,
                                                              "retracted": 0})

    def describe(self) -> str:
        c = self.counts
        return (f"watch stopped: {self.lines} lines, {self.too_long} too long, "
                f"{self.analyses} analyses; alerts: {c['new']} new, {c['changed']} changed, "
                f"{c['retracted']} retracted")


def _too_long_rejects(source: str, items: list[tuple[int, bytes]]) -> pd.DataFrame:
    frame = pd.DataFrame({"source": [source] * len(items),
                          "line": [n for n, _ in items],
                          "reason": [reasons.LINE_TOO_LONG] * len(items),
                          "text": [h[:200].decode("ascii", "replace") for _, h in items]})
    return schema.conform(frame, schema.REJECT_COLUMNS, schema.REJECT_DTYPES)


def watch(kind: str, address, out_dir: str | Path, *, state_dir: str | Path | None = None,
          analysis: Analysis, limits: WatchLimits = WatchLimits(),
          stop: threading.Event | None = None, log: Callable[[str], None] | None = None,
          install_signals: bool = True, quiet: bool = False) -> WatchReport:
    """Watch a feed until stopped (SIGINT/SIGTERM, ``stop`` set, end of stdin).
    ``quiet``: only warnings reach ``log`` (not the start and connection lines)."""
    out_dir = Path(out_dir)
    state_dir = out_dir / "state" if state_dir is None else Path(state_dir)
    log = log or (lambda msg: print(f"shadowfleet watch: {msg}", file=sys.stderr, flush=True))
    warn = log
    if quiet:
        log = lambda msg: None      # noqa: E731 - the informational lines only
    stop = stop or threading.Event()
    report = WatchReport()
    with state_lock(state_dir):
        state = load_state(state_dir)
        remove_stale(state_dir, state.generation)
        out_dir.mkdir(parents=True, exist_ok=True)
        reconcile_log(out_dir, state)
        decoder = state.decoder if state.decoder is not None else ais.IncrementalDecoder()
        state = dataclasses.replace(state, decoder=decoder)

        lines = ChunkQueue(limits.max_queued_bytes)
        reader = _Reader(kind, address, limits, lines, stop, log, warn)
        previous = {}
        if install_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: stop.set())
        try:
            reader.start()
            reader.ready.wait()
            if isinstance(reader.error, OSError):
                where = "standard input" if address is None else f"{address[0]}:{address[1]}"
                raise InputError(None, f"cannot watch {kind} {where} "
                                 f"({reader.error.strerror or reader.error})",
                                 "choose a free port and an address of this machine")
            if reader.error is not None:
                raise reader.error
            where = f"{reader.bound[0]}:{reader.bound[1]}" if reader.bound else "stdin"
            source = f"{kind}:{where}" if kind != "stdin" else "-"
            log(f"watching {kind} {where}; writing to {out_dir}")
            state = _loop(state, state_dir, out_dir, analysis, limits, lines, reader, stop,
                          source, report)
        finally:
            stop.set()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    if isinstance(reader.error, OSError):
        warn(f"the {kind} reader stopped: {reader.error}")
    elif reader.error is not None:
        raise reader.error
    return report


def _loop(state: JobState, state_dir: Path, out_dir: Path, analysis: Analysis,
          limits: WatchLimits, lines: ChunkQueue, reader: _Reader, stop: threading.Event,
          source: str, report: WatchReport) -> JobState:
    decoder = state.decoder
    pending: list[bytes] = []
    too_long: list[tuple[int, bytes]] = []
    batches: list = []
    line_no = int(state.stats.get("watch_lines", 0))
    simulated = provenance.simulated_note(state.stats or {})
    dirty = False
    last_analysis = time.monotonic()

    def feed() -> None:
        nonlocal pending, too_long, dirty
        if pending:
            batches.append(decoder.feed(source, b"\n".join(pending) + b"\n"))
            pending = []
            dirty = True
        if too_long:
            batches.append(ais.Decoded(rejects=_too_long_rejects(source, too_long)))
            too_long = []
            dirty = True

    def analyse_now() -> None:
        nonlocal state, batches, dirty, last_analysis
        feed()
        last_analysis = time.monotonic()
        if not dirty:
            return
        state = accumulate(state, batches)
        state.stats["watch_lines"] = line_no
        if simulated:       # the stream carried the simulator's note (kept in the state)
            state.stats["simulated"] = simulated
        if len(state.rejects) > limits.max_rejects_kept:     # counts in stats stay whole
            state.rejects = state.rejects.iloc[-limits.max_rejects_kept:].reset_index(drop=True)
        batches, dirty = [], False
        result, update, state = analyse_state(state, analysis, state_dir=state_dir)
        state = publish(state_dir, out_dir, state, result, update, figures=analysis.figures,
                        map_vessels=analysis.map_vessels)
        report.analyses += 1
        for k, v in update.counts.items():
            report.counts[k] += v

    while True:
        finished = stop.is_set() or (reader.eof and lines.empty())
        chunk = lines.get(timeout=0.0 if finished else 0.2)
        if chunk is not None:
            for item in chunk:
                line_no += 1
                report.lines += 1
                if isinstance(item, tuple):
                    too_long.append((line_no, item[1]))
                    report.too_long += 1
                    pending.append(b"")     # keeps the decoder's line numbers in step
                else:
                    pending.append(item)
                    if not simulated and item[:1] == b"#":
                        simulated = provenance.note_in_lines([item])
            if len(pending) >= limits.feed_every_lines:
                feed()
        elif finished:
            break
        if time.monotonic() - last_analysis >= limits.every_seconds:
            analyse_now()
    analyse_now()
    return state
