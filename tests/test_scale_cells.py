"""The Dask engine's cross-vessel work on space-time cells (shadowfleet.scale.cells and
.cross), run here without Dask: the vessels in groups by hashed MMSI as partitions hold
them, their points and positions written by cell, the cells cut into many small tasks,
each task's part found apart and the parts put together. The result must be what one
search over every vessel finds, for fleets lying across a cell's edge in latitude and in
longitude, across UTC midnight (every fleet here runs 30 hours), across the antimeridian
and near the pole, where a degree of longitude is shorter than the halo."""

import math

import numpy as np
import pandas as pd
import pytest

from detectors.dark_periods import DarkPeriodParams, find_dark_periods
from detectors.encounters import (EncounterParams, encounter_grid, encounters_of_close_pairs,
                                  find_encounters)
from detectors.stops import StopParams, cluster_stays, empty_stays
from ports._geo import EARTH_RADIUS_NM
from shadowfleet.scale import cross, partition_of
from shadowfleet.scale.cells import (COLUMNS, SPACE_CELLS, halo_cells, merged_counts, plan,
                                     space_cell, task_of)
from tests.reference_behaviour import box_registry, drifting_fleet

# (name, lat, lon): the fleet's centre; every fleet spans about 1.6 km
PLACES = [
    ("corner of four cells", 42.0, 131.0),
    ("antimeridian", 0.0, 180.0),
    ("antimeridian, south", -51.0, -180.0),
    ("80 north", 80.0, 20.0),
    ("89.5 north: a degree of longitude is 970 m", 89.5, -60.0),
    ("89.99 north: a degree of longitude is 19 m", 89.99, 0.0),
    ("south pole", -89.995, 100.0),
]


def _wrap(lon):
    return (np.asarray(lon) + 180.0) % 360.0 - 180.0


def _fleet(seed, lat, lon, **kw):
    pos = drifting_fleet(seed, lat=lat, lon=lon, **kw)
    pos["lon"] = _wrap(pos["lon"].to_numpy())
    pos["lat"] = np.clip(pos["lat"].to_numpy(), -90.0, 90.0)
    return pos


def _groups(frame, n=3):
    part = partition_of(frame["mmsi"].to_numpy(), n)
    return [frame[part == k].reset_index(drop=True) for k in range(n)]


def _by_task(frames, rows):
    """The cell rows of every group, cut into tasks of about ``rows`` rows: the rows of
    each task (as a cell task reads them) and the plan."""
    cells, counts = merged_counts(
        (np.unique(f["cell"].to_numpy(), return_counts=True)) for f in frames)
    bounds = plan(cells, counts, rows)
    every = pd.concat(frames, ignore_index=True)
    task = task_of(every["cell"].to_numpy(), bounds)
    assert (task >= 0).all()
    return [every[task == i].reset_index(drop=True) for i in range(len(bounds))], cells, bounds


# ---- the halo ------------------------------------------------------------------------

def _destination(lat, lon, bearing, dist_rad):
    p, q = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p) * math.cos(dist_rad)
                   + math.cos(p) * math.sin(dist_rad) * math.cos(bearing))
    q2 = q + math.atan2(math.sin(bearing) * math.sin(dist_rad) * math.cos(p),
                        math.cos(dist_rad) - math.sin(p) * math.sin(p2))
    return math.degrees(p2), (math.degrees(q2) + 180.0) % 360.0 - 180.0


@pytest.mark.parametrize("radius_m", [500.0, 1000.0, 37_040.0, 300_000.0])
def test_halo_holds_every_cell_within_the_radius(radius_m):
    """Points at random bearings and distances up to the radius (and on it) from
    centres anywhere, near the antimeridian and the poles among them: each point's cell
    is in its centre's halo; the centre's own cell too; no cell twice."""
    rng = np.random.default_rng(int(radius_m))
    lat = np.r_[rng.uniform(-90, 90, 300), [89.999, -89.999, 0.0, 45.0, 60.0, 89.5]]
    lon = np.r_[rng.uniform(-180, 180, 300), [0.0, 180.0, -180.0, 179.9999, -179.9999, 179.5]]
    index, space = halo_cells(lat, lon, radius_m)
    pairs = set(zip(index.tolist(), space.tolist()))
    assert len(pairs) == len(index)
    own = space_cell(lat, lon)
    r = radius_m / (EARTH_RADIUS_NM * 1852.0)
    for i in range(len(lat)):
        assert (i, int(own[i])) in pairs
        for _ in range(40):
            d = r * (1.0 if rng.random() < 0.3 else math.sqrt(rng.random()))
            la, lo = _destination(lat[i], lon[i], rng.uniform(0, 2 * math.pi), d)
            assert (i, int(space_cell(la, lo))) in pairs, (lat[i], lon[i], la, lo)


def test_halo_is_small_away_from_the_poles_and_whole_at_them():
    index, space = halo_cells([42.5, 89.999], [131.5, 10.0], 500.0)
    assert list(space[index == 0]) == [int(space_cell(42.5, 131.5))]
    assert (index == 1).sum() == COLUMNS          # every column of the last row
    index, space = halo_cells([10.5], [179.9999], 500.0)
    assert sorted(space % COLUMNS) == [0, 359]    # across the antimeridian


# ---- encounters -----------------------------------------------------------------------

def _encounters_by_cells(pos, params, rows):
    points = [cross.encounter_points(encounter_grid(g, None, params, at_sea_only=True), params)
              for g in _groups(pos)]
    tasks, _, bounds = _by_task(points, rows)
    pairs = pd.concat([cross.cell_close_pairs(t, params) for t in tasks], ignore_index=True)
    return pairs, len(bounds)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("place", PLACES, ids=[p[0] for p in PLACES])
def test_encounters_on_cells_equal_one_search(place, seed):
    _, lat, lon = place
    params = EncounterParams()
    pos = _fleet(seed, lat, lon, n_vessels=8, spread_m=900)
    whole = find_encounters(pos, None, params)
    pairs, n_tasks = _encounters_by_cells(pos, params, rows=300)
    assert n_tasks > 3
    key = ["mmsi_1", "track_1", "mmsi_2", "track_2", "k"]
    assert not pairs.duplicated(key).any()          # each close pair found once
    got = encounters_of_close_pairs(pairs.sample(frac=1.0, random_state=seed), None, params)
    pd.testing.assert_frame_equal(got, whole)


def test_encounter_fleets_do_straddle_the_edges():
    """Not vacuous: at every place some encounters hold points of two cells in space, and
    some run across UTC midnight."""
    params = EncounterParams()
    for _, lat, lon in PLACES:
        spread, midnight = 0, 0
        for seed in range(3):
            pos = _fleet(seed, lat, lon, n_vessels=8, spread_m=900)
            enc = find_encounters(pos, None, params)
            grid = encounter_grid(pos, None, params)
            cells = pd.DataFrame({"mmsi": grid.mmsi[grid.vid], "k": grid.k,
                                  "cell": space_cell(grid.lat, grid.lon)})
            for e in enc.itertuples():
                k0 = e.start_utc.value // 600_000_000_000
                k1 = e.end_utc.value // 600_000_000_000
                mine = cells[cells["mmsi"].isin([e.mmsi_1, e.mmsi_2])
                             & cells["k"].between(k0, k1)]
                spread += mine["cell"].nunique() > 1
                midnight += k0 // 144 != k1 // 144
        assert spread > 0, lat
    assert midnight > 0


# ---- others_received -------------------------------------------------------------------

def _others_by_cells(pos, gaps, params, rows):
    cells_of = [cross.position_cells(g) for g in _groups(pos)]
    tasks, cells, bounds = _by_task(cells_of, rows)
    queries = cross.gap_queries(gaps, pos["timestamp"].max())
    routed = cross.route_gaps(queries, params.reception_radius_nm, cells, bounds)
    pairs = [cross.others_in_cells(t, q, params) for t, q in zip(tasks, routed)]
    return cross.count_pairs(pairs, len(gaps)), len(bounds)


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("place", PLACES, ids=[p[0] for p in PLACES])
@pytest.mark.parametrize("radius_nm", [0.3, 20.0])
def test_others_received_on_cells_equal_one_count(place, seed, radius_nm):
    _, lat, lon = place
    params = DarkPeriodParams(gap_hours=1.0, reception_radius_nm=radius_nm)
    pos = _fleet(seed, lat, lon, n_vessels=10, gap_chance=0.3)
    gaps = find_dark_periods(pos, box_registry(("Nowhere", 10.0, -30.0, 10.1, -29.9)), params)
    assert len(gaps) > 3
    got, n_tasks = _others_by_cells(pos, gaps, params, rows=1)   # a task a cell
    assert n_tasks > 3
    np.testing.assert_array_equal(got, gaps["others_received"].to_numpy())
    assert gaps["others_received"].gt(0).any()


# ---- unlisted stops ------------------------------------------------------------------

def _stays(rng, lat, lon, n, spread_m):
    """Stays scattered around (lat, lon), some within the cluster radius of others."""
    frame = empty_stays()
    r = spread_m / (EARTH_RADIUS_NM * 1852.0)
    rows = []
    t0 = pd.Timestamp("2023-09-01T22:00Z")
    for i in range(n):
        la, lo = _destination(lat, lon, rng.uniform(0, 2 * math.pi), r * math.sqrt(rng.random()))
        start = t0 + pd.Timedelta(hours=float(rng.uniform(0, 6)))
        rows.append({"stay_id": f"ST-{i}", "mmsi": 273100000 + int(rng.integers(0, 6)),
                     "name": "", "start_utc": start, "end_utc": start + pd.Timedelta(hours=3),
                     "hours": 3.0, "lat": la, "lon": lo, "n_positions": 10, "stop_id": "",
                     "track": 0})
    out = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
    return out.astype(frame.dtypes.to_dict())


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("place", PLACES, ids=[p[0] for p in PLACES])
def test_unlisted_stops_on_cells_equal_one_clustering(place, seed):
    _, lat, lon = place
    rng = np.random.default_rng(seed)
    stays = pd.concat([_stays(rng, lat, lon, 40, 4_000),
                       _stays(rng, lat + 0.5 * (lat < 89), lon + 3.0, 15, 3_000)],
                      ignore_index=True)
    stays["lon"] = _wrap(stays["lon"].to_numpy())
    stays = stays.sort_values(["mmsi", "start_utc"], kind="mergesort").reset_index(drop=True)
    params = StopParams()
    whole = cluster_stays(stays, None, params)
    groups = cross.stay_groups(stays, params.stop_cluster_radius_m, max_stays=1)
    assert sorted(np.concatenate(groups).tolist()) == list(range(len(stays)))
    found = [cluster_stays(stays.iloc[g].reset_index(drop=True), None, params) for g in groups]
    stops = pd.concat([f.stops for f in found], ignore_index=True).sort_values(
        ["first_utc", "stop_id"], kind="mergesort").reset_index(drop=True)
    got_stays = pd.concat([f.stays for f in found], ignore_index=True).sort_values(
        ["mmsi", "start_utc"], kind="mergesort").reset_index(drop=True)
    assert len(whole.stops) > 0
    pd.testing.assert_frame_equal(stops, whole.stops, check_dtype=False)
    pd.testing.assert_frame_equal(got_stays, whole.stays)


def test_stay_groups_split_far_places_and_join_across_edges():
    rng = np.random.default_rng(0)
    near = _stays(rng, 42.0, 131.0, 30, 2_000)          # across a corner of four cells
    far = _stays(rng, 10.0, 179.9999, 30, 2_000)        # across the antimeridian
    stays = pd.concat([near, far], ignore_index=True)
    stays["lon"] = _wrap(stays["lon"].to_numpy())
    groups = cross.stay_groups(stays, 1000.0, max_stays=1)
    assert sorted(len(g) for g in groups) == [30, 30]
    assert len(np.unique(space_cell(stays["lat"], stays["lon"]))) >= 6


def test_task_of_and_plan():
    cells = np.array([3, 5, 9, 12, 40], dtype=np.int64)
    bounds = plan(cells, np.array([5, 5, 1, 1, 50]), rows=6)
    assert bounds.tolist() == [[3, 3], [5, 9], [12, 12], [40, 40]]
    assert task_of(np.array([3, 4, 5, 12, 13, 40, 41]), bounds).tolist() == [0, -1, 1, 2, -1, 3, -1]
    assert SPACE_CELLS == 180 * 360


@pytest.mark.parametrize("seed", range(4))
def test_reception_index_lists_the_vessels_it_counts(seed):
    """``ReceptionIndex.others`` (the fill pass of the counting kernel) against the
    obvious loop: for each dark period, every other vessel with a position strictly
    inside its time span within the radius of either fix; and as many as it counts."""
    from detectors._dark_periods_kernel import ReceptionIndex
    from ports._geo import haversine_nm_array

    rng = np.random.default_rng(seed)
    n, n_vessels, n_gaps, radius = 4_000, 30, 60, 5.0
    t = rng.uniform(0, 50_000, n)
    lat = rng.uniform(41.8, 42.2, n)
    lon = rng.uniform(130.8, 131.3, n)
    vessel = rng.integers(0, n_vessels, n).astype(np.int64) * 7 + 3
    own = rng.integers(0, n_vessels, n_gaps).astype(np.int64) * 7 + 3
    lat0, lon0 = rng.uniform(41.8, 42.2, n_gaps), rng.uniform(130.8, 131.3, n_gaps)
    lat1, lon1 = rng.uniform(41.8, 42.2, n_gaps), rng.uniform(130.8, 131.3, n_gaps)
    lat1[::5] = np.nan
    lon1[::5] = np.nan
    t_lo = rng.uniform(0, 45_000, n_gaps)
    t_hi = t_lo + rng.uniform(0, 8_000, n_gaps)
    index = ReceptionIndex(t, lat, lon, vessel, radius, 3_600.0)
    gap, other = index.others(own, lat0, lon0, lat1, lon1, t_lo, t_hi)
    counts = index.count_others(own, lat0, lon0, lat1, lon1, t_lo, t_hi)
    np.testing.assert_array_equal(np.bincount(gap, minlength=n_gaps), counts)
    for g in range(n_gaps):
        inside = (t > t_lo[g]) & (t < t_hi[g]) & (vessel != own[g])
        near = np.zeros(n, dtype=bool)
        for la, lo in ((lat0[g], lon0[g]), (lat1[g], lon1[g])):
            if not np.isnan(la):
                near |= haversine_nm_array(np.full(n, la), np.full(n, lo), lat, lon) <= radius
        expected = sorted(set(vessel[inside & near].tolist()))
        assert sorted(other[gap == g].tolist()) == expected, g
    assert counts.sum() > n_gaps
