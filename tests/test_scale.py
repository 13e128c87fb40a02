"""--engine dask: per-file decoding in Dask tasks, merged, cross-file copies dropped."""

import gzip

import pandas as pd

import ais
from shadowfleet.demo import bundled_feed
from shadowfleet.scale import read_inputs_dask

KEY = list(ais.POSITION_COLUMNS[:8])     # what was decoded, not the line it came from


def _split(tmp_path, n_parts=3):
    lines = gzip.decompress(bundled_feed().read_bytes()).splitlines(keepends=True)
    # cut where the next line starts a single-fragment sentence, so no message is split
    cuts = [0]
    for k in range(1, n_parts):
        i = k * len(lines) // n_parts
        while b",1,1," not in lines[i]:
            i += 1
        cuts.append(i)
    cuts.append(len(lines))
    paths = []
    for k in range(n_parts):
        p = tmp_path / f"part{k}.nmea"
        p.write_bytes(b"".join(lines[cuts[k]:cuts[k + 1]]))
        paths.append(p)
    return paths


def test_dask_equals_local_on_split_feed(tmp_path):
    paths = _split(tmp_path)
    local = ais.read_inputs(paths, require_times=True)
    distributed = read_inputs_dask(paths, require_times=True, scheduler="synchronous")
    a = local.positions[KEY].sort_values(KEY).reset_index(drop=True)
    b = distributed.positions[KEY].sort_values(KEY).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert len(distributed.stats["inputs"]) == 3


def test_same_file_twice_is_all_duplicates(tmp_path):
    one = _split(tmp_path, 2)[0]
    copy = tmp_path / "copy.nmea"
    copy.write_bytes(one.read_bytes())
    single = read_inputs_dask([one], scheduler="synchronous")
    double = read_inputs_dask([one, copy], scheduler="synchronous")
    assert len(double.positions) == len(single.positions)
    assert double.stats["duplicates"] >= single.stats["duplicates"] + len(single.positions)
