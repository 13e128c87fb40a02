"""The state directory a scheduled job (or a watch with ``--state``) carries between runs.

Layout of ``--state DIR``::

    lock                  exclusive fcntl lock held for the whole run (and the holder's pid)
    CURRENT               {"format": 1, "generation": N}: the committed generation
    gen-00000N/
        positions.parquet statics.parquet rejects.parquet   everything decoded so far
        carry.pkl         the incremental decoder (fragment buffers, dedup window), the
                          alert book, the log lines of the last run
        manifest.json     processed input files by sha256, log record count, decode stats
        outputs.done      present once --out has been written for this generation

A run builds generation N+1 in a temporary directory, fsyncs it, renames it into place and
then replaces ``CURRENT`` atomically (temporary file, fsync, rename). A run killed at any
moment therefore leaves either generation N or N+1 committed, never a mixture; the
next run deletes the leftovers and finishes the work (re-appending the log lines and
rewriting the outputs the committed generation says are due).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

import ais.schema as schema
from shadowfleet.errors import ShadowfleetError, StateError
from shadowfleet.alert_book import empty_book
from shadowfleet.outputs.files import _fsync_dir, atomic_write_text

STATE_FORMAT = 1


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
    decoder: Any = None
    book: pd.DataFrame = dataclasses.field(default_factory=empty_book)
    processed: dict[str, dict] = dataclasses.field(default_factory=dict)
    log_rows: int = 0                 # log records once this generation's lines are appended
    pending_log: list[str] = dataclasses.field(default_factory=list)
    stats: dict = dataclasses.field(default_factory=dict)
    outputs_done: bool = True


def _gen_dir(state_dir: Path, generation: int) -> Path:
    return state_dir / f"gen-{generation:08d}"


def load_state(state_dir: str | Path) -> JobState:
    """The committed state (a fresh one when the directory holds none)."""
    state_dir = Path(state_dir)
    current = state_dir / "CURRENT"
    if not current.exists():
        return JobState()
    try:
        pointer = json.loads(current.read_text(encoding="utf-8"))
        generation = int(pointer["generation"])
        fmt = int(pointer.get("format", 0))
    except (ValueError, KeyError, TypeError) as exc:
        raise StateError(f"{current}: unreadable ({exc.__class__.__name__}); restore the state "
                         "directory from a backup or start a new one") from None
    if fmt != STATE_FORMAT:
        raise StateError(f"{current}: state format {fmt}, this version reads {STATE_FORMAT}; "
                         "start a new state directory")
    gen = _gen_dir(state_dir, generation)
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        with open(gen / "carry.pkl", "rb") as fh:
            carry = pickle.load(fh)
        positions = _ns(schema.conform(pd.read_parquet(gen / "positions.parquet"),
                                       schema.POSITION_COLUMNS, schema.POSITION_DTYPES))
        statics = _ns(schema.conform(pd.read_parquet(gen / "statics.parquet"),
                                     schema.STATIC_COLUMNS, schema.STATIC_DTYPES))
        rejects = schema.conform(pd.read_parquet(gen / "rejects.parquet"),
                                 schema.REJECT_COLUMNS, schema.REJECT_DTYPES)
    except (OSError, ValueError, KeyError, pickle.UnpicklingError, EOFError) as exc:
        raise StateError(f"{gen}: committed state unreadable ({exc.__class__.__name__}: {exc}); "
                         "restore the state directory or start a new one") from None
    return JobState(generation=generation, positions=positions, statics=statics,
                    rejects=rejects, decoder=carry["decoder"], book=carry["book"],
                    processed=manifest["processed"], log_rows=int(manifest["log_rows"]),
                    pending_log=list(carry["pending_log"]), stats=manifest.get("stats", {}),
                    outputs_done=(gen / "outputs.done").exists())


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
    tmp.mkdir(parents=True)
    state.positions.to_parquet(tmp / "positions.parquet", index=False)
    state.statics.to_parquet(tmp / "statics.parquet", index=False)
    _parquet_safe(state.rejects).to_parquet(tmp / "rejects.parquet", index=False)
    with open(tmp / "carry.pkl", "wb") as fh:
        pickle.dump({"decoder": state.decoder, "book": state.book,
                     "pending_log": state.pending_log}, fh, protocol=pickle.HIGHEST_PROTOCOL)
    (tmp / "manifest.json").write_text(json.dumps(
        {"generation": generation, "processed": state.processed, "log_rows": state.log_rows,
         "stats": state.stats}, indent=1, default=str), encoding="utf-8")
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    _fsync_dir(tmp)
    os.rename(tmp, final)
    _fsync_dir(state_dir)
    atomic_write_text(state_dir / "CURRENT",
                      json.dumps({"format": STATE_FORMAT, "generation": generation}) + "\n")
    committed = dataclasses.replace(state, generation=generation, outputs_done=False)
    remove_stale(state_dir, generation)
    return committed


def mark_outputs_done(state_dir: str | Path, generation: int) -> None:
    marker = _gen_dir(Path(state_dir), generation) / "outputs.done"
    marker.write_bytes(b"")
    with open(marker, "rb") as fh:
        os.fsync(fh.fileno())
    _fsync_dir(marker.parent)


def remove_stale(state_dir: str | Path, keep_generation: int) -> None:
    """Delete generations other than ``keep_generation`` and half-written ones."""
    state_dir = Path(state_dir)
    keep = _gen_dir(state_dir, keep_generation).name
    for entry in state_dir.iterdir():
        name = entry.name
        if (name.startswith("gen-") and name != keep) or name.startswith(".gen-"):
            shutil.rmtree(entry, ignore_errors=True)


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
