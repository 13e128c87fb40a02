"""Versioned alerts for runs that repeat over growing data (``job``, ``watch``).

A scheduled job re-analyses everything it has seen after each batch of new data, so the
alert set of one run is compared with the set of the run before:

- an alert id not seen before           -> version 1;
- an alert id whose end, status or evidence changed -> version + 1 (the event closed,
  late or out-of-order data moved its end, it now rests on other events or a claim
  counts it: ``VERSION_COLUMNS``);
- an alert id that is no longer produced -> status ``retracted``, version + 1 (data that
  arrived later showed it was not an event, e.g. a dark period filled by late positions);
- an alert id unchanged                  -> same version, nothing logged.

What only describes an event still under way is not a new version (DESIGN.md, "Scale"):
an open dark period growing longer changes its summary ("not received for 14.0 h"), its
score and the ports it could have reached, run after run, and none of that is logged.
The book's row always shows the alert as the latest run sees it (so ``alerts.csv`` is
what one ``detect`` over the same data reports, running length included); its
``version`` counts the changes of end, status and evidence, and ``alerts_log.csv`` holds
the content each version had when it was made.

``status`` is ``open`` while an alert has no end (``end_utc`` empty: an event still under
way at the end of the data, e.g. a vessel still dark), ``closed`` once it has one, and
``retracted`` as above. ``alerts.csv`` holds the "book": one row per alert id ever
produced, its latest version, with ``status`` and ``version`` after the contract columns
and ``data`` (``simulated`` or ``real``, :mod:`shadowfleet.provenance`) last.
``alerts_log.csv`` gets one line per new version (the book's columns, ``logged_utc``, then
``data``). A log written before the ``data`` column existed is upgraded once, in place
and atomically, its old records with an empty ``data`` (unknown when they were logged).

The log is appended, never rewritten, so tools can tail it. A run killed during an append
leaves at worst a last line without its newline; :func:`repair_log` cuts it off and the
caller appends the rows its committed state says are missing (see ``shadowfleet.job``).
Every log line is one CSV record on one line: line breaks inside text values (free text
from the air) become spaces, so "a line without a newline" is exactly "a torn record".
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pandas as pd

from detectors.columns import ALERT_COLUMNS
from shadowfleet.errors import StateError
from shadowfleet.outputs.columns import ALERT_BOOK_COLUMNS, ALERT_LOG_COLUMNS
from shadowfleet.outputs.files import atomic_write_bytes, write_failed
from shadowfleet.outputs.tables import csv_ready

LOG_HEADER = ",".join(ALERT_LOG_COLUMNS) + "\n"
# the header of logs written before the data column; repair_log upgrades them
_LEGACY_LOG_HEADER = ",".join(ALERT_BOOK_COLUMNS + ("logged_utc",)) + "\n"

_FINGERPRINT = "_fingerprint"
# what makes a new version: the event's identity, its end and its evidence (with the
# claims that count it); status is compared beside them
VERSION_COLUMNS = ("kind", "mmsi", "start_utc", "end_utc", "evidence", "claim_ids")
OPEN, CLOSED, RETRACTED = "open", "closed", "retracted"


@dataclasses.dataclass(frozen=True)
class BookUpdate:
    """The book after a run and the rows that are new versions in this run."""

    book: pd.DataFrame      # ALERT_BOOK_COLUMNS + the private fingerprint column
    changes: pd.DataFrame   # ALERT_BOOK_COLUMNS, the new versions, in book order

    @property
    def counts(self) -> dict[str, int]:
        c = self.changes
        if c.empty:
            return {"new": 0, "changed": 0, "retracted": 0}
        new = int((c["version"] == 1).sum())
        retracted = int((c["status"] == RETRACTED).sum())
        return {"new": new, "changed": int(len(c)) - new - retracted, "retracted": retracted}


def empty_book() -> pd.DataFrame:
    cols = {c: pd.Series([], dtype=object) for c in ALERT_BOOK_COLUMNS + (_FINGERPRINT,)}
    cols["version"] = pd.Series([], dtype="int64")
    return pd.DataFrame(cols)


_TEXT = ("alert_id", "kind", "name", "summary", "evidence", "claim_ids")


def normalise(alerts: pd.DataFrame) -> pd.DataFrame:
    """Alert columns with one dtype each, whatever mix of runs they come from: text as
    ``object`` ("" for missing), ``mmsi`` int64, ``imo`` nullable Int64, times
    ``datetime64[ns, UTC]``, coordinates and score float64."""
    out = alerts.copy()
    for c in _TEXT:
        out[c] = pd.Series([("" if v is None or (isinstance(v, float) and v != v) else str(v))
                            for v in out[c]], index=out.index, dtype=object)
    out["mmsi"] = pd.to_numeric(out["mmsi"]).astype("int64")
    out["imo"] = pd.to_numeric(pd.Series(list(out["imo"]), index=out.index, dtype=object),
                               errors="coerce").round().astype("Int64")
    for c in ("start_utc", "end_utc"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[ns, UTC]")
    for c in ("lat", "lon", "score"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype("float64")
    return out


def _csv_records(frame: pd.DataFrame) -> list[str]:
    """One CSV line per row, as the files show it; line breaks in text become spaces."""
    ready = csv_ready(frame)
    for col in ready.columns:
        ready[col] = ready[col].map(
            lambda v: v.replace("\r", " ").replace("\n", " ") if isinstance(v, str) else v)
    buf = io.StringIO()
    ready.to_csv(buf, header=False, index=False, lineterminator="\n")
    lines = [line + "\n" for line in buf.getvalue().split("\n")[:-1]]
    if len(lines) != len(frame):
        raise StateError("an alert record spans several lines")
    return lines


def _fingerprints(alerts: pd.DataFrame) -> pd.Series:
    """Each (normalised) alert's ``VERSION_COLUMNS`` as one string, row by row
    independent of the other rows: a change in any of them is a new version."""
    if not len(alerts):
        return pd.Series([], dtype=object)
    parts = []
    for c in VERSION_COLUMNS:
        col = alerts[c]
        if c in ("start_utc", "end_utc"):
            text = col.map(lambda v: "" if pd.isna(v) else str(v.value))
        else:
            text = col.map(lambda v: "" if v is None or v is pd.NA else str(v))
        parts.append(text.astype(object))
    out = parts[0]
    for p in parts[1:]:
        out = out + "\x1f" + p
    return out


def _content_status(alerts: pd.DataFrame) -> pd.Series:
    end = pd.to_datetime(alerts["end_utc"], utc=True)
    return pd.Series(end.isna().map({True: OPEN, False: CLOSED}), index=alerts.index,
                     dtype=object)


def update_book(book: pd.DataFrame | None, current: pd.DataFrame) -> BookUpdate:
    """Compare ``current`` (the alert table of this run, contract columns) with ``book``."""
    book = empty_book() if book is None else book
    missing = [c for c in ALERT_COLUMNS if c not in current.columns]
    if missing:
        raise StateError(f"alert table lacks contract columns {missing}")
    cur = normalise(current[list(ALERT_COLUMNS)])
    cur = cur.drop_duplicates("alert_id", keep="first").reset_index(drop=True)
    cur[_FINGERPRINT] = _fingerprints(cur) if len(cur) else pd.Series([], dtype=object)
    cur["status"] = _content_status(cur) if len(cur) else pd.Series([], dtype=object)

    prev = book.set_index("alert_id", drop=False)
    # from the book's own content, not its stored fingerprints: those of a state written
    # by an earlier version covered every column, and would all differ once
    prev_fp = dict(zip(prev.index, _fingerprints(normalise(book)))) if len(book) else {}
    prev_version = prev["version"].astype("int64").to_dict()
    prev_status = prev["status"].to_dict()

    versions, changed = [], []
    for aid, fp, status in zip(cur["alert_id"], cur[_FINGERPRINT], cur["status"]):
        if aid not in prev_version:
            versions.append(1)
            changed.append(True)
        elif prev_fp[aid] != fp or prev_status[aid] != status:
            versions.append(prev_version[aid] + 1)
            changed.append(True)
        else:
            versions.append(prev_version[aid])
            changed.append(False)
    cur["version"] = pd.Series(versions, index=cur.index, dtype="int64")
    cur_changed = pd.Series(changed, index=cur.index, dtype=bool)

    gone = book[~book["alert_id"].isin(set(cur["alert_id"]))].copy()
    gone_changed = gone["status"] != RETRACTED
    gone.loc[gone_changed, "version"] = gone.loc[gone_changed, "version"] + 1
    gone.loc[gone_changed, "status"] = RETRACTED

    kept = list(ALERT_BOOK_COLUMNS) + [_FINGERPRINT]
    merged = pd.concat([cur[kept].assign(_changed=cur_changed),
                        gone[kept].assign(_changed=gone_changed)], ignore_index=True)
    merged["version"] = merged["version"].astype("int64")
    merged = _sorted(normalise(merged))
    changes = merged[merged["_changed"]][list(ALERT_BOOK_COLUMNS)].reset_index(drop=True)
    new_book = merged.drop(columns="_changed").reset_index(drop=True)
    return BookUpdate(book=new_book, changes=changes)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    key = pd.DataFrame({"mmsi": pd.to_numeric(df["mmsi"], errors="coerce"),
                        "start": pd.to_datetime(df["start_utc"], utc=True),
                        "id": df["alert_id"].astype(str)})
    order = key.sort_values(["mmsi", "start", "id"], kind="mergesort",
                            na_position="last").index
    return df.loc[order]


def book_table(book: pd.DataFrame) -> pd.DataFrame:
    """The book as ``alerts.csv`` shows it (contract columns, then status and version)."""
    return book[list(ALERT_BOOK_COLUMNS)].reset_index(drop=True)


def live_alerts(book: pd.DataFrame) -> pd.DataFrame:
    """The alerts a single run over the same data would report (not retracted)."""
    return book_table(book[book["status"] != RETRACTED])


# ---------------------------------------------------------------- the append-only log

def log_lines(changes: pd.DataFrame, logged_utc: pd.Timestamp, *, data: str) -> list[str]:
    """CSV lines (each ending in a newline, none inside) for the rows of ``changes``;
    ``data``: ``simulated`` or ``real``, the run's provenance."""
    if changes.empty:
        return []
    rows = changes[list(ALERT_BOOK_COLUMNS)].copy()
    stamp = pd.Timestamp(logged_utc)
    rows["logged_utc"] = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
    rows["logged_utc"] = rows["logged_utc"].astype("datetime64[ns, UTC]")
    rows["data"] = data
    return _csv_records(rows)


def repair_log(path: str | Path) -> int:
    """Make ``path`` a well-formed log and return its number of records.

    Creates it with the header when missing; cuts a torn last line (one without its
    newline, left by a run killed mid-append); rewrites a torn header; upgrades a log
    without the ``data`` column; refuses a foreign file.
    """
    path = Path(path)
    if not path.exists():
        _write_new_log(path)
        return 0
    _upgrade_legacy_log(path)
    with open(path, "rb+") as fh:
        data = fh.read()
        header = LOG_HEADER.encode()
        if not data.startswith(header):
            if header.startswith(data):  # torn while the header was being written
                fh.seek(0)
                fh.truncate()
                fh.write(header)
                fh.flush()
                os.fsync(fh.fileno())
                return 0
            raise StateError(f"{path}: not a shadowfleet alerts log (unexpected header); "
                             "move it away or give another --out directory")
        end = data.rfind(b"\n") + 1
        if end < len(data):
            fh.truncate(end)
            fh.flush()
            os.fsync(fh.fileno())
        return data.count(b"\n", 0, end) - 1


def _upgrade_legacy_log(path: Path) -> None:
    """A log with the header of before the ``data`` column gets the column: the header
    and every whole record rewritten (old records end in an empty ``data``), a torn last
    line dropped, through a temporary file renamed over the log."""
    legacy = _LEGACY_LOG_HEADER.encode()
    with open(path, "rb") as fh:
        if fh.read(len(legacy)) != legacy:
            return
        body = fh.read()
    body = body[:body.rfind(b"\n") + 1]
    records = [line + b",\n" for line in body.split(b"\n")[:-1]]
    atomic_write_bytes(path, LOG_HEADER.encode() + b"".join(records))


def _write_new_log(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as fh:
        fh.write(LOG_HEADER.encode())
        fh.flush()
        os.fsync(fh.fileno())


def append_log(path: str | Path, lines: list[str]) -> None:
    """Append ``lines`` to the log with one write, then fsync."""
    if not lines:
        return
    data = "".join(lines).encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:      # a torn last record is cut off by the next run's repair_log
        raise write_failed(path, exc) from exc
