"""The cross-vessel detectors split the way the Dask engine splits them (vessels in
groups by hashed MMSI, each group's part found apart, the parts put together) give what
one search over every vessel gives: encounters from the groups' grids at sea,
``others_received`` added up over the groups, ``imo_on_several_mmsi`` from the groups'
IMO spells."""

import numpy as np
import pandas as pd
import pytest

from detectors.dark_periods import DarkPeriodParams, count_others_received, find_dark_periods
from detectors.encounters import EncounterGrid, encounter_grid, encounters_of_grid, find_encounters
from detectors.identity import (IdentityParams, find_imo_on_several_mmsi, imo_spells,
                                imo_on_several_mmsi_of_spells)
from shadowfleet.scale import partition_of
from tests.reference_behaviour import box_registry, drifting_fleet
from tests.reference_identity import positions, ship
from tests.test_identity import A, B, T, reports, statics


@pytest.fixture(scope="module")
def bay():
    return box_registry(("Bay", 131.0, 42.0, 131.1, 42.1), ("Cove", 131.6, 42.5, 131.7, 42.6))


def _groups(frame, n):
    part = partition_of(frame["mmsi"].to_numpy(), n)
    return [frame[part == k].reset_index(drop=True) for k in range(n)]


def test_partition_of_spreads_and_is_stable():
    mmsi = np.arange(273_000_000, 273_010_000)
    part = partition_of(mmsi, 7)
    assert part.min() == 0 and part.max() == 6
    assert np.bincount(part).min() > 1_300           # about 10,000 / 7 each
    np.testing.assert_array_equal(part, partition_of(mmsi, 7))
    assert (partition_of(mmsi, 1) == 0).all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n_groups", [2, 3])
def test_encounters_from_grids_of_groups(bay, seed, n_groups):
    # a fleet astride the line 5 nm off Bay: the port rule cuts runs, the grids at sea
    # leave those points out
    lat, lon = (42.05, 131.2123) if seed % 2 else (42.30, 131.50)
    pos = drifting_fleet(seed, n_vessels=8, lat=lat, lon=lon, spread_m=900)
    whole = find_encounters(pos, bay)
    grids = [encounter_grid(g, bay, at_sea_only=True) for g in _groups(pos, n_groups)]
    if seed % 2:
        assert sum(len(g) for g in grids) < len(encounter_grid(pos, bay))
    parts = encounters_of_grid(EncounterGrid.concat(grids), bay)
    pd.testing.assert_frame_equal(parts, whole)


def test_fleets_of_the_encounter_groups_do_meet(bay):
    """The comparison above is not vacuous: encounters, some across two groups."""
    across = 0
    for seed in range(6):
        pos = drifting_fleet(seed, n_vessels=8, spread_m=900)
        enc = find_encounters(pos, bay)
        across += int((partition_of(enc["mmsi_1"].to_numpy(), 2)
                       != partition_of(enc["mmsi_2"].to_numpy(), 2)).sum())
    assert across >= 5


def test_empty_grids():
    empty = encounter_grid(drifting_fleet(0, n_vessels=2).iloc[:0])
    assert len(EncounterGrid.concat([empty, empty]).mmsi) == 0
    assert encounters_of_grid(EncounterGrid.concat([])).empty


@pytest.mark.parametrize("seed", range(4))
def test_others_received_adds_up_over_groups(bay, seed):
    pos = drifting_fleet(seed, n_vessels=10, gap_chance=0.3)
    params = DarkPeriodParams(gap_hours=1.0, reception_radius_nm=0.3)
    gaps = find_dark_periods(pos, bay, params)
    assert len(gaps) > 3
    end = pos["timestamp"].max()
    shares = [count_others_received(g, gaps, params, data_end=end) for g in _groups(pos, 3)]
    np.testing.assert_array_equal(np.sum(shares, axis=0), gaps["others_received"].to_numpy())
    assert gaps["others_received"].gt(0).any() and (gaps["others_received"] < 9).any()


def test_imo_on_several_mmsi_from_spells_of_groups():
    c = 273000003
    frame = statics(reports(A, range(0, 300, 6)) + reports(B, range(60, 400, 6), name="X")
                    + reports(c, range(350, 500, 6), name="Y") + reports(c, [0, 6], imo=9358010))
    pos = positions(ship(A, 42.0, 131.0, start=int(T.value / 1e9), n=60))
    whole = find_imo_on_several_mmsi(frame, positions=pos)
    assert set(whole["mmsi"]) == {A, B, c}
    spells = pd.concat([imo_spells(frame[frame["mmsi"] == m], IdentityParams(),
                                   positions=pos[pos["mmsi"] == m]) for m in (c, B, A)])
    pd.testing.assert_frame_equal(imo_on_several_mmsi_of_spells(spells), whole)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("chunk_steps", [1, 7, 144])
def test_encounters_from_close_pairs_of_stretches_of_time(bay, seed, chunk_steps):
    """The Dask engine's encounter search: each group's grid at sea cut into stretches of
    ``chunk_steps`` grid times, every stretch's points of all groups searched apart for
    close pairs, the encounters found from all the pairs (runs cross the stretches)."""
    from detectors.encounters import close_pairs_of_grid, encounters_of_close_pairs

    lat, lon = (42.05, 131.2123) if seed % 2 else (42.30, 131.50)
    pos = drifting_fleet(seed, n_vessels=8, lat=lat, lon=lon, spread_m=900)
    whole = find_encounters(pos, bay)
    points = []
    for g in _groups(pos, 3):
        grid = encounter_grid(g, bay, at_sea_only=True)
        points.append(pd.DataFrame({"mmsi": grid.mmsi[grid.vid], "track": grid.track[grid.vid],
                                    "k": grid.k, "lat": grid.lat, "lon": grid.lon}))
    points = pd.concat(points, ignore_index=True).sample(frac=1.0, random_state=seed)
    stretch = points["k"] // chunk_steps
    pairs = [close_pairs_of_grid(EncounterGrid.of_points(*(p[c].to_numpy() for c in
                                                           ("mmsi", "track", "k", "lat", "lon"))))
             for _, p in points.groupby(stretch)]
    pairs = pd.concat(pairs, ignore_index=True).sample(frac=1.0, random_state=seed)
    pd.testing.assert_frame_equal(encounters_of_close_pairs(pairs, bay), whole)
    if chunk_steps == 1:
        assert len(whole) == 0 or len(pairs) > 10


def test_no_close_pairs_no_encounters():
    from detectors.encounters import close_pairs_of_grid, encounters_of_close_pairs

    pairs = close_pairs_of_grid(EncounterGrid.of_points([], [], [], [], []))
    assert pairs.empty and encounters_of_close_pairs(pairs).empty


@pytest.mark.parametrize("seed", range(4))
def test_others_received_keys_against_a_plain_search(bay, seed):
    """``others_received_keys`` lists, per dark period, every other vessel (mmsi, track)
    with a usable position within the radius of its start or end fix received while it
    lasted (an open one to the data's end), found here by looking at every row; as many
    as ``count_others_received`` counts. Two ships share an MMSI (tracks 1 and 2)."""
    from detectors.dark_periods import others_received_keys
    from ports._geo import haversine_nm_array

    pos = drifting_fleet(seed, n_vessels=10, gap_chance=0.3)
    first, second = pos["mmsi"].unique()[:2]
    pos["track"] = np.int64(0)
    pos.loc[pos["mmsi"] == first, "track"] = 1
    pos.loc[pos["mmsi"] == second, ["mmsi", "track"]] = (first, 2)
    pos = pos.sort_values(["mmsi", "track", "timestamp"], kind="mergesort").reset_index(drop=True)
    params = DarkPeriodParams(gap_hours=1.0, reception_radius_nm=0.3)
    end = pos["timestamp"].max() + pd.Timedelta(hours=2)    # every vessel's end is open
    gaps = find_dark_periods(pos, bay, params, data_end=end)
    assert len(gaps) > 3 and gaps["open"].sum() == 10
    got = others_received_keys(pos, gaps, params, data_end=end)
    np.testing.assert_array_equal(np.bincount(got["gap"], minlength=len(gaps)),
                                  count_others_received(pos, gaps, params, data_end=end))
    t = pos["timestamp"]
    for g, gap in gaps.reset_index(drop=True).iterrows():
        hi = t <= end if gap["open"] else t < gap["end_utc"]
        inside = (t > gap["start_utc"]) & hi & ~((pos["mmsi"] == gap["mmsi"])
                                                 & (pos["track"] == gap["track"]))
        near = np.zeros(len(pos), dtype=bool)
        for la, lo in ((gap["start_lat"], gap["start_lon"]), (gap["end_lat"], gap["end_lon"])):
            if not pd.isna(la):
                near |= haversine_nm_array(np.full(len(pos), la), np.full(len(pos), lo),
                                           pos["lat"].to_numpy(), pos["lon"].to_numpy()) \
                    <= params.reception_radius_nm
        want = set(zip(pos.loc[inside.to_numpy() & near, "mmsi"],
                       pos.loc[inside.to_numpy() & near, "track"]))
        mine = got[got["gap"] == g]
        assert set(zip(mine["mmsi"], mine["track"])) == want, g
        assert len(mine) == len(want)
    assert len(got) > len(gaps) and (got["track"] > 0).any()
