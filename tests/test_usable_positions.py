"""detectors._frames.usable_positions: the order of a stable sort by (mmsi, track,
timestamp, source, line), whether or not it sorts (it skips the sort of a frame already
in that order, looking at (source, line) only where a vessel has two rows at one time)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors._frames import usable_positions


def _reference(positions: pd.DataFrame) -> pd.DataFrame:
    ok = positions["lat"].notna() & positions["lon"].notna() & positions["timestamp"].notna()
    pos = positions.loc[ok]
    keys = [k for k in ("mmsi", "track", "timestamp", "source", "line") if k in pos.columns]
    return pos.sort_values(keys, kind="mergesort").reset_index(drop=True)


def _frame(rng, n: int, track: bool) -> pd.DataFrame:
    df = pd.DataFrame({
        "mmsi": rng.integers(1, 4, n) * 1000,
        "timestamp": pd.Timestamp("2023-09-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 6, n), unit="s"),
        "lat": np.where(rng.random(n) < 0.05, np.nan, rng.uniform(-1, 1, n)),
        "lon": rng.uniform(-1, 1, n),
        "source": rng.choice(["a.nmea", "b.nmea"], n).astype(object),
        "line": rng.integers(1, 50, n),
    })
    if track:
        df["track"] = rng.integers(0, 2, n)
    return df


@pytest.mark.parametrize("track", [False, True])
@pytest.mark.parametrize("seed", range(30))
def test_order_of_a_stable_sort(seed: int, track: bool):
    rng = np.random.default_rng(seed)
    df = _frame(rng, int(rng.integers(2, 60)), track)
    expected = _reference(df)
    pd.testing.assert_frame_equal(usable_positions(df), expected)
    # already in order (ties included): the same rows back, in the same order
    pd.testing.assert_frame_equal(usable_positions(expected), expected)


def test_ties_out_of_order_are_sorted():
    t = pd.Timestamp("2023-09-01", tz="UTC")
    df = pd.DataFrame({"mmsi": [1, 1, 1], "timestamp": [t, t, t + pd.Timedelta(seconds=1)],
                       "lat": [0.0, 1.0, 2.0], "lon": [0.0] * 3,
                       "source": ["b", "a", "a"], "line": [1, 9, 3]})
    out = usable_positions(df)
    assert list(out["lat"]) == [1.0, 0.0, 2.0]
    df["source"] = ["a", "a", "a"]
    df["line"] = [9, 1, 3]
    assert list(usable_positions(df)["lat"]) == [1.0, 0.0, 2.0]     # line 1 before line 9


@pytest.mark.parametrize("seed", range(20))
def test_sort_by_vessel_time_against_sort_values(seed: int):
    """ais.schema.sort_by_vessel_time (which skips frames in_vessel_order finds sorted)
    gives the order of a stable sort_values, missing times last."""
    from ais.schema import in_vessel_order, sort_by_vessel_time

    rng = np.random.default_rng(100 + seed)
    df = _frame(rng, int(rng.integers(2, 60)), track=bool(seed % 2))
    if seed % 3 == 0:
        df.loc[df.index[:2], "timestamp"] = pd.NaT
    keys = [k for k in ("mmsi", "track", "timestamp", "source", "line") if k in df.columns]
    expected = df.sort_values(keys, kind="mergesort", na_position="last").reset_index(drop=True)
    pd.testing.assert_frame_equal(sort_by_vessel_time(df), expected)
    pd.testing.assert_frame_equal(sort_by_vessel_time(expected), expected)
    if seed % 3:
        assert in_vessel_order(expected)


@pytest.mark.parametrize("seed", range(20))
def test_sort_of_rows_in_order_but_for_their_tracks(seed: int):
    """The decoded positions once the identity step has labelled the ships of shared
    MMSIs: in (mmsi, timestamp, source, line) order, tracks on a few MMSIs only.
    sort_by_vessel_time sorts only those MMSIs' slices by track (ais.schema._track_order)
    and gives the order of the stable sort_values by (mmsi, track, timestamp, source,
    line), ties included."""
    from ais.schema import _track_order, sort_by_vessel_time

    rng = np.random.default_rng(200 + seed)
    df = _frame(rng, int(rng.integers(2, 80)), track=False)
    df = df.sort_values(["mmsi", "timestamp", "source", "line"],
                        kind="mergesort").reset_index(drop=True)
    shared = rng.choice(df["mmsi"].unique(), size=int(rng.integers(0, 3)), replace=False)
    df["track"] = np.where(df["mmsi"].isin(shared), rng.integers(0, 3, len(df)), 0)
    expected = df.sort_values(["mmsi", "track", "timestamp", "source", "line"],
                              kind="mergesort").reset_index(drop=True)
    assert _track_order(df) is not None
    pd.testing.assert_frame_equal(sort_by_vessel_time(df), expected)


def test_track_order_leaves_other_frames_to_the_full_sort():
    t = pd.Timestamp("2023-09-01", tz="UTC")
    df = pd.DataFrame({"mmsi": [1, 1], "timestamp": [t + pd.Timedelta(seconds=1), t],
                       "lat": [0.0, 1.0], "lon": [0.0, 0.0], "source": ["a", "a"],
                       "line": [1, 2], "track": [1, 0]})
    from ais.schema import _track_order, sort_by_vessel_time

    assert _track_order(df) is None          # out of time order: not only the tracks
    assert list(sort_by_vessel_time(df)["lat"]) == [1.0, 0.0]


@pytest.mark.parametrize("track", [False, True])
@pytest.mark.parametrize("seed", range(20))
def test_frame_without_source_and_line(seed: int, track: bool):
    """The detectors' compact copy of the positions has neither source nor line: rows
    at one time stay where they are (what a stable sort by the keys left would do), and
    in_vessel_order says so rather than sending a frame in order to the sort."""
    from ais.schema import in_vessel_order

    rng = np.random.default_rng(300 + seed)
    df = _frame(rng, int(rng.integers(2, 60)), track).drop(columns=["source", "line"])
    keys = [k for k in ("mmsi", "track", "timestamp") if k in df.columns]
    expected = _reference(df)
    pd.testing.assert_frame_equal(usable_positions(df), expected)
    assert in_vessel_order(expected)
    assert in_vessel_order(df) == bool(
        (df.reset_index(drop=True)[keys]
         .equals(df.sort_values(keys, kind="mergesort").reset_index(drop=True)[keys])))
    # one tie-breaker column left: not known, the sort decides
    one = expected.assign(line=np.arange(len(expected))[::-1])
    if len(one) > 1 and (one[keys].iloc[1:].to_numpy() == one[keys].iloc[:-1].to_numpy()).all(1).any():
        assert not in_vessel_order(one)


@pytest.mark.parametrize("block", [1, 2, 3, 7])
@pytest.mark.parametrize("seed", range(10))
def test_in_vessel_order_by_blocks(seed: int, block: int, monkeypatch):
    """in_vessel_order checks a block of rows at a time: any block size gives the
    answer of one block of every row, ties across a block's edge included."""
    import ais.schema as schema

    rng = np.random.default_rng(400 + seed)
    df = _frame(rng, int(rng.integers(2, 40)), track=bool(seed % 2))
    df = df.assign(lat=df["lat"].fillna(0.0))
    for frame in (df, _reference(df)):
        whole = schema.in_vessel_order(frame)
        monkeypatch.setattr(schema, "_ORDER_BLOCK", block)
        assert schema.in_vessel_order(frame) == whole
        monkeypatch.undo()
