"""``ais.schema.sort_by_vessel_time(..., consume=True)`` and ``clean_positions(...,
consume=True)``: the same frame as without ``consume`` (values, dtypes, column index,
RangeIndex), built a column at a time from a frame the caller hands over."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ais.schema import sort_by_vessel_time
from detectors.cleaning import clean_positions


def _frame(rng, n: int, track: bool, missing: bool) -> pd.DataFrame:
    df = pd.DataFrame({
        "mmsi": rng.integers(1, 5, n) * 1000,
        "timestamp": pd.Timestamp("2023-09-01", tz="UTC")
        + pd.to_timedelta(np.sort(rng.integers(0, 4 * 3600, n)), unit="s"),
        "lat": np.where(missing & (rng.random(n) < 0.1), np.nan, rng.uniform(42, 43, n)),
        "lon": rng.uniform(130, 131, n),
        "sog": rng.uniform(0, 15, n),
        "msg_type": rng.choice([1, 3, 18], n),
        "source": rng.choice(["a.nmea", "b.nmea"], n).astype(object),
        "line": rng.integers(1, 500, n),
    })
    if track:
        df["track"] = rng.integers(0, 2, n) * (df["mmsi"].to_numpy() == 2000)
    return df


@pytest.mark.parametrize("track", [False, True], ids=["no-track", "track"])
@pytest.mark.parametrize("seed", range(15))
def test_sort_consume_gives_the_same_frame(seed: int, track: bool):
    rng = np.random.default_rng(seed)
    df = _frame(rng, int(rng.integers(2, 300)), track, missing=False)
    want = sort_by_vessel_time(df.copy())
    given = df.copy()
    got = sort_by_vessel_time(given, consume=True)
    pd.testing.assert_frame_equal(got, want)
    assert got.columns.equals(want.columns) and got.columns.dtype == want.columns.dtype
    assert isinstance(got.index, pd.RangeIndex)


def test_consumed_frame_gives_up_its_columns_when_rows_move():
    df = pd.DataFrame({"mmsi": [2, 1], "timestamp": pd.to_datetime([5, 4], unit="s", utc=True),
                       "lat": [1.0, 2.0]})
    got = sort_by_vessel_time(df, consume=True)
    assert got["mmsi"].tolist() == [1, 2] and got["lat"].tolist() == [2.0, 1.0]
    assert list(df.columns) == []


@pytest.mark.parametrize("missing", [False, True], ids=["all-positions", "some-missing"])
@pytest.mark.parametrize("seed", range(10))
def test_clean_positions_consume_gives_the_same_result(seed: int, missing: bool):
    rng = np.random.default_rng(100 + seed)
    df = _frame(rng, int(rng.integers(2, 400)), True, missing)
    # a few jumps
    jump = rng.random(len(df)) < 0.03
    df.loc[jump, "lat"] = df.loc[jump, "lat"] + 5
    want_pos, want_jumps = clean_positions(df.copy())
    got_pos, got_jumps = clean_positions(df.copy(), consume=True)
    pd.testing.assert_frame_equal(got_pos, want_pos)
    pd.testing.assert_frame_equal(got_jumps, want_jumps)
