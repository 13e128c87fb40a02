"""``--engine dask``: the whole analysis on a Dask cluster, no process holding the archive.

How a run goes (DESIGN.md, "Scale"); every step is a task, the client gathers events:

1. **decode**: one task per input file decodes it (``ais.read_inputs``) and writes its
   positions and statics to Parquet under the work directory, split by hashed MMSI into
   ``P`` partitions (``decoded/{positions,statics}/f<file>-p<partition>.parquet``). It
   sends back its counts and rejects only.
2. **partition** (one task per partition): its rows of every file, in file order; the
   copies of a message in two files dropped (below); sorted as the local engine sorts;
   the identity step (shared MMSIs split into tracks, identity anomalies), the cleaning,
   the messages without a position. Writes the cleaned positions and the statics of the
   partition; sends back its identity rows, track table, jumps, vessel names and IMOs, the
   IMO spells of its MMSIs and its latest time.
3. **detectors** (one task per partition), every vessel being in one partition: port
   visits, dark periods, loitering, stays, identity alerts, the first fix of each vessel
   (for the ranking), and the vessels' tracks on the encounter grid, at sea only.
4. **cross-vessel**, on what the partitions sent, never on positions:
   - ``others_received`` of a dark period counts the *other* vessels received near it:
     each partition counts its own vessels for every dark period of the run (the dark
     periods are events, gathered and sent to every partition), the counts add up;
   - ``imo_on_several_mmsi`` from the IMO spells of every MMSI (one row per spell);
   - encounters: one task joins the partitions' grids (10-minute points away from ports,
     far fewer than positions) and runs the search there;
   - unlisted stops: DBSCAN over the stays (events); the ranking's IsolationForest over
     one row per vessel; round trips and alerts over the events.
5. **files**: ``positions.parquet`` and ``statics.parquet`` are written by the client
   from the partitions, a range of MMSIs at a time, in the local engine's row order.

Claims and watchlists read positions and statics (a claim's vessels resolved through
their static reports, coverage, reception caveats): when a run has some, or when the
caller asks for the frames (figures, trajectories), the client reads the cleaned
positions and the statics back from the partitions; a run without them never does.

Copies across files: the local engine carries one decoder across files, so a copy of a
message in another file is a duplicate. Per-file decoding cannot see across files; in a
partition, rows of different files that are equal in every field except source and line,
of the same vessel and received within ``window_s`` (10 s, the same rule as the
decoder's), are dropped as duplicates and counted in ``duplicates`` (a vessel is in one
partition, so are its copies). A message without a receive time is never a copy. A
message split across two files stays a reject (``orphan_fragment``) in each: archives
split on message boundaries do not have them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ais.errors import InputError
from ais.progress import Progress
from ais.tables.decoded import COUNT_KEYS, Decoded
from ais.reading.read import read_inputs
from ais.reading.sources import expand_inputs
from ais.schema import (POSITION_COLUMNS, POSITION_DTYPES, STATIC_COLUMNS, STATIC_DTYPES,
                        empty_frame, sort_by_vessel_time)

DEDUP_WINDOW_S = 10.0


def _decode_one(path: str, decoder: str, require_times: bool) -> dict:
    """One file decoded, as plain frames and counts: what a task sends back over the wire
    (a ``Decoded`` may hold a pending sort in a thread pool, which does not pickle)."""
    d = read_inputs([path], decoder=decoder, require_times=require_times, progress=False)
    return _plain(d)


def _plain(d: Decoded) -> dict:
    counts = d.counts
    return {"positions": d.positions, "statics": d.statics, "rejects": d.rejects,
            "counts": {k: counts[k] for k in COUNT_KEYS},
            "messages_by_type": counts["messages_by_type"],
            "rejected_by_reason": counts["rejected_by_reason"],
            "inputs": counts["inputs"], "warnings": list(d.warnings)}


def _rebuilt(part: dict) -> Decoded:
    return Decoded(part["positions"], part["statics"], part["rejects"], part["counts"],
                   part["messages_by_type"], part["rejected_by_reason"], part["inputs"],
                   part["warnings"], sort=False)


def _cross_file_duplicates(frame: pd.DataFrame, window_s: float,
                           files: np.ndarray) -> np.ndarray:
    """Mask of rows that repeat an earlier kept row of another file (same content)
    within ``window_s``. Rows of one file are never each other's duplicates here: its
    decoder already dropped those by payload, and equal decoded content is not an equal
    payload (two "position not available" reports of one ship ten seconds apart decode
    the same and are two messages). ``files``: each row's input file (an integer)."""
    if len(frame) == 0:
        return np.zeros(0, dtype=bool)
    content = [c for c in frame.columns if c not in ("source", "line", "timestamp")]
    key = pd.util.hash_pandas_object(frame[content], index=False).to_numpy()
    source = np.asarray(files)
    stamp = frame["timestamp"]
    t = np.where(stamp.isna().to_numpy(), np.nan,
                 stamp.to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9)
    order = np.lexsort((t, key))
    dup = np.zeros(len(frame), dtype=bool)
    last_key, kept_t, kept_source = None, -np.inf, -1
    for i in order:
        if np.isnan(t[i]):         # no receive time: no window to be a copy within
            last_key = None
            continue
        if key[i] == last_key and t[i] - kept_t <= window_s and source[i] != kept_source:
            dup[i] = True
            continue
        last_key, kept_t, kept_source = key[i], t[i], source[i]
    return dup


LOCAL_SCHEDULERS = ("synchronous", "sync", "single-threaded", "threads", "threading",
                    "processes", "multiprocessing")


@contextlib.contextmanager
def dask_scheduler(scheduler: str | None = None, *, workers: int | None = None,
                   memory_limit: str | None = None):
    """The ``scheduler=`` keyword for ``dask.compute``, for the run's duration.

    ``None``: the active ``distributed`` client if there is one, else a ``LocalCluster``
    (worker processes, one thread each; ``workers`` of them, default one per core),
    closed at the end; an address (``tcp://host:8786``, ``host:8786``): the cluster's
    scheduler there; one of Dask's local schedulers by name (``threads``, ``processes``,
    ``synchronous``): that scheduler (the tests use them)."""
    if scheduler in LOCAL_SCHEDULERS:
        yield {"scheduler": scheduler}
        return
    from distributed import Client, LocalCluster

    if scheduler is None:
        try:
            from distributed import default_client

            client = default_client()
        except ValueError:
            client = None
        if client is not None:
            yield {"scheduler": client}
            return
        n = workers or os.cpu_count() or 1
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          memory_limit=memory_limit or "auto", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield {"scheduler": client}
        return
    try:
        client = Client(scheduler, timeout="30s")
    except (OSError, TimeoutError) as exc:
        raise InputError(None, f"no Dask scheduler answers at {scheduler}: {exc}",
                         "start one (dask scheduler; dask worker ADDRESS) or leave out "
                         "--scheduler for a local cluster") from None
    with client:
        yield {"scheduler": client}


def read_inputs_dask(paths, *, decoder: str = "fast", require_times: bool = False,
                     progress: "bool | Progress" = False, scheduler: str | None = None) -> Decoded:
    """Decode every file of ``paths`` in its own Dask task and merge the results
    (``scheduler``: as :func:`dask_scheduler`)."""
    import dask

    files = expand_inputs(paths)
    if "-" in files:
        raise InputError("-", "stdin cannot be split over Dask workers",
                         "use --engine local for stdin, or save the feed to a file")
    tasks = [dask.delayed(_decode_one)(f, decoder, require_times) for f in files]
    with Progress.of(progress).phase("decoding (dask)", total=len(files), unit="files") as bar, \
            dask_scheduler(scheduler) as kwargs:
        parts = [_rebuilt(p) for p in dask.compute(*tasks, **kwargs)]
        bar.update(len(files))
    inputs = [i for d in parts for i in d.stats["inputs"]]
    merged = Decoded.merge(parts, inputs=inputs)
    if len(parts) < 2:
        return merged
    positions = _tagged(parts, "positions")
    statics = _tagged(parts, "statics")
    pos_dup = _cross_file_duplicates(positions, DEDUP_WINDOW_S, positions.pop("_file").to_numpy())
    sta_dup = _cross_file_duplicates(statics, DEDUP_WINDOW_S, statics.pop("_file").to_numpy())
    n_dup = int(pos_dup.sum() + sta_dup.sum())
    if not n_dup:
        return merged
    counts = {k: merged.stats[k] for k in ("lines_read", "sentences", "non_ais_sentences",
                                           "tagblock_checksum_errors", "messages",
                                           "duplicates", "no_receive_time")}
    counts["duplicates"] += n_dup
    return Decoded(positions[~pos_dup], statics[~sta_dup], merged.rejects,
                   counts, merged.stats["messages_by_type"], merged.stats["rejected_by_reason"],
                   inputs, merged.warnings)


def _tagged(parts: list[Decoded], attr: str) -> pd.DataFrame:
    """The parts' frames one after another, with ``_file``: the part each row came from."""
    frames = [getattr(p, attr).assign(_file=k) for k, p in enumerate(parts)]
    return pd.concat(frames, ignore_index=True)


# ---- the partitioned engine ------------------------------------------------------------

PARTITION_BYTES = 256 * 2 ** 20     # input bytes (plain NMEA) per partition, about 2.5M messages
GZIP_RATIO = 6                      # what a gzip input holds per byte, roughly
WRITE_ROWS = 2_000_000              # rows per MMSI range when writing positions.parquet


def partition_of(mmsi: np.ndarray, n: int) -> np.ndarray:
    """The partition (0..n-1) of each MMSI: a multiplicative hash, so neighbouring MMSIs
    (one fleet, one country) spread over the partitions."""
    h = np.asarray(mmsi, dtype=np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return ((h >> np.uint64(33)) % np.uint64(max(int(n), 1))).astype(np.int64)


def default_partitions(files: list[str]) -> int:
    size = 0
    for f in files:
        try:
            n = os.path.getsize(f)
        except OSError:
            continue
        size += n * (GZIP_RATIO if str(f).endswith(".gz") else 1)
    return max(1, -(-size // PARTITION_BYTES))


def _part_path(work: str, kind: str, f: int, k: int) -> str:
    return os.path.join(work, "decoded", kind, f"f{f:06d}-p{k:05d}.parquet")


def _write_split(frame: pd.DataFrame, work: str, kind: str, f: int, n: int) -> None:
    """``frame``'s rows of each partition to its file (none for an empty partition)."""
    if not len(frame):
        return
    part = partition_of(frame["mmsi"].to_numpy(), n)
    order = np.argsort(part, kind="stable")
    part_sorted = part[order]
    bounds = np.searchsorted(part_sorted, np.arange(n + 1))
    for k in range(n):
        a, b = bounds[k], bounds[k + 1]
        if b > a:
            frame.iloc[order[a:b]].reset_index(drop=True).to_parquet(
                _part_path(work, kind, f, k), index=False, engine="pyarrow")


def _decode_task(f: int, path: str, work: str, n: int, decoder: str) -> dict:
    """Step 1 (a task): decode one file and write its rows to the partitions."""
    d = read_inputs([path], decoder=decoder, require_times=True, progress=False)
    plain = _plain(d)
    _write_split(plain.pop("positions"), work, "positions", f, n)
    _write_split(plain.pop("statics"), work, "statics", f, n)
    return plain


def _read_parts(work: str, kind: str, n_files: int, k: int, columns, dtypes):
    """The partition's rows of every file, in file order, and each row's file."""
    frames, files = [], []
    for f in range(n_files):
        p = _part_path(work, kind, f, k)
        if os.path.exists(p):
            frame = pd.read_parquet(p, engine="pyarrow")
            frames.append(frame)
            files.append(np.full(len(frame), f, dtype=np.int64))
    if not frames:
        return empty_frame(columns, dtypes), np.zeros(0, dtype=np.int64)
    return pd.concat(frames, ignore_index=True), np.concatenate(files)


def _store(frame: pd.DataFrame, path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    frame.to_parquet(path, index=False, engine="pyarrow", row_group_size=256_000)


def _clean_path(work: str, k: int, name: str) -> str:
    return os.path.join(work, "partitions", f"p{k:05d}", f"{name}.parquet")


def _identity_task(k: int, work: str, n_files: int, settings) -> dict:
    """Step 2 (a task per partition): copies across files dropped, the identity step,
    the cleaning; the cleaned positions, own messages and statics written."""
    from detectors.cleaning import clean_positions
    from detectors.dark_periods import messages_without_position
    from detectors.identity import IMO_ON_SEVERAL_MMSI, imo_spells
    from shadowfleet.pipeline import identify, vessel_names

    pos, pos_files = _read_parts(work, "positions", n_files, k, POSITION_COLUMNS,
                                 POSITION_DTYPES)
    sta, sta_files = _read_parts(work, "statics", n_files, k, STATIC_COLUMNS, STATIC_DTYPES)
    pos_dup = _cross_file_duplicates(pos, DEDUP_WINDOW_S, pos_files)
    sta_dup = _cross_file_duplicates(sta, DEDUP_WINDOW_S, sta_files)
    pos = sort_by_vessel_time(pos[~pos_dup].reset_index(drop=True))
    sta = sort_by_vessel_time(sta[~sta_dup].reset_index(drop=True))
    decoded = _Frames(pos, sta)
    ident = identify(decoded, settings)
    table = ident.table
    table = table[table["kind"] != IMO_ON_SEVERAL_MMSI].reset_index(drop=True)
    spells = imo_spells(ident.statics, settings.identity, positions=ident.positions)
    positions, jumps = clean_positions(ident.positions, settings.cleaning)
    own = messages_without_position(ident.positions, ident.statics)
    _store(positions, _clean_path(work, k, "positions"))
    _store(own, _clean_path(work, k, "own"))
    _store(sta, _clean_path(work, k, "statics"))
    times = pd.concat([pos["timestamp"], sta["timestamp"]]).dropna()
    counts = positions["mmsi"].value_counts().sort_index()
    return {"identity": table, "tracks": ident.tracks, "jumps": jumps, "imos": ident.imos,
            "names": vessel_names(sta), "spells": spells,
            "duplicates": int(pos_dup.sum() + sta_dup.sum()),
            "positions": len(pos), "statics": len(sta),
            "decoded_vessels": int(pd.concat([pos["mmsi"], sta["mmsi"]]).nunique()),
            "vessels": int(positions["mmsi"].nunique()),
            "first": times.min() if len(times) else None,
            "last": times.max() if len(times) else None,
            "data_end": positions["timestamp"].max() if len(positions) else None,
            "position_counts": (counts.index.to_numpy(np.int64), counts.to_numpy(np.int64)),
            "statics_counts": _mmsi_counts(sta)}


def _mmsi_counts(frame):
    c = frame["mmsi"].value_counts().sort_index()
    return c.index.to_numpy(np.int64), c.to_numpy(np.int64)


class _Frames:
    """Decoded frames as ``identify`` reads them."""

    def __init__(self, positions, statics):
        self.positions, self.statics = positions, statics


def _detector_task(k: int, work: str, registry, settings, names: dict, data_end,
                   imo_rows: pd.DataFrame, identity: pd.DataFrame) -> dict:
    """Step 3 (a task per partition): the per-vessel detectors on the partition's
    cleaned positions, the identity alerts, and what the cross-vessel steps need."""
    from detectors._frames import usable_positions
    from detectors.dark_periods import find_dark_periods
    from detectors.encounters import encounter_grid
    from detectors.identity import concat_identity
    from detectors.identity_alerts import identity_alerts
    from detectors.loitering import find_loitering
    from detectors.port_visits import find_port_visits
    from detectors.stops import find_stays

    positions = pd.read_parquet(_clean_path(work, k, "positions"), engine="pyarrow")
    own = pd.read_parquet(_clean_path(work, k, "own"), engine="pyarrow")
    mine = partition_of(imo_rows["mmsi"].to_numpy(np.int64), _n_partitions(work)) == k \
        if len(imo_rows) else np.zeros(0, dtype=bool)
    table = concat_identity([identity, imo_rows[mine]])
    usable = usable_positions(positions)
    first = usable.loc[usable.groupby("mmsi")["timestamp"].idxmin()] if len(usable) else usable
    return {
        "visits": find_port_visits(positions, registry, settings.visits, names=names),
        "gaps": find_dark_periods(positions, registry, settings.gaps, names=names,
                                  data_end=data_end, own_messages=own),
        "loitering": find_loitering(positions, registry, settings.loitering, names=names),
        "stays": find_stays(positions, registry, settings.stops, names),
        "identity_alerts": identity_alerts(table, positions=positions, names=names),
        "first_fixes": first[["mmsi", "timestamp", "lat", "lon"]].reset_index(drop=True),
        "grid": encounter_grid(positions, registry, settings.encounters, at_sea_only=True),
    }


def _n_partitions(work: str) -> int:
    with open(os.path.join(work, "partitions.txt"), encoding="utf-8") as fh:
        return int(fh.read())


def _without_grid(events: dict) -> dict:
    return {k: v for k, v in events.items() if k != "grid"}


def _encounters_task(grids: list, registry, settings, names: dict) -> pd.DataFrame:
    """Step 4 (one task): the encounters of the joined grids of every partition."""
    from detectors.encounters import EncounterGrid, encounters_of_grid

    return encounters_of_grid(EncounterGrid.concat(grids), registry, settings.encounters,
                              names=names)


def _others_task(k: int, work: str, gaps: pd.DataFrame, settings, data_end) -> np.ndarray:
    """Step 4 (a task per partition): this partition's share of every dark period's
    ``others_received``."""
    from detectors.dark_periods import count_others_received

    positions = pd.read_parquet(_clean_path(work, k, "positions"), engine="pyarrow",
                                columns=["mmsi", "timestamp", "lat", "lon", "track", "spoofed"])
    return count_others_received(positions, gaps, settings.gaps, data_end=data_end)


def _concat(frames: list[pd.DataFrame], by: list[str] | None = None) -> pd.DataFrame:
    """The partitions' tables as one, sorted by ``by`` (stable: each vessel's rows come
    from one partition, in the order its detector gave them)."""
    full = [f for f in frames if len(f)]
    if not full:
        return frames[0] if frames else pd.DataFrame()
    out = pd.concat(full, ignore_index=True) if len(full) > 1 else full[0]
    if by:
        out = out.sort_values(by, kind="mergesort").reset_index(drop=True)
    return out


class PartitionWriter:
    """Writes ``positions.parquet`` and ``statics.parquet`` from the partitions, a range
    of MMSIs at a time (read from every partition, sorted, appended), so the client never
    holds more than ``rows`` of them; the same rows in the same order as the local
    engine's files. Holds the work directory (removed when the run made it and this
    goes away)."""

    def __init__(self, work: str, n: int, position_counts, statics_counts,
                 rows: int = WRITE_ROWS):
        self.work, self.n, self.rows = work, n, rows
        self.counts = {"positions": position_counts, "statics": statics_counts}

    def __call__(self, out: Path) -> None:
        from shadowfleet.outputs.files import atomic_path

        for name, drop in (("positions", ["spoofed"]), ("statics", [])):
            with atomic_path(Path(out) / f"{name}.parquet") as tmp:
                self._write(name, drop, tmp)

    def frame(self, name: str) -> pd.DataFrame:
        """The whole table (for claims, watchlists and figures)."""
        parts = [pd.read_parquet(_clean_path(self.work, k, name), engine="pyarrow")
                 for k in range(self.n)]
        return sort_by_vessel_time(_concat(parts))

    def _ranges(self, name: str):
        mmsi, count = self.counts[name]
        if not len(mmsi):
            yield None
            return
        order = np.argsort(mmsi)
        mmsi, cum = mmsi[order], np.cumsum(count[order])
        start = 0
        while start < len(mmsi):
            base = cum[start - 1] if start else 0
            end = max(int(np.searchsorted(cum, base + self.rows, side="right")), start + 1)
            yield int(mmsi[start]), int(mmsi[end - 1])
            start = end

    def _write(self, name: str, drop: list[str], path) -> None:
        import pyarrow as pa
        import pyarrow.dataset as ds
        import pyarrow.parquet as pq

        files = [_clean_path(self.work, k, name) for k in range(self.n)]
        dataset = ds.dataset(files, format="parquet")
        writer = None
        try:
            for bounds in self._ranges(name):
                if bounds is None:
                    table = dataset.to_table()
                else:
                    lo, hi = bounds
                    table = dataset.to_table(filter=(ds.field("mmsi") >= lo) & (ds.field("mmsi") <= hi))
                frame = sort_by_vessel_time(table.to_pandas())
                frame = frame[[c for c in frame.columns if c not in drop]]
                chunk = pa.Table.from_pandas(frame, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(path, chunk.schema)
                writer.write_table(chunk.cast(writer.schema) if chunk.schema != writer.schema
                                   else chunk)
        finally:
            if writer is not None:
                writer.close()


def analyse_dask(inputs, *, registry, settings, claims=(), watchlists=(), pairs=(),
                 decoder: str = "fast", progress: "bool | Progress" = False,
                 scheduler: str | None = None, work: str | Path | None = None,
                 partitions: int | None = None, simulated: str | None = None,
                 keep_frames: bool = True):
    """The whole analysis of ``inputs`` on Dask (module docstring): the same
    ``Result`` as ``pipeline.analyse(pipeline.decode(inputs))``. ``work``: a directory
    every worker reaches (a run directory is made in it and removed when the result goes
    away; default: the system's temporary directory); ``partitions``: how many (default
    one per 256 MB of input); ``keep_frames``: read the positions and statics back into
    the result (claims and watchlists read them whatever this says)."""
    import shutil
    import tempfile

    progress = Progress.of(progress)
    files = expand_inputs(inputs)
    if "-" in files:
        raise InputError("-", "stdin cannot be split over Dask workers",
                         "use --engine local for stdin, or save the feed to a file")
    n = int(partitions) if partitions else default_partitions(files)
    if work is not None:
        Path(work).mkdir(parents=True, exist_ok=True)
    run_dir = tempfile.mkdtemp(prefix="shadowfleet-dask-", dir=None if work is None else str(work))
    try:
        return _analyse(files, run_dir, n, registry=registry, settings=settings, claims=claims,
                        watchlists=watchlists, pairs=pairs, decoder=decoder, progress=progress,
                        scheduler=scheduler, simulated=simulated, keep_frames=keep_frames)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _analyse(files, run_dir, n, *, registry, settings, claims, watchlists, pairs, decoder,
             progress, scheduler, simulated, keep_frames):
    import dask
    import shutil
    import weakref

    from detectors.identity import concat_identity, imo_on_several_mmsi_of_spells
    from detectors.stops import cluster_stays
    from shadowfleet import pipeline, provenance

    for kind in ("positions", "statics"):
        os.makedirs(os.path.join(run_dir, "decoded", kind), exist_ok=True)
    with open(os.path.join(run_dir, "partitions.txt"), "w", encoding="utf-8") as fh:
        fh.write(str(n))
    all_pairs = pipeline._resolve_pairs(registry, list(settings.pairs) + list(pairs), claims)

    with dask_scheduler(scheduler) as kw:
        with progress.phase("decoding (dask)", total=len(files), unit="files") as bar:
            decoded = dask.compute(*[dask.delayed(_decode_task)(f, path, run_dir, n, decoder)
                                     for f, path in enumerate(files)], **kw)
            bar.update(len(files))
        with progress.phase("partitions: identity and cleaning", total=n,
                            unit="partitions") as bar:
            parts = dask.compute(*[dask.delayed(_identity_task)(k, run_dir, len(files), settings)
                                   for k in range(n)], **kw)
            bar.update(n)
        names = {m: v for p in parts for m, v in p["names"].items()}
        imos = {m: v for p in parts for m, v in p["imos"].items()}
        ends = [p["data_end"] for p in parts if p["data_end"] is not None]
        data_end = max(ends) if ends else None
        imo_rows = imo_on_several_mmsi_of_spells(
            _concat([p["spells"] for p in parts]), settings.identity)
        with progress.phase("partitions: detectors, encounters", total=n + 1,
                            unit="tasks") as bar:
            events = [dask.delayed(_detector_task)(k, run_dir, registry, settings, names,
                                                   data_end, imo_rows, parts[k]["identity"])
                      for k in range(n)]
            encounters = dask.delayed(_encounters_task)([e["grid"] for e in events], registry,
                                                        settings, names)
            *events, encounters = dask.compute(*[dask.delayed(_without_grid)(e) for e in events],
                                               encounters, **kw)
            bar.update(n + 1)
        gaps = _concat([e["gaps"] for e in events], ["mmsi", "start_utc"])
        if len(gaps):
            with progress.phase("dark periods: others received", total=n, unit="partitions") as bar:
                shares = dask.compute(*[dask.delayed(_others_task)(k, run_dir, gaps, settings,
                                                                   data_end)
                                        for k in range(n)], **kw)
                bar.update(n)
            gaps["others_received"] = np.sum(shares, axis=0).astype(np.int64)

    progress.step("events")
    visits = _concat([e["visits"] for e in events], ["mmsi", "arrival_utc"])
    jumps = _concat([p["jumps"] for p in parts], ["mmsi", "utc"])
    identity = concat_identity([p["identity"] for p in parts] + [imo_rows])
    tracks = _concat([p["tracks"] for p in parts], ["mmsi", "track"])
    loitering = _concat([e["loitering"] for e in events], ["mmsi", "start_utc"])
    stops, stays = cluster_stays(_concat([e["stays"] for e in events], ["mmsi", "start_utc"]),
                                 registry, settings.stops)
    trips, alerts = pipeline.trips_and_alerts(
        visits, gaps, jumps, pipeline.concat_alerts_of(*[e["identity_alerts"] for e in events]),
        registry=registry, settings=settings, pairs=all_pairs, names=names, imos=imos)
    first_fixes = _concat([e["first_fixes"] for e in events], ["mmsi"])
    behaviour = pipeline.behaviour_of(first_fixes, encounters=encounters, loitering=loitering,
                                      stops=stops, stays=stays, settings=settings, names=names,
                                      imos=imos, dark_periods=gaps, port_visits=visits,
                                      data_end=data_end, identity=identity)

    writer = PartitionWriter(run_dir, n, _merged_counts(p["position_counts"] for p in parts),
                             _merged_counts(p["statics_counts"] for p in parts))
    weakref.finalize(writer, shutil.rmtree, run_dir, True)      # when the result goes
    if keep_frames or claims or watchlists:
        progress.step("reading the partitions back")
        positions, statics = writer.frame("positions"), writer.frame("statics")
    else:
        positions = empty_frame(POSITION_COLUMNS, POSITION_DTYPES)
        statics = empty_frame(STATIC_COLUMNS, STATIC_DTYPES)
    stats = _stats(decoded, parts)
    stats["inputs"] = provenance.mark_inputs(stats["inputs"])
    return pipeline.conclude(
        stats, positions=positions, statics=statics,
        rejects=_concat([d["rejects"] for d in decoded], ["source", "line"]),
        registry=registry, settings=settings, claims=claims, watchlists=watchlists,
        pairs=all_pairs, visits=visits, trips=trips, gaps=gaps, jumps=jumps, alerts=alerts,
        identity=identity, tracks=tracks, behaviour=behaviour, simulated=simulated,
        progress=progress, n_vessels=sum(p["vessels"] for p in parts), decoded_writer=writer)


def _merged_counts(pairs):
    pairs = list(pairs)
    mmsi = np.concatenate([m for m, _ in pairs]) if pairs else np.zeros(0, np.int64)
    count = np.concatenate([c for _, c in pairs]) if pairs else np.zeros(0, np.int64)
    return mmsi, count


def _stats(decoded: list[dict], parts: list[dict]) -> dict:
    """``Decoded.stats`` of the whole run from the files' counts and the partitions'."""
    from ais.tables.decoded import iso_utc

    counts = {k: sum(d["counts"][k] for d in decoded) for k in COUNT_KEYS}
    counts["duplicates"] += sum(p["duplicates"] for p in parts)
    by_type: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for d in decoded:
        for k, v in d["messages_by_type"].items():
            by_type[k] = by_type.get(k, 0) + v
        for k, v in d["rejected_by_reason"].items():
            by_reason[k] = by_reason.get(k, 0) + v
    counts["rejected"] = int(sum(by_reason.values()))
    firsts = [p["first"] for p in parts if p["first"] is not None]
    lasts = [p["last"] for p in parts if p["last"] is not None]
    span = {"start": iso_utc(min(firsts)), "end": iso_utc(max(lasts))} if firsts else None
    return {**counts,
            "messages_by_type": {str(k): int(v) for k, v in sorted(by_type.items(),
                                                                   key=lambda kv: int(kv[0]))},
            "rejected_by_reason": {str(k): int(v) for k, v in sorted(by_reason.items())},
            "positions": sum(p["positions"] for p in parts),
            "statics": sum(p["statics"] for p in parts),
            "vessels": sum(p["decoded_vessels"] for p in parts),
            "time_span": span,
            "inputs": [i for d in decoded for i in d["inputs"]]}
