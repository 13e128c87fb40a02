"""``Decoded``: what reading AIS gives: positions, statics, rejects and counts.

``stats`` (the counts ``summary.json`` reports):
- lines_read: physical lines read (NMEA) or data rows (decoded tables);
- sentences: AIS sentences that passed framing; non_ais_sentences: other NMEA skipped;
- tagblock_checksum_errors: tag blocks whose own checksum was wrong (time kept);
- messages: assembled messages before dedup; duplicates: dropped multi-receiver copies;
- messages_by_type: decoded messages per AIS type (keys are strings, for JSON);
- no_receive_time: kept messages without a receive time (timestamp NaT);
- rejected: total rejects; rejected_by_reason: per reason;
- positions, statics: rows; vessels: distinct MMSIs over both;
- time_span: {"start", "end"} ISO-8601 Z of the positions and statics, or None;
- inputs: [{path, sha256, lines}] for ``read_inputs`` (empty for ``feed`` results).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.tables.frames import PositionBatch, StaticBatch, epoch_ns, utc_index
from ais.schema import (POSITION_COLUMNS, POSITION_DTYPES, REJECT_COLUMNS, REJECT_DTYPES,
                        STATIC_COLUMNS, STATIC_DTYPES, empty_frame, sort_by_vessel_time)

COUNT_KEYS = ("lines_read", "sentences", "non_ais_sentences", "tagblock_checksum_errors",
              "messages", "duplicates", "no_receive_time", "rejected")


def iso_utc(ts) -> str | None:
    if ts is None or pd.isna(ts):
        return None
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _distinct_mmsi(batch: PositionBatch) -> np.ndarray:
    """The batch's MMSIs, each at least once (once per run when it has sorted runs)."""
    mmsi = batch.cols["mmsi"].astype(np.int64, copy=False)
    if batch.runs is None or len(batch.runs) == 0:
        return mmsi
    parts = []
    a = 0
    for r in batch.runs:        # each run sorted by mmsi: its first of each
        m = mmsi[a:a + r]
        if r:
            parts.append(m[np.r_[True, m[1:] != m[:-1]]])
        a += r
    return np.concatenate(parts) if parts else mmsi[:0]


def _batch_stats(batch: PositionBatch, statics: pd.DataFrame):
    """(vessels, time span) over a positions batch and a statics frame, as ``Decoded``
    counts them on frames."""
    mmsi = np.concatenate([_distinct_mmsi(batch), statics["mmsi"].to_numpy(np.int64)])
    vessels = len(pd.unique(mmsi))
    t = batch.cols["time"]
    t = t[np.isfinite(t)]
    times = []
    if len(t):
        times.extend(utc_index(epoch_ns(np.array([t.min(), t.max()]))[0]))
    st = statics["timestamp"].dropna()
    if len(st):
        times.extend([st.min(), st.max()])
    if not times:
        return vessels, None
    return vessels, {"start": iso_utc(min(times)), "end": iso_utc(max(times))}


class Decoded:
    """Positions, statics and rejects (contract frames, sorted) plus ``stats`` and ``warnings``.

    ``positions`` may be given as a ``PositionBatch`` and ``statics`` as a ``StaticBatch``
    (the fast path): each sorted frame is then built on first use, once, however many
    batches ``merge`` joined.
    """

    def __init__(self, positions: pd.DataFrame | PositionBatch | None = None,
                 statics: pd.DataFrame | StaticBatch | None = None,
                 rejects: pd.DataFrame | None = None, counts: dict | None = None,
                 messages_by_type: dict | None = None, rejected_by_reason: dict | None = None,
                 inputs: list | None = None, warnings: list | None = None, sort: bool = True):
        positions = empty_frame(POSITION_COLUMNS, POSITION_DTYPES) if positions is None else positions
        statics = empty_frame(STATIC_COLUMNS, STATIC_DTYPES) if statics is None else statics
        rejects = empty_frame(REJECT_COLUMNS, REJECT_DTYPES) if rejects is None else rejects
        batch = positions if isinstance(positions, PositionBatch) else None
        if batch is not None:
            positions = None
        elif sort:
            positions = sort_by_vessel_time(positions)
        sbatch = statics if isinstance(statics, StaticBatch) else None
        n_statics = len(statics)
        if sbatch is not None:
            statics = None
        elif sort:
            statics = sort_by_vessel_time(statics)
        if sort:
            rejects = rejects.sort_values(["source", "line"], kind="mergesort").reset_index(drop=True)
        self._positions = positions
        self._batch = batch
        self._statics = statics
        self._sbatch = sbatch
        self.rejects = rejects
        self.warnings = list(warnings or [])
        counts = {k: int((counts or {}).get(k, 0)) for k in COUNT_KEYS}
        if rejected_by_reason is None:
            rejected_by_reason = rejects["reason"].value_counts().to_dict() if len(rejects) else {}
        counts["rejected"] = int(sum(rejected_by_reason.values()))
        n_positions = len(positions) if batch is None else len(batch)
        # vessels and time span are worked out when ``stats`` is first read: the pieces of
        # a long read are merged without anyone reading theirs (``counts`` has the rest)
        self._rows_counted = False
        self._stats = {
            **counts,
            "messages_by_type": {str(k): int(v) for k, v in sorted((messages_by_type or {}).items(),
                                                                   key=lambda kv: int(kv[0]))},
            "rejected_by_reason": {str(k): int(v) for k, v in sorted(rejected_by_reason.items())},
            "positions": int(n_positions),
            "statics": int(n_statics),
            "vessels": 0,
            "time_span": None,
            "inputs": list(inputs or []),
        }

    @property
    def stats(self) -> dict:
        """The counts of the module docstring (a dict the caller may update)."""
        if not self._rows_counted:
            self._rows_counted = True
            batch = self._sorted_batch()
            if batch is None:
                positions = self._positions
                vessels = pd.concat([positions["mmsi"], self.statics["mmsi"]]).nunique()
                times = pd.concat([positions["timestamp"], self.statics["timestamp"]]).dropna()
                span = {"start": iso_utc(times.min()), "end": iso_utc(times.max())} if len(times) else None
            else:
                vessels, span = _batch_stats(batch, self.statics)
            self._stats.update(vessels=int(vessels), time_span=span)
        return self._stats

    @property
    def counts(self) -> dict:
        """``stats`` without ``vessels`` and ``time_span`` (which may not be worked out
        yet): the message and line counts, ``messages_by_type``, ``rejected_by_reason``."""
        return {k: v for k, v in self._stats.items() if k not in ("vessels", "time_span")}

    @property
    def positions(self) -> pd.DataFrame:
        if self._positions is None:
            self._positions = self._sorted_batch().frame()
            self._batch = None
        return self._positions

    @property
    def statics(self) -> pd.DataFrame:
        if self._statics is None:
            sbatch = self._sbatch
            self._statics = sbatch.frame() if isinstance(sbatch, StaticBatch) else sbatch.result()
            self._sbatch = None
        return self._statics

    @statics.setter
    def statics(self, value: pd.DataFrame) -> None:
        self._statics, self._sbatch = value, None

    def build_statics_ahead(self, pool) -> None:
        """Build the statics frame (if still a batch) in ``pool`` (an executor), while
        the caller builds the positions frame."""
        if isinstance(self._sbatch, StaticBatch):
            self._sbatch = pool.submit(self._sbatch.frame)

    def sort_positions_ahead(self, pool) -> None:
        """Sort the positions batch (if any) in ``pool`` (an executor), so that ``merge``
        joins sorted runs instead of sorting everything at the end."""
        if self._batch is not None and len(self._batch) and self._batch.runs is None:
            self._batch = pool.submit(self._batch.sorted_run)

    @property
    def static_batch(self) -> StaticBatch | None:
        """The statics as the fast decoder's columns (before the frame is built), else None."""
        return self._sbatch if isinstance(self._sbatch, StaticBatch) else None

    @property
    def position_batch(self) -> PositionBatch | None:
        """The positions as columns (fast path, before the frame is built), else None."""
        return self._sorted_batch()

    def _sorted_batch(self) -> PositionBatch | None:
        """The positions batch, waiting for its sort when one is under way."""
        if self._batch is not None and not isinstance(self._batch, PositionBatch):
            self._batch = self._batch.result()
        return self._batch

    @positions.setter
    def positions(self, value: pd.DataFrame) -> None:
        self.stats     # the counts stay those of the rows decoded
        self._positions, self._batch = value, None

    @classmethod
    def merge(cls, items: list["Decoded"], inputs: list | None = None,
              warnings: list | None = None, *, consume: bool = False,
              release=None) -> "Decoded":
        """One ``Decoded`` from several (counts added, frames concatenated and sorted).
        ``consume``: the caller makes no further use of ``items``, whose position
        batches are then joined a column at a time (``PositionBatch.concat``, which
        calls ``release`` after each) and left empty."""
        items = list(items)
        counts = {k: sum(d._stats[k] for d in items) for k in COUNT_KEYS}
        by_type: dict[str, int] = {}
        by_reason: dict[str, int] = {}
        for d in items:
            for k, v in d._stats["messages_by_type"].items():
                by_type[k] = by_type.get(k, 0) + v
            for k, v in d._stats["rejected_by_reason"].items():
                by_reason[k] = by_reason.get(k, 0) + v

        def cat(frames, columns, dtypes):
            frames = [f for f in frames if len(f)]
            if not frames:
                return empty_frame(columns, dtypes)
            return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

        if any(d._batch is not None for d in items):     # fast path: one sort at the end
            positions = PositionBatch.concat(
                [d._sorted_batch() if d._batch is not None else d._positions for d in items],
                consume=consume, release=release)
        else:
            positions = cat([d.positions for d in items], POSITION_COLUMNS, POSITION_DTYPES)
        if any(isinstance(d._sbatch, StaticBatch) for d in items):   # fast path: one frame
            statics = StaticBatch.concat([d._sbatch if isinstance(d._sbatch, StaticBatch) else
                                          d.statics for d in items])
        else:
            statics = cat([d.statics for d in items], STATIC_COLUMNS, STATIC_DTYPES)
        return cls(positions, statics,
                   cat([d.rejects for d in items], REJECT_COLUMNS, REJECT_DTYPES),
                   counts, by_type, by_reason, inputs,
                   [w for d in items for w in d.warnings] + list(warnings or []))

    def describe(self) -> str:
        """A few lines for people: what was read, kept, dropped and why."""
        s = self.stats
        lines = [f"read {s['lines_read']:,} lines from {len(s['inputs'])} input(s): "
                 f"{s['messages']:,} messages, {s['duplicates']:,} duplicates dropped, "
                 f"{s['rejected']:,} rejected"]
        lines.append(f"positions: {s['positions']:,}, statics: {s['statics']:,}, "
                     f"vessels: {s['vessels']:,}")
        if s["time_span"]:
            lines.append(f"time span: {s['time_span']['start']} .. {s['time_span']['end']}")
        if s["messages_by_type"]:
            lines.append("messages by type: " + ", ".join(f"{k}: {v:,}" for k, v in
                                                          s["messages_by_type"].items()))
        if s["rejected_by_reason"]:
            lines.append("rejected: " + ", ".join(f"{k}: {v:,}" for k, v in
                                                  s["rejected_by_reason"].items()))
        lines.extend(f"warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def __repr__(self) -> str:
        s = self.stats
        return (f"Decoded(positions={s['positions']}, statics={s['statics']}, "
                f"rejects={s['rejected']}, vessels={s['vessels']})")
