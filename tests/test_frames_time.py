"""detectors._frames.utc_ns and epoch_seconds: the values of the obvious pandas calls,
without copying a column that is in UTC nanoseconds already."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors._frames import epoch_seconds, utc_ns

TIMES = ["2023-09-01 00:00:00.250", None, "2023-09-01 12:34:56.000", "1970-01-01 00:00:00.000"]


def _columns():
    utc = pd.Series(pd.to_datetime(TIMES, utc=True)).dt.as_unit("ns")
    return {
        "utc-ns": utc,
        "utc-us": utc.dt.as_unit("us"),
        "naive": pd.Series(pd.to_datetime(TIMES)),
        "other-tz": utc.dt.tz_convert("Asia/Vladivostok"),
        "text": pd.Series(TIMES, dtype=object),
    }


@pytest.mark.parametrize("name", list(_columns()))
def test_utc_ns_is_to_datetime_utc_in_ns(name):
    col = _columns()[name]
    want = pd.to_datetime(col, utc=True).dt.as_unit("ns")
    pd.testing.assert_series_equal(utc_ns(col), want)


def test_utc_ns_does_not_copy_a_utc_ns_column():
    col = _columns()["utc-ns"]
    assert np.shares_memory(utc_ns(col).array.asi8, col.array.asi8)


@pytest.mark.parametrize("name", list(_columns()))
def test_epoch_seconds_against_reference(name):
    col = _columns()[name]
    ts = pd.to_datetime(col, utc=True)
    want = np.array([np.nan if pd.isna(t) else t.value / 1e9 for t in ts], dtype=np.float64)
    np.testing.assert_array_equal(epoch_seconds(col), want)
