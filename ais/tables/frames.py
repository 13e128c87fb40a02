"""Build the contract frames (positions, statics, rejects) from plain columns.

Both decoders end here, so the frames have the same dtypes and order whoever filled
them. Receive times are float64 epoch seconds, rounded to the microsecond on the way to
``datetime64[ns, UTC]`` (NaN -> NaT).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.tables.columns import RejectTable
from ais.schema import (POSITION_COLUMNS, POSITION_DTYPES, REJECT_COLUMNS, REJECT_DTYPES,
                        STATIC_COLUMNS, STATIC_DTYPES, conform, empty_frame, sort_by_vessel_time)


def epoch_ns(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Epoch seconds (NaN for none) -> (ns rounded to the microsecond, NaT's value where
    none; mask of the times given). The one rounding rule of every receive time."""
    t = np.asarray(t, dtype=np.float64)
    ok = np.isfinite(t)
    ns = np.full(len(t), np.iinfo(np.int64).min, dtype=np.int64)   # NaT
    ns[ok] = (np.round(t[ok] * 1e6) * 1000).astype(np.int64)
    return ns, ok


def utc_index(ns: np.ndarray) -> pd.DatetimeIndex:
    """ns since the epoch (NaT's value for none) -> ``datetime64[ns, UTC]``."""
    return pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("datetime64[ns]")).tz_localize("UTC")


def object_array(values) -> np.ndarray:
    """A 1-d object array of ``values`` (never a 2-d array of characters or tuples)."""
    a = np.empty(len(values), dtype=object)
    a[:] = list(values)
    return a


def to_timestamps(t: np.ndarray) -> pd.Series:
    """Epoch seconds (NaN for none) -> ``datetime64[ns, UTC]`` series (NaT for none)."""
    return pd.Series(utc_index(epoch_ns(t)[0]))


def to_epoch(ts: pd.Series) -> np.ndarray:
    """``datetime64[ns, UTC]`` -> float64 epoch seconds (NaT -> NaN)."""
    ts = pd.Series(pd.to_datetime(ts, utc=True)).dt.as_unit("ns")   # pandas 3 may infer s/us
    out = ts.astype("int64").to_numpy().astype(np.float64) / 1e9
    out[ts.isna().to_numpy()] = np.nan
    return out


def _obj(values) -> pd.Series:
    """Object column kept as Python objects (pandas 3 would infer ``str`` and turn None
    into NaN)."""
    return pd.Series(object_array(values), dtype=object)


def positions_frame(*, mmsi, time, lat, lon, sog, cog, heading, msg_type, source, line) -> pd.DataFrame:
    """Positions frame (``POSITION_COLUMNS``) in the given row order."""
    if len(mmsi) == 0:
        return empty_frame(POSITION_COLUMNS, POSITION_DTYPES)
    df = pd.DataFrame({
        "mmsi": np.asarray(mmsi, dtype=np.int64),
        "timestamp": to_timestamps(time).to_numpy(),
        "lat": np.asarray(lat, dtype=np.float64), "lon": np.asarray(lon, dtype=np.float64),
        "sog": np.asarray(sog, dtype=np.float64), "cog": np.asarray(cog, dtype=np.float64),
        "heading": np.asarray(heading, dtype=np.float64),
        "msg_type": np.asarray(msg_type, dtype=np.int64),
        "source": _obj(source), "line": np.asarray(line, dtype=np.int64)})
    return conform(df, POSITION_COLUMNS, POSITION_DTYPES)


def statics_frame(*, mmsi, time, imo, name, callsign, ship_type, length, beam, draught,
                  destination, eta, msg_type, source, line) -> pd.DataFrame:
    """Statics frame (``STATIC_COLUMNS``) in the given row order."""
    if len(mmsi) == 0:
        return empty_frame(STATIC_COLUMNS, STATIC_DTYPES)
    df = pd.DataFrame({
        "mmsi": np.asarray(mmsi, dtype=np.int64),
        "timestamp": to_timestamps(time).to_numpy(),
        "imo": np.asarray(imo, dtype=np.float64), "name": _obj(name),
        "callsign": _obj(callsign), "ship_type": np.asarray(ship_type, dtype=np.float64),
        "length": np.asarray(length, dtype=np.float64),
        "beam": np.asarray(beam, dtype=np.float64),
        "draught": np.asarray(draught, dtype=np.float64),
        "destination": _obj(destination), "eta": _obj(eta),
        "msg_type": np.asarray(msg_type, dtype=np.int64),
        "source": _obj(source), "line": np.asarray(line, dtype=np.int64)})
    return conform(df, STATIC_COLUMNS, STATIC_DTYPES)


def rejects_frame(r: RejectTable, names: list[str]) -> pd.DataFrame:
    """Rejects frame (``REJECT_COLUMNS``); ``source`` is the input's name."""
    if len(r) == 0:
        return empty_frame(REJECT_COLUMNS, REJECT_DTYPES)
    # the declared columns and dtypes already: no conform pass
    return pd.DataFrame({"source": _obj(object_array(names)[np.asarray(r.source, dtype=np.int64)]),
                         "line": r.line.astype(np.int64), "reason": _obj(r.reason),
                         "text": _obj(r.text)}, copy=False)


def name_ranks(names) -> np.ndarray:
    """Rank of each name in sorted order: the sort key of station codes into ``names``."""
    rank = np.empty(len(names), dtype=np.int64)
    rank[np.argsort(np.array(names, dtype=str), kind="stable")] = np.arange(len(names))
    return rank


class PositionBatch:
    """Positions as plain columns, before they become the contract frame.

    The fast path collects these chunk after chunk and builds one sorted frame at the
    end (``frame``), instead of building, sorting and concatenating a frame per chunk.
    Columns: mmsi, time (epoch seconds, NaN for none), lat, lon, sog, cog, heading,
    msg_type, station (int codes into ``names``), line; and ns (``epoch_ns`` of time)
    once ``sorted_run`` has worked it out.

    ``runs``: None, or the lengths of consecutive runs of rows each already in the
    contract order (``sorted_run``, which a worker thread can do for each piece while
    the next one decodes); ``frame`` then merges the runs instead of sorting.
    """

    NUMERIC = ("mmsi", "time", "lat", "lon", "sog", "cog", "heading", "msg_type", "line")

    def __init__(self, names, runs=None, **cols):
        self.names = list(names)
        self.cols = cols
        self.runs = runs

    def __len__(self) -> int:
        return len(self.cols["mmsi"])

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> "PositionBatch":
        """A positions frame (``positions_frame``'s columns) as a batch."""
        codes, names = pd.factorize(df["source"].to_numpy(dtype=object))
        return cls(list(names), mmsi=df["mmsi"].to_numpy(np.int64), time=to_epoch(df["timestamp"]),
                   lat=df["lat"].to_numpy(np.float64), lon=df["lon"].to_numpy(np.float64),
                   sog=df["sog"].to_numpy(np.float64), cog=df["cog"].to_numpy(np.float64),
                   heading=df["heading"].to_numpy(np.float64),
                   msg_type=df["msg_type"].to_numpy(np.int64), station=codes.astype(np.int64),
                   line=df["line"].to_numpy(np.int64))

    @classmethod
    def concat(cls, batches: list, *, consume: bool = False,
               release=None) -> "PositionBatch":
        """One batch of batches and positions frames (empty frames left out); station
        codes re-numbered over the union of the names.

        ``consume``: the caller hands the batches over and makes no further use of them:
        each column is then joined and let go of in the batches before the next (they
        are left without columns), so that the pieces and the joined batch are alive
        together one column at a time rather than whole (the end of a long read: on the
        5M-message e2e feed the pieces' columns are about 440 MB). ``release``: called
        (no argument) each time a column of the batches has been let go, with
        ``consume`` (the command gives the freed memory back to the system there)."""
        batches = [b if isinstance(b, PositionBatch) else cls.from_frame(b)
                   for b in batches if isinstance(b, PositionBatch) or len(b)]
        names: dict[str, int] = {}
        stations = []
        for b in batches:
            remap = np.array([names.setdefault(nm, len(names)) for nm in b.names] or [0],
                             dtype=np.int64)
            stations.append(remap[b.cols["station"]] if len(b) else np.zeros(0, np.int64))
        runs = None         # an empty batch (the end of a read) has no run to keep
        if batches and all(b.runs is not None or len(b) == 0 for b in batches):
            runs = [r for b in batches if len(b) for r in b.runs]
        keys = list(cls.NUMERIC)
        if batches and all("ns" in b.cols for b in batches):
            keys.append("ns")
        cols = {}
        for k in keys:
            cols[k] = np.concatenate([b.cols[k] for b in batches]) if batches else np.zeros(0)
            if consume:
                for b in batches:
                    b.cols.pop(k, None)
                if release is not None:
                    release()
        cols["station"] = np.concatenate(stations) if stations else np.zeros(0, np.int64)
        if consume:
            del stations
            for b in batches:
                b.cols.clear()
        return cls(list(names), runs=runs, **cols)

    def _keys(self):
        """(ns times with NaT, finite-time mask, station ranks in name order)."""
        if "ns" in self.cols:           # worked out by ``sorted_run``
            ns = self.cols["ns"]
            ok = ns != np.iinfo(np.int64).min
        else:
            ns, ok = epoch_ns(self.cols["time"])
        station = np.asarray(self.cols["station"], dtype=np.int64)
        return ns, ok, name_ranks(self.names)[station] if len(self.names) else station

    def _order(self, ns, ok, rank) -> np.ndarray:
        from ais.tables.order import merged_order, sort_order, time_key
        c = self.cols
        if self.runs is not None:
            return merged_order(c["mmsi"], time_key(ns, ~ok), rank, c["line"], self.runs)
        return sort_order(c["mmsi"], time_key(ns, ~ok), rank, c["line"])

    def sorted_run(self) -> "PositionBatch":
        """The same rows in the contract order, as one run (one thread only: meant for
        a worker thread)."""
        from ais.tables.order import take_columns
        if self.runs is not None and len(self.runs) <= 1:
            return self
        ns, ok, rank = self._keys()
        order = self._order(ns, ok, rank)
        cols = {**self.cols, "ns": ns}     # the receive times in ns go along (``frame``)
        keys = self.NUMERIC + ("station", "ns")
        taken = take_columns(order, [cols[k] for k in keys], parallel=False)
        return PositionBatch(self.names, runs=[len(self)], **dict(zip(keys, taken)))

    def columns(self, sort: bool = True) -> dict[str, np.ndarray]:
        """The rows as the contract frame holds them, as plain arrays (what ``frame``
        builds its columns from; a writer can turn them into Arrow arrays without a
        frame): ns (receive time in ns, NaT's value for none), station (codes into
        ``names``), mmsi, lat, lon, sog, cog, heading, msg_type, line; sorted by (mmsi,
        timestamp NaT last, source, line) unless ``sort`` is False (then in batch order)."""
        from ais.tables.order import take_columns
        c = self.cols
        ns, ok, rank = self._keys()
        order = self._order(ns, ok, rank) if sort else np.arange(len(self))
        keys = ("mmsi", "lat", "lon", "sog", "cog", "heading", "msg_type", "line")
        taken = take_columns(order, [ns, c["station"]] + [c[k] for k in keys])
        return {"ns": taken[0], "station": taken[1], **dict(zip(keys, taken[2:]))}

    def frame(self, sort: bool = True) -> pd.DataFrame:
        """The contract positions frame, sorted by (mmsi, timestamp NaT last, source,
        line) unless ``sort`` is False (then in batch order)."""
        if len(self) == 0:
            return empty_frame(POSITION_COLUMNS, POSITION_DTYPES)
        got = self.columns(sort)
        ts = utc_index(got["ns"])     # ns, even when no row has a time (ais.schema)
        out = {"mmsi": got["mmsi"].astype(np.int64, copy=False), "timestamp": pd.Series(ts)}
        for k in ("lat", "lon", "sog", "cog", "heading"):
            out[k] = got[k].astype(np.float64, copy=False)
        out["msg_type"] = got["msg_type"].astype(np.int64, copy=False)
        out["source"] = pd.Series(object_array(self.names)[got["station"]], dtype=object)
        out["line"] = got["line"].astype(np.int64, copy=False)
        # the columns are new arrays: no copy into 2-D blocks (a third of the time here)
        return pd.DataFrame(out, copy=False)


class StaticBatch:
    """Statics as the fast decoder's columns, before they become the contract frame.

    As ``PositionBatch`` for positions: the fast path collects these piece after piece
    and builds one sorted frame at the end (``frame``), instead of cleaning, building,
    sorting and concatenating a small frame per piece. ``raw``: the kernel's fields of
    the static rows (``ais.decoding.fast.static_columns``'s input: msg_type, mmsi, the numeric
    fields after ``N_POS`` and the text fields) plus time (epoch seconds), station (int
    codes into ``names``) and line; ``frames``: statics frames made elsewhere (the pyais
    fallback), joined as they are.
    """

    def __init__(self, names, raw: dict | None = None, frames=()):
        self.names = list(names)
        self.raw = raw
        self.frames = [f for f in frames if len(f)]

    def __len__(self) -> int:
        n = len(self.raw["mmsi"]) if self.raw is not None else 0
        return n + sum(len(f) for f in self.frames)

    @classmethod
    def concat(cls, batches: list) -> "StaticBatch":
        """One batch of batches and statics frames (a frame is kept as one of its
        ``frames``); station codes re-numbered over the union of the names."""
        batches = [b if isinstance(b, StaticBatch) else cls([], frames=[b]) for b in batches]
        names: dict[str, int] = {}
        raws = []
        for b in batches:
            if b.raw is None or len(b.raw["mmsi"]) == 0:
                continue
            remap = np.array([names.setdefault(nm, len(names)) for nm in b.names], dtype=np.int64)
            raws.append({**b.raw, "station": remap[b.raw["station"]]})
        raw = None
        if raws:
            raw = {k: np.concatenate([r[k] for r in raws]) for k in raws[0]}
        return cls(list(names), raw, [f for b in batches for f in b.frames])

    def frame(self, sort: bool = True) -> pd.DataFrame:
        """The contract statics frame, sorted by (mmsi, timestamp NaT last, source, line)
        unless ``sort`` is False (then the batch's rows first, in order, then its frames)."""
        from ais.decoding.fast import statics_from_raw
        from ais.tables.order import time_key
        parts = list(self.frames)
        raw = self.raw
        if raw is not None and len(raw["mmsi"]):
            if sort and not parts:      # sorted as columns: cheaper than a frame's take
                ns, ok = epoch_ns(raw["time"])
                order = np.lexsort((raw["line"], name_ranks(self.names)[raw["station"]],
                                    time_key(ns, ~ok), raw["mmsi"]))
                return statics_from_raw({k: v[order] for k, v in raw.items()}, self.names)
            parts.insert(0, statics_from_raw(raw, self.names))
        if not parts:
            return empty_frame(STATIC_COLUMNS, STATIC_DTYPES)
        df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return sort_by_vessel_time(df) if sort else df


class DecodedParts:
    """What a decoder returns for a message table: positions and statics frames (input
    order, not yet sorted) or batches (the fast path's ``PositionBatch`` and
    ``StaticBatch``), rejects, and the count of decoded messages per type."""

    __slots__ = ("positions", "statics", "rejects", "types")

    def __init__(self, positions: pd.DataFrame, statics: pd.DataFrame, rejects: RejectTable,
                 types: dict[int, int]):
        self.positions = positions
        self.statics = statics
        self.rejects = rejects
        self.types = types

    @classmethod
    def concat(cls, parts: list["DecodedParts"]) -> "DecodedParts":
        types: dict[int, int] = {}
        for p in parts:
            for k, v in p.types.items():
                types[k] = types.get(k, 0) + v
        rejects = RejectTable.concat([p.rejects for p in parts])
        if any(isinstance(p.positions, PositionBatch) for p in parts):
            # batches: frames join them as batches (rows are sorted later, so the order
            # between the parts does not matter)
            return cls(PositionBatch.concat([p.positions for p in parts]),
                       StaticBatch.concat([p.statics for p in parts]), rejects, types)
        pos = [p.positions for p in parts if len(p.positions)]
        sta = [p.statics for p in parts if len(p.statics)]
        return cls(
            pd.concat(pos, ignore_index=True) if pos else empty_frame(POSITION_COLUMNS, POSITION_DTYPES),
            pd.concat(sta, ignore_index=True) if sta else empty_frame(STATIC_COLUMNS, STATIC_DTYPES),
            rejects, types)
