"""Build the contract frames (positions, statics, rejects) from plain columns.

Both decoders end here, so the frames have the same dtypes and order whoever filled
them. Receive times are float64 epoch seconds, rounded to the microsecond on the way to
``datetime64[ns, UTC]`` (NaN -> NaT).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais.columns import RejectTable
from ais.schema import (POSITION_COLUMNS, POSITION_DTYPES, REJECT_COLUMNS, REJECT_DTYPES,
                        STATIC_COLUMNS, STATIC_DTYPES, conform, empty_frame)


def to_timestamps(t: np.ndarray) -> pd.Series:
    """Epoch seconds (NaN for none) -> ``datetime64[ns, UTC]`` series (NaT for none)."""
    t = np.asarray(t, dtype=np.float64)
    ns = np.full(len(t), np.iinfo(np.int64).min, dtype=np.int64)   # NaT
    ok = np.isfinite(t)
    ns[ok] = (np.round(t[ok] * 1e6) * 1000).astype(np.int64)
    return pd.Series(pd.DatetimeIndex(ns.view("datetime64[ns]")).tz_localize("UTC"))


def to_epoch(ts: pd.Series) -> np.ndarray:
    """``datetime64[ns, UTC]`` -> float64 epoch seconds (NaT -> NaN)."""
    ts = pd.Series(pd.to_datetime(ts, utc=True)).dt.as_unit("ns")   # pandas 3 may infer s/us
    out = ts.astype("int64").to_numpy().astype(np.float64) / 1e9
    out[ts.isna().to_numpy()] = np.nan
    return out


def _obj(values) -> pd.Series:
    """Object column kept as Python objects (pandas 3 would infer ``str`` and turn None
    into NaN)."""
    a = np.empty(len(values), dtype=object)
    a[:] = list(values)
    return pd.Series(a, dtype=object)


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
    df = pd.DataFrame({"source": _obj([names[i] for i in r.source]),
                       "line": r.line.astype(np.int64), "reason": _obj(r.reason),
                       "text": _obj(r.text)})
    return conform(df, REJECT_COLUMNS, REJECT_DTYPES)


class DecodedParts:
    """What a decoder returns for a message table: positions and statics frames (input
    order, not yet sorted), rejects, and the count of decoded messages per type."""

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
        pos = [p.positions for p in parts if len(p.positions)]
        sta = [p.statics for p in parts if len(p.statics)]
        return cls(
            pd.concat(pos, ignore_index=True) if pos else empty_frame(POSITION_COLUMNS, POSITION_DTYPES),
            pd.concat(sta, ignore_index=True) if sta else empty_frame(STATIC_COLUMNS, STATIC_DTYPES),
            RejectTable.concat([p.rejects for p in parts]), types)
