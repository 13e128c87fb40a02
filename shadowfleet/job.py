"""One scheduled, incremental run: ``shadowfleet job --inbox DIR --state DIR --out DIR``.

Cron or a systemd timer starts it every few minutes; each run

1. takes the exclusive lock of the state directory (a second run exits 0 at once);
2. finishes whatever a killed run left undone (log lines, outputs) from the committed
   state (``shadowfleet.job_state``);
3. picks the inbox files not processed yet, identified by the sha256 of their content (a
   renamed or re-delivered file is not processed twice), in receive-time order (the first
   receive time of each file, then the name);
4. feeds them to the incremental decoder carried from the run before (fragment buffers and
   the duplicate window survive between files and runs);
5. analyses the vessels' tails kept by the last run plus the new data
   (:mod:`shadowfleet.job_tails`: each vessel's last day and its open events; the
   events settled before come from the state), with the run's ports, thresholds and
   claims (marked simulated once any file processed was written by the simulator,
   :mod:`shadowfleet.provenance`), and compares the alerts with the last run's
   (``shadowfleet.alert_book``): an event spanning two files or two runs is found once,
   exactly as one ``detect`` over all files finds it;
6. commits the new state (the new tails; the positions that left them go to the state's
   archive), appends the new alert versions to ``alerts_log.csv`` and replaces every
   output atomically.

A run's cost follows the new data and the open events, not everything kept (measured in
the README, "Scheduled jobs"). ``positions.parquet`` in ``--out`` holds the positions the
run analysed: the tails and the new data.
"""

from __future__ import annotations

import copy
import dataclasses
import gzip
import hashlib
import time
import zlib
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

import ais
from ais.progress import Progress
from shadowfleet import provenance
from shadowfleet.errors import StateError
from shadowfleet.alert_book import (BookUpdate, append_log, book_table, log_lines,
                                    repair_log, update_book)
from shadowfleet.job_state import (JobState, LockHeld, commit_state, load_state,
                                   mark_outputs_done, remove_stale, state_lock)

LOG_NAME = "alerts_log.csv"
# rejected lines kept for rejects.csv, the most recent (summary.json counts them all): a
# file of junk would otherwise keep one row per line, gigabytes for a hostile delivery
MAX_REJECTS_KEPT = 100_000
_SKIP_SUFFIXES = (".tmp", ".part", ".partial", ".swp", "~")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Analysis:
    """What every incremental analysis needs besides the data: ports, thresholds, claims."""

    registry: Any
    settings: Any
    claims: tuple = ()
    pairs: tuple = ()
    watchlists: tuple = ()
    figures: bool = False
    map_vessels: int | None = None       # map.html's vessels of interest (None: its default)

    @classmethod
    def load(cls, *, ports=None, config=None, claims=(), pairs=(), watchlists=(),
             figures: bool = False, map_vessels: int | None = None) -> "Analysis":
        from ports import load_ports
        from shadowfleet.config import Settings, load_config
        from shadowfleet.pipeline import load_claim_list, load_watchlist_list

        registry = ports if hasattr(ports, "locate") else load_ports(ports)
        settings = config if isinstance(config, Settings) else load_config(config)
        return cls(registry=registry, settings=settings, claims=tuple(load_claim_list(list(claims))),
                   pairs=tuple(pairs), watchlists=tuple(load_watchlist_list(list(watchlists))),
                   figures=figures, map_vessels=map_vessels)


@dataclasses.dataclass
class JobReport:
    """What a run did (``describe()`` is what the command prints)."""

    locked_by_other: bool = False
    message: str = ""
    new_files: list[str] = dataclasses.field(default_factory=list)
    skipped_files: list[str] = dataclasses.field(default_factory=list)
    generation: int = 0
    counts: dict = dataclasses.field(default_factory=lambda: {"new": 0, "changed": 0,
                                                              "retracted": 0})
    positions: int = 0              # every position decoded so far
    tails: int = 0                  # of which in the vessels' tails (the rest archived)
    analyse_seconds: float = 0.0
    recovered: list[str] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)
    unreadable: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Something the user must act on (exit code 1, so cron mails it)."""
        return bool(self.refused or self.unreadable)

    def describe(self) -> str:
        if self.locked_by_other:
            return self.message
        parts = [f"{len(self.new_files)} new file(s)"]
        if self.skipped_files:
            parts.append(f"{len(self.skipped_files)} already processed")
        c = self.counts
        parts.append(f"alerts: {c['new']} new, {c['changed']} changed, {c['retracted']} retracted")
        parts.append(f"{self.positions} positions kept ({self.tails} in the vessels' tails); "
                     f"analysis {self.analyse_seconds:.2f} s")
        text = "; ".join(parts)
        if self.recovered:
            text += "\nrecovered from an interrupted run: " + ", ".join(self.recovered)
        problems = self.describe_problems()
        return text + ("\n" + problems if problems else "")

    def describe_problems(self) -> str:
        """Only what needs acting on: refused and unreadable files, warnings."""
        return "\n".join([f"refused (not retried): {p}" for p in self.refused]
                         + [f"not read (retried next run): {p}" for p in self.unreadable]
                         + [f"warning: {w}" for w in self.warnings])


# ----------------------------------------------------------------------------- inbox

def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def inbox_files(inbox: str | Path) -> list[Path]:
    """Regular files of the inbox, without hidden and half-delivered (``.part``, ``.tmp``) ones."""
    inbox = Path(inbox)
    try:
        if not inbox.is_dir():
            raise ais.InputError(inbox, "inbox is not a directory",
                                 "give --inbox an existing directory")
        return sorted(p for p in inbox.iterdir()
                      if p.is_file() and not p.name.startswith(".")
                      and not p.name.endswith(_SKIP_SUFFIXES))
    except OSError as exc:
        raise ais.InputError(inbox, f"cannot list the inbox ({exc.strerror or exc})",
                             "make it a readable directory") from None


HEAD_LINES_FOR_TIME = 10_000     # lines of a file read to find its first receive time


def first_receive_time(path: Path) -> float | None:
    """The first receive time among the first ``HEAD_LINES_FOR_TIME`` lines of a feed file
    (plain or gzip), epoch seconds; None when none of them carries one or the file cannot
    be read (its decoding then says why). Reads only that head, whatever the file's size."""
    from ais.framing.nmea import receive_time

    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            for _ in range(HEAD_LINES_FOR_TIME):
                raw = fh.readline(4096)       # a longer line is read in parts
                if not raw:
                    break
                t = receive_time(raw)
                if t is not None:
                    return float(t)
    except (OSError, EOFError, ValueError, zlib.error):
        return None
    return None


@dataclasses.dataclass(frozen=True)
class InboxFile:
    path: Path
    sha256: str
    size: int


def new_inputs(files: Iterable[Path], processed: dict
               ) -> tuple[list[InboxFile], list[str], list[str]]:
    """The files to process in receive-time order (the first receive time of each, then
    the name), the names of those already processed, and one line per file that cannot
    be read now (it is left for the next run). Only hashes and heads are read here."""
    fresh, skipped, unreadable, seen = [], [], [], set()
    for path in files:
        try:
            digest = sha256_of(path)
            size = path.stat().st_size
        except OSError as exc:
            unreadable.append(str(ais.InputError(
                path, f"cannot read ({exc.strerror or exc})",
                "make it readable; it is processed on the next run")))
            continue
        if digest in processed or digest in seen:
            skipped.append(path.name)
            continue
        seen.add(digest)
        fresh.append(InboxFile(path, digest, size))
    keyed = []
    for item in fresh:
        t = first_receive_time(item.path)
        key = (0, t, item.path.name) if t is not None else (1, 0.0, item.path.name)
        keyed.append((key, item))
    keyed.sort(key=lambda kv: kv[0])
    return [item for _, item in keyed], skipped, unreadable


# -------------------------------------------------------------------------- analysis

def state_decoded(state: JobState, *, sort: bool = False) -> "ais.Decoded":
    """Everything ``state`` holds as one ``ais.Decoded`` (its stats carried over)."""
    stats = state.stats or {}
    return ais.Decoded(state.positions, state.statics, state.rejects, counts=stats,
                       messages_by_type=stats.get("messages_by_type", {}),
                       rejected_by_reason=stats.get("rejected_by_reason"),
                       inputs=stats.get("inputs", []), sort=sort)


def accumulate(state: JobState, batches: Sequence, inputs: Sequence[dict] = ()) -> JobState:
    """``state`` with the decoded ``batches`` (``ais.Decoded``) added to its tails; its
    counts stay those of everything decoded (positions, time span), and it notes the
    earliest new position (a late one makes the run re-analyse from its time on)."""
    if not batches:
        return state
    before = dict(state.stats or {})
    previous = state_decoded(state)
    merged = ais.Decoded.merge([previous, *batches],
                               inputs=list(previous.stats["inputs"]) + list(inputs))
    new_rows = sum(len(b.positions) for b in batches)
    earliest = [b.positions["timestamp"].min() for b in batches if len(b.positions)]
    earliest = [t for t in earliest if not pd.isna(t)]
    stats = dict(merged.stats)
    if "positions" in before:       # the tails are not all the positions decoded
        stats["positions"] = int(before["positions"]) + new_rows
        span, old = stats.get("time_span"), before.get("time_span")
        if old and span:
            stats["time_span"] = {"start": min(old["start"], span["start"]),
                                  "end": max(old["end"], span["end"])}
        elif old:
            stats["time_span"] = old
    extra = {k: v for k, v in before.items() if k not in stats}
    low = min(earliest) if earliest else None
    if low is not None and state.new_earliest_ns is not None:
        low = min(low, pd.Timestamp(state.new_earliest_ns, tz="UTC"))
    return dataclasses.replace(
        state, positions=merged.positions, statics=merged.statics, rejects=merged.rejects,
        stats={**stats, **extra},
        new_earliest_ns=(int(pd.Timestamp(low).value) if low is not None
                         else state.new_earliest_ns))


def keep_last_rejects(decoded: "ais.Decoded", n: int) -> "ais.Decoded":
    """``decoded`` with only its last ``n`` reject rows (its counts by reason unchanged)."""
    if len(decoded.rejects) > n:        # a copy: a slice would keep every row's text alive
        decoded.rejects = decoded.rejects.iloc[len(decoded.rejects) - n:].reset_index(
            drop=True).copy(deep=True)
    return decoded


def decode_file(decoder, path: Path, *, progress: Progress | None = None,
                read: "ais.InputsRead | None" = None,
                max_rejects: int = MAX_REJECTS_KEPT) -> "ais.Decoded":
    """Decode one inbox file with the carried decoder (decoded tables need none), piece
    by piece (``ais.reading.read.iter_file``): memory holds a few pieces of the file and
    what it decodes to, never the whole file or its inflated text.

    Raises ``InputError`` (and leaves ``decoder`` as it was) for a file ``detect`` would
    refuse: unreadable, binary with no NMEA in it, no AIS in it, or no receive time on
    any message. Of its rejected lines the last ``max_rejects`` are kept (all counted).
    """
    from ais.reading.read import check_file, iter_file

    progress = progress if progress is not None else Progress.off()
    name = str(path)
    snapshot = copy.deepcopy(decoder)
    try:
        size = Path(path).stat().st_size if name != "-" else None
        with progress.phase(f"decoding {Path(path).name}", total=size, unit="B") as bar:
            # each piece copied out of the decoder's working arrays (sized by the piece's
            # lines, not by the rows it keeps) before the next is read
            pieces, rejects = [], 0
            for piece in iter_file(decoder, path, bar=bar, read=read):
                pieces.append(ais.Decoded.merge([keep_last_rejects(piece, max_rejects)]))
                rejects += len(pieces[-1].rejects)
                del piece
                if rejects > 2 * max_rejects:     # older pieces give up their rejects
                    rejects = _trim_pieces(pieces, max_rejects)
        decoded = keep_last_rejects(ais.Decoded.merge(pieces), max_rejects)
        del pieces
        check_file(name, decoded, True)
    except ais.InputError:
        decoder.__dict__.update(snapshot.__dict__)
        raise
    except OSError as exc:        # e.g. the file vanished between listing and reading
        decoder.__dict__.update(snapshot.__dict__)
        raise ais.InputError(name, f"cannot read ({exc.strerror or exc})",
                             "make it readable") from None
    return decoded


def _trim_pieces(pieces: list, n: int) -> int:
    """Keep the last ``n`` reject rows over ``pieces`` (in place); returns how many."""
    kept = 0
    for piece in reversed(pieces):
        keep_last_rejects(piece, max(n - kept, 0))
        kept += len(piece.rejects)
    return kept


def analyse_state(state: JobState, analysis: Analysis, progress: Progress | None = None, *,
                  state_dir: Path | None = None, tail=None):
    """Run every detector over ``state``'s tails and new data (:mod:`shadowfleet.job_tails`;
    ``state_dir``: where its archive is); compare alerts with its book. Returns the
    result, the book update and the state with the next run's tails."""
    from shadowfleet import job_tails

    result, state = job_tails.analyse(state, analysis, state_dir=state_dir, progress=progress,
                                      tail=tail if tail is not None else job_tails.TailParams())
    update = update_book(state.book, result.alerts)
    return result, update, state


def write_outputs(out_dir: Path, result, update: BookUpdate, *, figures: bool,
                  map_vessels: int | None = None, progress: Progress | None = None) -> None:
    """Every contract file, with ``alerts.csv`` as the versioned book (map and timeline,
    when asked for, show the alerts that are not retracted)."""
    progress = progress if progress is not None else Progress.off()
    live = result.alerts
    result.alerts = book_table(update.book)
    try:
        result.summary = dict(result.summary)
        result.summary["alert_status"] = {
            s: int((update.book["status"] == s).sum()) for s in ("open", "closed", "retracted")}
        result.write(out_dir, figures=False, progress=progress)
    finally:
        result.alerts = live
    if figures:
        from shadowfleet.outputs.map import write_map
        from shadowfleet.outputs.timeline import write_timeline

        with progress.phase("map"):
            write_map(result, Path(out_dir) / "map.html",
                      **({} if map_vessels is None else {"vessels": map_vessels}))
        with progress.phase("timeline"):
            write_timeline(result, Path(out_dir) / "timeline.png")


def reconcile_log(out_dir: Path, state: JobState) -> list[str]:
    """Repair ``alerts_log.csv`` and append the lines the committed state says are due."""
    log = Path(out_dir) / LOG_NAME
    existing = repair_log(log)
    missing = state.log_rows - existing
    if missing <= 0:
        return []
    if missing > len(state.pending_log):
        raise StateError(
            f"{log}: has {existing} records, the state expects at least "
            f"{state.log_rows - len(state.pending_log)}; it was truncated or replaced; "
            "restore it, or start over with an empty --state and --out")
    append_log(log, state.pending_log[len(state.pending_log) - missing:])
    return [f"{missing} alert log line(s)"]


def publish(state_dir: Path | None, out_dir: Path, state: JobState, result,
            update: BookUpdate, *, figures: bool, now: pd.Timestamp | None = None,
            map_vessels: int | None = None, progress: Progress | None = None) -> JobState:
    """Commit ``state`` (when there is a state dir), append the log, write the outputs."""
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    lines = log_lines(update.changes, now, data=result.data)
    log = Path(out_dir) / LOG_NAME
    existing = repair_log(log)
    state = dataclasses.replace(state, book=update.book, pending_log=lines,
                                log_rows=existing + len(lines))
    if state_dir is not None:
        with (progress or Progress.off()).phase("committing the state"):
            state = commit_state(state_dir, state)
    append_log(log, lines)
    write_outputs(Path(out_dir), result, update, figures=figures, map_vessels=map_vessels,
                  progress=progress)
    if state_dir is not None:
        mark_outputs_done(state_dir, state.generation)
    return dataclasses.replace(state, outputs_done=True)


def run_job(inbox: str | Path, state_dir: str | Path, out_dir: str | Path, *,
            ports=None, config=None, claims: Sequence = (), pairs: Sequence = (),
            watchlists: Sequence = (), figures: bool = False,
            map_vessels: int | None = None, analysis: Analysis | None = None,
            progress: Progress | None = None,
            max_rejects_kept: int = MAX_REJECTS_KEPT, tail=None) -> JobReport:
    """One scheduled run (see the module docstring). Returns what it did. ``progress``
    reports each file decoded, the analysis, the commit and the outputs.
    ``max_rejects_kept``: rejected lines kept for rejects.csv (the most recent; all are
    counted in summary.json). ``tail``: a ``shadowfleet.job_tails.TailParams`` (how many
    hours of every vessel's track the state keeps beyond its open events; 24 by default)."""
    state_dir, out_dir = Path(state_dir), Path(out_dir)
    progress = progress if progress is not None else Progress.off()
    try:
        with state_lock(state_dir):
            from shadowfleet.outputs.files import writable_dir

            writable_dir(out_dir, "--out")      # before any work: a bad --out fails at once
            if analysis is None:
                analysis = Analysis.load(ports=ports, config=config, claims=claims,
                                         pairs=pairs, watchlists=watchlists, figures=figures,
                                         map_vessels=map_vessels)
            return _run_locked(Path(inbox), state_dir, out_dir, analysis, progress,
                               max_rejects_kept, tail)
    except LockHeld as held:
        return JobReport(locked_by_other=True, message=str(held))


def _run_locked(inbox: Path, state_dir: Path, out_dir: Path, analysis: Analysis,
                progress: Progress, max_rejects: int = MAX_REJECTS_KEPT,
                tail=None) -> JobReport:
    with progress.phase("loading the state"):
        state = load_state(state_dir)
    remove_stale(state_dir, state.generation, keep_chunks={e["name"] for e in state.archive})
    out_dir.mkdir(parents=True, exist_ok=True)
    report = JobReport(generation=state.generation)
    report.recovered += reconcile_log(out_dir, state)

    todo, report.skipped_files, unreadable = new_inputs(inbox_files(inbox), state.processed)
    report.unreadable = unreadable
    if not todo and state.outputs_done:
        report.positions = int((state.stats or {}).get("positions", len(state.positions)))
        report.tails = len(state.positions)
        return report

    decoder = state.decoder if state.decoder is not None else ais.IncrementalDecoder()
    batches, inputs, processed = [], [], dict(state.processed)
    read = ais.InputsRead()
    for item in todo:
        path = item.path
        entry = {"name": path.name, "bytes": item.size, "generation": state.generation + 1}
        try:
            decoded = decode_file(decoder, path, progress=progress, read=read,
                                  max_rejects=max_rejects)
        except ais.InputError as exc:
            entry["refused"] = str(exc)
            report.refused.append(str(exc))
        else:
            batches.append(decoded)
            entry_in = {"path": str(path), "sha256": item.sha256,
                        "lines": decoded.stats["lines_read"]}
            note = provenance.note_in_file(path)
            if note:      # kept in the state: the inbox file may be gone by the next run
                entry_in["simulated"] = note
            inputs.append(entry_in)
            report.new_files.append(path.name)
        processed[item.sha256] = entry
    report.warnings += read.warnings
    if not todo:
        report.recovered.append("outputs")
    state = accumulate(dataclasses.replace(state, decoder=decoder, processed=processed),
                       batches, inputs)
    keep_last_rejects(state, max_rejects)     # the counts in its stats stay whole

    started = time.perf_counter()
    result, update, state = analyse_state(state, analysis, progress, state_dir=state_dir,
                                          tail=tail)
    report.analyse_seconds = time.perf_counter() - started
    report.counts = update.counts
    report.positions = int((state.stats or {}).get("positions", len(state.positions)))
    report.tails = len(state.positions)
    if not todo:
        # nothing new: the committed generation only lacks its outputs
        write_outputs(out_dir, result, update, figures=analysis.figures,
                      map_vessels=analysis.map_vessels, progress=progress)
        mark_outputs_done(state_dir, state.generation)
        report.counts = {"new": 0, "changed": 0, "retracted": 0}
        return report
    state = publish(state_dir, out_dir, state, result, update, figures=analysis.figures,
                    map_vessels=analysis.map_vessels, progress=progress)
    report.generation = state.generation
    return report
