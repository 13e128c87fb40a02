"""The ``parallel=True`` kernels run a one-thread build below ``PARALLEL_MIN_ROWS`` rows
and their parallel build from there (``ais._numba.SizedKernel``): the tests of each kernel
against its slow reference run the one-thread build on their small inputs, and these
tests show the parallel build gives the same results, on the whole analysis of a real
stretch of the bundled feed and on the column gather of the decoder."""

from __future__ import annotations

import dataclasses
import gzip

import numpy as np
import pandas as pd
import pytest

from ais import _numba
from ais._numba import SizedKernel, parallel_from, parallel_min_rows, pays_in_parallel


def test_a_sized_kernel_takes_its_parallel_build_only_on_large_inputs():
    from detectors._cleaning_kernel import jump_kernel

    assert isinstance(jump_kernel, SizedKernel)
    small, large = np.zeros(10), np.zeros(3)
    assert jump_kernel.build_for((small, 1.0)) is jump_kernel.serial
    with parallel_from(5):
        assert parallel_min_rows() == 5
        assert jump_kernel.build_for((large, small)) is (
            jump_kernel.parallel if pays_in_parallel(10) else jump_kernel.serial)
        assert jump_kernel.build_for((large,)) is jump_kernel.serial
    assert parallel_min_rows() == _numba.PARALLEL_MIN_ROWS
    # the two builds are cached apart: numba's index does not key on ``parallel``
    assert (jump_kernel.serial._cache._cache_file._index_path
            != jump_kernel.parallel._cache._cache_file._index_path)


def test_the_demo_sized_input_never_takes_a_parallel_build():
    # the demo's feed decodes to 112,000 positions of 19 vessels
    assert not pays_in_parallel(200_000)


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    from shadowfleet.demo import bundled_feed
    from shadowfleet.pipeline import decode

    head = tmp_path_factory.mktemp("feed") / "head.nmea"
    with gzip.open(bundled_feed(), "rb") as src, open(head, "wb") as dst:
        for i, line in enumerate(src):
            if i >= 45_000:
                break
            dst.write(line)
    return decode([head])


def _analyse(decoded):
    from ports import load_ports
    from shadowfleet.config import Settings
    from shadowfleet.pipeline import analyse

    return analyse(decoded, registry=load_ports(), params=Settings.defaults(),
                   pairs=[("Najin", "Dunay")])


@pytest.mark.skipif(not pays_in_parallel(_numba.PARALLEL_MIN_ROWS),
                    reason="numba has one thread here: no parallel build to run")
def test_parallel_builds_give_the_analysis_of_the_one_thread_builds(decoded):
    serial = _analyse(decoded)
    assert len(serial.port_visits) and len(serial.dark_periods) and len(serial.stays)
    with parallel_from(0):
        parallel = _analyse(decoded)
    for field in dataclasses.fields(serial):
        a, b = getattr(serial, field.name), getattr(parallel, field.name)
        if isinstance(a, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b, obj=field.name)


@pytest.mark.skipif(not pays_in_parallel(_numba.PARALLEL_MIN_ROWS),
                    reason="numba has one thread here: no parallel build to run")
def test_parallel_column_gather_equals_the_one_thread_gather():
    from ais.tables.order import take_columns

    rng = np.random.default_rng(7)
    order = rng.permutation(50_000)
    cols = [rng.integers(0, 1 << 40, 50_000), rng.random(50_000),
            rng.integers(0, 9, 50_000).astype(np.int32)]
    want = [c[order] for c in cols]
    for parallel, rows in ((False, 0), (True, 0), (True, 1 << 40)):
        with parallel_from(rows):
            got = take_columns(order, cols, parallel=parallel)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w.astype(g.dtype))
