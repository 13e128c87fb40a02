"""Shared plumbing of the public detector functions: the rows a detector uses, times as
float seconds, and threshold validation. Kernels never see DataFrames; this is the
DataFrame side of that boundary."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ais.errors import ConfigError


def epoch_seconds(ts: pd.Series) -> np.ndarray:
    """float64 seconds since the epoch of a datetime column (any unit; NaN for NaT)."""
    values = pd.to_datetime(ts, utc=True).dt.as_unit("ns")
    out = values.astype("int64").to_numpy().astype(np.float64) / 1e9
    out[values.isna().to_numpy()] = np.nan
    return np.ascontiguousarray(out)


def usable_positions(positions: pd.DataFrame) -> pd.DataFrame:
    """Rows the detectors use: a position and a time, not flagged ``spoofed``, sorted by
    (mmsi, timestamp, source, line) with a fresh index. A frame already strictly sorted by
    (mmsi, timestamp), as ``ais`` delivers it, is not sorted again (a stable sort of it
    would give the same order)."""
    ok = positions["lat"].notna() & positions["lon"].notna() & positions["timestamp"].notna()
    if "spoofed" in positions.columns:
        ok &= ~positions["spoofed"].fillna(False).astype(bool)
    pos = positions if bool(ok.all()) else positions.loc[ok]
    if len(pos) > 1:
        m = pos["mmsi"].to_numpy(dtype=np.int64)
        ns = pd.to_datetime(pos["timestamp"], utc=True).dt.as_unit("ns").astype("int64")
        dm = np.diff(m)
        dt = np.diff(ns.to_numpy())
        if not bool(((dm > 0) | ((dm == 0) & (dt > 0))).all()):
            keys = [k for k in ("mmsi", "timestamp", "source", "line") if k in pos.columns]
            pos = pos.sort_values(keys, kind="mergesort")
    return pos.reset_index(drop=True)


def check_non_negative(params, names) -> None:
    """Raise ``ConfigError`` unless every named field of ``params`` is a finite number >= 0."""
    for name in names:
        value = getattr(params, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < 0:
            raise ConfigError(None, f"{name} = {value!r} is not a number >= 0",
                              f"set {name} to a finite non-negative number")
