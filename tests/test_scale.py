"""--engine dask: the same output files as the local engine, row for row, on the bundled
feed cut into several files, on Dask's threaded and process schedulers and on a
``distributed`` cluster; cross-file copies dropped, rows without receive times kept."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest

import ais
from shadowfleet.demo import bundled_feed
from shadowfleet.pipeline import detect
from shadowfleet.scale import read_inputs_dask

KEY = list(ais.POSITION_COLUMNS[:8])     # what was decoded, not the line it came from
CLAIMS = "rusi-wapo-2023.yaml"


def _lines():
    return gzip.decompress(bundled_feed().read_bytes()).splitlines(keepends=True)


def _split(tmp_path, n_parts=3):
    """The bundled feed cut by time into ``n_parts`` files (as daily files are), where the
    next line starts a single-fragment sentence, so no message is split."""
    lines = _lines()
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


def _claims():
    from importlib import resources

    return [str(resources.files("shadowfleet").joinpath("data", "claims", CLAIMS))]


def _stand_in_claims_and_watchlist(tmp_path):
    """The demo's claims with the bundled feed's shuttles standing in for the ships they
    name, and a watchlist of three of its vessels (one by IMO, one by MMSI, one by name)
    written under ``tmp_path``."""
    from shadowfleet.claims import load_claims
    from shadowfleet.demo import bundled_manifest, stand_ins, with_stand_ins

    claims = with_stand_ins(load_claims(_claims()), stand_ins(bundled_manifest()))
    vessels = bundled_manifest()["vessels"]
    watchlist = tmp_path / "list.csv"
    watchlist.write_text("list,imo,mmsi,name\n"
                         f"EU,{vessels[0]['imo']},,\n,,{vessels[1]['mmsi']},\n"
                         f"UK,,,{vessels[2]['name']}\n", encoding="utf-8")
    return claims, watchlist


def _outputs(out):
    """Every output file of a run: parquet as frames, the rest as text."""
    files = {}
    for f in sorted(out.iterdir()):
        files[f.name] = (pd.read_parquet(f) if f.suffix == ".parquet" else
                         f.read_bytes() if f.suffix == ".png" else f.read_text("utf-8"))
    return files


def _assert_same_outputs(a, b):
    fa, fb = _outputs(a), _outputs(b)
    assert sorted(fa) == sorted(fb)
    for name, expected in fa.items():
        got = fb[name]
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(got, expected, obj=name)
        elif isinstance(expected, bytes):
            assert got == expected, name
        elif name == "summary.json":
            assert json.loads(got) == json.loads(expected)
        else:
            assert got.splitlines() == expected.splitlines(), name


@pytest.fixture(scope="module")
def split_run(tmp_path_factory):
    """The feed cut into four files, and the local engine's outputs for them."""
    tmp = tmp_path_factory.mktemp("split")
    paths = _split(tmp, 4)
    out = tmp / "local"
    detect(paths, claims=_claims()).write(out, figures=False)
    return paths, out


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


@pytest.mark.parametrize("scheduler", ["threads", "processes", "distributed"])
def test_dask_outputs_equal_local(split_run, scheduler, request, tmp_path, monkeypatch):
    """The same files as the local engine, with the cross-vessel work cut into many cell
    tasks (about 2,000 grid points or positions each: several tasks of the encounter
    search, dozens of others_received; every group of joined cells of stays its own
    task), as an archive's would be."""
    from shadowfleet.scale import cells, cross

    paths, local = split_run
    if scheduler == "distributed":
        scheduler = request.getfixturevalue("cluster").scheduler_address
    monkeypatch.setattr(cells, "CELL_TASK_ROWS", 2_000)
    monkeypatch.setattr(cross, "GROUP_STAYS", 1)
    out = tmp_path / "dask"
    work = tmp_path / "work"
    result = detect(paths, claims=_claims(), engine="dask", scheduler=scheduler, work=work,
                    partitions=3)
    assert len(list(work.iterdir())) == 1          # the run's directory, while it is used
    result.write(out, figures=False)
    del result
    assert not list(work.iterdir())                # removed with the result
    _assert_same_outputs(local, out)
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["inputs"]) == 4 and summary["messages"] > 100_000
    events = summary["events"]
    assert events["dark_periods"] > 0 and events["port_visits"] > 0 and events["claims"] > 0
    assert events["encounters"] > 0 and events["unlisted_stops"] > 0


def test_positions_never_in_the_client_without_claims(split_run, tmp_path):
    """Without claims, watchlists and figures and with ``keep_frames`` False, the client
    holds no positions nor statics: positions.parquet is written from the partitions, a few MMSIs at a time
    (here at most 5,000 rows), and every file is still the local engine's."""
    from shadowfleet.scale import PartitionWriter

    paths, _ = split_run
    local = tmp_path / "local"
    detect(paths).write(local, figures=False)
    result = detect(paths, engine="dask", scheduler="synchronous", partitions=5,
                    keep_frames=False, figures=False)
    assert len(result.positions) == 0 and len(result.statics) == 0
    assert isinstance(result.decoded_writer, PartitionWriter)
    result.decoded_writer.rows = 5_000
    assert len(list(result.decoded_writer._ranges("positions"))) > 10
    out = tmp_path / "dask"
    result.write(out, figures=False)
    _assert_same_outputs(local, out)


def test_figures_never_gather_the_positions(split_run, tmp_path, monkeypatch):
    """map.html and timeline.png (on by default) of a Dask run are the local engine's, byte
    for byte, and the client never reads the whole positions back: reading them fails
    here, and the rows it reads are the drawn vessels' alone."""
    from shadowfleet.scale import PartitionWriter

    paths, _ = split_run
    local = tmp_path / "local"
    detect(paths).write(local, map_vessels=5)
    whole = PartitionWriter.frame

    def frame(self, name):
        assert name != "positions", "the client read every position back"
        return whole(self, name)

    monkeypatch.setattr(PartitionWriter, "frame", frame)
    result = detect(paths, engine="dask", scheduler="synchronous", partitions=5,
                    keep_frames=False)
    assert len(result.positions) == 0
    out = tmp_path / "dask"
    result.write(out, map_vessels=5)
    _assert_same_outputs(local, out)
    assert {"map.html", "timeline.png"} <= {f.name for f in out.iterdir()}
    total = int(pd.read_parquet(out / "positions.parquet", columns=["mmsi"]).shape[0])
    read = result.decoded_writer.rows_read["positions"]
    assert 0 < read < total / 2                    # the map's five vessels


def test_claims_and_watchlists_never_gather_the_positions(split_run, tmp_path, monkeypatch):
    """Claims and watchlists on a Dask run read, of the positions, each vessel's last time,
    the claimed and listed vessels' rows and (for the reception caveats) one partition at
    a time: claims.csv, claims.md, alerts.csv and every other file are the local engine's,
    and reading every position back into the client fails here."""
    from shadowfleet.scale import PartitionWriter

    paths, _ = split_run
    claims, watchlist = _stand_in_claims_and_watchlist(tmp_path)
    local = tmp_path / "local"
    detect(paths, claims=claims, watchlists=[watchlist]).write(local, figures=False)
    assert "not found in the data" not in (local / "claims.csv").read_text("utf-8")
    assert (local / "alerts.csv").read_text("utf-8").count("watchlist") >= 3
    whole = PartitionWriter.frame

    def frame(self, name):
        assert name != "positions", "the client read every position back"
        return whole(self, name)

    monkeypatch.setattr(PartitionWriter, "frame", frame)
    result = detect(paths, claims=claims, watchlists=[watchlist], engine="dask",
                    scheduler="synchronous", partitions=5, keep_frames=False)
    assert len(result.positions) == 0
    out = tmp_path / "dask"
    result.write(out, figures=False)
    _assert_same_outputs(local, out)
    total = int(pd.read_parquet(out / "positions.parquet", columns=["mmsi"]).shape[0])
    assert 0 < result.decoded_writer.rows_read["positions"] < total / 2   # those vessels'


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partitioned_reception_equals_one_index(seed):
    """The reception search one partition at a time finds what one index over every
    position finds: the same distance and position, ties (equal distances, equal times)
    broken the same way, open and bounded windows, the data's end and size."""
    from ais.schema import sort_by_vessel_time
    from shadowfleet.claims.caveats import PartitionedReception, ReceptionIndex
    from shadowfleet.scale.partitions import partition_of

    rng = np.random.default_rng(seed)
    n = 3_000
    grid = rng.integers(0, 40, n)           # few distinct places and times: many ties
    positions = pd.DataFrame({
        "mmsi": rng.integers(1, 60, n).astype(np.int64),
        "timestamp": pd.Timestamp("2023-08-01", tz="UTC")
        + pd.to_timedelta(rng.integers(0, 500, n), unit="min"),
        "lat": 42.0 + (grid % 8) * 0.05, "lon": 130.0 + (grid // 8) * 0.05,
        "spoofed": rng.random(n) < 0.1})
    positions.loc[rng.random(n) < 0.05, "lat"] = np.nan
    positions = sort_by_vessel_time(positions)
    one = ReceptionIndex(positions)
    part = partition_of(positions["mmsi"].to_numpy(), 4)
    split = PartitionedReception(lambda **_: (positions[part == k].reset_index(drop=True)
                                          for k in range(4)))
    assert len(split) == len(one) and split.end == one.end
    t0 = pd.Timestamp("2023-08-01", tz="UTC")
    for _ in range(200):
        own = int(rng.integers(1, 60))
        points = [(42.0 + rng.integers(0, 8) * 0.05, 130.0 + rng.integers(0, 5) * 0.05)
                  for _ in range(int(rng.integers(1, 3)))]
        a = t0 + pd.Timedelta(minutes=int(rng.integers(0, 500)))
        b = a + pd.Timedelta(minutes=int(rng.integers(0, 120)))
        assert split.nearest(own, points, a, b) == one.nearest(own, points, a, b)
        assert split.nearest(own, points) == one.nearest(own, points)


def test_dask_equals_local_on_split_feed(tmp_path):
    paths = _split(tmp_path)
    local = ais.read_inputs(paths, require_times=True)
    distributed = read_inputs_dask(paths, require_times=True, scheduler="synchronous",
                                   partitions=3)
    pd.testing.assert_frame_equal(distributed.positions, local.positions)
    pd.testing.assert_frame_equal(distributed.statics, local.statics)
    pd.testing.assert_frame_equal(distributed.rejects, local.rejects)
    assert distributed.stats == local.stats


def test_same_file_twice_is_all_duplicates(tmp_path):
    one = _split(tmp_path, 2)[0]
    copy = tmp_path / "copy.nmea"
    copy.write_bytes(one.read_bytes())
    single = read_inputs_dask([one], scheduler="synchronous")
    double = read_inputs_dask([one, copy], scheduler="synchronous", partitions=2)
    assert len(double.positions) == len(single.positions)
    assert double.stats["duplicates"] >= single.stats["duplicates"] + len(single.positions)


def test_rows_without_receive_time_are_not_copies_across_files(tmp_path):
    """A message without a receive time has no window to be a copy within: the local
    engine keeps both of two equal such lines in two files, and so does the Dask one."""
    bare = [ln.split(b"\\", 2)[2] for ln in _lines() if ln.startswith(b"\\")][:200]
    a, b = tmp_path / "a.nmea", tmp_path / "b.nmea"
    a.write_bytes(b"".join(bare))
    b.write_bytes(b"".join(bare))
    local = ais.read_inputs([a, b])
    dask = read_inputs_dask([a, b], scheduler="synchronous")
    assert local.stats["no_receive_time"] > 0
    assert len(dask.positions) == len(local.positions) > 0
    assert dask.stats["duplicates"] == local.stats["duplicates"]
    # times all missing: both frames keep the contract's ns (pandas infers seconds from
    # NaT alone; the decoders and the partitions say ns)
    assert str(local.positions["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(local.statics["timestamp"].dtype) == "datetime64[ns, UTC]"
    pd.testing.assert_frame_equal(dask.positions[KEY], local.positions[KEY])
    pd.testing.assert_frame_equal(dask.statics, local.statics)


@pytest.mark.parametrize("decoder", ["fast", "pyais"])
def test_no_receive_time_at_all_keeps_ns(tmp_path, decoder):
    """A feed whose lines carry no receive time: the timestamp columns are NaT in the
    contract's unit (ns), as with times, on both decoders."""
    bare = [ln.split(b"\\", 2)[2] for ln in _lines() if ln.startswith(b"\\")][:50]
    a = tmp_path / "a.nmea"
    a.write_bytes(b"".join(bare))
    d = ais.read_inputs([a], decoder=decoder)
    assert len(d.positions) and d.positions["timestamp"].isna().all()
    assert str(d.positions["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert str(d.statics["timestamp"].dtype) == "datetime64[ns, UTC]"


def _copies_reference(key, t, files, window_s):
    """The rule of ``cross_file_duplicates``, one row at a time."""
    order = np.lexsort((t, key))
    dup = np.zeros(len(key), dtype=bool)
    last_key, kept_t, kept_file = None, -np.inf, -1
    for i in order:
        if np.isnan(t[i]):
            last_key = None
            continue
        if key[i] == last_key and t[i] - kept_t <= window_s and files[i] != kept_file:
            dup[i] = True
            continue
        last_key, kept_t, kept_file = key[i], t[i], files[i]
    return dup


@pytest.mark.parametrize("seed", range(5))
def test_copies_kernel_equals_reference(seed):
    """The kernel of the copies across files against the obvious loop, on rows of few
    contents, close times (some NaN) and three files."""
    from shadowfleet.scale import _dedup_kernel as kernel

    rng = np.random.default_rng(seed)
    n = 3_000
    key = rng.integers(0, 40, n).astype(np.uint64)
    t = np.round(rng.uniform(0, 300, n), 0)
    t[rng.random(n) < 0.05] = np.nan
    files = rng.integers(0, 3, n).astype(np.int64)
    dup = np.zeros(n, dtype=bool)
    kernel.mark_copies(key, t, files, np.lexsort((t, key)).astype(np.int64), 10.0, dup)
    expected = _copies_reference(key, t, files, 10.0)
    assert expected.sum() > 100
    np.testing.assert_array_equal(dup, expected)


def test_cli_partitions(split_run, tmp_path):
    """``detect --engine dask --partitions N``: N partitions under --work, the same files."""
    from click.testing import CliRunner

    from shadowfleet.cli import main

    paths, _ = split_run
    local = tmp_path / "local"
    detect(paths[:2]).write(local, figures=False)
    seen = []
    from shadowfleet.scale import engine

    make_dirs = engine.make_dirs
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(engine, "make_dirs", lambda work, n: (seen.append(n), make_dirs(work, n)))
    try:
        run = CliRunner().invoke(main, ["detect", *map(str, paths[:2]), "--engine", "dask",
                                        "--scheduler", "synchronous", "--partitions", "7",
                                        "--out", str(tmp_path / "dask"), "--quiet",
                                        "--no-figures"])
    finally:
        monkeypatch.undo()
    assert run.exit_code == 0, run.output
    assert seen == [7]
    _assert_same_outputs(local, tmp_path / "dask")
    bad = CliRunner().invoke(main, ["detect", str(paths[0]), "--engine", "dask",
                                    "--partitions", "0", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2


def test_no_scheduler_at_the_address_is_an_input_error(tmp_path):
    """``--scheduler`` naming no running scheduler: one line saying so, exit code 1."""
    from click.testing import CliRunner

    from shadowfleet.cli import main

    feed = _split(tmp_path, 2)[0]
    run = CliRunner().invoke(main, ["detect", str(feed), "--engine", "dask", "--scheduler",
                                    "tcp://127.0.0.1:9", "--out", str(tmp_path / "out"),
                                    "--quiet", "--no-figures"])
    assert run.exit_code == 1, run.output
    assert "no Dask scheduler answers at tcp://127.0.0.1:9" in run.output


def test_default_partitions_by_size_and_workers(tmp_path):
    from shadowfleet.scale.partitions import PARTITION_BYTES, default_partitions

    small = tmp_path / "small.nmea"
    small.write_bytes(b"x" * 1000)
    big = tmp_path / "big.nmea"
    with open(big, "wb") as fh:            # sparse: 2.5 partitions' worth of bytes
        fh.truncate(int(PARTITION_BYTES * 2.5))
    assert default_partitions([str(small)]) == 1
    assert default_partitions([str(small)], workers=4) == 4
    assert default_partitions([str(big)]) == 3
    assert default_partitions([str(big)], workers=2) == 4
    assert default_partitions([str(big), str(tmp_path / "gone.nmea")], workers=3) == 3
