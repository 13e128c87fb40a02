"""Column contracts of the tables ``ais`` produces (see DESIGN.md, "Output files").

Positions and statics are sorted by (mmsi, timestamp) with ties broken by (source, line),
so the order never depends on the order inputs were given.
Times are ``datetime64[ns, UTC]``; NaT where a line carried no receive time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

POSITION_COLUMNS = ("mmsi", "timestamp", "lat", "lon", "sog", "cog", "heading",
                    "msg_type", "source", "line")
STATIC_COLUMNS = ("mmsi", "timestamp", "imo", "name", "callsign", "ship_type", "length",
                  "beam", "draught", "destination", "eta", "msg_type", "source", "line")
REJECT_COLUMNS = ("source", "line", "reason", "text")
# the row order of positions (and of any table of rows per vessel): a ``track`` column,
# when a frame has one, splits an MMSI into the ships that shared it
VESSEL_ORDER = ("mmsi", "track", "timestamp", "source", "line")

POSITION_DTYPES = {
    "mmsi": "int64",
    "timestamp": "datetime64[ns, UTC]",
    "lat": "float64",
    "lon": "float64",
    "sog": "float64",
    "cog": "float64",
    "heading": "float64",
    "msg_type": "int64",
    "source": "object",
    "line": "int64",
}
STATIC_DTYPES = {
    "mmsi": "int64",
    "timestamp": "datetime64[ns, UTC]",
    "imo": "float64",          # NaN when not given (IMO 0 or type 19/24)
    "name": "object",
    "callsign": "object",
    "ship_type": "float64",
    "length": "float64",       # metres, bow + stern
    "beam": "float64",         # metres, port + starboard
    "draught": "float64",      # metres
    "destination": "object",
    "eta": "object",           # "MM-DD HH:MM" as broadcast (no year in AIS)
    "msg_type": "int64",
    "source": "object",
    "line": "int64",
}
REJECT_DTYPES = {"source": "object", "line": "int64", "reason": "object", "text": "object"}


_EMPTY: dict[tuple, pd.DataFrame] = {}


def empty_frame(columns: tuple[str, ...], dtypes: dict[str, str]) -> pd.DataFrame:
    """An empty frame with the declared columns and dtypes (a copy of one made once: the
    fast path asks for several per piece it reads, and building one costs a millisecond)."""
    key = (tuple(columns), tuple(dtypes[c] for c in columns))
    frame = _EMPTY.get(key)
    if frame is None:
        frame = _EMPTY[key] = pd.DataFrame({c: pd.Series([], dtype=dtypes[c]) for c in columns})
    return frame.copy()


def conform(df: pd.DataFrame, columns: tuple[str, ...], dtypes: dict[str, str]) -> pd.DataFrame:
    """Return ``df`` with exactly ``columns`` first (extra columns kept after) and the declared dtypes."""
    out = df.copy()
    for c in columns:
        if c not in out.columns:
            out[c] = pd.Series(np.nan if dtypes[c].startswith("float") else None,
                               index=out.index)
        dt = dtypes[c]
        if dt.startswith("datetime64"):
            # ns whatever pandas infers (NaT only gives seconds): one dtype per column
            out[c] = pd.to_datetime(out[c], utc=True).dt.as_unit("ns")
        elif dt == "object":
            out[c] = out[c].astype(object)
        else:
            out[c] = out[c].astype(dt)
    extra = [c for c in out.columns if c not in columns]
    return out[list(columns) + extra]


def sort_by_vessel_time(df: pd.DataFrame, *, consume: bool = False) -> pd.DataFrame:
    """Sort by (mmsi, timestamp, source, line), NaT last, with a fresh RangeIndex; a frame
    with a ``track`` column (the ships of a shared MMSI, labelled by
    ``detectors.identity_tracks``) by (mmsi, track, timestamp, source, line), so each
    (mmsi, track) is one contiguous slice (:func:`vessel_offsets`).

    A stable sort on integer keys (object columns factorised in sorted order): the order
    of ``sort_values(keys, kind="mergesort", na_position="last")`` without its slow path
    for object columns.

    ``consume``: the caller hands ``df`` over and makes no further use of it. When the
    rows must move, each column is then taken into the sorted frame and dropped from
    ``df`` before the next (``df`` is left without those columns), so that the old and
    new arrays of one column are alive together rather than two whole frames: the
    positions frame of a large feed is most of a run's memory.
    """
    keys = [k for k in VESSEL_ORDER if k in df.columns]
    if len(df) < 2 or in_vessel_order(df):
        return df.reset_index(drop=True)
    order = _track_order(df)
    if order is not None:
        return _take_rows(df, order, consume)
    try:
        arrays = [_sort_key(df[k]) for k in keys]
    except TypeError:       # unorderable mixed objects: let pandas decide
        return df.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)
    if not arrays or len(df) < 2 or _is_sorted(arrays):
        return df.reset_index(drop=True)
    order = np.lexsort(arrays[::-1])
    del arrays
    return _take_rows(df, order, consume)


def _take_rows(df: pd.DataFrame, order: np.ndarray, consume: bool) -> pd.DataFrame:
    """``df.take(order)`` with a fresh RangeIndex; with ``consume`` column by column, each
    column dropped from ``df`` once taken (:func:`sort_by_vessel_time`)."""
    if not consume:
        return df.take(order).reset_index(drop=True)
    columns = df.columns
    taken = {}
    for c in list(columns):
        taken[c] = df[c].take(order).reset_index(drop=True)
        del df[c]
    return pd.DataFrame(taken, columns=columns, copy=False)


def _track_order(df: pd.DataFrame) -> np.ndarray | None:
    """The row order of :func:`sort_by_vessel_time` for a frame with a ``track`` column
    whose rows are in order but for it (the decoded positions once the identity step
    has labelled the ships of the shared MMSIs): each MMSI's slice with a track other
    than 0 sorted stably by track, which keeps its rows' (timestamp, source, line)
    order; the other rows stay put. None when that does not apply (the full sort then
    decides). The same order as the full sort, without its pass over every key."""
    if "track" not in df.columns or not np.issubdtype(df["track"].dtype, np.integer):
        return None
    if not in_vessel_order(df.drop(columns="track")):
        return None
    track = df["track"].to_numpy()
    mmsi = df["mmsi"].to_numpy()
    offsets = vessel_offsets(mmsi)
    order = np.arange(len(df), dtype=np.int64)
    for v in np.unique(np.searchsorted(offsets, np.flatnonzero(track), side="right") - 1):
        a, b = offsets[v], offsets[v + 1]
        order[a:b] = a + np.argsort(track[a:b], kind="stable")
    return order


_ORDER_BLOCK = 1 << 18       # rows a block of in_vessel_order


def in_vessel_order(df: pd.DataFrame) -> bool:
    """``df`` is already in :data:`VESSEL_ORDER` (what :func:`sort_by_vessel_time` gives),
    checked on the integer keys, and on ``source`` and ``line`` only where a vessel has
    two rows at the same time. False (not known) for a frame with a missing time or
    without the ``mmsi`` and ``timestamp`` columns. A frame with neither ``source`` nor
    ``line`` (the detectors' compact copy of the positions) is in order when its keys
    are: the stable sort leaves rows at one time where they are."""
    if "mmsi" not in df.columns or "timestamp" not in df.columns:
        return False
    if not (np.issubdtype(df["mmsi"].dtype, np.integer)
            and isinstance(df["timestamp"].dtype, pd.DatetimeTZDtype)):
        return False
    ts = df["timestamp"].array
    if len(df) < 2:
        return True
    if bool(ts.isna().any()):
        return False
    m = df["mmsi"].to_numpy()
    ns = ts.asi8
    k = None
    if "track" in df.columns:
        if not np.issubdtype(df["track"].dtype, np.integer):
            return False
        k = df["track"].to_numpy()
    # a block of rows at a time: the differences of every key over every row were
    # arrays of 8 bytes a row each, alive together, in a check run by every detector
    ties = []
    for lo in range(0, len(df) - 1, _ORDER_BLOCK):
        hi = min(lo + _ORDER_BLOCK + 1, len(df))
        dm = np.diff(m[lo:hi])
        dt = np.diff(ns[lo:hi])
        same = dm == 0
        if k is not None:
            dk = np.diff(k[lo:hi])
            ordered = (dm > 0) | (same & (dk > 0)) | (same & (dk == 0) & (dt >= 0))
            tie = same & (dk == 0) & (dt == 0)
        else:
            ordered = (dm > 0) | (same & (dt >= 0))
            tie = same & (dt == 0)
        if not bool(ordered.all()):
            return False
        ties.append(np.flatnonzero(tie) + lo)
    at = np.concatenate(ties) if ties else np.zeros(0, dtype=np.int64)
    if not len(at):
        return True
    if "source" not in df.columns and "line" not in df.columns:
        return True
    if "source" not in df.columns or "line" not in df.columns:
        return False
    src = df["source"].to_numpy(dtype=object)
    line = df["line"].to_numpy()
    try:
        return all(a < b or (a == b and la <= lb) for a, b, la, lb in
                   zip(src[at], src[at + 1], line[at], line[at + 1]))
    except TypeError:       # unorderable sources (a missing one): let the sort decide
        return False


def _is_sorted(arrays: list[np.ndarray]) -> bool:
    """Rows already in lexicographic order of ``arrays`` (e.g. frames merged from one part)."""
    le = np.ones(len(arrays[0]) - 1, dtype=bool)
    for a in arrays[::-1]:
        le = (a[:-1] < a[1:]) | ((a[:-1] == a[1:]) & le)
    return bool(le.all())


def _sort_key(col: pd.Series) -> np.ndarray:
    """Integer key with the column's order, missing values last."""
    if isinstance(col.dtype, pd.DatetimeTZDtype) or np.issubdtype(col.dtype, np.datetime64):
        v = col.array.asi8.copy() if hasattr(col.array, "asi8") else col.to_numpy().view(np.int64).copy()
        v[col.isna().to_numpy()] = np.iinfo(np.int64).max
        return v
    if np.issubdtype(col.dtype, np.integer) or col.dtype == bool:
        return col.to_numpy()
    codes, uniques = pd.factorize(col, sort=True)
    return np.where(codes < 0, len(uniques), codes)


def vessel_offsets(mmsi: np.ndarray, track: np.ndarray | None = None) -> np.ndarray:
    """Offsets of each vessel's slice in an array sorted by mmsi (and ``track`` within an
    mmsi, when given: each (mmsi, track) is a vessel): vessel i is
    ``offsets[i]:offsets[i+1]``; ``len(offsets) == n_vessels + 1``."""
    mmsi = np.asarray(mmsi)
    if len(mmsi) == 0:
        return np.zeros(1, dtype=np.int64)
    change = mmsi[1:] != mmsi[:-1]
    if track is not None:
        track = np.asarray(track)
        change |= track[1:] != track[:-1]
    starts = np.flatnonzero(np.r_[True, change])
    return np.r_[starts, len(mmsi)].astype(np.int64)
