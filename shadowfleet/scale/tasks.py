"""The analysis tasks of a Dask run: per partition (every vessel in one), and the
cross-vessel ones over what the partitions send (see :mod:`shadowfleet.scale`)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from shadowfleet.scale.partitions import (grid_path, n_partitions, partition_frames,
                                          partition_of, store, table_path)

STRETCH_HOURS = 24          # the encounter search's stretches of time (one task each)


class _Frames:
    """Decoded frames as :func:`shadowfleet.pipeline.identify` reads them."""

    def __init__(self, positions: pd.DataFrame, statics: pd.DataFrame):
        self.positions, self.statics = positions, statics


def _mmsi_counts(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    c = frame["mmsi"].value_counts().sort_index()
    return c.index.to_numpy(np.int64), c.to_numpy(np.int64)


def identity_task(k: int, work: str, n_files: int, settings) -> dict:
    """Partition ``k``: copies across files dropped, the identity step (its
    ``imo_on_several_mmsi`` left to the whole run, from the IMO spells sent back), the
    cleaning; writes the cleaned positions, the own messages and the statics."""
    from detectors.cleaning import clean_positions
    from detectors.dark_periods import messages_without_position
    from detectors.identity import IMO_ON_SEVERAL_MMSI, imo_spells
    from shadowfleet.pipeline import identify, vessel_names

    pos, sta, copies = partition_frames(work, n_files, k)
    ident = identify(_Frames(pos, sta), settings)
    table = ident.table
    table = table[table["kind"] != IMO_ON_SEVERAL_MMSI].reset_index(drop=True)
    spells = imo_spells(ident.statics, settings.identity, positions=ident.positions)
    positions, jumps = clean_positions(ident.positions, settings.cleaning)
    own = messages_without_position(ident.positions, ident.statics)
    store(positions, table_path(work, k, "positions"))
    store(own, table_path(work, k, "own"))
    store(sta, table_path(work, k, "statics"))
    times = pd.concat([pos["timestamp"], sta["timestamp"]]).dropna()
    return {"identity": table, "tracks": ident.tracks, "jumps": jumps, "imos": ident.imos,
            "names": vessel_names(sta), "spells": spells, "copies": copies,
            "positions": len(pos), "statics": len(sta),
            "decoded_vessels": int(pd.concat([pos["mmsi"], sta["mmsi"]]).nunique()),
            "vessels": int(positions["mmsi"].nunique()),
            "first": times.min() if len(times) else None,
            "last": times.max() if len(times) else None,
            "data_end": positions["timestamp"].max() if len(positions) else None,
            "position_counts": _mmsi_counts(positions), "statics_counts": _mmsi_counts(sta)}


def detector_task(k: int, work: str, registry, settings, names: dict, data_end,
                  imo_rows: pd.DataFrame, identity: pd.DataFrame) -> dict:
    """Partition ``k``: the per-vessel detectors on its cleaned positions (dark periods'
    ``others_received`` over its own vessels only: :func:`others_task` does the run's),
    its identity alerts (``imo_rows``: the run's ``imo_on_several_mmsi`` rows, its own
    among them), the first fix of each vessel (the ranking); writes the vessels'
    encounter grid at sea by stretch of time (:func:`close_pairs_task`)."""
    from detectors._frames import usable_positions
    from detectors.dark_periods import find_dark_periods
    from detectors.encounters import encounter_grid
    from detectors.identity import concat_identity
    from detectors.identity_alerts import identity_alerts
    from detectors.loitering import find_loitering
    from detectors.port_visits import find_port_visits
    from detectors.stops import find_stays

    positions = pd.read_parquet(table_path(work, k, "positions"), engine="pyarrow")
    own = pd.read_parquet(table_path(work, k, "own"), engine="pyarrow")
    mine = (partition_of(imo_rows["mmsi"].to_numpy(np.int64), n_partitions(work)) == k
            if len(imo_rows) else np.zeros(0, dtype=bool))
    table = concat_identity([identity, imo_rows[mine]])
    usable = usable_positions(positions)
    first = usable.loc[usable.groupby("mmsi")["timestamp"].idxmin()] if len(usable) else usable
    return {
        "visits": find_port_visits(positions, registry, settings.visits, names=names),
        "gaps": find_dark_periods(positions, registry, settings.gaps, names=names,
                                  data_end=data_end, own_messages=own),
        "loitering": find_loitering(positions, registry, settings.loitering, names=names),
        "stays": find_stays(positions, registry, settings.stops, names),
        "identity_alerts": identity_alerts(table, positions=positions, names=names),
        "first_fixes": first[["mmsi", "timestamp", "lat", "lon"]].reset_index(drop=True),
        "stretches": _store_grid(encounter_grid(positions, registry, settings.encounters,
                                                at_sea_only=True), work, k, settings),
    }


def _stretch_steps(settings) -> int:
    return max(1, int(round(STRETCH_HOURS * 60 / settings.encounters.encounter_step_minutes)))


def _store_grid(grid, work: str, k: int, settings) -> list[int]:
    """Partition ``k``'s encounter grid at sea, one file per stretch of
    ``STRETCH_HOURS``; the stretches it has points in."""
    if not len(grid):
        return []
    stretch = grid.k // _stretch_steps(settings)
    points = pd.DataFrame({"mmsi": grid.mmsi[grid.vid], "track": grid.track[grid.vid],
                           "k": grid.k, "lat": grid.lat, "lon": grid.lon})
    found = np.unique(stretch)
    order = np.argsort(stretch, kind="stable")
    bounds = np.searchsorted(stretch[order], np.r_[found, found[-1] + 1])
    for i, c in enumerate(found):
        store(points.iloc[order[bounds[i]:bounds[i + 1]]], grid_path(work, int(c), k))
    return [int(c) for c in found]


def close_pairs_task(c: int, work: str, settings) -> pd.DataFrame:
    """The close pairs of stretch ``c``: every partition's grid points of that stretch of
    time searched together (a meeting's two vessels may be in two partitions)."""
    from detectors.encounters import EncounterGrid, close_pairs_of_grid

    frames = [pd.read_parquet(grid_path(work, c, k), engine="pyarrow")
              for k in range(n_partitions(work)) if os.path.exists(grid_path(work, c, k))]
    points = pd.concat(frames, ignore_index=True)
    grid = EncounterGrid.of_points(*(points[col].to_numpy() for col in
                                     ("mmsi", "track", "k", "lat", "lon")))
    return close_pairs_of_grid(grid, settings.encounters)


def others_task(k: int, work: str, gaps: pd.DataFrame, settings, data_end) -> np.ndarray:
    """Partition ``k``'s share of every dark period's ``others_received``: its vessels
    received near the dark vessel while it was dark (the shares add up: no vessel is in
    two partitions)."""
    from detectors.dark_periods import count_others_received

    positions = pd.read_parquet(table_path(work, k, "positions"), engine="pyarrow",
                                columns=["mmsi", "timestamp", "lat", "lon", "track", "spoofed"])
    return count_others_received(positions, gaps, settings.gaps, data_end=data_end)
