"""Where the data came from: outputs made from simulated data say so (DESIGN.md,
"Simulated data says so").

A feed written by the simulator opens with a ``# SIMULATED AIS: ...`` comment line
(``shadowfleet.simulator.feed.HEADER_NOTE``). Whatever reads a feed notes it: ``detect`` per input file
(``summary.json`` lists the note on each simulated input), a scheduled ``job`` per inbox
file as it decodes it (the note is kept in its state, so it outlives the inbox file),
``watch`` from the lines of the stream, and ``demo`` always. A run is simulated when any
of its inputs is: its outputs are then partly made of fictional ships.

A simulated run marks every output where a reader sees it:

- ``claims.csv`` and ``alerts.csv`` (and a job's ``alerts_log.csv``) end with the column
  ``data``: ``simulated``; the claims' ``summary`` sentences start with "SIMULATED DATA:";
- ``claims.md`` opens with a banner; ``map.html`` and ``timeline.png`` carry "SIMULATED
  DATA" in their title.

Real data: the column ``data`` is there too, with the value ``real``. It is always the
last column, so a file's layout does not depend on its input, tools reading several
runs find the column in each, and an append-only alert log never changes its header.
``real`` means "not marked simulated", nothing more: shadowfleet cannot vouch for a feed.
Decoded tables (CSV/Parquet) carry no comment lines, so a simulated feed decoded first and
then given to ``detect`` as a table is not recognised: run ``detect`` on the feed itself.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Iterable

import pandas as pd

from shadowfleet.simulator.feed import HEADER_NOTE

DATA_COLUMN = "data"
SIMULATED = "simulated"
REAL = "real"
TITLE_MARK = "SIMULATED DATA"
# the comment line the simulator writes at the top of a feed
MARK_LINE = "# " + HEADER_NOTE.split(":", 1)[0]
HEAD_LINES = 8          # the mark is among a simulated feed's first lines
DEFAULT_NOTE = "SIMULATED AIS: every vessel, MMSI and IMO in these data is fictional"


def note_in_lines(lines: Iterable[str | bytes]) -> str | None:
    """The simulator's note when one of ``lines`` is its ``# SIMULATED AIS`` comment."""
    for line in lines:
        text = line.decode("ascii", "replace") if isinstance(line, bytes) else line
        text = text.strip()
        if text.startswith(MARK_LINE):
            return text[2:].strip()
    return None


HEAD_BYTES = 1 << 16     # the first lines of a feed are within this much of its text


def note_in_bytes(data: bytes) -> str | None:
    """The simulator's note in the first lines of a feed's bytes (plain or gzip): only
    the head is inflated, so a small gzip that inflates to gigabytes costs 64 KB."""
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompressobj(wbits=31).decompress(data, HEAD_BYTES)
        except zlib.error:
            return None
    return note_in_lines(data[:HEAD_BYTES].splitlines()[:HEAD_LINES])


def note_in_file(path: str | Path) -> str | None:
    """The simulator's note in the first lines of a feed file (plain or .gz), None for any
    other file or one that cannot be read."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rb") as fh:
            head = [fh.readline(4096) for _ in range(HEAD_LINES)]
    except (OSError, EOFError, ValueError):
        return None
    return note_in_lines(head)


def mark_inputs(inputs: list[dict]) -> list[dict]:
    """The input records of a read (``{path, sha256, lines}``) with ``simulated``: the note,
    on those whose file opens with the simulator's mark (a record already marked keeps it)."""
    out = []
    for entry in inputs:
        entry = dict(entry)
        if "simulated" not in entry:
            path = entry.get("path")
            note = note_in_file(path) if path and path != "-" else None
            if note:
                entry["simulated"] = note
        out.append(entry)
    return out


def simulated_note(stats: dict) -> str | None:
    """The note of a run whose data are (partly) simulated: from its inputs' records or a
    note the run was given (``stats["simulated"]``); None for real data."""
    given = stats.get("simulated")
    if given:
        return str(given)
    for entry in stats.get("inputs", []) or []:
        if isinstance(entry, dict) and entry.get("simulated"):
            return str(entry["simulated"])
    return None


def data_value(note: str | None) -> str:
    return SIMULATED if note else REAL


def with_data_column(frame: pd.DataFrame, data: str) -> pd.DataFrame:
    """``frame`` with the column ``data`` last (replacing one already there)."""
    out = frame.drop(columns=[DATA_COLUMN], errors="ignore").copy()
    out[DATA_COLUMN] = pd.Series([data] * len(out), index=out.index, dtype=object)
    return out


def mark_claims(table: pd.DataFrame, data: str) -> pd.DataFrame:
    """claims.csv's table with ``data`` last; in a simulated run each summary sentence
    starts with "SIMULATED DATA:" too (the ``data`` column is far right in a spreadsheet)."""
    out = with_data_column(table, data)
    if data == SIMULATED and "summary" in out and len(out):
        prefix = f"{TITLE_MARK}: "
        out["summary"] = [s if str(s).startswith(prefix) else prefix + str(s)
                          for s in out["summary"]]
    return out


def title(text: str, data: str) -> str:
    """A figure's or page's title, led by "SIMULATED DATA" for simulated data."""
    return f"{TITLE_MARK}: {text}" if data == SIMULATED else text
