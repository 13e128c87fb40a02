"""``positions.parquet`` and ``statics.parquet`` of a Dask run, from its partitions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ais.schema import POSITION_COLUMNS, sort_by_vessel_time
from shadowfleet.scale.partitions import partition_of, table_path

WRITE_ROWS = 500_000                # rows per MMSI range when writing positions.parquet
# the columns of the positions map.html and timeline.png read (track: the ships of a shared
# MMSI; spoofed: the cleaning's flag)
FIGURE_COLUMNS = ("mmsi", "track", "timestamp", "lat", "lon", "spoofed")
# what the reception caveats of claims read of every vessel's positions, a partition at a time
RECEPTION_COLUMNS = (*POSITION_COLUMNS[:4], "spoofed")    # mmsi, timestamp, lat, lon


class PartitionWriter:
    """Writes ``positions.parquet`` and ``statics.parquet`` from the partitions, a range
    of MMSIs at a time (read from every partition, sorted, appended), so the client never
    holds more than ``rows`` of them; the same rows in the same order as the local
    engine's files. Holds the work directory (removed when the run made it and this
    goes away)."""

    def __init__(self, work: str, n: int, position_counts, statics_counts,
                 rows: int = WRITE_ROWS, span=None, vessel_times: pd.DataFrame | None = None):
        self.work, self.n, self.rows = work, n, rows
        self.counts = {"positions": position_counts, "statics": statics_counts}
        self.span = span            # first and last receive time of the positions, or None
        # per vessel (a column mmsi): its first and last time (min, max)
        self.vessel_times = (None if vessel_times is None or "mmsi" not in vessel_times
                             else vessel_times.set_index("mmsi").sort_index())
        # rows read into this process by frame and positions_of, per table
        self.rows_read = {"positions": 0, "statics": 0}
        self.rows_scanned = 0       # positions read a partition at a time (each_partition)

    def __call__(self, out: Path) -> None:
        from shadowfleet.outputs.files import atomic_path

        for name, drop in (("positions", ["spoofed"]), ("statics", [])):
            with atomic_path(Path(out) / f"{name}.parquet") as tmp:
                self._write(name, drop, tmp)

    def frame(self, name: str) -> pd.DataFrame:
        """The whole table (the statics for figures, claims and watchlists; both for the
        trajectories)."""
        parts = [pd.read_parquet(table_path(self.work, k, name), engine="pyarrow")
                 for k in range(self.n)]
        full = [p for p in parts if len(p)]
        self.rows_read[name] += sum(len(p) for p in full)
        return sort_by_vessel_time(pd.concat(full, ignore_index=True) if full else parts[0])

    # what map.html and timeline.png read of the positions (shadowfleet.outputs._figures)

    def position_counts(self) -> pd.Series:
        """Positions per vessel, as the partitions counted them (index mmsi)."""
        mmsi, count = self.counts["positions"]
        return pd.Series(np.asarray(count, dtype=np.int64),
                         index=pd.Index(np.asarray(mmsi, dtype=np.int64), name="mmsi"))

    def position_span(self):
        """The first and last receive time of the positions (None without any)."""
        return self.span

    def position_times(self, mmsis) -> pd.DataFrame:
        """The first and last receive time (columns min, max) of each of the vessels
        ``mmsis`` that has positions (index mmsi, ascending), as the partitions sent them."""
        times = self.vessel_times
        if times is None or not len(times):
            return pd.DataFrame({"min": [], "max": []})
        return times[times.index.isin(list(mmsis))]

    def last_seen(self) -> pd.DataFrame:
        """Each vessel's last receive time of a position (columns mmsi, timestamp): what
        the IMO spells read of the positions (``detectors.identity.imo_spells``)."""
        times = self.vessel_times
        if times is None or not len(times):
            return pd.DataFrame({"mmsi": np.zeros(0, np.int64), "timestamp": []})
        return pd.DataFrame({"mmsi": times.index.to_numpy(np.int64),
                             "timestamp": times["max"].to_numpy()})

    def each_partition(self, columns=RECEPTION_COLUMNS, *, start=None, end=None):
        """Each partition's positions (``columns`` of them) in turn, one held at a time
        (the reception caveats' search: ``shadowfleet.claims.caveats.PartitionedReception``).
        ``start``, ``end``: the window searched; every partition holds vessels' whole
        tracks, so each is read whatever the window."""
        import pyarrow.parquet as pq

        for k in range(self.n):
            path = table_path(self.work, k, "positions")
            names = pq.ParquetFile(path).schema_arrow.names
            frame = pd.read_parquet(path, engine="pyarrow",
                                    columns=[c for c in columns if c in names])
            self.rows_scanned += len(frame)
            yield frame

    def positions_of(self, mmsis, columns=FIGURE_COLUMNS, *, window=None) -> pd.DataFrame:
        """The positions of the vessels ``mmsis`` only (``columns`` of them), in vessel and
        time order: only their partitions are opened, and in those Parquet's row-group
        statistics on the MMSI (each partition is sorted by vessel) skip most of the rest.
        ``window`` (start, end): only the rows a claim with that window consults
        (:func:`shadowfleet.claims.vessels.coverage_positions`), as the job's
        :class:`shadowfleet.job_state.KeptPositions` gives them (a partition holds all
        of its vessels' times, so they are all read)."""
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        wanted = np.unique(np.asarray(list(mmsis), dtype=np.int64))
        parts = np.unique(partition_of(wanted, self.n)) if len(wanted) else np.zeros(0, np.int64)
        files = [table_path(self.work, int(k), "positions") for k in parts]
        files = [f for f in files if pq.ParquetFile(f).metadata.num_rows]
        if not files:
            frame = pd.read_parquet(table_path(self.work, 0, "positions"), engine="pyarrow")
            return frame[[c for c in columns if c in frame.columns]].iloc[:0]
        dataset = ds.dataset(files, format="parquet")
        cols = [c for c in columns if c in dataset.schema.names]
        table = dataset.to_table(columns=cols, filter=ds.field("mmsi").isin(wanted))
        self.rows_read["positions"] += table.num_rows
        frame = table.to_pandas()
        if window is not None:
            from shadowfleet.claims.vessels import coverage_positions

            frame = coverage_positions(frame, *window)
        return sort_by_vessel_time(frame)

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
