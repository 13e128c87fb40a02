"""The cross-vessel detectors on space-time cells (:mod:`shadowfleet.scale.cells`), as
plain functions over frames: the Dask tasks (:mod:`shadowfleet.scale.tasks`) read and
write their inputs and outputs, these do the work, and the tests run them without Dask.

- **Encounters.** Each partition's encounter grid at sea (10-minute points, far fewer than
  positions) is copied to every cell within ``encounter_distance_m`` of each point
  (:func:`encounter_points`, its own cell marked ``home``). A cell task searches every
  grid time of its cells (:func:`cell_close_pairs`): two points of one cell and one grid
  time within the distance are a close pair, kept by the cell where the point of the
  lower (mmsi, track) is at home (the other point is there too, at home or as a copy:
  it lies within the distance of that cell). Close pairs are a grid time's: a day cuts
  none. The runs, their speeds and merges are per pair of vessels, so the pairs go to the
  partition of their first vessel and :func:`detectors.encounters.encounters_of_close_pairs`
  finds the encounters there.
- **others_received.** Each partition's usable positions go to their cell, no copies
  (:func:`position_cells`); the dark periods (events) are the queries: each fix goes to
  every cell within ``reception_radius_nm`` of it on every day of the dark period
  (:func:`route_gaps`), and a cell task lists the other vessels received near each fix
  it has (:func:`others_in_cells`, the detector's own reception index on the task's
  positions). A vessel near a dark period in two cells is one vessel: the counts are of
  the distinct (dark period, vessel) pairs of all tasks (:func:`count_pairs`).
- **Unlisted stops.** DBSCAN's clusters never reach beyond ``stop_cluster_radius_m`` of
  a member, and a place is a place whatever the day: the stays (events) are grouped by
  1-degree cells joined when a stay of one lies within the radius of the other
  (:func:`stay_groups`, connected cells), and each group is clustered apart with
  :func:`detectors.stops.cluster_stays`, the stays in the run's order. DBSCAN gives a
  group that holds whole neighbourhoods the clusters it gives on all the stays (a border
  stay goes to the first cluster reaching it, in the same order), so the stops are the
  same.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from shadowfleet.scale.cells import (SPACE_CELLS, cell_key, day_of, halo_cells, over_days,
                                     space_cell, task_of)

TRACK_BITS = 16             # a vessel key: mmsi << 16 | track (tracks of an MMSI are few)
POINT_COLUMNS = ("cell", "home", "mmsi", "track", "k", "lat", "lon")
POSITION_CELL_COLUMNS = ("cell", "vessel", "t", "lat", "lon")
GROUP_STAYS = 200_000       # stays one unlisted-stops task clusters, about


def vessel_key(mmsi, track) -> np.ndarray:
    track = np.asarray(track, dtype=np.int64)
    if len(track) and (track.min() < 0 or track.max() >= 1 << TRACK_BITS):
        raise ValueError("a track number out of range for a vessel key")
    return (np.asarray(mmsi, dtype=np.int64) << TRACK_BITS) | track


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    order = np.argsort(frame["cell"].to_numpy(), kind="stable")
    return frame.iloc[order].reset_index(drop=True)


# ---- encounters ---------------------------------------------------------------------

def encounter_points(grid, params) -> pd.DataFrame:
    """The grid's points (:class:`detectors.encounters.EncounterGrid`, at sea) in every
    cell within ``encounter_distance_m`` of them (:data:`POINT_COLUMNS`), sorted by cell."""
    step_s = params.encounter_step_minutes * 60.0
    index, space = halo_cells(grid.lat, grid.lon, params.encounter_distance_m)
    day = day_of(grid.k[index] * step_s)
    vid = grid.vid[index]
    return _sorted(pd.DataFrame({
        "cell": day * SPACE_CELLS + space,
        "home": space == space_cell(grid.lat, grid.lon)[index],
        "mmsi": grid.mmsi[vid].astype(np.int64), "track": grid.track[vid].astype(np.int64),
        "k": grid.k[index], "lat": grid.lat[index], "lon": grid.lon[index]}))


def cell_close_pairs(points: pd.DataFrame, params) -> pd.DataFrame:
    """The close pairs (:data:`detectors.encounters.CLOSE_PAIR_COLUMNS`) of the cells of
    ``points`` (:func:`encounter_points` rows of any cells), each kept in the cell where
    its first vessel's point is at home."""
    from detectors import _encounters_kernel as _k
    from detectors.encounters import CLOSE_PAIR_COLUMNS

    if len(points) < 2:
        return pd.DataFrame({c: pd.Series([], dtype="int64" if c in ("mmsi_1", "track_1",
                                                                      "mmsi_2", "track_2", "k")
                                          else "float64") for c in CLOSE_PAIR_COLUMNS})
    mmsi = points["mmsi"].to_numpy(np.int64)
    track = points["track"].to_numpy(np.int64)
    vessels, vid = np.unique(vessel_key(mmsi, track), return_inverse=True)
    vid = np.ascontiguousarray(vid.ravel().astype(np.int64))
    k = points["k"].to_numpy(np.int64)
    # one search per (cell, grid time): the kernel's grid time is this pair's number
    group = np.ascontiguousarray((k - k.min()) * SPACE_CELLS
                                 + points["cell"].to_numpy(np.int64) % SPACE_CELLS)
    lat = np.ascontiguousarray(points["lat"].to_numpy(np.float64))
    lon = np.ascontiguousarray(points["lon"].to_numpy(np.float64))
    pa, pb, d = _k.close_pairs(group, lat, lon, vid, np.ones(len(points), dtype=bool),
                               params.encounter_distance_m)
    keep = points["home"].to_numpy(bool)[pa]
    pa, pb, d = pa[keep], pb[keep], d[keep]
    return pd.DataFrame({"mmsi_1": mmsi[pa], "track_1": track[pa], "mmsi_2": mmsi[pb],
                         "track_2": track[pb], "k": k[pa], "distance_m": d,
                         "lat_1": lat[pa], "lon_1": lon[pa], "lat_2": lat[pb],
                         "lon_2": lon[pb]})[list(CLOSE_PAIR_COLUMNS)]


# ---- others_received ----------------------------------------------------------------

def position_cells(positions: pd.DataFrame) -> pd.DataFrame:
    """The usable positions (:func:`detectors._frames.usable_positions`) in their cells
    (:data:`POSITION_CELL_COLUMNS`: ``vessel`` a :func:`vessel_key`, ``t`` epoch
    seconds), sorted by cell."""
    from detectors._frames import epoch_seconds, tracks_of, usable_positions

    pos = usable_positions(positions)
    t = epoch_seconds(pos["timestamp"])
    lat = pos["lat"].to_numpy(np.float64)
    lon = pos["lon"].to_numpy(np.float64)
    return _sorted(pd.DataFrame({"cell": cell_key(lat, lon, t),
                                 "vessel": vessel_key(pos["mmsi"].to_numpy(np.int64),
                                                      tracks_of(pos)),
                                 "t": t, "lat": lat, "lon": lon}))


def gap_queries(gaps: pd.DataFrame, data_end) -> dict:
    """The dark periods as :func:`others_in_cells` reads them: ``vessel``, both fixes (the
    end NaN for an open one), ``t_lo``/``t_hi`` (epoch seconds; an open one runs to just
    after ``data_end``, as :func:`detectors.dark_periods.count_others_received` counts)."""
    from detectors._frames import epoch_seconds, tracks_of
    from detectors.dark_periods import _data_end_seconds

    end_s = _data_end_seconds(None, data_end)
    is_open = gaps["open"].to_numpy(dtype=bool)
    t_hi = np.where(is_open, np.nextafter(end_s, np.inf), epoch_seconds(gaps["end_utc"]))

    def col(name):
        return np.ascontiguousarray(gaps[name].to_numpy(dtype=np.float64))

    return {"gap": np.arange(len(gaps), dtype=np.int64),
            "vessel": vessel_key(gaps["mmsi"].to_numpy(np.int64), tracks_of(gaps)),
            "lat0": col("start_lat"), "lon0": col("start_lon"),
            "lat1": col("end_lat"), "lon1": col("end_lon"),
            "t_lo": epoch_seconds(gaps["start_utc"]), "t_hi": np.ascontiguousarray(t_hi)}


def route_gaps(queries: dict, radius_nm: float, cells: np.ndarray,
               bounds: np.ndarray) -> list[dict]:
    """``queries`` (:func:`gap_queries`) for each cell task of ``bounds`` (rows of first
    and last cell key; ``cells``: the keys holding positions, sorted): the dark periods
    with a fix whose halo reaches one of its cells on a day of the dark period, that fix
    kept and the other NaN when it reaches none of them."""
    n = len(queries["gap"])
    if n == 0:
        return [{name: value[:0] for name, value in queries.items()} for _ in range(len(bounds))]
    hits = []
    for fix in (0, 1):
        index, space = halo_cells(queries[f"lat{fix}"], queries[f"lon{fix}"],
                                  radius_nm * 1852.0)
        index, key = over_days(index, space, queries["t_lo"], queries["t_hi"])
        at = np.searchsorted(cells, key)
        there = (at < len(cells)) & (cells[np.minimum(at, max(len(cells) - 1, 0))] == key) \
            if len(cells) else np.zeros(len(key), dtype=bool)
        task = task_of(key[there], bounds)
        hits.append(np.unique(task * (2 * n) + index[there] * 2 + fix))
    hit = np.unique(np.concatenate(hits))
    hit = hit[hit >= 0]
    task, rest = hit // (2 * n), hit % (2 * n)
    gap, fix = rest // 2, rest % 2
    out = []
    for i in range(len(bounds)):
        mine = task == i
        g = np.unique(gap[mine])
        q = {name: queries[name][g] for name in ("gap", "vessel", "t_lo", "t_hi")}
        has = {f: np.isin(g, gap[mine & (fix == f)]) for f in (0, 1)}
        for f in (0, 1):
            for c in (f"lat{f}", f"lon{f}"):
                q[c] = np.where(has[f], queries[c][g], np.nan)
        out.append(q)
    return out


def others_in_cells(positions: pd.DataFrame, queries: dict, params) -> tuple[np.ndarray, np.ndarray]:
    """(dark period, other vessel) of every vessel of ``positions`` (:func:`position_cells`
    rows of some cells) received near a fix of ``queries`` while it lasted: what
    :class:`detectors._dark_periods_kernel.ReceptionIndex` counts, listed."""
    from detectors._dark_periods_kernel import ReceptionIndex

    if not len(positions) or not len(queries["gap"]):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    index = ReceptionIndex(np.ascontiguousarray(positions["t"].to_numpy(np.float64)),
                           np.ascontiguousarray(positions["lat"].to_numpy(np.float64)),
                           np.ascontiguousarray(positions["lon"].to_numpy(np.float64)),
                           positions["vessel"].to_numpy(np.int64), params.reception_radius_nm,
                           params.gap_hours * 3600.0)
    row, vessel = index.others(queries["vessel"], queries["lat0"], queries["lon0"],
                               queries["lat1"], queries["lon1"], queries["t_lo"],
                               queries["t_hi"])
    return queries["gap"][row], vessel


def count_pairs(pairs, n: int) -> np.ndarray:
    """Distinct vessels per dark period (0..n-1) over (dark period, vessel) pairs."""
    pairs = [p for p in pairs if len(p[0])]
    if not pairs:
        return np.zeros(n, dtype=np.int64)
    gap = np.concatenate([g for g, _ in pairs])
    vessel = np.concatenate([v for _, v in pairs])
    order = np.lexsort((vessel, gap))
    gap, vessel = gap[order], vessel[order]
    new = np.r_[True, (gap[1:] != gap[:-1]) | (vessel[1:] != vessel[:-1])]
    return np.bincount(gap[new], minlength=n).astype(np.int64)


# ---- unlisted stops -----------------------------------------------------------------

def stay_groups(stays: pd.DataFrame, radius_m: float,
                max_stays: int | None = None) -> list[np.ndarray]:
    """Rows of ``stays`` in groups that DBSCAN may cluster apart (each a union of the
    1-degree cells a stay's ``radius_m`` joins), up to about ``max_stays`` a group
    (default :data:`GROUP_STAYS`; a group of joined cells is never cut), each in the
    order of ``stays``."""
    max_stays = GROUP_STAYS if max_stays is None else max_stays
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(stays)
    if n == 0:
        return []
    lat = stays["lat"].to_numpy(np.float64)
    lon = stays["lon"].to_numpy(np.float64)
    home = space_cell(lat, lon)
    index, reach = halo_cells(lat, lon, radius_m)
    used, node = np.unique(np.r_[home, reach], return_inverse=True)
    a, b = node[index], node[n:]            # the home cell of each halo row, the cell reached
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(used), len(used)))
    _, component = connected_components(graph, directed=False)
    of_stay = component[node[:n]]
    sizes = np.bincount(of_stay)
    groups, current, size = [], [], 0
    for c in np.flatnonzero(sizes):
        current.append(c)
        size += sizes[c]
        if size >= max_stays:
            groups.append(current)
            current, size = [], 0
    if current:
        groups.append(current)
    return [np.flatnonzero(np.isin(of_stay, g)) for g in groups]
