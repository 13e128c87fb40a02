"""Plumbing shared by the behaviour detectors (encounters, loitering, unlisted stops):
the rows as arrays in the one kernel layout, the port registry as an optional argument
(None or empty: every position is at sea), and the nearest port of event positions."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from detectors._frames import epoch_seconds, tracks_of, usable_positions, utc_ns, vessel_slices


@dataclasses.dataclass(frozen=True)
class Rows:
    """The usable rows of a positions frame (:func:`detectors._frames.usable_positions`)
    as contiguous arrays sorted by (mmsi, track, timestamp), with per-vessel ``offsets``
    (a vessel is an (mmsi, track): the ships of a shared MMSI are apart)."""

    frame: pd.DataFrame
    ts: pd.Series
    mmsi: np.ndarray
    track: np.ndarray
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    offsets: np.ndarray

    @classmethod
    def of(cls, positions: pd.DataFrame) -> "Rows":
        pos = usable_positions(positions)
        mmsi = np.ascontiguousarray(pos["mmsi"].to_numpy(dtype=np.int64))
        track = tracks_of(pos)
        ts = utc_ns(pos["timestamp"])
        return cls(frame=pos, ts=ts, mmsi=mmsi, track=track, t=epoch_seconds(ts),
                   lat=np.ascontiguousarray(pos["lat"].to_numpy(dtype=np.float64)),
                   lon=np.ascontiguousarray(pos["lon"].to_numpy(dtype=np.float64)),
                   offsets=vessel_slices(mmsi, track))

    def __len__(self) -> int:
        return len(self.t)

    def times(self, rows: np.ndarray) -> pd.Series:
        """The UTC timestamps of the given rows (ns precision, as in the frame)."""
        return self.ts.iloc[np.asarray(rows, dtype=np.int64)].reset_index(drop=True)


def has_ports(registry) -> bool:
    return registry is not None and len(registry.names) > 0


def nearest_ports(registry, lat, lon, max_nm: float = math.inf):
    """(index, distance nm) of the nearest port to each position (:meth:`ports.PortRegistry.nearest`);
    with no registry, or an empty one, (-1, inf) everywhere (NaN for NaN positions)."""
    lat = np.ascontiguousarray(lat, dtype=np.float64).ravel()
    lon = np.ascontiguousarray(lon, dtype=np.float64).ravel()
    if not has_ports(registry):
        return (np.full(len(lat), -1, dtype=np.int32),
                np.where(np.isnan(lat) | np.isnan(lon), np.nan, np.inf))
    return registry.nearest(lat, lon, max_nm)


def away_from_ports(registry, lat, lon, min_nm: float) -> np.ndarray:
    """Bool per position: outside every port polygon by at least ``min_nm`` (a position
    inside a polygon, or on its edge, never is, even with ``min_nm`` 0)."""
    if not has_ports(registry):
        return np.ones(len(np.ravel(lat)), dtype=bool)
    _, d = nearest_ports(registry, lat, lon, max(float(min_nm), 0.0))
    return (d >= min_nm) & (d > 0.0)


def port_columns(registry, lat, lon) -> tuple[list[str], np.ndarray]:
    """(nearest port name, distance in nm) per event position: "" and NaN without ports."""
    idx, d = nearest_ports(registry, lat, lon)
    if not has_ports(registry):
        return [""] * len(idx), np.full(len(idx), np.nan)
    names = np.asarray(list(registry.names) + [""], dtype=object)
    d = np.where(idx >= 0, d, np.nan)
    return list(names[idx]), d


def vessel_names(names, mmsi) -> pd.Series:
    """The name of each mmsi from an mmsi -> name mapping ("" when unknown)."""
    names = names or {}
    return pd.Series([str(names.get(int(m), "") or "") for m in mmsi], dtype=object)


def expand_ranges(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """The concatenated row ranges ``first[e]..last[e]`` (inclusive), as one int64 array."""
    first = np.asarray(first, dtype=np.int64)
    lengths = np.asarray(last, dtype=np.int64) - first + 1
    if len(lengths) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    return np.repeat(first - starts, lengths) + np.arange(int(lengths.sum()), dtype=np.int64)
