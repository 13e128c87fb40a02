"""The analysis tasks of a Dask run: per partition (every vessel in one), and the
cross-vessel ones over what the partitions send (see :mod:`shadowfleet.scale`)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from shadowfleet.scale import cross
from shadowfleet.scale.cells import key_counts
from shadowfleet.scale.partitions import (cells_path, n_partitions, pairs_path,
                                          partition_frames, partition_of, read_cells, store,
                                          table_path)

CELL_ROW_GROUP_ROWS = 65_536    # rows of a cell file's row groups: what a cell task skips by


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
            "positions_first": positions["timestamp"].min() if len(positions) else None,
            "vessel_times": positions.groupby("mmsi")["timestamp"].agg(["min", "max"])
                                     .reset_index(),
            "position_counts": _mmsi_counts(positions), "statics_counts": _mmsi_counts(sta)}


def detector_task(k: int, work: str, registry, settings, names: dict, data_end,
                  imo_rows: pd.DataFrame, identity: pd.DataFrame) -> dict:
    """Partition ``k``: the per-vessel detectors on its cleaned positions (dark periods'
    ``others_received`` left to the cell tasks: :func:`others_task`), its identity alerts
    (``imo_rows``: the run's ``imo_on_several_mmsi`` rows, its own among them), the first
    fix of each vessel (the ranking); writes its vessels' encounter grid at sea and its
    usable positions by space-time cell (:mod:`shadowfleet.scale.cross`) and sends back
    how many rows each cell got."""
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
    grid = encounter_grid(positions, registry, settings.encounters, at_sea_only=True)
    return {
        "visits": find_port_visits(positions, registry, settings.visits, names=names),
        "gaps": find_dark_periods(positions, registry, settings.gaps, names=names,
                                  data_end=data_end, own_messages=own),
        "loitering": find_loitering(positions, registry, settings.loitering, names=names),
        "stays": find_stays(positions, registry, settings.stops, names),
        "identity_alerts": identity_alerts(table, positions=positions, names=names),
        "first_fixes": first[["mmsi", "timestamp", "lat", "lon"]].reset_index(drop=True),
        "encounter_cells": _store_cells(cross.encounter_points(grid, settings.encounters),
                                        cells_path(work, "encounters", k)),
        "position_cells": _store_cells(cross.position_cells(usable),
                                       cells_path(work, "positions", k)),
    }


def _store_cells(frame: pd.DataFrame, path: str) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` (sorted by cell) to ``path``; its (cells, rows)."""
    store(frame, path, CELL_ROW_GROUP_ROWS)
    return key_counts(frame["cell"].to_numpy(np.int64))


def close_pairs_task(i: int, first: int, last: int, work: str, settings) -> int:
    """Cell task ``i`` of the encounter search: the close pairs of the cells ``first`` to
    ``last`` (every partition's grid points there, copies included), written by the
    partition of their first vessel; how many."""
    points = read_cells(work, "encounters", first, last)
    pairs = cross.cell_close_pairs(points, settings.encounters)
    n = n_partitions(work)
    part = partition_of(pairs["mmsi_1"].to_numpy(np.int64), n)
    for k in np.unique(part):
        store(pairs[part == k].reset_index(drop=True), pairs_path(work, i, int(k)))
    return len(pairs)


def encounters_task(k: int, work: str, registry, settings, names: dict) -> pd.DataFrame:
    """The encounters whose first vessel is in partition ``k``, from its close pairs of
    every cell task (a pair's runs and merges are its own)."""
    from detectors.encounters import encounters_of_close_pairs

    folder = os.path.dirname(pairs_path(work, 0, k))
    files = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    frames = [pd.read_parquet(os.path.join(folder, f), engine="pyarrow") for f in files]
    if not frames:
        return None
    pairs = pd.concat(frames, ignore_index=True)
    return encounters_of_close_pairs(pairs, registry, settings.encounters, names=names)


def others_task(first: int, last: int, work: str, queries: dict, settings):
    """A cell task of ``others_received``: (dark period, vessel) of the other vessels
    received near the fixes of ``queries`` (those whose halo reaches the cells ``first`` to
    ``last``) while they lasted."""
    positions = read_cells(work, "positions", first, last)
    return cross.others_in_cells(positions, queries, settings.gaps)


def stops_task(stays: pd.DataFrame, registry, settings):
    """Unlisted stops of a group of stays (:func:`shadowfleet.scale.cross.stay_groups`)."""
    from detectors.stops import cluster_stays

    return cluster_stays(stays, registry, settings.stops)
