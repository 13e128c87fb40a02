"""Export of positions as movingpandas trajectories, for plotting and GIS export.

One trajectory per vessel segment: a vessel's track is cut wherever two consecutive
positions are more than ``gap_hours`` apart (the dark-period definition of DESIGN.md), so
a line is never drawn across a dark period. Trajectory ids are ``"<mmsi>-<segment>"``.
The ships of a shared MMSI (the ``track`` column, :mod:`detectors.identity_tracks`) are
cut apart: ``"<mmsi>-t<track>-<segment>"`` for a track other than 0.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ais.errors import InputError


def segment_ids(mmsi: np.ndarray, t_s: np.ndarray, gap_hours: float,
                track: np.ndarray | None = None) -> np.ndarray:
    """Per row (sorted by mmsi, track, time), the number of the vessel's segment it is in
    (a vessel is an (mmsi, track); no ``track``: one per mmsi)."""
    n = len(mmsi)
    seg = np.zeros(n, dtype=np.int64)
    if n == 0:
        return seg
    new_vessel = np.r_[True, mmsi[1:] != mmsi[:-1]]
    if track is not None:
        new_vessel |= np.r_[True, track[1:] != track[:-1]]
    cut = np.r_[False, np.diff(t_s) > gap_hours * 3600.0] & ~new_vessel
    counter = np.cumsum(cut)
    first_of_vessel = np.maximum.accumulate(np.where(new_vessel, np.arange(n), 0))
    return counter - counter[first_of_vessel]


def to_trajectories(positions: pd.DataFrame, *, gap_hours: float = 6.0,
                    names: Mapping[int, str] | None = None):
    """A ``movingpandas.TrajectoryCollection`` of the positions (segments of >= 2 fixes)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import movingpandas as mpd

    cols = ["mmsi", "track", "timestamp", "lat", "lon", "sog", "cog"]
    df = positions[[c for c in cols if c in positions.columns]]
    if "spoofed" in positions.columns:
        df = df[~positions["spoofed"].to_numpy(dtype=bool)]
    if "track" not in df.columns:
        df = df.assign(track=0)
    df = df.dropna(subset=["timestamp", "lat", "lon"]).sort_values(["mmsi", "track", "timestamp"],
                                                                   kind="mergesort")
    t_s = df["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    track = df["track"].to_numpy(dtype=np.int64)
    seg = segment_ids(df["mmsi"].to_numpy(), t_s, gap_hours, track)
    df = df.assign(traj_id=[f"{m}-t{k}-{s}" if k else f"{m}-{s}"
                            for m, k, s in zip(df["mmsi"].to_numpy(), track, seg)])
    if names:
        df = df.assign(name=df["mmsi"].map(lambda m: names.get(int(m), "")))
    sizes = df.groupby("traj_id")["traj_id"].transform("size")
    df = df[sizes >= 2]
    df = df.assign(timestamp=df["timestamp"].dt.tz_convert(None))
    return mpd.TrajectoryCollection(df, traj_id_col="traj_id", obj_id_col="mmsi",
                                    t="timestamp", x="lon", y="lat", crs="epsg:4326")


def export_trajectories(collection, path: str | Path) -> Path:
    """Write the trajectories as lines to GeoPackage (``.gpkg``) or GeoJSON."""
    path = Path(path)
    suffix = path.suffix.lower()
    drivers = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}
    if suffix not in drivers:
        raise InputError(path, f"cannot export trajectories as '{suffix or 'no extension'}'",
                         "name the file .gpkg or .geojson")
    lines = collection.to_line_gdf()
    for col in lines.columns:
        if pd.api.types.is_datetime64_any_dtype(lines[col]):
            lines[col] = lines[col].astype(str)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    lines.to_file(path, driver=drivers[suffix])
    return path
