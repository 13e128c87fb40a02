"""``positions.parquet`` and ``statics.parquet`` of a Dask run, from its partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ais.schema import sort_by_vessel_time
from shadowfleet.scale.partitions import table_path

WRITE_ROWS = 500_000                # rows per MMSI range when writing positions.parquet


class PartitionWriter:
    """Writes ``positions.parquet`` and ``statics.parquet`` from the partitions, a range
    of MMSIs at a time (read from every partition, sorted, appended), so the client never
    holds more than ``rows`` of them; the same rows in the same order as the local
    engine's files. Holds the work directory (removed when the run made it and this
    goes away)."""

    def __init__(self, work: str, n: int, position_counts, statics_counts,
                 rows: int = WRITE_ROWS):
        self.work, self.n, self.rows = work, n, rows
        self.counts = {"positions": position_counts, "statics": statics_counts}

    def __call__(self, out: Path) -> None:
        from shadowfleet.outputs.files import atomic_path

        for name, drop in (("positions", ["spoofed"]), ("statics", [])):
            with atomic_path(Path(out) / f"{name}.parquet") as tmp:
                self._write(name, drop, tmp)

    def frame(self, name: str) -> pd.DataFrame:
        """The whole table (for claims, watchlists and figures)."""
        parts = [pd.read_parquet(table_path(self.work, k, name), engine="pyarrow")
                 for k in range(self.n)]
        full = [p for p in parts if len(p)]
        return sort_by_vessel_time(pd.concat(full, ignore_index=True) if full else parts[0])

    def _ranges(self, name: str):
        mmsi, count = self.counts[name]
        if not len(mmsi):
            yield None
            return
        order = np.argsort(mmsi)
        mmsi, cum = mmsi[order], np.cumsum(count[order])
        start = 0
        while start < len(mmsi):
            base = cum[start - 1] if start else 0
            end = max(int(np.searchsorted(cum, base + self.rows, side="right")), start + 1)
            yield int(mmsi[start]), int(mmsi[end - 1])
            start = end

    def _write(self, name: str, drop: list[str], path) -> None:
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        files = [table_path(self.work, k, name) for k in range(self.n)]
        full = [f for f in files if pq.ParquetFile(f).metadata.num_rows]
        if not full:            # no rows at all: the (empty) table of one partition
            frame = pd.read_parquet(files[0], engine="pyarrow")
            frame[[c for c in frame.columns if c not in drop]].to_parquet(path, index=False)
            return
        dataset = ds.dataset(full, format="parquet")
        writer = None
        try:
            for bounds in self._ranges(name):
                if bounds is None:
                    table = dataset.to_table()
                else:
                    lo, hi = bounds
                    table = dataset.to_table(filter=(ds.field("mmsi") >= lo) & (ds.field("mmsi") <= hi))
                frame = sort_by_vessel_time(table.to_pandas())
                frame = frame[[c for c in frame.columns if c not in drop]]
                chunk = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(path, chunk.schema)
                writer.write_table(chunk.cast(writer.schema) if chunk.schema != writer.schema
                                   else chunk)
        finally:
            if writer is not None:
                writer.close()
