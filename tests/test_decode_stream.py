"""``write_decoded_stream`` (the external sort behind ``shadowfleet decode``) writes the
same files as ``write_decoded(read_inputs(...))``: samples, a feed read in many pieces
with many small buckets, mixed inputs, both decoders, errors mid-run, the CLI."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import ais
import ais.reading.sources
from ais.errors import InputError
from ais.reading.read import InputsRead, iter_inputs
from shadowfleet.cli import main
from shadowfleet.outputs import decoded as decoded_out
from shadowfleet.outputs.decoded import write_decoded, write_decoded_stream
from shadowfleet.outputs.spill import MmsiBuckets, even_cuts, quantile_cuts
from tests._shared import SHARED, have_shared, sample, shared

FIXTURE = Path(__file__).resolve().parents[1] / "shadowfleet" / "data" / "demo" / "najin-dunay-2023.nmea.gz"
FILES = ("positions.parquet", "statics.parquet", "rejects.csv", "summary.json")


def streamed(paths, out, decoder="fast", **kw):
    read = InputsRead()
    pieces = iter_inputs([str(p) for p in paths], decoder=decoder, read=read)
    return write_decoded_stream(pieces, read, out, **kw)


def assert_same_files(a: Path, b: Path) -> None:
    """Same Parquet schema (with pandas metadata) and rows, same CSV and JSON bytes."""
    for name in ("positions.parquet", "statics.parquet"):
        fa, fb = pq.ParquetFile(a / name), pq.ParquetFile(b / name)
        assert fa.schema_arrow.equals(fb.schema_arrow, check_metadata=True), name
        assert fa.read().equals(fb.read()), name
        pd.testing.assert_frame_equal(pd.read_parquet(a / name), pd.read_parquet(b / name))
    for name in ("rejects.csv", "summary.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert sorted(p.name for p in b.iterdir()) == sorted(FILES)      # no spill dir left


def check(tmp_path, paths, decoder="fast", **kw):
    want, got = tmp_path / "memory", tmp_path / "stream"
    mem = ais.read_inputs([str(p) for p in paths], decoder=decoder)
    write_decoded(mem, want)
    _, summary = streamed(paths, got, decoder, **kw)
    assert_same_files(want, got)
    assert summary.describe() == mem.describe()
    return mem


# files of many styles from ../shared/data/ais; on a bare clone, the copies in tests/data
SAMPLES = [SHARED / "ais" / p for p in (
    "libais/tagblock.nmea", "gfw-ais-tools/mixed_types.nmea", "gfw-ais-tools/multi-part.nmea",
    "amsa/exact-earth-with-tag-block.txt", "dma-aislib/ais250.txt", "amsa/ais.txt.gz",
    "gfw-ais-tools/errors.nmea")] if have_shared() else [
    sample("ais", "libais", "tagblock.nmea"), sample("ais", "dma-aislib", "stream_example.txt"),
    sample("ais", "kystverket", "Ais1000Lines.nm4")]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("decoder", ["fast", "pyais"])
def test_samples_stream_equals_memory(tmp_path, path, decoder):
    check(tmp_path, [path], decoder)


def test_samples_together_in_small_buckets(tmp_path):
    check(tmp_path, SAMPLES, n_buckets=16, bucket_bytes=64 << 10)


@pytest.fixture(scope="module")
def feed_head(tmp_path_factory) -> Path:
    """The first 20,000 lines of the simulated Najin-Dunay feed (16 vessels, 1.6 MB)."""
    lines = gzip.decompress(FIXTURE.read_bytes()).splitlines(keepends=True)
    path = tmp_path_factory.mktemp("feed") / "head.nmea"
    path.write_bytes(b"".join(lines[:20_000]))
    return path


def test_many_pieces_many_buckets(tmp_path, monkeypatch, feed_head):
    monkeypatch.setattr(ais.reading.sources, "CHUNK_BYTES", 64 << 10)
    spilled = []
    tables = []
    real_add, real_tables = MmsiBuckets.add, MmsiBuckets.tables

    def add(self, table):
        real_add(self, table)
        spilled.append((self.directory.name, len(self._files)))

    def tables_(self):
        for t in real_tables(self):
            tables.append((self.directory.name, t.num_rows))
            yield t

    monkeypatch.setattr(MmsiBuckets, "add", add)
    monkeypatch.setattr(MmsiBuckets, "tables", tables_)
    mem = check(tmp_path, [feed_head], n_buckets=8, bucket_bytes=64 << 10)
    assert len(spilled) > 40                                          # many pieces
    assert max(n for d, n in spilled if d == "batches") >= 5          # several buckets in use
    assert len([n for d, n in tables if d == "batches"]) >= 5         # sorted one by one
    assert mem.stats["positions"] > 10_000


def test_mixed_decoded_table_and_nmea(tmp_path):
    """A decoded CSV (frames) and NMEA (fast-path batches) in one run."""
    csv = shared("decoded", "marinecadastre", "NYHarbor_2020_06_30_first_hour.csv")
    check(tmp_path, [csv, SAMPLES[0], FIXTURE], n_buckets=4, bucket_bytes=64 << 10)


def test_row_groups_split_as_write_parquet_does(tmp_path, monkeypatch, feed_head):
    monkeypatch.setattr(decoded_out, "PARQUET_ROW_GROUP", 1000)
    _, summary = streamed([feed_head], tmp_path / "stream", n_buckets=8, bucket_bytes=64 << 10)
    f = pq.ParquetFile(tmp_path / "stream" / "positions.parquet")
    sizes = [f.metadata.row_group(i).num_rows for i in range(f.metadata.num_row_groups)]
    assert sizes[:-1] == [1000] * (len(sizes) - 1) and sum(sizes) == summary.stats["positions"]
    write_decoded(ais.read_inputs([str(feed_head)]), tmp_path / "memory")
    assert pq.read_table(tmp_path / "memory" / "positions.parquet").equals(f.read())


def test_empty_output_tables(tmp_path):
    """Only rejects (no positions, no statics): same empty Parquet files."""
    feed = tmp_path / "feed.nmea"
    feed.write_bytes(b"!AIVDM,1,1,,A,13u?etPv2;0n:dDPwUM1U1Cb069D,0*FF\njunk\n" * 3)
    mem = check(tmp_path, [feed])
    assert mem.stats["positions"] == mem.stats["statics"] == 0 and mem.stats["rejected"] == 6


def test_bad_input_mid_run_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(ais.reading.sources, "CHUNK_BYTES", 64 << 10)
    good = tmp_path / "a.nmea.gz"
    shutil.copy(FIXTURE, good)
    bad = tmp_path / "b.nmea"
    bad.write_bytes(bytes(range(256)) * 40)      # binary: refused after a's pieces
    out = tmp_path / "out"
    with pytest.raises(InputError):
        streamed([good, bad], out, n_buckets=8)
    assert list(out.iterdir()) == []


def test_error_while_writing_keeps_the_old_file(tmp_path, monkeypatch):
    out = tmp_path / "out"
    streamed([SAMPLES[0]], out)
    before = (out / "positions.parquet").read_bytes()

    def boom(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(decoded_out, "_sorted_positions", boom)
    with pytest.raises(RuntimeError):
        streamed([FIXTURE], out)
    assert (out / "positions.parquet").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)


def test_cli_decode_same_files(tmp_path):
    gz = tmp_path / "feed.nmea.gz"
    gz.write_bytes(gzip.compress(FIXTURE.read_bytes() if FIXTURE.suffix != ".gz"
                                 else gzip.decompress(FIXTURE.read_bytes())))
    mem = ais.read_inputs([str(gz), str(SAMPLES[0])])
    write_decoded(mem, tmp_path / "memory")
    res = CliRunner().invoke(main, ["decode", str(gz), str(SAMPLES[0]), "--out",
                                    str(tmp_path / "cli"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert res.output == mem.describe() + "\n"
    assert_same_files(tmp_path / "memory", tmp_path / "cli")


# --- the bucket store ----------------------------------------------------------------

SCHEMA = pa.schema([("mmsi", pa.int64()), ("row", pa.int64())])


def test_buckets_keep_mmsi_order_with_out_of_range_values(tmp_path):
    rng = np.random.default_rng(3)
    mmsi = np.concatenate([rng.integers(-5, 5, 50), rng.integers(0, 1 << 30, 500),
                           rng.integers((1 << 30) - 3, (1 << 62), 50), [412_000_001] * 300])
    rng.shuffle(mmsi)
    store = MmsiBuckets(tmp_path / "b", SCHEMA, n_buckets=8, bucket_bytes=2048)
    for part in np.array_split(np.arange(len(mmsi)), 7):
        store.add(pa.table({"mmsi": mmsi[part], "row": part}))
    got = list(store.tables())
    assert len(got) > 8                       # oversized buckets split again
    seen = np.concatenate([t.column("mmsi").to_numpy() for t in got])
    rows = np.concatenate([t.column("row").to_numpy() for t in got])
    assert sorted(rows.tolist()) == list(range(len(mmsi)))
    assert (np.diff([t.column("mmsi").to_numpy().max() for t in got]) > 0).all()
    mins = [t.column("mmsi").to_numpy().min() for t in got]
    maxs = [t.column("mmsi").to_numpy().max() for t in got]
    assert all(maxs[i] < mins[i + 1] for i in range(len(got) - 1))   # disjoint ranges, in order
    assert np.array_equal(np.sort(seen), np.sort(mmsi))
    assert list((tmp_path / "b").rglob("*.arrows")) == []


def test_quantile_cuts_always_split():
    v = np.array([5, 9], dtype=np.int64)
    assert quantile_cuts(v, np.array([1, 10**9]), 16).tolist() == [9]
    assert quantile_cuts(v[:1], np.array([7]), 16).tolist() == []
    cuts = even_cuts(4)
    assert cuts.tolist() == [1 << 28, 1 << 29, 3 << 28]


def test_arrow_sort_is_the_frame_sort(tmp_path):
    """A spilled bucket sorted in Arrow (``_sorted_rows``) gives the table that sorting
    its frame with ``sort_by_vessel_time`` gives: missing times and sources last, text
    in code point order (non-ASCII names of stations), ties kept in order."""
    rng = np.random.default_rng(5)
    n = 5000
    ns = 1_690_000_000_000_000_000 + rng.integers(0, 50, n) * 1_000_000_000
    sources = np.array(["b.nmea", "a.nmea", "Ärö.nmea", "z\u00e9.nmea", "Z.nmea", None],
                       dtype=object)
    schema = pa.schema([("mmsi", pa.int64()), ("timestamp", pa.timestamp("ns", tz="UTC")),
                        ("name", pa.string()), ("source", pa.string()), ("line", pa.int64())])
    table = pa.table({
        "mmsi": rng.integers(0, 5, n) + 211_000_000,
        "timestamp": pa.array(ns.view("datetime64[ns]"), type=schema.field("timestamp").type,
                              mask=rng.random(n) < 0.1),
        "name": rng.choice(np.array(["X", None, "Y"], dtype=object), n),
        "source": sources[rng.integers(0, len(sources), n)],
        "line": rng.integers(0, 30, n)}, schema=schema)
    frame = decoded_out._to_frame(table)
    want_span, got_span = decoded_out._Span(), decoded_out._Span()
    want = decoded_out._arrow(ais.schema.sort_by_vessel_time(frame), pa.Schema.from_pandas(
        frame, preserve_index=False), want_span)
    assert all(table.schema.field(f.name).type == f.type for f in want.schema)  # Arrow's sort
    got = decoded_out._sorted_rows(table, want.schema, got_span)
    assert got.equals(want) and got.schema.equals(want.schema, check_metadata=True)
    assert got_span.vessels() == want_span.vessels() == 5
    assert got_span.time_span() == want_span.time_span()
