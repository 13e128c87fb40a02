"""External sort by MMSI for tables bigger than memory: rows are spilled to Arrow IPC
stream files, one per MMSI range ("bucket"), and read back one bucket at a time in
MMSI order, so only one bucket (plus one piece being spilled) is in memory at once.

The ranges are cut at the quantiles of the MMSIs of the first piece spilled (a feed's
vessels show up early, and one country's MMSIs share their first three digits, so
even ranges alone would put a national feed in one or two buckets) and at even steps
over 0..2**30 (for the MMSIs that first piece did not show); the first bucket takes
every MMSI below the first cut, the last every one above the last, whatever their
value (decoded tables may carry anything). Ranges keep the global MMSI order: sorting
each bucket by the contract order and writing the buckets one after the other gives
the contract order of the whole table. A bucket that grows past ``bucket_bytes``
anyway (vessels not in the first piece) is split again at the quantiles of its own
MMSIs when it is read back; only a bucket holding one vessel stays whole.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

MMSI_LIMIT = 1 << 30
N_BUCKETS = 256
BUCKET_BYTES = 32 << 20         # spilled bytes read back and sorted at once


@contextlib.contextmanager
def spill_dir(parent: str | Path) -> Iterator[Path]:
    """A hidden temporary directory under ``parent``, removed at the end, also on error."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=".spill-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def even_cuts(n_buckets: int, limit: int = MMSI_LIMIT) -> np.ndarray:
    """``n_buckets - 1`` cut points splitting 0..limit evenly (bucket i holds
    cuts[i-1] <= mmsi < cuts[i])."""
    return np.linspace(0, limit, n_buckets + 1)[1:-1].astype(np.int64)


def quantile_cuts(values: np.ndarray, counts: np.ndarray, n_buckets: int) -> np.ndarray:
    """Cut points putting about the same number of rows in each of ``n_buckets`` buckets,
    given the distinct sorted ``values`` and their row ``counts``; every cut lies above
    the smallest value, so each bucket holds fewer distinct values than all of them."""
    if len(values) < 2:
        return np.zeros(0, dtype=np.int64)
    cum = np.cumsum(counts)
    targets = cum[-1] * np.arange(1, n_buckets) / n_buckets
    cuts = np.unique(values[np.minimum(np.searchsorted(cum, targets, side="right"), len(values) - 1)])
    cuts = cuts[cuts > values[0]]
    return cuts if len(cuts) else values[1:2].astype(np.int64)


class MmsiBuckets:
    """Rows of one schema spilled by MMSI range (column ``mmsi``, int64) into
    ``directory``; ``add`` pieces in any order, then ``tables`` yields each bucket's rows
    (unsorted inside) in MMSI-range order and removes its file.

    ``cuts``: the ranges' cut points (bucket i holds cuts[i-1] <= mmsi < cuts[i]); by
    default the first piece's quantiles for ``n_buckets`` and ``n_buckets`` even ranges.
    ``bucket_bytes``: the most spilled bytes ``tables`` reads back at once.
    """

    def __init__(self, directory: str | Path, schema: pa.Schema, *, cuts: np.ndarray | None = None,
                 n_buckets: int = N_BUCKETS, bucket_bytes: int = BUCKET_BYTES):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self.split_into = n_buckets
        self.bucket_bytes = bucket_bytes
        self.rows = 0
        self._files: dict[int, tuple] = {}      # bucket -> (path, sink, writer)
        self.cuts = None
        if cuts is not None:
            self._set_cuts(np.asarray(cuts, dtype=np.int64))

    def _set_cuts(self, cuts: np.ndarray) -> None:
        self.cuts = cuts
        self.n_buckets = len(cuts) + 1
        self._bytes = np.zeros(self.n_buckets, dtype=np.int64)

    def add(self, table: pa.Table) -> None:
        """Spill ``table`` (cast to the schema) into its buckets."""
        if table.num_rows == 0:
            return
        table = table.select(self.schema.names).cast(self.schema)
        mmsi = table.column("mmsi").to_numpy()
        if self.cuts is None:       # the first piece's quantiles, never coarser than even
            cuts = quantile_cuts(*np.unique(mmsi, return_counts=True), self.split_into)
            self._set_cuts(np.union1d(cuts, even_cuts(self.split_into)))
        # the bucket of each distinct MMSI (a hash pass): a binary search per row costs
        # several times more on a piece of a few vessels' interleaved rows
        codes, values = pd.factorize(mmsi)
        bucket = np.searchsorted(self.cuts, values, side="right")[codes]
        if self.n_buckets <= 1 << 16:       # numpy's stable sort of 16-bit keys is a radix sort
            bucket = bucket.astype(np.uint16)
        order = np.argsort(bucket, kind="stable")
        counts = np.bincount(bucket, minlength=self.n_buckets)
        starts = np.concatenate([[0], np.cumsum(counts)])
        table = table.take(pa.array(order))
        for b in np.flatnonzero(counts):
            _, sink, writer = self._open(int(b))
            writer.write_table(table.slice(starts[b], counts[b]))
            self._bytes[b] = sink.tell()
        self.rows += table.num_rows

    def _open(self, b: int):
        if b not in self._files:
            path = self.directory / f"bucket-{b:05d}.arrows"
            sink = pa.OSFile(str(path), "wb")
            self._files[b] = (path, sink, ipc.new_stream(sink, self.schema))
        return self._files[b]

    def tables(self) -> Iterator[pa.Table]:
        """The rows in MMSI-range order: neighbouring buckets joined up to
        ``bucket_bytes`` (fewer, bigger sorts), an oversized bucket holding several
        MMSIs as the buckets of a finer split."""
        for _, sink, writer in self._files.values():
            writer.close()
            sink.close()
        files = dict(sorted((b, f[0]) for b, f in self._files.items()))
        self._files = {}
        group: list[Path] = []
        size = 0
        for b, path in files.items():
            if group and size + self._bytes[b] > self.bucket_bytes:
                yield _read(group)
                group, size = [], 0
            if self._bytes[b] > self.bucket_bytes:
                yield from self._split(path)
            else:
                group.append(path)
                size += self._bytes[b]
        if group:
            yield _read(group)

    def _split(self, path: Path) -> Iterator[pa.Table]:
        """The rows of one oversized bucket file, through a finer split of its MMSIs."""
        values, counts = self._mmsi_counts(path)
        cuts = quantile_cuts(values, counts, self.split_into)
        if len(cuts) == 0:          # one vessel: nothing to split
            yield _read([path])
            return
        sub = MmsiBuckets(path.with_suffix(".d"), self.schema, cuts=cuts,
                          n_buckets=self.split_into, bucket_bytes=self.bucket_bytes)
        with pa.OSFile(str(path), "rb") as src:
            for batch in ipc.open_stream(src):
                sub.add(pa.Table.from_batches([batch]))
        path.unlink()
        yield from sub.tables()
        shutil.rmtree(sub.directory, ignore_errors=True)

    @staticmethod
    def _mmsi_counts(path: Path) -> tuple[np.ndarray, np.ndarray]:
        """Distinct MMSIs of a bucket file and their row counts (one streaming pass)."""
        values = np.zeros(0, dtype=np.int64)
        counts = np.zeros(0, dtype=np.int64)
        with pa.OSFile(str(path), "rb") as src:
            for batch in ipc.open_stream(src):
                v, c = np.unique(batch.column("mmsi").to_numpy(), return_counts=True)
                values, inv = np.unique(np.concatenate([values, v]), return_inverse=True)
                counts = np.bincount(inv, weights=np.concatenate([counts, c]),
                                     minlength=len(values)).astype(np.int64)
        return values, counts

    def close(self) -> None:
        """Close any open bucket file (the directory's owner removes the files)."""
        for _, sink, writer in self._files.values():
            with contextlib.suppress(Exception):
                writer.close()
            sink.close()
        self._files = {}


def _read(paths: list[Path]) -> pa.Table:
    """The rows of bucket files (in order) as one table; the files are removed."""
    tables = []
    for path in paths:
        with pa.OSFile(str(path), "rb") as src:
            tables.append(ipc.open_stream(src).read_all())
        path.unlink()
    return pa.concat_tables(tables)
