"""``read_inputs``: files, ``.gz`` files, directories and stdin -> one ``Decoded``.

Inputs are read in pieces through one ``IncrementalDecoder`` (the same stages a live
feed uses). The kind of each file is found from its content, not its name: gzip by its
magic bytes, Parquet by ``PAR1``, decoded CSV by its header (``ais.reading.tabular``), anything
else is NMEA (UTF-16 text with a byte-order mark is converted first). A file that
cannot be used (missing, unreadable, empty, binary, no AIS in it, or, with
``require_times``, no receive time on any message) raises ``InputError`` naming the file
and what to do; inside a directory such a file is skipped with a warning instead.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ais import reasons
from ais.assembly.dedup import DedupParams
from ais.errors import InputError, NoReceiveTimeError
from ais.framing.nmea import ACCEPTED_TIME_STYLES
from ais.incremental.decoder import IncrementalDecoder
from ais.progress import Progress
from ais.reading import tabular
from ais.reading.buffers import empty_pools
from ais.reading.sources import STDIN, _expand, _Source, not_ais_head
from ais.tables.decoded import Decoded

__all__ = ["read_inputs", "iter_inputs", "iter_file", "check_file", "InputsRead"]

# files of several receivers are read one after the other: remember kept copies this long
# (receive time) so a later file's duplicates of an earlier file are found
READ_RETENTION_S = 86_400.0


def _read_nmea(dec: IncrementalDecoder, src: _Source, name: str, first: bytes, progress):
    """The ``Decoded`` of each piece of one NMEA input, as it is read."""
    # the next piece is read (and framed) while this one decodes; the fast path keeps
    # no view of a piece once fed, so its buffer can take another piece
    src.prefetch(dec.prepare, kept_buffers=dec.decoder == "fast")
    chunk = first
    framed = None
    while chunk:
        piece = dec.feed(name, chunk, framed=framed, spare=src.lent(chunk))
        src.release(chunk)
        yield piece
        if progress is not None:
            progress.update(src.raw_bytes - progress.n_raw)
            progress.n_raw = src.raw_bytes
        chunk = src.read()
        framed = src.prepared
    yield dec.end_source(name)


class InputsRead:
    """What ``iter_inputs`` found besides the decoded pieces: ``inputs`` ([{path,
    sha256, lines}]) and ``warnings``; complete once the iteration has ended."""

    def __init__(self):
        self.inputs: list[dict] = []
        self.warnings: list[str] = []


def iter_inputs(paths, *, decoder: str = "fast", require_times: bool = False,
                progress: "bool | Progress" = False, read: InputsRead | None = None):
    """``read_inputs`` piece by piece: yields a ``Decoded`` per piece read (about
    ``CHUNK_BYTES`` of text each), so a caller that writes them out as they come keeps
    memory bounded whatever the size of the input. The pieces of a file are held back
    only until the file is known to be usable (its first piece with AIS in it, and with
    ``require_times`` a receive time), as a stray file in a directory is skipped whole.
    ``read`` (an ``InputsRead``) receives the inputs and warnings. ``progress``: a
    ``Progress`` (or True for the command's default) reports the phase "decoding" in
    bytes of input read.
    """
    read = InputsRead() if read is None else read
    files = _expand(paths)
    dec = IncrementalDecoder(decoder=decoder, dedup=DedupParams(retention_s=READ_RETENTION_S))
    total = sum(Path(f).stat().st_size for f, _ in files if f != "-")
    with Progress.of(progress).phase("decoding", total=total, unit="B") as bar:
        yield from _iter_files(files, dec, decoder, require_times, read, bar, paths)


def _iter_files(files, dec, decoder, require_times, read, bar, paths):
    skipped: list[str] = []
    notes: list[str] = []
    no_time = 0
    try:
        for f, explicit in files:
            bar.n_raw = 0
            name = STDIN if f == "-" else f
            src = _Source(f)
            held: list[Decoded] = []        # pieces of a file not yet known to be usable
            counts = _FileCounts()
            try:
                for piece in _read_one(dec, src, name, bar):
                    counts.add(piece)
                    if held is None:
                        yield piece
                    elif _usable(counts, require_times):
                        yield from held
                        yield piece
                        held = None
                    else:
                        held.append(piece)
                check_file(name, counts, require_times)
            except NoReceiveTimeError:
                raise
            except InputError as exc:
                if explicit:
                    raise
                if held is not None:
                    skipped.append(str(exc))     # a stray file in a directory: say so, go on
                    continue
                # its first pieces are out already: keep them, say where it stopped
                notes.append(f"{exc} (kept what was decoded before that)")
            finally:
                src.close()
            if held:
                yield from held
            no_time += counts.stats["no_receive_time"]
            if src.truncated:
                notes.append(f"{name}: gzip data ends early (file cut short?); "
                             "decoded what was there")
            read.inputs.append({"path": name, "sha256": src.sha256(),
                                "lines": counts.stats["lines_read"]})
        if not read.inputs:
            raise InputError(str(paths[0]) if isinstance(paths, (list, tuple)) and paths else None,
                             "no usable AIS file: " + " | ".join(skipped),
                             "give NMEA 0183 (plain or .gz), decoded CSV or Parquet")
        last = dec.finish()
        no_time += last.counts["no_receive_time"]
        yield last
    finally:
        if decoder == "fast":
            empty_pools()           # the kept buffers are for the pieces of one read
    read.warnings.extend([f"skipped {s}" for s in skipped] + notes)
    if no_time:
        read.warnings.append(f"{no_time:,} messages have no receive time (empty timestamp); "
                             "accepted styles: " + "; ".join(ACCEPTED_TIME_STYLES))


class _FileCounts:
    """The counts of a file's pieces added up (the ``stats`` keys ``check_file`` and
    ``iter_inputs`` read), without their frames."""

    KEYS = ("lines_read", "sentences", "messages", "duplicates", "no_receive_time", "rejected")

    def __init__(self):
        self.stats = {k: 0 for k in self.KEYS}
        self.stats["rejected_by_reason"] = {}

    def add(self, d: Decoded) -> "_FileCounts":
        counts = d.counts
        for k in self.KEYS:
            self.stats[k] += counts[k]
        by_reason = self.stats["rejected_by_reason"]
        for k, v in counts["rejected_by_reason"].items():
            by_reason[k] = by_reason.get(k, 0) + v
        return self


def _usable(counts: _FileCounts, require_times: bool) -> bool:
    """The pieces so far show the file is AIS (and timed, when times are required)."""
    s = counts.stats
    kept = s["messages"] - s["duplicates"]
    if s["sentences"] == 0 and s["messages"] == 0:
        return False
    return not require_times or (kept > 0 and s["no_receive_time"] < kept)


def read_inputs(paths, *, decoder: str = "fast", require_times: bool = False,
                progress: "bool | Progress" = False, release=None) -> Decoded:
    """Read and decode AIS from ``paths`` (files, ``.gz``, directories, ``-`` for stdin).

    decoder: ``"fast"`` (numba fast path, pyais for the types it does not cover) or
    ``"pyais"`` (the reference). require_times: refuse a file whose messages carry no
    receive time (``NoReceiveTimeError``); otherwise such messages are kept with an empty
    timestamp and a warning gives their count. progress: a ``Progress`` (or True: a bar
    on a terminal, a line otherwise, on stderr; ``ais.progress``). release: called (no
    argument) while the pieces read are joined, each time one of their columns has been
    let go (``shadowfleet detect`` gives the freed memory back to the system there).
    """
    read = InputsRead()
    pieces = []
    sorter = ThreadPoolExecutor(max_workers=1)
    try:
        for piece in iter_inputs(paths, decoder=decoder, require_times=require_times,
                                 progress=progress, read=read):
            piece.sort_positions_ahead(sorter)    # while the next piece decodes
            pieces.append(piece)
        # the pieces are handed over: their position columns are joined one at a time
        merged = Decoded.merge(pieces, inputs=read.inputs, consume=True, release=release)
        pieces.clear()
        merged.build_statics_ahead(sorter)        # while the caller builds the positions
    finally:
        sorter.shutdown(wait=False)
    merged.warnings.extend(read.warnings)
    return merged


def iter_file(dec: IncrementalDecoder, path, *, bar=None, read: InputsRead | None = None):
    """One input file (or ``-``) decoded piece by piece by ``dec``, the caller's decoder
    (a scheduled job carries its own from run to run), the end of the file included:
    the same kinds, pieces and refusals as ``iter_inputs`` (``InputError`` for a file
    that is missing, unreadable, empty or binary with no NMEA in its head), so memory
    stays bounded whatever the file's size, gzip included. The caller checks the whole
    with ``check_file``. ``bar``: a ``Phase`` of ``ais.progress`` counting bytes read;
    ``read`` gets the file's warnings (a gzip cut short)."""
    name = STDIN if str(path) == "-" else str(path)
    src = _Source(str(path))
    if bar is not None:
        bar.n_raw = 0
    try:
        yield from _read_one(dec, src, name, bar)
    finally:
        src.close()
        if dec.decoder == "fast":
            empty_pools()
    if src.truncated and read is not None:
        read.warnings.append(f"{name}: gzip data ends early (file cut short?); "
                             "decoded what was there")


def _read_one(dec: IncrementalDecoder, src: "_Source", name: str, bar):
    """Decode one input (a decoded table, or NMEA through ``dec``), piece by piece."""
    first = src.read()
    while first and not first.strip():      # blank lines first: read on to the content
        more = src.read()
        if not more:
            break
        first += more
    if not first.strip():
        raise InputError(name, "file is empty", "give a file with AIS data")
    kind = tabular.sniff(first, src.gz)
    if kind is not None:
        rest = [first]
        while chunk := src.read():
            rest.append(chunk)
        yield tabular.read_table(name, b"".join(rest), kind)
        return
    if not_ais_head(first):
        raise InputError(name, "binary file with no NMEA sentence in its first 64 KB, "
                         "not NMEA text or a decoded table",
                         "give NMEA 0183 (plain or .gz), decoded CSV or Parquet")
    yield from _read_nmea(dec, src, name, first, bar)


def check_file(name: str, d, require_times: bool) -> None:
    """Refuse a file with no AIS in it, or, with ``require_times``, none timed (``d``: a
    ``Decoded`` or the counts of its pieces)."""
    s = d.stats
    not_ais = (reasons.NOT_NMEA, reasons.INVALID_UTF8, reasons.LINE_TOO_LONG)
    ais_like = s["rejected"] - sum(s["rejected_by_reason"].get(r, 0) for r in not_ais)
    if s["sentences"] == 0 and s["messages"] == 0 and ais_like == 0:
        raise InputError(name, "no AIS found (no !xxVDM/!xxVDO sentence, no decoded AIS table)",
                         "give NMEA 0183 AIS, a MarineCadastre/DMA CSV or a positions Parquet")
    kept = s["messages"] - s["duplicates"]
    if require_times and kept > 0 and s["no_receive_time"] == kept:
        raise NoReceiveTimeError(
            name, "no receive time on any message",
            "give a feed whose lines carry one of: " + "; ".join(ACCEPTED_TIME_STYLES))
