"""The space-time cells of a Dask run's cross-vessel work (DESIGN.md, "Scale"): 1 degree
of latitude by 1 degree of longitude by 1 UTC day, with a halo of the search radius.

A cell's key is ``day * SPACE_CELLS + row * 360 + column``, with ``row`` = floor(lat + 90)
(0..179, the north pole in the last row) and ``column`` = floor(lon + 180) modulo 360
(longitude 180 is -180): sorting by key sorts by day, then by place, so a run of
consecutive keys is a few days of the map and one task's work.

The halo: :func:`halo_cells` gives every cell a circle of ``radius_m`` around a point
can reach, from the bounding box of that spherical cap (latitude +- the radius;
longitude +- asin(sin r / cos lat), all 360 columns when the cap holds a pole), with
room for rounding, across the antimeridian (column 359 is next to column 0). At 80
degrees north a degree of longitude is 19 km, at 89.99 degrees 19 m: a 20 nm radius then
spans many columns, and the box grows with it. Points (or queries) are copied to every
cell their halo reaches; the task of each cell searches its own points against every
copy there, and a result is kept by one cell only (the cell of the point owning it), so
nothing is found twice and nothing is missed.
"""

from __future__ import annotations

import math

import numpy as np

from ports._geo import EARTH_RADIUS_NM, M_PER_NM

DAY_S = 86_400
COLUMNS = 360
ROWS = 180
SPACE_CELLS = ROWS * COLUMNS
HALO_MARGIN = 1e-6          # relative, and 1e-9 degrees: a halo errs on the large side
CELL_TASK_ROWS = 2_000_000  # rows (points) one cell task reads, about; one cell is never cut


def space_cell(lat, lon) -> np.ndarray:
    """The cell (row * 360 + column) of each point."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    row = np.clip(np.floor(lat + 90.0), 0, ROWS - 1).astype(np.int64)
    col = np.mod(np.floor(lon + 180.0).astype(np.int64), COLUMNS)
    return row * COLUMNS + col


def day_of(t_s) -> np.ndarray:
    """The UTC day (days since 1970-01-01) of epoch seconds."""
    return np.floor(np.asarray(t_s, dtype=np.float64) / DAY_S).astype(np.int64)


def cell_key(lat, lon, t_s) -> np.ndarray:
    """The space-time cell of each point at epoch seconds ``t_s``."""
    return day_of(t_s) * SPACE_CELLS + space_cell(lat, lon)


def halo_cells(lat, lon, radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(point index, space cell) of every cell a circle of ``radius_m`` around each point
    may reach (its own among them), each once per point; points with a NaN position have
    none."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    r_deg = math.degrees(radius_m / (EARTH_RADIUS_NM * M_PER_NM)) * (1 + HALO_MARGIN) + 1e-9
    la = np.where(ok, lat, 0.0)
    lo = np.where(ok, lon, 0.0)
    row0 = np.clip(np.floor(la - r_deg + 90.0), 0, ROWS - 1).astype(np.int64)
    row1 = np.clip(np.floor(la + r_deg + 90.0), 0, ROWS - 1).astype(np.int64)
    r = math.radians(min(r_deg, 180.0))
    cos_lat = np.cos(np.radians(la))
    polar = np.abs(la) + r_deg >= 90.0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = math.sin(r) / cos_lat
    wide = polar | ~(ratio < 1.0)
    half = np.where(wide, 180.0, np.degrees(np.arcsin(np.minimum(ratio, 1.0)))
                    * (1 + HALO_MARGIN) + 1e-9)
    col0 = np.floor(lo - half + 180.0).astype(np.int64)
    col1 = np.floor(lo + half + 180.0).astype(np.int64)
    n_col = np.minimum(col1 - col0 + 1, COLUMNS)
    col0 = np.where(n_col == COLUMNS, 0, col0)
    n_row = row1 - row0 + 1
    count = np.where(ok, n_row * n_col, 0)
    index = np.repeat(np.arange(len(lat), dtype=np.int64), count)
    start = np.cumsum(count) - count
    within = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(start, count)
    nc = n_col[index]
    row = row0[index] + within // nc
    col = np.mod(col0[index] + within % nc, COLUMNS)
    return index, row * COLUMNS + col


def over_days(index: np.ndarray, space: np.ndarray, t_lo, t_hi) -> tuple[np.ndarray, np.ndarray]:
    """(index, cell key) of the cells ``space`` of each ``index`` on every day from
    ``t_lo[index]`` to ``t_hi[index]`` (epoch seconds, both days included)."""
    d0 = day_of(np.asarray(t_lo)[index])
    d1 = day_of(np.asarray(t_hi)[index])
    n = np.maximum(d1 - d0 + 1, 0)
    rep = np.repeat(np.arange(len(index), dtype=np.int64), n)
    start = np.cumsum(n) - n
    day = d0[rep] + np.arange(int(n.sum()), dtype=np.int64) - np.repeat(start, n)
    return index[rep], day * SPACE_CELLS + space[rep]


def merged_counts(parts) -> tuple[np.ndarray, np.ndarray]:
    """(cell keys, rows) added up over the partitions' ``(keys, counts)``, by key."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keys = np.concatenate([k for k, _ in parts])
    counts = np.concatenate([c for _, c in parts])
    cells, inverse = np.unique(keys, return_inverse=True)
    return cells, np.bincount(inverse.ravel(), weights=counts, minlength=len(cells)).astype(np.int64)


def key_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cells, rows) of a sorted key column."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    cells, counts = np.unique(keys, return_counts=True)
    return cells.astype(np.int64), counts.astype(np.int64)


def plan(cells: np.ndarray, counts: np.ndarray, rows: int | None = None) -> np.ndarray:
    """Tasks over the sorted ``cells``: (first key, last key) rows of runs of consecutive
    cells holding about ``rows`` rows each (default :data:`CELL_TASK_ROWS`; a cell is
    never cut, so a task may hold more when one cell does)."""
    rows = CELL_TASK_ROWS if rows is None else rows
    if not len(cells):
        return np.zeros((0, 2), dtype=np.int64)
    cum = np.cumsum(counts)
    bounds, start = [], 0
    while start < len(cells):
        base = cum[start - 1] if start else 0
        end = max(int(np.searchsorted(cum, base + rows, side="right")), start + 1)
        bounds.append((int(cells[start]), int(cells[end - 1])))
        start = end
    return np.asarray(bounds, dtype=np.int64)


def task_of(keys: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """The task (row of ``bounds``) holding each key, -1 for a key in none."""
    if not len(bounds):
        return np.full(len(keys), -1, dtype=np.int64)
    i = np.searchsorted(bounds[:, 0], keys, side="right") - 1
    ok = (i >= 0) & (keys <= bounds[np.maximum(i, 0), 1])
    return np.where(ok, i, -1).astype(np.int64)
