"""A seeded slice of the fuzzing of ``benchmarks/fuzz.py`` (run at scale there: a million
mutated lines): no exception, every message accounted for, every junk line a reject, and
both decoders alike, line for line."""

from __future__ import annotations

import numpy as np
import pytest

from ais.framing import line_kernel as ff
from ais.framing.nmea import LATEST_EPOCH_S, parse_epoch, parse_timestamp
from ais.tables.spans import span_bytes
from benchmarks import fuzz


@pytest.mark.parametrize("seed, gz", [(11, False), (12, True)])
def test_a_slice_of_the_fuzzing(tmp_path, seed, gz):
    path = tmp_path / ("fuzz.nmea.gz" if gz else "fuzz.nmea")
    labels, counts = fuzz.write_feed(path, 6000, seed, 0.4, gz=gz)
    assert {"random_junk", "cut", "bit_flip", "giant_junk", "tag_block", "nul", "duplicate",
            "line_end"} <= set(counts)
    assert fuzz.check(path, labels, detect=seed == 11, log=lambda _: None) == []


def test_times_past_2255_are_no_time_in_both_framers():
    """A garbled c: (a ns epoch of 20 digits, a float) must not overflow datetime64[ns]."""
    for text, want in [("1696161600", 1696161600.0), ("8999999999", 8999999999.0),
                       ("9000000000", None), ("1e300", None), ("9500000000000000", None),
                       ("99999999999999999", 1e8),
                       ("1696161600123456789", 1696161600.123456789)]:
        got = parse_epoch(text)
        assert (got is None and want is None) or got == pytest.approx(want), text
    ints = np.array([1696161600, 8_999_999_999, 9_000_000_000, 9_500_000_000_000_000,
                     99_999_999_999_999_999])
    t = ff.epoch_seconds(ints)
    assert list(t[[0, 1, 4]]) == [1696161600, 8_999_999_999, 1e8]
    assert np.isnan(t[2]) and np.isnan(t[3]) and LATEST_EPOCH_S == 9e9
    assert parse_timestamp("9999-12-31T00:00:00Z") is None
    assert parse_timestamp("2023-09-07T12:00:00Z") == 1694088000.0


def test_span_bytes_keeps_trailing_nul_bytes():
    buf = np.frombuffer(b"abc\x00\x00def\x00gh", dtype=np.uint8)
    got = span_bytes(buf, np.array([0, 5, 0, 9]), np.array([5, 9, 3, 11]))
    assert got == [b"abc\x00\x00", b"def\x00", b"abc", b"gh"]
