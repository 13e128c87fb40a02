"""The fast positions order (``ais.tables.order``) against ``np.lexsort``, and a
``PositionBatch`` frame against the frame-level sort of ``ais.schema``."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ais.tables.order import NAT_KEY, sort_order
from ais.tables.frames import PositionBatch, positions_frame
from ais.schema import sort_by_vessel_time


def _reference(mmsi, t, src, line):
    return np.lexsort((line, src, t, mmsi))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_sort_order_equals_lexsort(data):
    n = data.draw(st.integers(0, 300))
    small = st.integers(0, 4)
    mmsi = np.array(data.draw(st.lists(st.sampled_from([0, 7, 32768, 2**30 - 1, 244_000_000]),
                                       min_size=n, max_size=n)), dtype=np.int64)
    t = np.array(data.draw(st.lists(st.sampled_from([0, 5, -3, NAT_KEY]), min_size=n, max_size=n)),
                 dtype=np.int64)
    src = np.array(data.draw(st.lists(small, min_size=n, max_size=n)), dtype=np.int64)
    line = np.array(data.draw(st.lists(small, min_size=n, max_size=n)), dtype=np.int64)
    assert np.array_equal(sort_order(mmsi, t, src, line), _reference(mmsi, t, src, line))


@pytest.mark.parametrize("mmsi", [[-1, 5, 5], [2**30, 3, 3], [2**40, 0, 2**40]],
                         ids=["negative", "just-over-30-bits", "wide"])
def test_sort_order_outside_30_bits_falls_back(mmsi):
    mmsi = np.array(mmsi, dtype=np.int64)
    t = np.array([3, 2, 1], dtype=np.int64)
    z = np.zeros(3, dtype=np.int64)
    assert np.array_equal(sort_order(mmsi, t, z, z), _reference(mmsi, t, z, z))


def test_sort_order_large_nearly_sorted_feed():
    rng = np.random.default_rng(3)
    n = 50_000
    mmsi = rng.integers(200_000_000, 775_999_999, 300)[rng.integers(0, 300, n)]
    t = np.arange(n, dtype=np.int64) // 7 * 10**9
    t[rng.random(n) < 0.01] -= 5 * 10**9          # a few late arrivals
    src = rng.integers(0, 3, n)
    line = np.arange(n)
    assert np.array_equal(sort_order(mmsi, t, src, line), _reference(mmsi, t, src, line))


def _frame(rows):
    cols = {k: [r[i] for r in rows] for i, k in enumerate(
        ("mmsi", "time", "lat", "lon", "sog", "cog", "heading", "msg_type", "source", "line"))}
    return positions_frame(**cols)


ROWS = [
    (5, 10.5, 1.0, 2.0, 3.0, 4.0, 5.0, 1, "b", 3),
    (5, np.nan, 1.0, 2.0, np.nan, 4.0, np.nan, 18, "a", 1),
    (3, 10.5, -1.0, 2.0, 3.0, 4.0, 5.0, 3, "b", 2),
    (5, 10.5, 1.0, 2.0, 3.0, 4.0, 5.0, 1, "a", 9),
    (5, 10.0000004, 1.0, 2.0, 3.0, 4.0, 5.0, 1, "a", 9),
]


@pytest.mark.parametrize("rows", [ROWS, ROWS[1:2], []], ids=["mixed", "no-time", "empty"])
def test_batch_frame_equals_sorted_frame(rows):
    want = sort_by_vessel_time(_frame(rows))
    got = PositionBatch.from_frame(_frame(rows)).frame()
    pd.testing.assert_frame_equal(got, want)


def test_batch_concat_renumbers_stations():
    a = PositionBatch.from_frame(_frame(ROWS[:2]))
    b = PositionBatch.from_frame(_frame(ROWS[2:]))
    got = PositionBatch.concat([a, b]).frame()
    pd.testing.assert_frame_equal(got, sort_by_vessel_time(_frame(ROWS)))
    pd.testing.assert_frame_equal(PositionBatch.concat([a, b]).frame(sort=False), _frame(ROWS))


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_merged_runs_equal_one_sort(data):
    """Rows cut into runs, each sorted on its own (``sorted_run``), then merged: the
    frame of sorting all rows at once. An empty piece (the end of a read) is not sorted
    and leaves no run, and the others are still merged rather than sorted again."""
    rows = data.draw(st.lists(st.tuples(
        st.sampled_from([5, 3, 9, 2**31]), st.sampled_from([10.5, 11.0, np.nan, 3.25]),
        st.sampled_from(["a", "b", "c"]), st.integers(0, 4)), max_size=60))
    frame = _frame([(m, t, 1.0, 2.0, 3.0, 4.0, 5.0, 1, s, ln) for m, t, s, ln in rows])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(rows)), max_size=4)))
    bounds = [0] + cuts + [len(rows)]
    runs = [PositionBatch.from_frame(frame.iloc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    runs = [b.sorted_run() if len(b) else b for b in runs]
    assert all(b.runs is None for b in runs if len(b) == 0)
    got = PositionBatch.concat(runs)
    assert got.runs == [b - a for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    pd.testing.assert_frame_equal(got.frame(), sort_by_vessel_time(frame))
    # handed over (the end of a read): joined a column at a time, the same batch, and
    # the pieces are left without columns
    calls = []
    consumed = PositionBatch.concat(runs, consume=True, release=lambda: calls.append(1))
    assert len(calls) == len(PositionBatch.NUMERIC) + ("ns" in got.cols)  # once a column
    assert consumed.runs == got.runs and consumed.names == got.names
    assert sorted(consumed.cols) == sorted(got.cols)
    for k in got.cols:
        np.testing.assert_array_equal(consumed.cols[k], got.cols[k])
    assert all(not b.cols for b in runs)
    pd.testing.assert_frame_equal(consumed.frame(), sort_by_vessel_time(frame))
