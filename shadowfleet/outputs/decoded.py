"""The files of ``shadowfleet decode``: positions.parquet, statics.parquet, rejects.csv,
summary.json (DESIGN.md, "Output files"). The pipeline reuses ``build_summary`` and adds
its event counts.

``write_decoded`` writes a ``Decoded`` held in memory; ``write_decoded_stream`` writes the
same files from the pieces ``ais.iter_inputs`` yields, spilling positions and statics to
disk by MMSI range (``shadowfleet.outputs.spill``) so memory stays bounded whatever the
size of the input.
"""

from __future__ import annotations

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ais.progress import Progress
from ais.tables.decoded import Decoded, iso_utc
from ais.tables.frames import PositionBatch, StaticBatch, to_epoch
from ais.schema import (POSITION_COLUMNS, REJECT_COLUMNS, STATIC_COLUMNS, VESSEL_ORDER,
                        sort_by_vessel_time)
from shadowfleet.provenance import mark_inputs
from shadowfleet.outputs.files import atomic_path, atomic_write_text
from shadowfleet.outputs.spill import BUCKET_BYTES, N_BUCKETS, MmsiBuckets, spill_dir
from shadowfleet.outputs.tables import write_csv, write_parquet
from shadowfleet.tuning import release_freed_memory

SUMMARY_KEYS = ("lines_read", "messages_decoded", "messages_by_type", "duplicates",
                "rejected", "rejected_by_reason", "vessels", "time_span", "inputs")


def build_summary(decoded_stats: dict, events: dict[str, int] | None = None) -> dict:
    """summary.json content from ``Decoded.stats`` (and event counts, when given).

    ``messages_decoded`` counts messages decoded (all types, after dedup and rejects);
    the remaining ``Decoded.stats`` counts follow the contract keys; ``events`` maps an
    event kind (port_visits, round_trips, ...) to its count.
    """
    s = dict(decoded_stats)
    summary = {
        "lines_read": int(s.get("lines_read", 0)),
        "messages_decoded": int(sum(s.get("messages_by_type", {}).values())),
        "messages_by_type": dict(s.get("messages_by_type", {})),
        "duplicates": int(s.get("duplicates", 0)),
        "rejected": int(s.get("rejected", 0)),
        "rejected_by_reason": dict(s.get("rejected_by_reason", {})),
        "vessels": int(s.get("vessels", 0)),
        "time_span": s.get("time_span"),
        "inputs": list(s.get("inputs", [])),
    }
    for k in ("positions", "statics", "sentences", "non_ais_sentences", "messages",
              "tagblock_checksum_errors", "no_receive_time"):
        if k in s:
            summary[k] = int(s[k])
    if events is not None:
        summary["events"] = {k: int(v) for k, v in events.items()}
    return summary


def write_decoded(decoded, out_dir: str | Path) -> dict[str, Path]:
    """Write the four files of a ``Decoded`` into ``out_dir`` (created); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "positions": write_parquet(decoded.positions[list(POSITION_COLUMNS)], out / "positions.parquet"),
        "statics": write_parquet(decoded.statics[list(STATIC_COLUMNS)], out / "statics.parquet"),
        "rejects": write_csv(decoded.rejects, out / "rejects.csv", REJECT_COLUMNS),
    }
    stats = dict(decoded.stats)
    stats["inputs"] = mark_inputs(stats.get("inputs", []))   # simulated feeds say so
    summary = build_summary(stats)
    if decoded.warnings:
        summary["warnings"] = list(decoded.warnings)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    paths["summary"] = out / "summary.json"
    return paths


# Rows as spilled: the contract columns, timestamps in ns, plus the positions' receive
# time in float seconds as the fast path keeps it (``PositionBatch``), so the frame built
# from a bucket is the one the in-memory merge would build.
_F64, _I64, _STR = pa.float64(), pa.int64(), pa.string()
_TS = pa.timestamp("ns", tz="UTC")
POSITIONS_SPILL = pa.schema([("mmsi", _I64), ("timestamp", _TS), ("lat", _F64), ("lon", _F64),
                             ("sog", _F64), ("cog", _F64), ("heading", _F64), ("msg_type", _I64),
                             ("source", _STR), ("line", _I64), ("time", _F64)])
STATICS_SPILL = pa.schema([("mmsi", _I64), ("timestamp", _TS), ("imo", _F64), ("name", _STR),
                           ("callsign", _STR), ("ship_type", _F64), ("length", _F64),
                           ("beam", _F64), ("draught", _F64), ("destination", _STR),
                           ("eta", _STR), ("msg_type", _I64), ("source", _STR), ("line", _I64)])
# Fast-path batches are spilled as their plain columns (no timestamp, no text: the
# station as a code into the run's names, ``_Stations``): about a third cheaper to
# partition and write than the rows above, and read back without a frame.
BATCH_SPILL = pa.schema([("mmsi", _I64), ("time", _F64), ("lat", _F64), ("lon", _F64),
                         ("sog", _F64), ("cog", _F64), ("heading", _F64), ("msg_type", _I64),
                         ("station", pa.int32()), ("line", _I64)])
# pyarrow 25 takes the place of nulls per sort key (and deprecates the option for all)
_NULLS_PER_KEY = int(pa.__version__.split(".")[0]) >= 25
# fast-path statics are spilled a group of pieces at a time, as one frame: the frame's
# cost is mostly per call (statics are a few percent of the messages)
STATICS_GROUP_ROWS = 1 << 17
PARQUET_ROW_GROUP = 1 << 20     # pyarrow's default, so the files match write_parquet's


def write_decoded_stream(pieces: Iterable[Decoded], read, out_dir: str | Path, *,
                         n_buckets: int = N_BUCKETS, bucket_bytes: int = BUCKET_BYTES,
                         progress: Progress | None = None) -> tuple[dict[str, Path], Decoded]:
    """The files of ``write_decoded(read_inputs(...), out_dir)``, from the pieces of
    ``ais.iter_inputs`` (``read``: its ``InputsRead``) with bounded memory.

    Positions and statics are spilled by MMSI range to a temporary directory under
    ``out_dir`` (removed at the end, also on error), then sorted a bucket at a time and
    appended to their Parquet files; rejects are kept in memory. Nothing is written when
    reading fails. Returns the paths and a ``Decoded`` holding the rejects and the counts
    (``stats``, ``warnings``, ``describe()``) but no positions or statics rows.
    ``progress`` (``ais.progress``) reports the sort and write after the read's own phase.
    """
    progress = progress if progress is not None else Progress.off()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with spill_dir(out) as tmp:
        # positions of frames (decoded tables, the pyais decoder) and of fast-path batches
        positions = MmsiBuckets(tmp / "positions", POSITIONS_SPILL, n_buckets=n_buckets,
                                bucket_bytes=bucket_bytes)
        batches = MmsiBuckets(tmp / "batches", BATCH_SPILL, n_buckets=n_buckets,
                              bucket_bytes=bucket_bytes)
        statics = MmsiBuckets(tmp / "statics", STATICS_SPILL, n_buckets=n_buckets,
                              bucket_bytes=bucket_bytes)
        stations = _Stations()
        counts: list[Decoded] = []        # per piece: counts, rejects, warnings
        witnesses: list[Decoded] = []     # per piece: a few rows carrying its column types
        any_batch = False
        # a piece is spilled on a thread while the next one is read and decoded (numpy,
        # Arrow and the file writes release the GIL); one piece at a time
        spiller = _OneAhead("shadowfleet-spill")
        held_statics: list[StaticBatch] = []

        def spill_statics(frame: pd.DataFrame | None = None) -> None:
            """Spill the statics batches held (as one frame), then ``frame``."""
            frames = [StaticBatch.concat(held_statics).frame(sort=False)] if held_statics else []
            held_statics.clear()
            for f in frames + ([frame] if frame is not None else []):
                spiller.submit(statics.add, _frame_table(f, STATICS_SPILL))
                witnesses.append(Decoded(statics=_frame_witness(f), sort=False))

        try:
            for piece in pieces:
                batch = piece.position_batch
                any_batch |= batch is not None
                if batch is not None:
                    spiller.submit(batches.add, _batch_table(batch, stations))
                    wpos = _batch_witness(batch)
                else:
                    spiller.submit(positions.add, _frame_table(piece.positions, POSITIONS_SPILL))
                    wpos = _frame_witness(piece.positions)
                witnesses.append(Decoded(wpos, sort=False))
                sbatch = piece.static_batch
                if sbatch is not None:      # spilled a group of pieces at a time
                    held_statics.append(sbatch)
                    if sum(len(b) for b in held_statics) >= STATICS_GROUP_ROWS:
                        spill_statics()
                else:
                    spill_statics(piece.statics)
                s = piece.counts        # (vessels and time span: from the files written)
                # unsorted: the merge at the end sorts (stably) what these hold
                counts.append(Decoded(rejects=piece.rejects, counts=s,
                                      messages_by_type=s["messages_by_type"],
                                      rejected_by_reason=s["rejected_by_reason"],
                                      warnings=piece.warnings, sort=False))
                del piece, batch, sbatch
            spill_statics()
            spiller.wait()
            # what the read kept of its freed memory goes back: the sort's arrays would
            # otherwise come on top of it (measured on a 2.5 GB feed: peak 1.8 to 1.9 GB, not 1.3)
            release_freed_memory()
            types = Decoded.merge(witnesses)
            span = _Span()
            n_positions = positions.rows + batches.rows
            with progress.phase("sorting and writing", total=n_positions + statics.rows,
                                unit="rows") as bar:
                if any_batch:       # frames' rows join the batches' (as Decoded.merge does)
                    for t in positions.tables():
                        batches.add(_frame_batch_table(t, stations))
                    positions = batches
                paths = _write_tables(out, positions, statics, types, any_batch, stations,
                                      span, bar)
        finally:
            spiller.close()
            positions.close()
            batches.close()
            statics.close()
    summary = Decoded.merge(counts, inputs=read.inputs)
    summary.warnings.extend(read.warnings)
    summary.stats.update(positions=n_positions, statics=statics.rows,
                         vessels=span.vessels(), time_span=span.time_span())
    paths["rejects"] = write_csv(summary.rejects, out / "rejects.csv", REJECT_COLUMNS)
    summary.stats["inputs"] = mark_inputs(summary.stats["inputs"])   # simulated feeds say so
    summary_json = build_summary(summary.stats)
    if summary.warnings:
        summary_json["warnings"] = list(summary.warnings)
    atomic_write_text(out / "summary.json", json.dumps(summary_json, indent=2) + "\n")
    paths["summary"] = out / "summary.json"
    return paths, summary


def _write_tables(out: Path, positions, statics, types, any_batch: bool, stations, span,
                  bar) -> dict:
    """Sort the spilled buckets one at a time into positions.parquet and statics.parquet."""
    def counted(tables):
        for t in tables:
            bar.update(t.num_rows)
            yield t

    pos_schema = _parquet_schema(types.positions, POSITION_COLUMNS)
    sta_schema = _parquet_schema(types.statics, STATIC_COLUMNS)
    if any_batch:
        pos_tables = (_sorted_positions(t, stations, pos_schema, span)
                      for t in counted(positions.tables()))
    else:
        pos_tables = (_sorted_rows(t.drop_columns(["time"]), pos_schema, span)
                      for t in counted(positions.tables()))
    return {
        "positions": _write_sorted(pos_tables, pos_schema, out / "positions.parquet"),
        "statics": _write_sorted((_sorted_rows(t, sta_schema, span)
                                  for t in counted(statics.tables())),
                                 sta_schema, out / "statics.parquet"),
    }


def _sorted_rows(table: pa.Table, schema: pa.Schema, span: "_Span") -> pa.Table:
    """Spilled contract rows (one bucket) sorted as ``sort_by_vessel_time`` sorts their
    frame, as the Arrow table ``schema`` gives that frame; sorted in Arrow (a stable
    sort, nulls last, text in code point order, as the frame's sort) when the spilled
    column types are the file's, through the frame otherwise."""
    if any(table.schema.field(f.name).type != f.type for f in schema):
        return _arrow(sort_by_vessel_time(_to_frame(table)), schema, span)
    keys = [k for k in VESSEL_ORDER if k in table.column_names]
    if _NULLS_PER_KEY:
        order = pc.sort_indices(table, sort_keys=[(k, "ascending", "at_end") for k in keys])
    else:
        order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys],
                                null_placement="at_end")
    table = table.take(order)
    times = table.column("timestamp").drop_null()
    span.add_columns(table.column("mmsi").to_numpy(),
                     times.cast(pa.int64()).to_numpy() if len(times) else np.zeros(0, np.int64))
    return pa.Table.from_arrays([table.column(f.name) for f in schema], schema=schema)


class _OneAhead:
    """Calls run one after the other on one worker thread while the caller goes on;
    ``submit`` first waits for the call before (one pending at a time: bounded
    memory) and raises its error."""

    def __init__(self, name: str):
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.pending = None

    def submit(self, fn, *args) -> None:
        self.wait()
        self.pending = self.pool.submit(fn, *args)

    def wait(self) -> None:
        """Wait for the call pending; raise its error."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending.result()

    def close(self) -> None:
        """Wait for the calls under way (errors left to ``wait``) and stop the thread."""
        self.pool.shutdown(wait=True)


class _Stations:
    """The station names of a run, each with one code: the batches' own codes are
    mapped to these before they are spilled."""

    def __init__(self):
        self.codes: dict[str, int] = {}

    def remap(self, names) -> np.ndarray:
        """The run's code of each of ``names`` (new names get new codes)."""
        return np.array([self.codes.setdefault(n, len(self.codes)) for n in names] or [0],
                        dtype=np.int32)

    @property
    def names(self) -> list[str]:
        return list(self.codes)


def _batch_table(batch: PositionBatch, stations: _Stations) -> pa.Table:
    """A fast-path positions batch as spilled columns (``BATCH_SPILL``; no frame built)."""
    c = batch.cols
    cols = {k: np.asarray(c[k], dtype=BATCH_SPILL.field(k).type.to_pandas_dtype())
            for k in BATCH_SPILL.names if k != "station"}
    cols["station"] = stations.remap(batch.names)[np.asarray(c["station"], dtype=np.int64)]
    return pa.table(cols, schema=BATCH_SPILL)


def _frame_batch_table(table: pa.Table, stations: _Stations) -> pa.Table:
    """Spilled frame rows (``POSITIONS_SPILL``) as batch rows (``BATCH_SPILL``): the
    float receive time, the source as a station code, as ``PositionBatch.from_frame``."""
    source = table.column("source").combine_chunks().dictionary_encode()
    remap = stations.remap(source.dictionary.to_pylist())
    cols = {k: table.column(k) for k in BATCH_SPILL.names if k != "station"}
    cols["station"] = remap[source.indices.to_numpy(zero_copy_only=False)]
    return pa.table(cols, schema=BATCH_SPILL)


def _frame_table(df: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """A contract frame as spilled rows; positions get the float receive time that
    ``PositionBatch.from_frame`` would give them."""
    if "time" in schema.names:
        df = df.assign(time=to_epoch(df["timestamp"]))
    df = df.assign(timestamp=df["timestamp"].astype("datetime64[ns, UTC]"))
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def _to_frame(table: pa.Table) -> pd.DataFrame:
    """Spilled rows back as a frame, text as object columns (as the contract frames)."""
    df = table.to_pandas()
    for f in table.schema:
        if pa.types.is_string(f.type):
            df[f.name] = df[f.name].astype(object)
    return df


def _sorted_positions(table: pa.Table, stations: _Stations, schema: pa.Schema,
                      span: "_Span") -> pa.Table:
    """One bucket of spilled batch rows in contract order, as the Arrow table that
    ``pa.Table.from_pandas`` makes of the frame ``Decoded.merge`` builds for them
    (``PositionBatch.frame``), built from the sorted columns without that frame."""
    cols = {k: table.column(k).to_numpy() for k in BATCH_SPILL.names}
    c = PositionBatch(stations.names, **cols).columns()
    ns = c["ns"]
    ok = ns != np.iinfo(np.int64).min
    span.add_columns(c["mmsi"], ns[ok])
    names = pa.array(stations.names, type=pa.string())
    arrays = {
        "mmsi": pa.array(c["mmsi"].astype(np.int64, copy=False)),
        "timestamp": pa.array(ns.view("datetime64[ns]"), type=pa.timestamp("ns", tz="UTC"),
                              mask=~ok),
        **{k: pa.array(c[k].astype(np.float64, copy=False), from_pandas=True)   # NaN: null
           for k in ("lat", "lon", "sog", "cog", "heading")},
        "msg_type": pa.array(c["msg_type"].astype(np.int64, copy=False)),
        "source": names.take(pa.array(c["station"])),
        "line": pa.array(c["line"].astype(np.int64, copy=False)),
    }
    return pa.Table.from_arrays([arrays[f.name].cast(f.type) for f in schema], schema=schema)


def _arrow(df: pd.DataFrame, schema: pa.Schema, span: "_Span") -> pa.Table:
    """A sorted contract frame as the Arrow table written (its MMSIs and times counted)."""
    if len(df):
        ts = df["timestamp"].dropna().dt.as_unit("ns")
        span.add_columns(df["mmsi"].to_numpy(), ts.to_numpy(dtype="datetime64[ns]").view(np.int64))
    return pa.Table.from_pandas(df[schema.names], schema=schema, preserve_index=False)


def _batch_witness(batch: PositionBatch) -> PositionBatch:
    """A few rows of a batch that give the frame built from it its dtypes."""
    t = np.asarray(batch.cols["time"], dtype=np.float64)
    rows = sorted({0, int(np.argmax(np.isfinite(t)))}) if len(t) else []
    return PositionBatch(batch.names, **{k: np.asarray(v)[rows] for k, v in batch.cols.items()})


def _frame_witness(df: pd.DataFrame) -> pd.DataFrame:
    """A few rows of a frame with the same column types as the whole: for each column
    its first non-missing value, and for text columns holding other objects too the
    first value of each Python type (what pyarrow and the pandas metadata look at)."""
    if len(df) == 0:
        return df
    rows = {0}
    for c in df.columns:
        present = df[c].notna().to_numpy()
        rows.add(int(np.argmax(present)))
        if df[c].dtype == object and pd.api.types.infer_dtype(df[c], skipna=True) not in ("string", "empty"):
            kinds = df[c].map(type)
            rows.update(np.flatnonzero(~kinds.duplicated().to_numpy()).tolist())
    return df.iloc[sorted(rows)].reset_index(drop=True)


def _parquet_schema(df: pd.DataFrame, columns: tuple[str, ...]) -> pa.Schema:
    """The Arrow schema (with pandas metadata) ``write_parquet`` gives ``df[columns]``."""
    return pa.Schema.from_pandas(df[list(columns)], preserve_index=False)


class _Span:
    """Distinct MMSIs and the time span over the sorted tables written, as ``Decoded``
    counts them."""

    def __init__(self):
        self.mmsi: list[np.ndarray] = []
        self.first = self.last = None

    def add_columns(self, mmsi: np.ndarray, ns: np.ndarray) -> None:
        """``mmsi``: sorted; ``ns``: the times given (ns since the epoch)."""
        if len(mmsi):
            self.mmsi.append(mmsi[np.r_[True, mmsi[1:] != mmsi[:-1]]])
        if len(ns):
            lo, hi = int(ns.min()), int(ns.max())
            self.first = lo if self.first is None else min(self.first, lo)
            self.last = hi if self.last is None else max(self.last, hi)

    def vessels(self) -> int:
        return len(np.unique(np.concatenate(self.mmsi))) if self.mmsi else 0

    def time_span(self) -> dict | None:
        if self.first is None:
            return None
        return {"start": iso_utc(pd.Timestamp(self.first, tz="UTC")),
                "end": iso_utc(pd.Timestamp(self.last, tz="UTC"))}


def _write_sorted(tables: Iterator[pa.Table], schema: pa.Schema, path: Path) -> Path:
    """Append sorted tables to one Parquet file (atomically: all or nothing), in row
    groups of ``PARQUET_ROW_GROUP`` rows as ``write_parquet`` makes them."""
    group = _OneAhead("shadowfleet-parquet")
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, schema, compression="snappy") as writer, \
            contextlib.closing(group):
        held: list[pa.Table] = []
        n_held = 0
        written = False
        for t in tables:
            if not t.num_rows:
                continue
            held.append(t)
            n_held += t.num_rows
            while n_held >= PARQUET_ROW_GROUP:
                table = pa.concat_tables(held)
                # written on a thread while the next bucket is read and sorted
                group.submit(writer.write_table, table.slice(0, PARQUET_ROW_GROUP).combine_chunks())
                held, n_held = [table.slice(PARQUET_ROW_GROUP)], n_held - PARQUET_ROW_GROUP
                written = True
        if n_held or not written:
            group.submit(writer.write_table, pa.concat_tables(held).combine_chunks() if held
                         else schema.empty_table())
        group.wait()
    return path
