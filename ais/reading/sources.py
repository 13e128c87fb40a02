"""Input files and stdin as pieces of text: kinds found from content, read ahead.

``_Source`` reads one input (a file, a ``.gz`` file, stdin) in pieces that end at a
line end, with its sha256 worked out on the way; gzip is found by its magic bytes and
UTF-16 text with a byte-order mark is converted to UTF-8. ``prefetch`` moves the
reading (and the fast path's framing of the next piece) to a read-ahead thread.
``expand_inputs`` turns the paths given (directories included) into input files.
"""

from __future__ import annotations

import codecs
import hashlib
import queue
import re
import sys
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ais.errors import InputError
from ais.framing.fast_lines import count_newlines, last_newline, nth_newline
from ais.reading.buffers import BufferPool

__all__ = ["expand_inputs", "CHUNK_BYTES", "GZ_READ_BYTES"]

CHUNK_BYTES = 32 << 20        # decoded text per piece: bounds the memory of one step
# lines per piece: bounds it too when lines are short. Framing costs 168 bytes a line
# and a rejected line a few hundred more, so a piece of 32 MB of two-byte junk lines
# (16 million) took 16 GB. A job over 0.3 GB of 73-byte rejected lines peaked 605 MB
# over its start-up at 500,000 lines a piece, 389 MB at 250,000; the 1M-sentence
# benchmark feed (pieces of 18 MB instead of 32 MB) read in 0.306 s against 0.291 s,
# best of six alternated reads each, within this machine's noise
PIECE_LINES = 250_000
FIRST_PIECE_FRACTION = 8      # the first piece is CHUNK_BYTES / 8, then each grows
# by half: the read-ahead thread frames a piece while the main thread decodes the one
# before, so a piece twice the size of the one before kept the main thread waiting
# (36 to 52 ms a read of the 1M-sentence benchmark feed); reads 4 to 6% faster than
# with doubling (best of 10, three alternated runs)
PIECE_GROWTH = 1.5
GZ_READ_BYTES = 4 << 20       # compressed bytes read at a time
STDIN = "<stdin>"
KEPT_BUFFERS = 2              # read buffers kept for the next pieces of a read


# plain text is read straight into these (``_Source.prefetch(kept_buffers=True)``), one
# read at a time (emptied when it ends): a piece read into memory the process has not
# touched yet costs a page fault per 4 KiB
# (measured on the 1M-sentence benchmark feed read right after a pyais run in the same
# process: 12,000 to 26,000 page faults in reading and joining its pieces alone)
_BUFFERS = BufferPool(np.uint8, CHUNK_BYTES + CHUNK_BYTES // 8, KEPT_BUFFERS)


def _next_size(size: int) -> int:
    """The size of the piece after one of ``size`` bytes."""
    return min(max(int(size * PIECE_GROWTH), 1), CHUNK_BYTES)


def expand_inputs(paths) -> list[str]:
    """Paths as given, directories replaced by their files (recursive, sorted, hidden
    files skipped), ``-`` kept for stdin."""
    return [p for p, _ in _expand(paths)]


def _expand(paths) -> list[tuple[str, bool]]:
    """(path, named explicitly) for every input file; directory members are not explicit."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[tuple[str, bool]] = []
    for p in paths:
        p = str(p)
        if p == "-":
            out.append((p, True))
            continue
        path = Path(p)
        if path.is_dir():
            files = sorted(f for f in path.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(path).parts))
            if not files:
                raise InputError(p, "directory has no files", "give a directory holding AIS files")
            out.extend((str(f), False) for f in files)
        elif path.exists():
            out.append((p, True))
        else:
            raise InputError(p, "no such file or directory", "check the path")
    if not out:
        raise InputError(None, "no input given", "name at least one file, directory or '-'")
    return out


class _Source:
    """Raw bytes of one input in chunks, with its sha256 and the decompressed stream.

    Pieces end at a line end (the text after the last newline waits for the next piece),
    so each piece can be framed on its own. ``prefetch(prepare)`` moves reading, hashing,
    decompressing and ``prepare(piece)`` (the fast path frames the lines there) to a
    thread that stays one piece ahead: those release the GIL, as do the numba kernels
    that decode the piece before, so the two overlap on two cores. ``prepared`` is what
    ``prepare`` gave for the piece ``read`` returned last. Errors surface at the
    ``read`` that would have met them.
    """

    def __init__(self, path: str):
        self.path = path
        self._sha = hashlib.sha256()
        self._hasher: ThreadPoolExecutor | None = None    # hashes the raw bytes in order
        self.raw_bytes = 0
        if path == "-":
            self.fh = sys.stdin.buffer
        else:
            try:
                self.fh = open(path, "rb")
            except PermissionError:
                raise InputError(path, "permission denied", "make the file readable") from None
            except IsADirectoryError:
                raise InputError(path, "is a directory", "give its files") from None
            except OSError as exc:
                raise InputError(path, f"cannot open ({exc.strerror})", "check the file") from None
        self.gz = None
        self.truncated = False
        self._utf16 = None
        self._ahead: queue.Queue | None = None
        self._stop = threading.Event()
        self._tail = b""
        self._backlog = b""     # whole lines read but left out of a piece (PIECE_LINES)
        self.prepared = None
        self._pooled: dict[int, tuple] = {}     # kept buffers lent out as pieces
        # pieces grow to CHUNK_BYTES: the first one, framed while nothing else can run,
        # is small, so the read-ahead thread has the next one ready sooner
        self._size = max(CHUNK_BYTES // FIRST_PIECE_FRACTION, 1)

    def read(self) -> bytes:
        """The next piece of text (about ``CHUNK_BYTES``, ending at a line end unless it
        is the last), ``b""`` at the end."""
        if self._ahead is None:
            self.prepared = None
            return self._next_piece(False)
        kind, value = self._ahead.get()
        if kind == "error":
            raise value
        piece, self.prepared = value
        return piece

    def _next_piece(self, pooled: bool):
        """The next piece: whole lines, at most ``PIECE_LINES`` of them (the lines past
        that wait in the backlog, served before anything more is read)."""
        if self._backlog:
            piece, self._backlog = self._backlog, b""
        else:
            piece = self._pooled_lines() if pooled else self._whole_lines()
        if len(piece) <= PIECE_LINES:       # fewer bytes than lines allowed: fewer lines
            return piece
        arr = np.frombuffer(piece, dtype=np.uint8)
        if count_newlines(arr) <= PIECE_LINES:
            return piece
        cut = nth_newline(arr, PIECE_LINES) + 1
        self._backlog = bytes(piece[cut:])
        return piece[:cut]

    def prefetch(self, prepare=None, kept_buffers: bool = False) -> None:
        """Read ahead in a thread from now on; ``prepare(piece)`` runs there too, and
        the sha256 of what is read is worked out in a third thread (it releases the GIL,
        and fills the time the other two wait for each other).

        ``kept_buffers``: plain text is read straight into the kept buffers of
        ``_BUFFERS``; the pieces are then views of them, valid until ``release(piece)``,
        which the caller must do once it is done with each piece (and has kept no view
        of it: ``release`` then raises ``BufferError``)."""
        self._hasher = ThreadPoolExecutor(max_workers=1)
        self._ahead = queue.Queue(maxsize=1)
        pooled = kept_buffers and self.gz is False and not self._utf16
        threading.Thread(target=self._pump, args=(prepare, pooled), daemon=True).start()

    def lent(self, piece) -> np.ndarray | None:
        """The kept buffer ``piece`` is the start of (None: not a view of one). Until
        ``release``, the buffer after the piece is free for its reader to use."""
        if not isinstance(piece, memoryview):
            return None
        entry = self._pooled.get(id(piece.obj))
        return entry[0] if entry is not None else None

    def release(self, piece) -> None:
        """Give the buffer behind ``piece`` back (once its bytes are hashed); pieces
        that are not views of a kept buffer are left alone."""
        if not isinstance(piece, memoryview):
            return
        entry = self._pooled.pop(id(piece.obj), None)
        if entry is None:
            return
        buf, hashed = entry
        piece.release()
        hashed.result()
        _BUFFERS.give(buf)

    def _pooled_lines(self):
        """``_whole_lines`` read straight into a kept buffer (plain text): a view of
        it, the text carried over from the last piece first."""
        tail = self._tail
        target = self._size
        self._size = _next_size(self._size)
        buf = _BUFFERS.take(len(tail) + target)
        buf[:len(tail)] = np.frombuffer(tail, dtype=np.uint8)
        view = memoryview(buf)
        end = len(tail)
        try:
            while end < len(tail) + target:
                got = self.fh.readinto(view[end:len(tail) + target])
                if not got:
                    break
                end += got
        except OSError as exc:
            raise InputError(self.path, f"cannot read ({exc.strerror})", "check the file") from None
        self.raw_bytes += end - len(tail)
        cut = last_newline(buf[:end]) + 1 if end > len(tail) else end   # at the end: all
        if cut == 0:        # no line end in the whole piece: the general way
            self._hasher.submit(self._sha.update, view[len(tail):end]).result()   # in order
            self._tail = bytes(view[:end])
            _BUFFERS.give(buf)
            return self._whole_lines()
        # the new bytes of the piece are hashed from the buffer, those after its last line
        # end from their copy (the next piece's start): the buffer after the piece is then
        # free for the one who reads the piece (``lent``). The text carried over holds no
        # line end, so the piece's last one is among the new bytes.
        hashed = self._hasher.submit(self._sha.update, view[len(tail):cut])
        self._tail = bytes(view[cut:end])
        if self._tail:
            self._hasher.submit(self._sha.update, self._tail)
        self._pooled[id(buf)] = (buf, hashed)
        return view[:cut]

    def _whole_lines(self) -> bytes:
        parts = [self._tail] if self._tail else []
        size = len(self._tail)
        while True:
            more = self._read()
            if not more:                # the end: what is left, newline or not
                self._tail = b""
                return b"".join(parts)
            cut = more.rfind(b"\n") + 1
            if cut:
                break
            parts.append(more)
            size += len(more)
            if size >= 4 * CHUNK_BYTES:    # a feed without newlines: pass it on
                self._tail = b""
                return b"".join(parts)
        self._tail = more[cut:]
        if not parts and cut == len(more):
            return more                 # no copy
        parts.append(memoryview(more)[:cut])
        return b"".join(parts)          # one copy

    def _pump(self, prepare, pooled: bool) -> None:
        while not self._stop.is_set():
            try:
                piece = self._next_piece(pooled)
                item = ("data", (piece, prepare(piece) if prepare is not None and piece else None))
            except BaseException as exc:    # noqa: BLE001 - handed to the reader
                item = ("error", exc)
            while not self._stop.is_set():
                try:
                    self._ahead.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if item[0] == "error" or not item[1][0]:
                return

    def _raw(self, size: int) -> bytes:
        try:
            raw = self.fh.read(size)
        except OSError as exc:
            raise InputError(self.path, f"cannot read ({exc.strerror})", "check the file") from None
        if self._hasher is not None:
            self._hasher.submit(self._sha.update, raw)
        else:
            self._sha.update(raw)
        self.raw_bytes += len(raw)
        return raw

    def sha256(self) -> str:
        """The sha256 of the raw bytes read so far (waits for the hashing thread)."""
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)
            self._hasher = None
        return self._sha.hexdigest()

    def _read(self) -> bytes:
        target = self._size
        self._size = _next_size(self._size)
        if self.gz is None:
            raw = self._raw(min(target, GZ_READ_BYTES))
            self.gz = raw[:2] == b"\x1f\x8b"
            if not self.gz:
                return self._text(raw + (self._raw(target - len(raw)) if raw else b""))
            self._z = None
            self._zin = raw
        elif not self.gz:
            return self._text(self._raw(target))
        return self._text(self._inflate(target))

    def _inflate(self, target: int) -> bytes:
        """About ``target`` bytes of text from the gzip stream, never more: a small gzip
        can inflate a thousandfold (one line repeated), so the compressed input is fed
        in ``GZ_READ_BYTES`` reads and inflated at most ``target`` bytes at a time, the
        rest of it kept for the next piece (``unconsumed_tail``). ``self._z`` is None
        between two gzip members (a file may hold several, one after the other)."""
        out: list[bytes] = []
        size = 0
        try:
            while size < target:
                if not self._zin:
                    self._zin = self._raw(GZ_READ_BYTES)
                    if not self._zin:                 # end of the file
                        if self._z is not None:       # inside a member: cut short?
                            out.append(self._z.flush())
                            self.truncated = not self._z.eof
                            self._z = None
                        break
                if self._z is None:
                    self._z = zlib.decompressobj(wbits=31)
                piece = self._z.decompress(self._zin, target - size)
                self._zin = self._z.unconsumed_tail
                out.append(piece)
                size += len(piece)
                if self._z.eof:     # the member ended: another may follow. What is left
                    # of the input is in unused_data (some Pythons leave it in
                    # unconsumed_tail as well: not both)
                    self._zin = self._z.unused_data
                    self._z = None
        except zlib.error as exc:
            raise InputError(self.path, f"corrupt gzip data ({exc})", "re-download or re-compress it") from None
        return b"".join(out)

    def _text(self, data: bytes) -> bytes:
        """UTF-16 text (with its byte-order mark, as Windows PowerShell writes it) -> UTF-8."""
        if self._utf16 is None:
            self._utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")
            if self._utf16:
                self._u16 = codecs.getincrementaldecoder("utf-16")(errors="replace")
        if not self._utf16:
            return data
        return self._u16.decode(data, final=not data).encode("utf-8")

    def close(self):
        self._stop.set()
        if self._hasher is not None:     # what was read is hashed (``sha256`` after close)
            self._hasher.shutdown(wait=True)
        if self.fh is not sys.stdin.buffer:
            self.fh.close()


_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r"
# what an AIS sentence looks like anywhere in a line: the lead, a talker, VDM/VDO
_NMEA_LIKE = re.compile(rb"[!$][A-Za-z]{2}VD[MO],")
HEAD_BYTES = 1 << 16          # how much of a file's text decides it is not AIS at all


def _looks_binary(head: bytes) -> bool:
    """The text of a file's head is not text at all: a NUL, or under 70% printable."""
    sample = bytes(head[:HEAD_BYTES])
    if b"\x00" in sample:
        return True
    text = len(sample) - len(sample.translate(None, _TEXT_BYTES))
    return len(sample) > 0 and text / len(sample) < 0.7


def not_ais_head(head: bytes) -> bool:
    """A file whose head is binary (a PDF, an image, an archive) and holds no line that
    looks like NMEA: refused whole. A head with one NMEA-looking sentence is read line by
    line instead, whatever else it holds (NUL bytes of a serial capture, junk): its bad
    lines are rejects with their reasons and every valid line decodes."""
    sample = bytes(head[:HEAD_BYTES])
    return _looks_binary(sample) and _NMEA_LIKE.search(sample) is None
