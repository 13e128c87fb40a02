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
5. re-analyses everything decoded so far (``shadowfleet.pipeline.analyse``, with the
   run's ports, thresholds and claims; marked simulated once any file processed was
   written by the simulator, :mod:`shadowfleet.provenance`) and compares
   the alerts with the last run's (``shadowfleet.alert_book``): an event spanning two files
   or two runs is found once, exactly as one ``detect`` over all files finds it;
6. commits the new state, appends the new alert versions to ``alerts_log.csv`` and
   replaces every output atomically.

Re-analysing everything is the simplest design that is exact; its cost grows with the
data kept (measured in the README, "Scheduled jobs").
"""

from __future__ import annotations

import copy
import dataclasses
import gzip
import hashlib
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

import ais
from shadowfleet import provenance
from shadowfleet.errors import StateError
from shadowfleet.alert_book import (BookUpdate, append_log, book_table, log_lines,
                                    repair_log, update_book)
from shadowfleet.job_state import (JobState, LockHeld, commit_state, load_state,
                                   mark_outputs_done, remove_stale, state_lock)

LOG_NAME = "alerts_log.csv"
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
    positions: int = 0
    analyse_seconds: float = 0.0
    recovered: list[str] = dataclasses.field(default_factory=list)
    refused: list[str] = dataclasses.field(default_factory=list)

    def describe(self) -> str:
        if self.locked_by_other:
            return self.message
        parts = [f"{len(self.new_files)} new file(s)"]
        if self.skipped_files:
            parts.append(f"{len(self.skipped_files)} already processed")
        c = self.counts
        parts.append(f"alerts: {c['new']} new, {c['changed']} changed, {c['retracted']} retracted")
        parts.append(f"{self.positions} positions kept; analysis {self.analyse_seconds:.2f} s")
        text = "; ".join(parts)
        if self.recovered:
            text += "\nrecovered from an interrupted run: " + ", ".join(self.recovered)
        for problem in self.refused:
            text += f"\nrefused (not retried): {problem}"
        return text


# ----------------------------------------------------------------------------- inbox

def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_bytes(path: Path) -> bytes:
    """A feed file's bytes, gunzipped when it is gzip."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data


def inbox_files(inbox: str | Path) -> list[Path]:
    """Regular files of the inbox, without hidden and half-delivered (``.part``, ``.tmp``) ones."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise ais.InputError(inbox, "inbox is not a directory", "give --inbox an existing directory")
    return sorted(p for p in inbox.iterdir()
                  if p.is_file() and not p.name.startswith(".")
                  and not p.name.endswith(_SKIP_SUFFIXES))


def first_receive_time(data: bytes) -> float | None:
    """The first receive time in a feed's lines, epoch seconds (None when none carries one)."""
    from ais.framing.nmea import receive_time

    for raw in data.splitlines():
        t = receive_time(raw)
        if t is not None:
            return float(t)
    return None


def new_inputs(files: Iterable[Path], processed: dict) -> tuple[list[tuple[Path, str, bytes]], list[str]]:
    """The files to process, in receive-time order, and the names of those skipped."""
    fresh, skipped, seen = [], [], set()
    for path in files:
        digest = sha256_of(path)
        if digest in processed or digest in seen:
            skipped.append(path.name)
            continue
        seen.add(digest)
        data = read_bytes(path)
        fresh.append((path, digest, data))
    keyed = []
    for path, digest, data in fresh:
        t = first_receive_time(data)
        key = (0, t, path.name) if t is not None else (1, 0.0, path.name)
        keyed.append((key, (path, digest, data)))
    keyed.sort(key=lambda kv: kv[0])
    return [item for _, item in keyed], skipped


# -------------------------------------------------------------------------- analysis

def state_decoded(state: JobState, *, sort: bool = False) -> "ais.Decoded":
    """Everything ``state`` holds as one ``ais.Decoded`` (its stats carried over)."""
    stats = state.stats or {}
    return ais.Decoded(state.positions, state.statics, state.rejects, counts=stats,
                       messages_by_type=stats.get("messages_by_type", {}),
                       rejected_by_reason=stats.get("rejected_by_reason"),
                       inputs=stats.get("inputs", []), sort=sort)


def accumulate(state: JobState, batches: Sequence, inputs: Sequence[dict] = ()) -> JobState:
    """``state`` with the decoded ``batches`` (``ais.Decoded``) added."""
    if not batches:
        return state
    previous = state_decoded(state)
    merged = ais.Decoded.merge([previous, *batches],
                               inputs=list(previous.stats["inputs"]) + list(inputs))
    extra = {k: v for k, v in (state.stats or {}).items() if k not in merged.stats}
    return dataclasses.replace(state, positions=merged.positions, statics=merged.statics,
                               rejects=merged.rejects, stats={**merged.stats, **extra})


def decode_file(decoder, path: Path, data: bytes) -> "ais.Decoded":
    """Decode one inbox file with the carried decoder (decoded tables need none).

    Raises ``InputError`` (and leaves ``decoder`` as it was) for a file ``detect`` would
    refuse: no AIS in it, or no receive time on any message.
    """
    from ais.reading import tabular
    from ais.reading.read import check_file

    name = str(path)
    kind = tabular.sniff(data[:65536])
    if kind is not None:
        decoded = tabular.read_table(name, data, kind)
    else:
        snapshot = copy.deepcopy(decoder)
        decoded = ais.Decoded.merge([decoder.feed(name, data), decoder.end_source(name)])
        try:
            check_file(name, decoded, True)
        except ais.InputError:
            decoder.__dict__.update(snapshot.__dict__)
            raise
        return decoded
    check_file(name, decoded, True)
    return decoded


def analyse_state(state: JobState, analysis: Analysis):
    """Run every detector over everything ``state`` holds; compare alerts with its book."""
    from shadowfleet.pipeline import analyse

    result = analyse(state_decoded(state), registry=analysis.registry, claims=list(analysis.claims),
                     params=analysis.settings, pairs=list(analysis.pairs),
                     watchlists=list(analysis.watchlists),
                     simulated=provenance.simulated_note(state.stats or {}))
    update = update_book(state.book, result.alerts)
    return result, update


def write_outputs(out_dir: Path, result, update: BookUpdate, *, figures: bool,
                  map_vessels: int | None = None) -> None:
    """Every contract file, with ``alerts.csv`` as the versioned book (map and timeline,
    when asked for, show the alerts that are not retracted)."""
    live = result.alerts
    result.alerts = book_table(update.book)
    try:
        result.summary = dict(result.summary)
        result.summary["alert_status"] = {
            s: int((update.book["status"] == s).sum()) for s in ("open", "closed", "retracted")}
        result.write(out_dir, figures=False)
    finally:
        result.alerts = live
    if figures:
        from shadowfleet.outputs.map import write_map
        from shadowfleet.outputs.timeline import write_timeline

        write_map(result, Path(out_dir) / "map.html",
                  **({} if map_vessels is None else {"vessels": map_vessels}))
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
            map_vessels: int | None = None) -> JobState:
    """Commit ``state`` (when there is a state dir), append the log, write the outputs."""
    now = pd.Timestamp.now(tz="UTC") if now is None else now
    lines = log_lines(update.changes, now, data=result.data)
    log = Path(out_dir) / LOG_NAME
    existing = repair_log(log)
    state = dataclasses.replace(state, book=update.book, pending_log=lines,
                                log_rows=existing + len(lines))
    if state_dir is not None:
        state = commit_state(state_dir, state)
    append_log(log, lines)
    write_outputs(Path(out_dir), result, update, figures=figures, map_vessels=map_vessels)
    if state_dir is not None:
        mark_outputs_done(state_dir, state.generation)
    return dataclasses.replace(state, outputs_done=True)


def run_job(inbox: str | Path, state_dir: str | Path, out_dir: str | Path, *,
            ports=None, config=None, claims: Sequence = (), pairs: Sequence = (),
            watchlists: Sequence = (), figures: bool = False,
            map_vessels: int | None = None, analysis: Analysis | None = None) -> JobReport:
    """One scheduled run (see the module docstring). Returns what it did."""
    state_dir, out_dir = Path(state_dir), Path(out_dir)
    try:
        with state_lock(state_dir):
            if analysis is None:
                analysis = Analysis.load(ports=ports, config=config, claims=claims,
                                         pairs=pairs, watchlists=watchlists, figures=figures,
                                         map_vessels=map_vessels)
            return _run_locked(Path(inbox), state_dir, out_dir, analysis)
    except LockHeld as held:
        return JobReport(locked_by_other=True, message=str(held))


def _run_locked(inbox: Path, state_dir: Path, out_dir: Path, analysis: Analysis) -> JobReport:
    state = load_state(state_dir)
    remove_stale(state_dir, state.generation)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = JobReport(generation=state.generation)
    report.recovered += reconcile_log(out_dir, state)

    todo, report.skipped_files = new_inputs(inbox_files(inbox), state.processed)
    if not todo and state.outputs_done:
        report.positions = len(state.positions)
        return report

    decoder = state.decoder if state.decoder is not None else ais.IncrementalDecoder()
    batches, inputs, processed = [], [], dict(state.processed)
    for path, digest, data in todo:
        entry = {"name": path.name, "bytes": len(data), "generation": state.generation + 1}
        try:
            decoded = decode_file(decoder, path, data)
        except ais.InputError as exc:
            entry["refused"] = str(exc)
            report.refused.append(str(exc))
        else:
            batches.append(decoded)
            entry_in = {"path": str(path), "sha256": digest,
                        "lines": decoded.stats["lines_read"]}
            note = provenance.note_in_bytes(data)
            if note:      # kept in the state: the inbox file may be gone by the next run
                entry_in["simulated"] = note
            inputs.append(entry_in)
            report.new_files.append(path.name)
        processed[digest] = entry
    if not todo:
        report.recovered.append("outputs")
    state = accumulate(dataclasses.replace(state, decoder=decoder, processed=processed),
                       batches, inputs)

    started = time.perf_counter()
    result, update = analyse_state(state, analysis)
    report.analyse_seconds = time.perf_counter() - started
    report.counts = update.counts
    report.positions = len(state.positions)
    if not todo:
        # nothing new: the committed generation only lacks its outputs
        write_outputs(out_dir, result, update, figures=analysis.figures,
                      map_vessels=analysis.map_vessels)
        mark_outputs_done(state_dir, state.generation)
        report.counts = {"new": 0, "changed": 0, "retracted": 0}
        return report
    state = publish(state_dir, out_dir, state, result, update, figures=analysis.figures,
                    map_vessels=analysis.map_vessels)
    report.generation = state.generation
    return report
