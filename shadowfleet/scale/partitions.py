"""The partitions of a Dask run, under its work directory.

``decoded/{positions,statics}/f<file>-p<partition>.parquet``: each input file's rows of
each partition, as its decode task wrote them; ``partitions/p<partition>/<table>.parquet``:
the partition's tables once its copies across files are dropped (``statics``) and its
positions cleaned (``positions``, ``own``: messages without a position);
``cells/{encounters,positions}/p<partition>.parquet``: the partition's encounter grid
points at sea (copied to every cell within the encounter distance) and its usable
positions, sorted by space-time cell (:mod:`shadowfleet.scale.cells`);
``cells/pairs/p<partition>/t<task>.parquet``: the close pairs a cell task found whose
first vessel is in the partition. A vessel (an MMSI) is in one partition: :func:`partition_of`.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ais.reading.read import read_inputs
from ais.schema import (POSITION_COLUMNS, POSITION_DTYPES, STATIC_COLUMNS, STATIC_DTYPES,
                        empty_frame, sort_by_vessel_time)
from ais.tables.decoded import COUNT_KEYS
from shadowfleet.scale import _dedup_kernel as _k

DEDUP_WINDOW_S = 10.0
PARTITION_BYTES = 128 * 2 ** 20     # input bytes (plain NMEA) per partition, about 1.7M messages
GZIP_RATIO = 6                      # what a gzip input holds per byte, roughly
ROW_GROUP_ROWS = 256_000


def partition_of(mmsi: np.ndarray, n: int) -> np.ndarray:
    """The partition (0..n-1) of each MMSI: a multiplicative hash, so neighbouring MMSIs
    (one fleet, one country) spread over the partitions."""
    h = np.asarray(mmsi, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((h >> np.uint64(33)) % np.uint64(max(int(n), 1))).astype(np.int64)


def default_partitions(files: list[str], workers: int = 1) -> int:
    """One partition per ``PARTITION_BYTES`` of input (gzip files counted unpacked),
    rounded up to a multiple of ``workers`` (so that no worker waits for the last)."""
    size = 0
    for f in files:
        try:
            n = os.path.getsize(f)
        except OSError:
            continue
        size += n * (GZIP_RATIO if str(f).endswith(".gz") else 1)
    workers = max(int(workers), 1)
    return -(-max(1, -(-size // PARTITION_BYTES)) // workers) * workers


def decoded_path(work: str, kind: str, f: int, k: int) -> str:
    return os.path.join(work, "decoded", kind, f"f{f:06d}-p{k:05d}.parquet")


def table_path(work: str, k: int, name: str) -> str:
    return os.path.join(work, "partitions", f"p{k:05d}", f"{name}.parquet")


def cells_path(work: str, kind: str, k: int) -> str:
    """Partition ``k``'s rows of ``kind`` (``encounters``: grid points, ``positions``)
    sorted by space-time cell (:mod:`shadowfleet.scale.cells`)."""
    return os.path.join(work, "cells", kind, f"p{k:05d}.parquet")


def pairs_path(work: str, task: int, k: int) -> str:
    """Cell task ``task``'s close pairs whose first vessel is in partition ``k``."""
    return os.path.join(work, "cells", "pairs", f"p{k:05d}", f"t{task:06d}.parquet")


def make_dirs(work: str, n: int) -> None:
    for kind in ("positions", "statics"):
        os.makedirs(os.path.join(work, "decoded", kind), exist_ok=True)
    with open(os.path.join(work, "partitions.txt"), "w", encoding="utf-8") as fh:
        fh.write(str(n))


def n_partitions(work: str) -> int:
    with open(os.path.join(work, "partitions.txt"), encoding="utf-8") as fh:
        return int(fh.read())


def store(frame: pd.DataFrame, path: str, row_group_rows: int = ROW_GROUP_ROWS) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    frame.to_parquet(path, index=False, engine="pyarrow", row_group_size=row_group_rows)


def read_cells(work: str, kind: str, first: int, last: int) -> pd.DataFrame:
    """Every partition's rows of ``kind`` in the cells ``first`` to ``last`` (keys): the
    files are sorted by cell, so Parquet's row-group statistics skip the rest."""
    import pyarrow.dataset as ds

    files = [cells_path(work, kind, k) for k in range(n_partitions(work))]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        return pd.DataFrame()
    table = ds.dataset(files, format="parquet").to_table(
        filter=(ds.field("cell") >= first) & (ds.field("cell") <= last))
    return table.to_pandas()


def _write_split(frame: pd.DataFrame, work: str, kind: str, f: int, n: int) -> None:
    """``frame``'s rows of each partition to its file (none for an empty partition)."""
    if not len(frame):
        return
    part = partition_of(frame["mmsi"].to_numpy(), n)
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(n + 1))
    for k in range(n):
        a, b = bounds[k], bounds[k + 1]
        if b > a:
            frame.iloc[order[a:b]].reset_index(drop=True).to_parquet(
                decoded_path(work, kind, f, k), index=False, engine="pyarrow")


def decode_task(f: int, path: str, work: str, n: int, decoder: str,
                require_times: bool = True) -> dict:
    """A task: decode input file number ``f`` and write its rows to the partitions;
    send back its counts, rejects, inputs and warnings (a ``Decoded`` does not go over
    the wire: it may hold a pending sort in a thread pool, which does not pickle)."""
    d = read_inputs([path], decoder=decoder, require_times=require_times, progress=False)
    counts = d.counts
    _write_split(d.positions, work, "positions", f, n)
    _write_split(d.statics, work, "statics", f, n)
    return {"rejects": d.rejects, "counts": {k: counts[k] for k in COUNT_KEYS},
            "messages_by_type": counts["messages_by_type"],
            "rejected_by_reason": counts["rejected_by_reason"],
            "inputs": counts["inputs"], "warnings": list(d.warnings)}


def _read_decoded(work: str, kind: str, n_files: int, k: int, columns, dtypes):
    """The partition's rows of every file, in file order, and each row's file."""
    frames, files = [], []
    for f in range(n_files):
        p = decoded_path(work, kind, f, k)
        if os.path.exists(p):
            frame = as_schema(pd.read_parquet(p, engine="pyarrow"), dtypes)
            frames.append(frame)
            files.append(np.full(len(frame), f, dtype=np.int64))
    if not frames:
        return empty_frame(columns, dtypes), np.zeros(0, dtype=np.int64)
    return pd.concat(frames, ignore_index=True), np.concatenate(files)


def as_schema(frame: pd.DataFrame, dtypes: dict) -> pd.DataFrame:
    """``frame`` read back from Parquet with the decoder's dtypes: text columns as Python
    objects, missing text as None (Parquet gives them back as strings with NaN), times
    in ns (Parquet has no seconds unit)."""
    for c, dtype in dtypes.items():
        if dtype.startswith("datetime64") and c in frame.columns and str(frame[c].dtype) != dtype:
            frame[c] = frame[c].astype(dtype)
        if dtype == "object" and c in frame.columns and frame[c].dtype != object:
            col = frame[c].astype(object)
            frame[c] = col.where(col.notna(), None)
    return frame


def partition_frames(work: str, n_files: int, k: int) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(positions, statics, copies dropped) of partition ``k``: its rows of every file
    without the copies across files, sorted as ``Decoded`` sorts them; the copies
    dropped per AIS type (``messages_by_type`` counts messages kept)."""
    pos, pos_files = _read_decoded(work, "positions", n_files, k, POSITION_COLUMNS,
                                   POSITION_DTYPES)
    sta, sta_files = _read_decoded(work, "statics", n_files, k, STATIC_COLUMNS, STATIC_DTYPES)
    pos_dup = cross_file_duplicates(pos, DEDUP_WINDOW_S, pos_files)
    sta_dup = cross_file_duplicates(sta, DEDUP_WINDOW_S, sta_files)
    dropped = pd.concat([pos.loc[pos_dup, "msg_type"], sta.loc[sta_dup, "msg_type"]])
    by_type = {str(int(t)): int(c) for t, c in dropped.value_counts().items()}
    pos = sort_by_vessel_time(pos[~pos_dup].reset_index(drop=True))
    sta = sort_by_vessel_time(sta[~sta_dup].reset_index(drop=True))
    return pos, sta, by_type


def cross_file_duplicates(frame: pd.DataFrame, window_s: float, files: np.ndarray) -> np.ndarray:
    """Mask of rows that repeat an earlier kept row of another file (same content)
    within ``window_s``. Rows of one file are never each other's duplicates here: its
    decoder already dropped those by payload, and equal decoded content is not an equal
    payload (two "position not available" reports of one ship ten seconds apart decode
    the same and are two messages). A row without a receive time is never a copy (no
    window to be one within). ``files``: each row's input file (an integer)."""
    dup = np.zeros(len(frame), dtype=bool)
    if len(frame) == 0:
        return dup
    content = [c for c in frame.columns if c not in ("source", "line", "timestamp")]
    key = pd.util.hash_pandas_object(frame[content], index=False).to_numpy(np.uint64)
    stamp = frame["timestamp"]
    t = np.where(stamp.isna().to_numpy(), np.nan,
                 stamp.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9)
    order = np.lexsort((t, key)).astype(np.int64)
    _k.mark_copies(np.ascontiguousarray(key), np.ascontiguousarray(t),
                   np.ascontiguousarray(files, dtype=np.int64), order, float(window_s), dup)
    return dup
