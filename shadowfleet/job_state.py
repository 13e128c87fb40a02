"""The state directory a scheduled job (or a watch with ``--state``) carries between runs.

Layout of ``--state DIR`` (format 4: JSON, Parquet and NumPy arrays, no pickle)::

    lock                  exclusive fcntl lock held for the whole run (and the holder's pid)
    CURRENT               {"format": 4, "generation": N}: the committed generation
    gen-0000000N/
        manifest.json     {"format": 4, ...}: processed input files by sha256, log record
                          count, decode stats, the log lines of the last run, the
                          incremental decoder's state (JSON part), the tails' horizon,
                          the archive's chunks, and the size and sha256 of every other
                          file of the generation
        positions.parquet every vessel's tail (:mod:`shadowfleet.job_tails`): the
                          positions the next run needs, not everything decoded
        statics.parquet rejects.parquet   every static report; the last rejected lines
        events-*.parquet  every event found so far (visits, dark periods, jumps,
                          loitering, stays, encounters) and first_fixes.parquet (each
                          vessel's first trusted fix, for the ranking)
        open-gap-others.parquet   per dark period open at the end of the run (mmsi,
                          track, start_utc), the other vessels (other_mmsi, other_track)
                          its others_received counts: the next run adds only its new
                          data's (optional: a state without it reads the archive once)
        alerts.parquet    the alert book (every alert id, its latest version and status)
        settled-alerts.parquet   the alerts a run may reuse rather than build again
                          (shadowfleet.job_tails: dark periods, spoofing jumps,
                          encounters, loitering, with what they rest on; optional: a
                          state without it builds every alert once)
        decoder.npz       the incremental decoder's arrays (fragment buffers, dedup window,
                          pending text), read with ``allow_pickle=False``
        outputs.done      present once --out has been written for this generation
    archive/chunk-0000000N.parquet   the positions that left the tails in generation N
                          (with their ``spoofed`` and ``track``), written once, listed with
                          their size, time span and trusted positions in the manifests
                          that use them; in vessel order, in row groups of
                          ARCHIVE_ROW_GROUP_ROWS, with page checksums; read only by a run
                          that needs them: whole by a late file, in part by claims and
                          watchlists (KeptPositions), from its start by a long dark period,
                          from the late data's time on by a run given a late file: the
                          rows such a run takes back into the tails are listed in the
                          chunk's entry (``superseded``: [mmsi, from ns] pairs) and left
                          out by every reader; the chunk itself is never rewritten
    archive/chunk-0000000N.index.parquet   the chunk's vessels (INDEX_COLUMNS: each MMSI's
                          first and last receive time, first and last with a position, last
                          trusted fix), written with its chunk, listed with its size and
                          sha256 in the chunk's entry (a chunk written before it had one
                          gets it once, when a run first needs it)

A run builds generation N+1 in a temporary directory, fsyncs it, renames it into place and
then replaces ``CURRENT`` atomically (temporary file, fsync, rename). A run killed at any
moment therefore leaves either generation N or N+1 committed, never a mixture; the
next run deletes the leftovers and finishes the work (re-appending the log lines and
rewriting the outputs the committed generation says are due).

Reading a state never runs code from it: state that is not what this version writes
(corrupt, cut short, changed by hand, of an older or newer format) is a ``StateError``,
one line naming the file and the remedy. Format 1 (before 0.2) kept the decoder and the
book in a pickle; it is refused, not read. Format 2 (everything decoded in
positions.parquet, no events) is migrated: it is read as a state with no tails yet, so the
next run analyses all its positions once, as format 2 runs did, and commits format 4.
Format 3 (tails, before the chunks' indexes and ``superseded`` rows) is read as it is:
its chunks get their index when a run first needs it, and the next commit is format 4.
A version that reads format 3 refuses format 4 in one line: it would read a chunk's
superseded rows as well as the tails that took them back, counting them twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

import ais.schema as schema
from ais.errors import DecoderStateError
from ais.incremental.decoder import IncrementalDecoder
from shadowfleet.alert_book import _FINGERPRINT, empty_book, normalise
from shadowfleet.errors import ShadowfleetError, StateError
from shadowfleet.outputs.columns import ALERT_BOOK_COLUMNS
from shadowfleet.outputs.files import _fsync_dir, atomic_write_text, write_failed

STATE_FORMAT = 4
_MIGRATED_FORMATS = (2, 3)
_TAILS_FORMATS = (3, 4)     # formats with tails, events and an archive
_TABLES = ("positions.parquet", "statics.parquet", "rejects.parquet", "alerts.parquet")
_EVENT_TABLES = ("visits", "gaps", "jumps", "loitering", "stays", "encounters")
_EXTRA_TABLES = tuple(f"events-{n}.parquet" for n in _EVENT_TABLES) + ("first_fixes.parquet",)
_DECODER = "decoder.npz"
_OPEN_OTHERS = "open-gap-others.parquet"     # optional (states before it have none)
_SETTLED_ALERTS = "settled-alerts.parquet"   # optional (states before it have none)
OPEN_OTHERS_COLUMNS = ("mmsi", "track", "start_utc", "other_mmsi", "other_track")
ARCHIVE = "archive"
ARCHIVE_ROW_GROUP_ROWS = 65_536     # rows per row group of an archive chunk
# a chunk's index: per MMSI, its first and last receive time, first and last with a
# position, and last trusted (a position not flagged spoofed) fix; ns, NO_TIME for none
INDEX_COLUMNS = ("mmsi", "first_ns", "last_ns", "fix_first_ns", "fix_last_ns",
                 "trusted_last_ns")
NO_TIME = np.iinfo(np.int64).min
_RESTORE = "restore the state directory from a backup, or start over with a new --state and --out"


class LockHeld(ShadowfleetError):
    """Another run holds the state directory's lock (not a failure: that run does the work)."""


@contextlib.contextmanager
def state_lock(state_dir: str | Path):
    """Hold the exclusive lock of ``state_dir`` (fcntl, released when the process dies)."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise LockHeld(f"another run (pid {holder}) holds the lock on {path}; "
                           "it does the work, nothing to do") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(fd)


@dataclasses.dataclass
class JobState:
    """Everything carried from one run to the next."""

    generation: int = 0
    positions: pd.DataFrame = dataclasses.field(
        default_factory=lambda: schema.empty_frame(schema.POSITION_COLUMNS, schema.POSITION_DTYPES))
    statics: pd.DataFrame = dataclasses.field(
        default_factory=lambda: schema.empty_frame(schema.STATIC_COLUMNS, schema.STATIC_DTYPES))
    rejects: pd.DataFrame = dataclasses.field(
        default_factory=lambda: schema.empty_frame(schema.REJECT_COLUMNS, schema.REJECT_DTYPES))
    decoder: IncrementalDecoder | None = None
    book: pd.DataFrame = dataclasses.field(default_factory=empty_book)
    processed: dict[str, dict] = dataclasses.field(default_factory=dict)
    log_rows: int = 0                 # log records once this generation's lines are appended
    pending_log: list[str] = dataclasses.field(default_factory=list)
    stats: dict = dataclasses.field(default_factory=dict)
    outputs_done: bool = True
    # the tails (shadowfleet.job_tails): events so far (name -> table; None before the
    # first run with tails), each vessel's first trusted fix, the horizon of the tails
    # (ns; positions at or after it are all kept), the latest first-kept time of any
    # vessel (ns; the dark periods starting before it count others in the archive)
    events: dict | None = None
    first_fixes: pd.DataFrame | None = None
    horizon_ns: int | None = None
    complete_ns: int | None = None
    archive: list = dataclasses.field(default_factory=list)   # chunk entries, oldest first
    # per dark period open at the end of the last run, the other vessels it counted
    # (OPEN_OTHERS_COLUMNS; None: not known, as after a full re-analysis or in an older
    # state: the next run counts them from the archive)
    open_others: pd.DataFrame | None = None
    # the settled alerts of the last run a run may reuse instead of building them again
    # (shadowfleet.job_tails.SETTLED_KINDS, with SETTLED_EXTRA; None: not known, as after
    # a full re-analysis or in an older state: the next run builds every alert)
    settled_alerts: pd.DataFrame | None = None
    # this run only: positions that leave the tails (the next chunk), whether they replace
    # the archive (a run that re-analysed everything), the earliest new position (ns)
    retired: pd.DataFrame | None = None
    replace_archive: bool = False
    new_earliest_ns: int | None = None


def _gen_dir(state_dir: Path, generation: int) -> Path:
    return state_dir / f"gen-{generation:08d}"


def _check_format(path: Path, fmt: Any) -> None:
    if fmt == STATE_FORMAT or fmt in _MIGRATED_FORMATS:
        return
    if fmt == 1:
        raise StateError(f"{path}: state format 1, written by shadowfleet 0.1 (it kept the "
                         f"decoder in a pickle, which this version does not read: a pickle can "
                         f"run code); this version reads format {STATE_FORMAT}: start over with "
                         "a new --state and --out directory")
    if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > STATE_FORMAT:
        raise StateError(f"{path}: state format {fmt} is newer than this version reads "
                         f"({STATE_FORMAT}); upgrade shadowfleet, or start over with a new "
                         "--state and --out directory")
    raise StateError(f"{path}: unknown state format {fmt!r}; {_RESTORE}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _json_object(path: Path, what: str) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{path}: {what} missing; {_RESTORE}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateError(f"{path}: {what} unreadable ({exc.__class__.__name__}); "
                         f"{_RESTORE}") from None
    if not isinstance(value, dict):
        raise StateError(f"{path}: {what} is not a JSON object; {_RESTORE}")
    return value


def _field(manifest: dict, key: str, kind: type, path: Path):
    value = manifest.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise StateError(f"{path}: {key!r} missing or not {kind.__name__}; {_RESTORE}")
    return value


def load_state(state_dir: str | Path) -> JobState:
    """The committed state (a fresh one when the directory holds none)."""
    state_dir = Path(state_dir)
    current = state_dir / "CURRENT"
    if not current.exists():
        return JobState()
    pointer = _json_object(current, "the pointer to the committed generation")
    _check_format(current, pointer.get("format"))
    generation = _field(pointer, "generation", int, current)
    gen = _gen_dir(state_dir, generation)
    if not gen.is_dir():
        raise StateError(f"{gen}: the committed generation is missing; {_RESTORE}")
    path = gen / "manifest.json"
    manifest = _json_object(path, "the generation's manifest")
    _check_format(path, manifest.get("format"))
    if _field(manifest, "generation", int, path) != generation:
        raise StateError(f"{path}: a manifest of another generation; {_RESTORE}")
    files = _field(manifest, "files", dict, path)
    fmt = manifest.get("format")
    for name, entry in files.items():
        f = gen / name
        if (name not in _TABLES + _EXTRA_TABLES + (_DECODER, _OPEN_OTHERS, _SETTLED_ALERTS)
                or not isinstance(entry, dict)):
            raise StateError(f"{path}: unexpected file entry {name!r}; {_RESTORE}")
        if (not f.is_file() or f.stat().st_size != entry.get("bytes")
                or _sha256(f) != entry.get("sha256")):
            raise StateError(f"{f}: does not match the manifest (changed, cut short or "
                             f"missing); {_RESTORE}")
    for name in _TABLES + (_EXTRA_TABLES if fmt in _TAILS_FORMATS else ()):
        if name not in files:
            raise StateError(f"{path}: {name} not listed; {_RESTORE}")
    processed = _field(manifest, "processed", dict, path)
    log_rows = _field(manifest, "log_rows", int, path)
    pending_log = _field(manifest, "pending_log", list, path)
    if not all(isinstance(line, str) for line in pending_log):
        raise StateError(f"{path}: 'pending_log' is not a list of lines; {_RESTORE}")
    stats = _field(manifest, "stats", dict, path)
    positions = _table(gen / "positions.parquet", lambda f: _ns(schema.conform(
        f, schema.POSITION_COLUMNS, schema.POSITION_DTYPES)))
    statics = _table(gen / "statics.parquet", lambda f: _ns(schema.conform(
        f, schema.STATIC_COLUMNS, schema.STATIC_DTYPES)))
    rejects = _table(gen / "rejects.parquet", lambda f: schema.conform(
        f, schema.REJECT_COLUMNS, schema.REJECT_DTYPES))
    book = _table(gen / "alerts.parquet", _book)
    decoder = None
    meta = manifest.get("decoder")
    if meta is not None or _DECODER in files:
        decoder = _decoder(gen / _DECODER, meta, _DECODER in files)
    tails = {}
    if fmt in _TAILS_FORMATS:
        tails = _tails(state_dir, gen, manifest, path)
        if _OPEN_OTHERS in files:
            tails["open_others"] = _table(gen / _OPEN_OTHERS, _open_others)
        if _SETTLED_ALERTS in files:
            tails["settled_alerts"] = _table(gen / _SETTLED_ALERTS, _settled_alerts)
    return JobState(generation=generation, positions=positions, statics=statics,
                    rejects=rejects, decoder=decoder, book=book, processed=processed,
                    log_rows=log_rows, pending_log=list(pending_log), stats=stats,
                    outputs_done=(gen / "outputs.done").exists(), **tails)


def _optional_int(manifest: dict, key: str, path: Path) -> int | None:
    value = manifest.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise StateError(f"{path}: {key!r} is not an integer; {_RESTORE}")
    return value


def _tails(state_dir: Path, gen: Path, manifest: dict, path: Path) -> dict:
    """The tails' part of a format-3 or format-4 generation; the archive's chunks are checked by
    size (they are written once and may be large: their sha256 is checked when read)."""
    archive = _field(manifest, "archive", list, path)
    for entry in archive:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) \
                or "/" in entry["name"] or not entry["name"].startswith("chunk-"):
            raise StateError(f"{path}: unexpected archive entry {entry!r}; {_RESTORE}")
        f = state_dir / ARCHIVE / entry["name"]
        if not f.is_file() or f.stat().st_size != entry.get("bytes"):
            raise StateError(f"{f}: does not match the manifest (changed, cut short or "
                             f"missing); {_RESTORE}")
        gone = entry.get("superseded", [])
        if not isinstance(gone, list) or not all(
                isinstance(g, list) and len(g) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in g) for g in gone):
            raise StateError(f"{path}: unexpected 'superseded' in archive entry "
                             f"{entry['name']!r}; {_RESTORE}")
        if "index_bytes" in entry:
            f = state_dir / ARCHIVE / index_name(entry["name"])
            if not f.is_file() or f.stat().st_size != entry["index_bytes"]:
                raise StateError(f"{f}: does not match the manifest (changed, cut short or "
                                 f"missing); {_RESTORE}")
    events = {n: _table(gen / f"events-{n}.parquet", _ns_all) for n in _EVENT_TABLES}
    return {"events": events, "first_fixes": _table(gen / "first_fixes.parquet", _ns_all),
            "horizon_ns": _optional_int(manifest, "horizon_ns", path),
            "complete_ns": _optional_int(manifest, "complete_ns", path),
            "archive": [dict(e) for e in archive]}


def read_archive(state_dir: str | Path, archive: list, *, since_ns: int | None = None,
                 columns: list | None = None, windows=None) -> pd.DataFrame:
    """The archived positions (of the chunks listed in ``archive``) at or after
    ``since_ns`` (all when None) and, given ``windows`` ((first, last) ns pairs, bounds
    included), inside one of them: only the chunks whose times overlap one are read. In
    (mmsi, timestamp) order; each chunk read is checked against its sha256."""
    frames = []
    spans = None if windows is None else np.asarray(list(windows), dtype=np.int64).reshape(-1, 2)
    for entry in archive:
        if since_ns is not None and entry.get("tmax") is not None and entry["tmax"] < since_ns:
            continue
        if spans is not None and entry.get("tmin") is not None and entry.get("tmax") is not None \
                and not ((spans[:, 0] <= entry["tmax"]) & (spans[:, 1] >= entry["tmin"])).any():
            continue
        f = Path(state_dir) / ARCHIVE / entry["name"]
        if _sha256(f) != entry.get("sha256"):
            raise StateError(f"{f}: does not match the manifest (changed or cut short); "
                             f"{_RESTORE}")
        frame = live_rows(_table(f, _ns), entry)
        if since_ns is not None:
            frame = frame[frame["timestamp"] >= pd.Timestamp(since_ns, tz="UTC")]
        if spans is not None and len(frame):
            t = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
            order = np.argsort(spans[:, 0], kind="stable")
            lo, hi = spans[order, 0], np.maximum.accumulate(spans[order, 1])
            # the window starting last at or before t, with the latest end so far
            k = np.searchsorted(lo, t, side="right") - 1
            inside = (k >= 0) & (hi[np.maximum(k, 0)] >= t)
            frame = frame[inside]
        if columns is not None:
            frame = frame[columns]
        frames.append(frame)
    if not frames:
        out = schema.empty_frame(schema.POSITION_COLUMNS, schema.POSITION_DTYPES)
        out["spoofed"] = pd.Series([], dtype=bool)
        out["track"] = pd.Series([], dtype=np.int64)
        return out if columns is None else out[columns]
    return schema.sort_by_vessel_time(pd.concat(frames, ignore_index=True))


def live_rows(frame: pd.DataFrame, entry: dict) -> pd.DataFrame:
    """``frame`` (rows of chunk ``entry``) without the rows a late file's run took back
    into the tails: the entry's ``superseded`` pairs (mmsi, ns) drop that vessel's rows
    at or after that time (they are in the tails, or in a later chunk, now)."""
    gone = entry.get("superseded")
    if not gone or not len(frame):
        return frame
    pairs = pd.DataFrame(gone, columns=["mmsi", "from_ns"]).groupby("mmsi")["from_ns"].min()
    t = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    since = pairs.reindex(frame["mmsi"].to_numpy(dtype=np.int64),
                          fill_value=np.iinfo(np.int64).max).to_numpy(dtype=np.int64)
    return frame[t < since].reset_index(drop=True)


def supersede(entry: dict, rows: pd.DataFrame, since: pd.Series) -> dict:
    """A copy of chunk ``entry`` whose rows of the vessels ``since`` (mmsi -> ns) at or
    after that time, ``rows`` (read from it), are taken back into the tails: listed as
    ``superseded`` (every reader leaves them out) and out of its counts. Its time span
    and index stay as they were: bounds a reader narrows by what it reads."""
    out = dict(entry)
    out["superseded"] = list(entry.get("superseded", [])) + [
        [int(m), int(t)] for m, t in since.items()]
    out["rows"] = int(entry["rows"]) - len(rows)
    if "trusted" in entry:
        out["trusted"] = int(entry["trusted"]) - int(_trusted(rows).sum())
    return out


def index_name(chunk: str) -> str:
    """The file name of chunk ``chunk``'s index."""
    return chunk[:-len(".parquet")] + ".index.parquet"


def chunk_index(frame: pd.DataFrame) -> pd.DataFrame:
    """The index of a chunk of archived rows (INDEX_COLUMNS, one row per MMSI in order):
    what a run reads of a chunk to know whose rows it holds and when, without the rows."""
    t = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    timed = frame["timestamp"].notna().to_numpy()
    fix = timed & (frame["lat"].notna() & frame["lon"].notna()).to_numpy()
    trusted = _trusted(frame)
    m = frame["mmsi"].to_numpy(dtype=np.int64)
    big = np.iinfo(np.int64).max
    parts = pd.DataFrame({"mmsi": m[timed], "first_ns": t[timed], "last_ns": t[timed],
                          "fix_first_ns": np.where(fix, t, big)[timed],
                          "fix_last_ns": np.where(fix, t, NO_TIME)[timed],
                          "trusted_last_ns": np.where(trusted, t, NO_TIME)[timed]})
    out = parts.groupby("mmsi", sort=True).agg(
        first_ns=("first_ns", "min"), last_ns=("last_ns", "max"),
        fix_first_ns=("fix_first_ns", "min"), fix_last_ns=("fix_last_ns", "max"),
        trusted_last_ns=("trusted_last_ns", "max")).reset_index()
    out["fix_first_ns"] = out["fix_first_ns"].where(out["fix_first_ns"] != big, NO_TIME)
    return out[list(INDEX_COLUMNS)].astype(np.int64)


def _write_index(state_dir: Path, entry: dict, index: pd.DataFrame) -> None:
    """Write ``entry``'s index (a temporary file renamed into place: a run killed while
    writing it leaves the entry without one, which the next run writes again) and record
    its size and sha256 in the entry."""
    folder = Path(state_dir) / ARCHIVE
    f = folder / index_name(entry["name"])
    tmp = folder / f".{f.name}.tmp-{os.getpid()}"
    try:
        index.to_parquet(tmp, index=False, engine="pyarrow")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, f)
        _fsync_dir(folder)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_failed(state_dir, exc) from exc
    entry.update(index_bytes=f.stat().st_size, index_sha256=_sha256(f))


def archive_index(state_dir: str | Path, entry: dict) -> pd.DataFrame:
    """The index of the chunk ``entry`` (checked against its sha256). A chunk written
    before chunks had one is read once (its sha256 checked) and its index written: the
    entry, shared with the state, lists it in the manifests to come."""
    state_dir = Path(state_dir)
    if "index_sha256" in entry:
        f = state_dir / ARCHIVE / index_name(entry["name"])
        if not f.is_file() or _sha256(f) != entry["index_sha256"]:
            raise StateError(f"{f}: does not match the manifest (changed, cut short or "
                             f"missing); {_RESTORE}")
        return _table(f, _index)
    index = chunk_index(read_archive(state_dir, [entry], columns=list(_SEARCHED)))
    _write_index(state_dir, entry, index)
    return index


def _index(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in INDEX_COLUMNS if c not in frame.columns]
    if missing:
        raise KeyError(f"a chunk's index lacks {missing}")
    return frame[list(INDEX_COLUMNS)].astype(np.int64)


def write_archive_chunk(state_dir: str | Path, name: str, rows: pd.DataFrame) -> dict:
    """Write archived ``rows`` (with ``spoofed`` and ``track``) as chunk ``name`` and its
    index, in vessel and time order, in row groups of ARCHIVE_ROW_GROUP_ROWS (a read of
    some vessels' rows skips the other row groups by their MMSI statistics), with page
    checksums (a read in part checks what it reads); returns its manifest entry. The
    chunk is listed by the generation committed after it: a run killed before that
    leaves it unlisted, deleted later."""
    state_dir = Path(state_dir)
    folder = state_dir / ARCHIVE
    folder.mkdir(exist_ok=True)
    f = folder / name
    t = rows["timestamp"]
    trusted = _trusted(rows)
    entry = {"name": name, "rows": int(len(t)), "tmin": int(t.min().value),
             "tmax": int(t.max().value), "trusted": int(trusted.sum()),
             "trusted_tmax": int(t[trusted].max().value) if trusted.any() else None}
    try:
        ordered = schema.sort_by_vessel_time(rows)
        ordered.to_parquet(f, index=False, engine="pyarrow",
                           row_group_size=ARCHIVE_ROW_GROUP_ROWS, write_page_checksum=True)
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
        _fsync_dir(folder)
    except OSError as exc:
        raise write_failed(state_dir, exc) from exc
    entry.update(bytes=f.stat().st_size, sha256=_sha256(f))
    _write_index(state_dir, entry, chunk_index(ordered))
    return entry


# what the reception caveats search (shadowfleet.scale.writer.RECEPTION_COLUMNS)
_SEARCHED = (*schema.POSITION_COLUMNS[:4], "spoofed")     # mmsi, timestamp, lat, lon


class KeptPositions:
    """Every position a job has kept, the archive's chunks and this run's tails, read the
    way a Dask run's partitions are (:class:`shadowfleet.scale.writer.PartitionWriter`:
    ``positions_of``, ``last_seen``, ``each_partition``), so that claims and watchlists
    (``pipeline.conclude(partitions=...)``) never read the whole archive: the claimed and
    listed vessels' rows (an MMSI filter that skips the chunks' other row groups), each
    vessel's last time (in its tail: a tail always holds the vessel's last position), and
    for the reception caveats the chunks whose times overlap the dark period searched.

    Of the archive, only rows with a position are read: the chunks keep a vessel's
    messages without one too (a dark period's own messages), which the cleaned positions
    an analysis of all the data reads do not hold.

    ``tails``: this run's cleaned positions (with ``spoofed``), in memory; ``vessels``:
    every MMSI of the tails, those without a position there too. A chunk read
    in part is checked by its size (when the state is loaded) and its pages' checksums
    (chunks written before they had them: by Parquet's structure only); a whole chunk
    (:func:`read_archive`) by its sha256."""

    def __init__(self, state_dir: str | Path, archive: list, tails: pd.DataFrame,
                 vessels=None):
        self.state_dir, self.archive, self.tails = Path(state_dir), list(archive), tails
        self.vessels = (np.unique(tails["mmsi"].to_numpy(dtype=np.int64)) if vessels is None
                        else np.unique(np.asarray(vessels, dtype=np.int64)))
        self._tails_ns = tails["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        # positions read from the archive (positions_of), and searched a chunk at a time
        # (each_partition); chunks opened
        self.rows_read = {"positions": 0}
        self.rows_scanned = 0
        self.chunks_read = 0
        self._indexes = None

    def _path(self, entry: dict) -> Path:
        return self.state_dir / ARCHIVE / entry["name"]

    def _read(self, entries: list, columns, filter_) -> pd.DataFrame | None:
        import pyarrow.dataset as ds

        if not entries:
            return None
        fmt = ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(
            page_checksum_verification=True))
        # chunks with superseded rows one at a time (those rows left out), the others in
        # one dataset
        plain = [e for e in entries if not e.get("superseded")]
        groups = ([plain] if plain else []) + [[e] for e in entries if e.get("superseded")]
        frames = []
        for group in groups:
            files = [str(self._path(e)) for e in group]
            cols = list(columns)
            if len(group) == 1 and group[0].get("superseded"):
                cols = list(dict.fromkeys([*cols, "mmsi", "timestamp"]))
            try:
                dataset = ds.dataset(files, format=fmt)
                cols = [c for c in cols if c in dataset.schema.names]
                table = dataset.to_table(columns=cols, filter=filter_)
            except (OSError, ValueError, pa.ArrowException) as exc:
                raise StateError(f"{Path(files[0]).parent}: an archive chunk is unreadable "
                                 f"({exc.__class__.__name__}: "
                                 f"{' '.join(str(exc).split())[:200]}); {_RESTORE}") from None
            self.chunks_read += len(files)
            frame = table.to_pandas()
            if "timestamp" in frame:
                frame = _ns(frame)
            if len(group) == 1 and group[0].get("superseded"):
                frame = live_rows(frame, group[0])[[c for c in columns if c in frame.columns]]
            frames.append(frame)
        return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)

    def last_seen(self) -> pd.DataFrame:
        """Receive times of each vessel's positions (columns mmsi, timestamp) whose latest
        is the vessel's last (``detectors.identity.imo_spells``): the tails' (every
        archived row of a vessel is older than its tail), and the archived rows of the
        vessels whose tails hold no position."""
        seen = self.tails[["mmsi", "timestamp"]]
        missing = np.setdiff1d(self.vessels, seen["mmsi"].to_numpy(dtype=np.int64))
        if not len(missing):
            return seen
        old = self._positioned(missing, ["mmsi", "timestamp"])
        if old is None or not len(old):
            return seen
        return pd.concat([old, seen], ignore_index=True)

    def seen_of(self, mmsis) -> pd.DataFrame:
        """What a watchlist match reads of the positions of the vessels ``mmsis``
        (``shadowfleet.watchlist``): each one's first and last receive time of a
        position and its last fix (columns first_utc, last_utc, lat, lon; indexed by
        mmsi; a vessel with no position is left out), as of every position kept. The
        archive's times come from its chunks' indexes; the last fix from the tails
        (every archived row of a vessel is older than its tail rows), or for a vessel
        whose tails hold no position, from the one chunk holding its last (its rows at
        that time only)."""
        import pyarrow.dataset as ds

        wanted = np.unique(np.asarray(list(mmsis), dtype=np.int64))
        mine = (self.tails["mmsi"].isin(wanted) & self.tails["timestamp"].notna()).to_numpy()
        tails = self.tails.loc[mine, ["mmsi", "timestamp", "lat", "lon"]]
        times = [pd.DataFrame({"mmsi": tails["mmsi"].to_numpy(dtype=np.int64),
                               "first": self._tails_ns[mine], "last": self._tails_ns[mine]})]
        latest = []
        for k, index in enumerate(self.indexes()):
            sub = index[index["mmsi"].isin(wanted) & (index["fix_last_ns"] != NO_TIME)]
            times.append(pd.DataFrame({"mmsi": sub["mmsi"].to_numpy(dtype=np.int64),
                                       "first": sub["fix_first_ns"].to_numpy(dtype=np.int64),
                                       "last": sub["fix_last_ns"].to_numpy(dtype=np.int64)}))
            latest.append(sub[["mmsi", "fix_last_ns"]].assign(chunk=k))
        both = pd.concat(times, ignore_index=True)
        cols = ["first_utc", "last_utc", "lat", "lon"]
        if not len(both):
            return pd.DataFrame(columns=cols)
        g = both.groupby("mmsi")
        out = pd.DataFrame({"first_utc": pd.to_datetime(g["first"].min(), utc=True),
                            "last_utc": pd.to_datetime(g["last"].max(), utc=True)})
        fixes = tails.dropna(subset=["lat", "lon"]).sort_values(
            ["mmsi", "timestamp"], kind="mergesort").groupby("mmsi")[["lat", "lon"]].last()
        parts = [fixes]
        missing = out.index.difference(fixes.index)
        if len(missing):
            last = pd.concat(latest, ignore_index=True)
            last = last[last["mmsi"].isin(missing)]
            top = last.groupby("mmsi")["fix_last_ns"].transform("max")
            last = last[last["fix_last_ns"] == top]
            for k, grp in last.groupby("chunk", sort=True):
                at = pd.to_datetime(grp["fix_last_ns"].to_numpy(), utc=True)
                frame = self._read([self.archive[k]], ["mmsi", "timestamp", "lat", "lon"],
                                   ds.field("mmsi").isin(grp["mmsi"].to_numpy())
                                   & ds.field("timestamp").isin(pa.array(at)))
                frame = frame.dropna(subset=["lat", "lon"])
                self.rows_read["positions"] += len(frame)
                parts.append(frame.groupby("mmsi")[["lat", "lon"]].last())
        # a later chunk's fix at the same time comes after an earlier one's, as in one
        # frame of the archive in chunk order
        fix = pd.concat(parts)
        fix = fix[~fix.index.duplicated(keep="last")]
        out = out.join(fix, how="left")
        out.index = out.index.astype(np.int64)
        return out[cols]

    def indexes(self) -> list:
        """The index of every chunk (:func:`archive_index`), in archive order."""
        if self._indexes is None:
            self._indexes = [archive_index(self.state_dir, e) for e in self.archive]
        return self._indexes

    def _positioned(self, wanted: np.ndarray, cols: list) -> pd.DataFrame | None:
        """The archived rows with a position of the vessels ``wanted`` (``cols``)."""
        import pyarrow.dataset as ds

        if not len(wanted):
            return None
        extra = [c for c in ("lat", "lon") if c not in cols]
        old = self._read(self.archive, cols + extra, ds.field("mmsi").isin(wanted))
        if old is None:
            return None
        old = old[old["lat"].notna() & old["lon"].notna()]
        return old[[c for c in cols if c in old.columns]].reset_index(drop=True)

    def positions_of(self, mmsis, columns=_SEARCHED, *, window=None) -> pd.DataFrame:
        """The positions of the vessels ``mmsis`` only (``columns`` of them), archive and
        tails, in vessel and time order. ``window`` (start, end): only the rows a claim
        with that window consults (:func:`shadowfleet.claims.vessels.coverage_positions`:
        those inside it, each vessel's last trusted one before it and first after it);
        of the archive only the chunks whose times overlap the window are read inside
        it (a timestamp filter), then, for the fixes either side, the chunks nearest the
        window in time until no further chunk can hold a nearer one."""
        wanted = np.unique(np.asarray(list(mmsis), dtype=np.int64))
        cols = [c for c in columns if c in self.tails.columns]
        tails = self.tails.loc[self.tails["mmsi"].isin(wanted), cols]
        if window is None:
            old = self._positioned(wanted, cols)
        else:
            from shadowfleet.claims.vessels import coverage_positions

            old = self._in_window(wanted, cols, tails, *window)
            tails = coverage_positions(tails, *window)
        if old is None or not len(old):
            both = tails
        else:
            self.rows_read["positions"] += len(old)
            both = pd.concat([old, tails], ignore_index=True)
            if window is not None:
                both = coverage_positions(both, *window)
        return both.sort_values(["mmsi", "timestamp"], kind="mergesort").reset_index(drop=True)

    def _in_window(self, wanted: np.ndarray, cols: list, tails: pd.DataFrame,
                   start, end) -> pd.DataFrame | None:
        """Archived rows with a position of the vessels ``wanted`` that
        :meth:`positions_of` with a window needs: those inside [start, end], and the
        candidates for each vessel's last trusted fix before ``start`` and first after
        ``end`` (every archived row of a vessel is older than its tail rows)."""
        import pyarrow.dataset as ds

        if not len(wanted):
            return None
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        lo, hi = start.value, end.value
        need = list(dict.fromkeys([*cols, "mmsi", "timestamp", "lat", "lon", "spoofed"]))
        vessel, when = ds.field("mmsi"), ds.field("timestamp")
        parts = []

        def read(entries, cond):
            frame = self._read(entries, need, cond)
            if frame is None or not len(frame):
                return None
            frame = frame[frame["lat"].notna() & frame["lon"].notna()]
            parts.append(frame)
            return frame

        def trusted(frame):
            t = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
            ok = ~frame["spoofed"].fillna(False).astype(bool).to_numpy() \
                if "spoofed" in frame else np.ones(len(frame), dtype=bool)
            return frame["mmsi"].to_numpy(dtype=np.int64)[ok], t[ok]

        overlap = [e for e in self.archive
                   if (e.get("tmax") is None or e["tmax"] >= lo)
                   and (e.get("tmin") is None or e["tmin"] <= hi)]
        read(overlap, vessel.isin(wanted) & (when >= start) & (when <= end))
        t_mmsi, t_ns = trusted(tails)
        # the last trusted fix before the window: chunks by their last time, latest first
        best = {}
        for m, t in zip(t_mmsi[t_ns < lo], t_ns[t_ns < lo]):
            best[m] = max(best.get(m, t), t)
        before = sorted((e for e in self.archive if e.get("tmin") is None or e["tmin"] < lo),
                        key=lambda e: -(e["tmax"] if e.get("tmax") is not None else 2**63 - 1))
        for entry in before:
            top = entry.get("tmax")
            open_ = [m for m in wanted if top is None or best.get(m, -1) <= top]
            if not open_:
                break
            frame = read([entry], vessel.isin(open_) & (when < start))
            if frame is not None:
                for m, t in zip(*trusted(frame)):
                    best[m] = max(best.get(m, t), t)
        # the first trusted fix after it: none in the archive for a vessel whose tail
        # ends before the window does; else chunks by their first time, earliest first
        first = {}
        for m, t in zip(t_mmsi[t_ns > hi], t_ns[t_ns > hi]):
            first[m] = min(first.get(m, t), t)
        if len(tails):
            tail_end = tails.groupby("mmsi")["timestamp"].max()
            done = set(tail_end.index[pd.to_datetime(tail_end, utc=True) <= end].astype(np.int64))
        else:
            done = set()
        after = sorted((e for e in self.archive if e.get("tmax") is None or e["tmax"] > hi),
                       key=lambda e: e["tmin"] if e.get("tmin") is not None else -1)
        for entry in after:
            bottom = entry.get("tmin")
            open_ = [m for m in wanted if m not in done
                     and (bottom is None or first.get(m, 2**63 - 1) >= bottom)]
            if not open_:
                break
            frame = read([entry], vessel.isin(open_) & (when > end))
            if frame is not None:
                for m, t in zip(*trusted(frame)):
                    first[m] = min(first.get(m, t), t)
        if not parts:
            return None
        out = pd.concat(parts, ignore_index=True)
        return out[[c for c in cols if c in out.columns]].reset_index(drop=True)

    def each_partition(self, columns=_SEARCHED, *,
                       start=None, end=None):
        """The tails' positions, then the archive's (``columns`` of them), received
        strictly between ``start`` and ``end`` (None: no bound): only the chunks whose
        times overlap the window are opened (the reception caveats' search)."""
        import pyarrow.dataset as ds

        lo = None if start is None or pd.isna(start) else pd.Timestamp(start).value
        hi = None if end is None or pd.isna(end) else pd.Timestamp(end).value
        inside = np.ones(len(self.tails), dtype=bool)
        if lo is not None:
            inside &= self._tails_ns > lo
        if hi is not None:
            inside &= self._tails_ns < hi
        cols = [c for c in columns if c in self.tails.columns]
        yield self.tails.loc[inside, cols]
        entries = [e for e in self.archive
                   if (lo is None or e.get("tmax") is None or e["tmax"] > lo)
                   and (hi is None or e.get("tmin") is None or e["tmin"] < hi)]
        cond = None
        if lo is not None:
            cond = ds.field("timestamp") > pd.Timestamp(lo, tz="UTC")
        if hi is not None:
            upper = ds.field("timestamp") < pd.Timestamp(hi, tz="UTC")
            cond = upper if cond is None else cond & upper
        for entry in entries:
            frame = self._read([entry], cols, cond)
            self.rows_scanned += len(frame)
            yield frame

    def reception_size(self) -> tuple[int, pd.Timestamp | None]:
        """How many trusted positions there are and the last receive time of one, from
        the tails and the chunks' manifest entries (a chunk written before they recorded
        it is read once, its times and flags only: its entry, shared with the state,
        records them for the manifests to come)."""
        ok = _trusted(self.tails)
        n, end = int(ok.sum()), (int(self._tails_ns[ok].max()) if ok.any() else None)
        for entry in self.archive:
            if "trusted" in entry:
                count, last = entry["trusted"], entry.get("trusted_tmax")
            else:
                frame = self._read([entry], ["timestamp", "lat", "lon", "spoofed"], None)
                flags = _trusted(frame)
                count = int(flags.sum())
                last = int(frame["timestamp"][flags].max().value) if count else None
                entry.update(trusted=count, trusted_tmax=last)
            n += int(count)
            if last is not None:
                end = last if end is None else max(end, int(last))
        return n, (None if end is None else pd.Timestamp(end, tz="UTC"))


def _ns_all(frame: pd.DataFrame) -> pd.DataFrame:
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.DatetimeTZDtype):
            frame[c] = frame[c].astype("datetime64[ns, UTC]")
    return frame


def _table(path: Path, conform) -> pd.DataFrame:
    try:
        return conform(pd.read_parquet(path))
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
        raise StateError(f"{path}: unreadable ({exc.__class__.__name__}: "
                         f"{' '.join(str(exc).split())[:200]}); {_RESTORE}") from None


def _open_others(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in OPEN_OTHERS_COLUMNS if c not in frame.columns]
    if missing:
        raise KeyError(f"open dark periods' others lack {missing}")
    out = frame[list(OPEN_OTHERS_COLUMNS)].copy()
    for c in ("mmsi", "track", "other_mmsi", "other_track"):
        out[c] = out[c].astype(np.int64)
    out["start_utc"] = pd.to_datetime(out["start_utc"], utc=True).astype("datetime64[ns, UTC]")
    return out.reset_index(drop=True)


def _settled_alerts(frame: pd.DataFrame) -> pd.DataFrame:
    from detectors.columns import ALERT_TABLE
    from shadowfleet.job_tails import SETTLED_EXTRA

    missing = [c for c in ALERT_TABLE + SETTLED_EXTRA if c not in frame.columns]
    if missing:
        raise KeyError(f"settled alerts lack {missing}")
    out = frame[list(ALERT_TABLE + SETTLED_EXTRA)].copy()
    for c in ("start_utc", "end_utc"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[ns, UTC]")
    for c in ("mmsi", "track", "_v1", "_v2", "_until"):
        out[c] = out[c].astype(np.int64)
    for c in ("lat", "lon", "score"):
        out[c] = out[c].astype(np.float64)
    out["imo"] = pd.Series([None if pd.isna(v) else int(v) for v in out["imo"]],
                           index=out.index, dtype=object)
    for c in ("alert_id", "kind", "name", "summary", "evidence", "claim_ids", "_event",
              "_names", "_poi"):
        out[c] = out[c].astype(object)
    return out.reset_index(drop=True)


def _book(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ALERT_BOOK_COLUMNS + (_FINGERPRINT,) if c not in frame.columns]
    if missing:
        raise KeyError(f"alert book lacks {missing}")
    book = normalise(frame[list(ALERT_BOOK_COLUMNS) + [_FINGERPRINT]])
    for c in ("status", _FINGERPRINT):
        book[c] = book[c].astype(object)
    book["version"] = book["version"].astype("int64")
    return book.reset_index(drop=True)


def _decoder(path: Path, meta, listed: bool) -> IncrementalDecoder:
    if not listed:
        raise StateError(f"{path}: not listed in the manifest; {_RESTORE}")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return IncrementalDecoder.from_state(meta, arrays)
    except DecoderStateError as exc:
        raise StateError(f"{path} (with the manifest's 'decoder'): {exc}; {_RESTORE}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise StateError(f"{path}: unreadable ({exc.__class__.__name__}: "
                         f"{' '.join(str(exc).split())[:200]}); {_RESTORE}") from None


def commit_state(state_dir: str | Path, state: JobState) -> JobState:
    """Write ``state`` as the next generation and make it the committed one."""
    state_dir = Path(state_dir)
    generation = state.generation + 1
    final = _gen_dir(state_dir, generation)
    tmp = state_dir / f".{final.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    if final.exists():          # left by a run killed between rename and CURRENT
        shutil.rmtree(final)
    archive = _write_chunk(state_dir, state, generation)
    try:
        _write_generation(tmp, state, generation, archive)
    except OSError as exc:      # a full disk: the committed generation stays as it was
        shutil.rmtree(tmp, ignore_errors=True)
        raise write_failed(state_dir, exc) from exc
    os.rename(tmp, final)
    _fsync_dir(state_dir)
    atomic_write_text(state_dir / "CURRENT",
                      json.dumps({"format": STATE_FORMAT, "generation": generation}) + "\n")
    committed = dataclasses.replace(state, generation=generation, outputs_done=False,
                                    archive=archive, retired=None, replace_archive=False)
    remove_stale(state_dir, generation, keep_chunks={e["name"] for e in archive})
    return committed


def _chunk_entries(state: JobState) -> list:
    """The committed chunks the generation lists (none when this run replaces them)."""
    return [] if state.replace_archive else list(state.archive)


def _trusted(frame: pd.DataFrame) -> np.ndarray:
    """Rows with a receive time and a position the cleaning did not flag as spoofed: what
    the reception caveats search (``shadowfleet.claims.caveats.ReceptionIndex``)."""
    ok = (frame["lat"].notna() & frame["lon"].notna() & frame["timestamp"].notna()).to_numpy()
    if "spoofed" in frame:
        ok = ok & ~frame["spoofed"].fillna(False).to_numpy(dtype=bool)
    return ok


def _write_chunk(state_dir: Path, state: JobState, generation: int) -> list:
    """The archive the generation lists: the committed chunks (see _chunk_entries) and
    this run's chunk of retired positions, written (with its index) before the
    generation that lists it is renamed into place."""
    entries = _chunk_entries(state)
    if state.retired is None or not len(state.retired):
        return entries
    return entries + [write_archive_chunk(state_dir, f"chunk-{generation:08d}.parquet",
                                          state.retired)]


def _write_generation(tmp: Path, state: JobState, generation: int, archive: list) -> None:
    tmp.mkdir(parents=True)
    state.positions.to_parquet(tmp / "positions.parquet", index=False)
    state.statics.to_parquet(tmp / "statics.parquet", index=False)
    _parquet_safe(state.rejects).to_parquet(tmp / "rejects.parquet", index=False)
    state.book.to_parquet(tmp / "alerts.parquet", index=False)
    events = state.events or {}
    for name in _EVENT_TABLES:
        frame = events.get(name)
        (frame if frame is not None else pd.DataFrame()).to_parquet(
            tmp / f"events-{name}.parquet", index=False)
    (state.first_fixes if state.first_fixes is not None else pd.DataFrame()).to_parquet(
        tmp / "first_fixes.parquet", index=False)
    if state.open_others is not None:
        state.open_others[list(OPEN_OTHERS_COLUMNS)].to_parquet(tmp / _OPEN_OTHERS, index=False)
    if state.settled_alerts is not None:
        settled = state.settled_alerts.copy()
        settled["imo"] = pd.to_numeric(pd.Series(list(settled["imo"]), index=settled.index,
                                                 dtype=object)).astype("Int64")
        settled.to_parquet(tmp / _SETTLED_ALERTS, index=False)
    meta = None
    if state.decoder is not None:
        meta, arrays = state.decoder.state()
        with open(tmp / _DECODER, "wb") as fh:
            np.savez(fh, **arrays)
    files = {f.name: {"bytes": f.stat().st_size, "sha256": _sha256(f)}
             for f in sorted(tmp.iterdir())}
    (tmp / "manifest.json").write_text(json.dumps(
        {"format": STATE_FORMAT, "generation": generation, "processed": state.processed,
         "log_rows": state.log_rows, "pending_log": list(state.pending_log),
         "stats": state.stats, "decoder": meta, "files": files,
         "horizon_ns": state.horizon_ns, "complete_ns": state.complete_ns,
         "archive": archive},
        indent=1, default=str), encoding="utf-8")
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(tmp)


def mark_outputs_done(state_dir: str | Path, generation: int) -> None:
    marker = _gen_dir(Path(state_dir), generation) / "outputs.done"
    marker.write_bytes(b"")
    with open(marker, "rb") as fh:
        os.fsync(fh.fileno())
    _fsync_dir(marker.parent)


def remove_stale(state_dir: str | Path, keep_generation: int,
                 keep_chunks: set | None = None) -> None:
    """Delete generations other than ``keep_generation`` and half-written ones, and the
    archive's chunks the committed generation does not list (``keep_chunks``; when None,
    only chunks written after it)."""
    state_dir = Path(state_dir)
    keep = _gen_dir(state_dir, keep_generation).name
    for entry in state_dir.iterdir():
        name = entry.name
        if (name.startswith("gen-") and name != keep) or name.startswith(".gen-"):
            shutil.rmtree(entry, ignore_errors=True)
    folder = state_dir / ARCHIVE
    if folder.is_dir():
        for f in folder.iterdir():
            # an index goes with its chunk; a temporary file of one is always stale
            name = f.name.replace(".index.parquet", ".parquet")
            stale = name.startswith(".") or (
                name not in keep_chunks if keep_chunks is not None
                else name > f"chunk-{keep_generation:08d}.parquet")
            if stale:
                f.unlink(missing_ok=True)


def _ns(frame: pd.DataFrame) -> pd.DataFrame:
    """Parquet may hand times back in microseconds; the schema says nanoseconds."""
    frame["timestamp"] = frame["timestamp"].astype("datetime64[ns, UTC]")
    return frame


def _parquet_safe(rejects: pd.DataFrame) -> pd.DataFrame:
    """Reject text is free text from the input: make sure Parquet can hold it."""
    out = rejects.copy()
    for col in ("source", "reason", "text"):
        out[col] = out[col].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    return out
