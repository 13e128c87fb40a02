"""The Dask engine's run (see :mod:`shadowfleet.scale`): :func:`analyse_dask`, and
:func:`read_inputs_dask` for the decoded frames alone."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
import pandas as pd

from ais.errors import InputError
from ais.progress import Progress
from ais.reading.sources import expand_inputs
from ais.schema import (POSITION_COLUMNS, POSITION_DTYPES, STATIC_COLUMNS, STATIC_DTYPES,
                        empty_frame)
from ais.tables.decoded import COUNT_KEYS, Decoded
from shadowfleet.scale.cluster import compute, dask_scheduler, n_workers
from shadowfleet.scale.partitions import (decode_task, default_partitions, make_dirs,
                                          partition_frames)
from shadowfleet.scale import cross
from shadowfleet.scale.cells import merged_counts, plan
from shadowfleet.scale.tasks import (close_pairs_task, detector_task, encounters_task,
                                     identity_task, others_task, stops_task)
from shadowfleet.scale.writer import PartitionWriter


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


def _files(paths) -> list[str]:
    files = expand_inputs(paths)
    if "-" in files:
        raise InputError("-", "stdin cannot be split over Dask workers",
                         "use --engine local for stdin, or save the feed to a file")
    return files


def _run_dir(work) -> str:
    """A new directory for one run, in ``work`` (made) or the system's temporary one."""
    if work is not None:
        Path(work).mkdir(parents=True, exist_ok=True)
    return tempfile.mkdtemp(prefix="shadowfleet-dask-", dir=None if work is None else str(work))


def read_inputs_dask(paths, *, decoder: str = "fast", require_times: bool = False,
                     progress: "bool | Progress" = False, scheduler: str | None = None,
                     work: str | Path | None = None, partitions: int | None = None) -> Decoded:
    """Decode ``paths`` on Dask as :func:`analyse_dask` does (one task per file, rows
    split into partitions, copies across files dropped per partition) and bring the
    frames back as one ``Decoded`` (this process then holds them all: for an archive,
    :func:`analyse_dask`). ``scheduler``: as :func:`dask_scheduler`."""
    import dask

    files = _files(paths)
    run_dir = _run_dir(work)
    try:
        progress = Progress.of(progress)
        with dask_scheduler(scheduler) as kw:
            n = int(partitions) if partitions else default_partitions(files, n_workers(kw))
            make_dirs(run_dir, n)
            with progress.phase("decoding (dask)", total=len(files), unit="files") as bar:
                decoded = compute([dask.delayed(decode_task)(f, path, run_dir, n, decoder,
                                                             require_times)
                                   for f, path in enumerate(files)], kw, bar)
            parts = compute([dask.delayed(partition_frames)(run_dir, len(files), k)
                             for k in range(n)], kw)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    counts = _counts(decoded, [p[2] for p in parts])
    return Decoded(_concat([p[0] for p in parts]), _concat([p[1] for p in parts]),
                   _concat([d["rejects"] for d in decoded]), counts,
                   counts.pop("messages_by_type"), counts.pop("rejected_by_reason"),
                   [i for d in decoded for i in d["inputs"]],
                   [w for d in decoded for w in d["warnings"]])


def analyse_dask(inputs, *, registry, settings, claims=(), watchlists=(), pairs=(),
                 decoder: str = "fast", progress: "bool | Progress" = False,
                 scheduler: str | None = None, work: str | Path | None = None,
                 partitions: int | None = None, simulated: str | None = None,
                 keep_frames: bool = True, figures: bool = True):
    """The whole analysis of ``inputs`` on Dask (module docstring): the same
    ``Result`` as ``pipeline.analyse(pipeline.decode(inputs))``. ``work``: a directory
    every worker reaches (a run directory is made in it and removed when the result goes
    away; default: the system's temporary directory); ``partitions``: how many (default
    one per 128 MB of input, a multiple of the workers); ``keep_frames``: read the
    positions and statics back into the result (for the trajectories); ``figures``
    (map.html, timeline.png to be drawn): read the statics back (the vessels' names; a few
    rows per vessel), as claims and watchlists do. Without ``keep_frames`` no positions
    are gathered: the figures, claims and watchlists read what they need of them from the
    partitions (the module docstring; ``PartitionWriter``)."""
    progress = Progress.of(progress)
    files = _files(inputs)
    run_dir = _run_dir(work)
    try:
        return _analyse(files, run_dir, partitions, registry=registry, settings=settings, claims=claims,
                        watchlists=watchlists, pairs=pairs, decoder=decoder, progress=progress,
                        scheduler=scheduler, simulated=simulated, keep_frames=keep_frames,
                        figures=figures)
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


def _analyse(files, run_dir, partitions, *, registry, settings, claims, watchlists, pairs, decoder,
             progress, scheduler, simulated, keep_frames, figures):
    import dask

    from detectors.identity import concat_identity, imo_on_several_mmsi_of_spells
    from shadowfleet import pipeline, provenance

    all_pairs = pipeline._resolve_pairs(registry, list(settings.pairs) + list(pairs), claims)

    with dask_scheduler(scheduler) as kw:
        n = int(partitions) if partitions else default_partitions(files, n_workers(kw))
        make_dirs(run_dir, n)
        with progress.phase("decoding (dask)", total=len(files), unit="files") as bar:
            decoded = compute([dask.delayed(decode_task)(f, path, run_dir, n, decoder)
                               for f, path in enumerate(files)], kw, bar)
        with progress.phase("partitions: identity and cleaning", total=n,
                            unit="partitions") as bar:
            parts = compute([dask.delayed(identity_task)(k, run_dir, len(files), settings)
                             for k in range(n)], kw, bar)
        names = {m: v for p in parts for m, v in p["names"].items()}
        imos = {m: v for p in parts for m, v in p["imos"].items()}
        ends = [p["data_end"] for p in parts if p["data_end"] is not None]
        data_end = max(ends) if ends else None
        imo_rows = imo_on_several_mmsi_of_spells(
            _concat([p["spells"] for p in parts]), settings.identity)
        with progress.phase("partitions: detectors", total=n, unit="partitions") as bar:
            events = compute([dask.delayed(detector_task)(k, run_dir, registry, settings, names,
                                                          data_end, imo_rows, parts[k]["identity"])
                              for k in range(n)], kw, bar)
        encounters = _encounters(events, run_dir, n, registry, settings, names, kw, progress)
        gaps = _concat([e["gaps"] for e in events], ["mmsi", "start_utc"])
        if len(gaps):
            gaps["others_received"] = _others_received(events, gaps, run_dir, settings,
                                                       data_end, kw, progress)
        stops, stays = _stops(_concat([e["stays"] for e in events], ["mmsi", "start_utc"]),
                              registry, settings, kw, progress)

    progress.step("events")
    visits = _concat([e["visits"] for e in events], ["mmsi", "arrival_utc"])
    jumps = _concat([p["jumps"] for p in parts], ["mmsi", "utc"])
    identity = concat_identity([p["identity"] for p in parts] + [imo_rows])
    tracks = _concat([p["tracks"] for p in parts], ["mmsi", "track"])
    loitering = _concat([e["loitering"] for e in events], ["mmsi", "start_utc"])
    trips, alerts = pipeline.trips_and_alerts(
        visits, gaps, jumps, pipeline.concat_alerts_of(*[e["identity_alerts"] for e in events]),
        registry=registry, settings=settings, pairs=all_pairs, names=names, imos=imos)
    first_fixes = _concat([e["first_fixes"] for e in events], ["mmsi"])
    behaviour = pipeline.behaviour_of(first_fixes, encounters=encounters, loitering=loitering,
                                      stops=stops, stays=stays, settings=settings, names=names,
                                      imos=imos, dark_periods=gaps, port_visits=visits,
                                      data_end=data_end, identity=identity)

    firsts = [p["positions_first"] for p in parts if p["positions_first"] is not None]
    writer = PartitionWriter(run_dir, n, _merged_counts(p["position_counts"] for p in parts),
                             _merged_counts(p["statics_counts"] for p in parts),
                             span=_span(firsts, data_end),
                             vessel_times=_concat([p["vessel_times"] for p in parts]))
    weakref.finalize(writer, shutil.rmtree, run_dir, True)      # when the result goes
    positions = empty_frame(POSITION_COLUMNS, POSITION_DTYPES)
    statics = empty_frame(STATIC_COLUMNS, STATIC_DTYPES)
    if keep_frames:
        progress.step("reading the partitions back")
        positions = writer.frame("positions")
    if keep_frames or claims or watchlists or figures:
        statics = writer.frame("statics")
    stats = _stats(decoded, parts)
    stats["inputs"] = provenance.mark_inputs(stats["inputs"])
    return pipeline.conclude(
        stats, positions=positions, statics=statics,
        rejects=_concat([d["rejects"] for d in decoded], ["source", "line"]),
        registry=registry, settings=settings, claims=claims, watchlists=watchlists,
        pairs=all_pairs, visits=visits, trips=trips, gaps=gaps, jumps=jumps, alerts=alerts,
        identity=identity, tracks=tracks, behaviour=behaviour, simulated=simulated,
        progress=progress, n_vessels=sum(p["vessels"] for p in parts), decoded_writer=writer,
        partitions=None if keep_frames else writer)


def _encounters(events, run_dir, n, registry, settings, names, kw, progress) -> pd.DataFrame:
    """Encounters on space-time cells (:mod:`shadowfleet.scale.cross`): close pairs per
    run of cells, then the encounters per partition of the pairs' first vessel."""
    import dask

    from detectors.encounters import empty_encounters

    cells, counts = merged_counts(e["encounter_cells"] for e in events)
    bounds = plan(cells, counts)
    with progress.phase("encounters: close pairs in cells", total=len(bounds),
                        unit="tasks") as bar:
        found = compute([dask.delayed(close_pairs_task)(i, int(a), int(b), run_dir, settings)
                         for i, (a, b) in enumerate(bounds)], kw, bar)
    if not sum(found):
        return empty_encounters()
    with progress.phase("encounters: runs of close pairs", total=n, unit="partitions") as bar:
        parts = compute([dask.delayed(encounters_task)(k, run_dir, registry, settings, names)
                         for k in range(n)], kw, bar)
    parts = [p for p in parts if p is not None]
    return _concat(parts, ["mmsi_1", "start_utc", "mmsi_2"]) if parts else empty_encounters()


def _others_received(events, gaps, run_dir, settings, data_end, kw, progress) -> np.ndarray:
    """``others_received`` of every dark period, counted on space-time cells: each cell
    task lists the vessels near the dark periods reaching its cells, the distinct pairs
    of all tasks counted."""
    import dask

    cells, counts = merged_counts(e["position_cells"] for e in events)
    bounds = plan(cells, counts)
    queries = cross.gap_queries(gaps, data_end)
    routed = cross.route_gaps(queries, settings.gaps.reception_radius_nm, cells, bounds)
    tasks = [(i, q) for i, q in enumerate(routed) if len(q["gap"])]
    with progress.phase("dark periods: others received in cells", total=len(tasks),
                        unit="tasks") as bar:
        pairs = compute([dask.delayed(others_task)(int(bounds[i, 0]), int(bounds[i, 1]),
                                                   run_dir, q, settings)
                         for i, q in tasks], kw, bar)
    return cross.count_pairs(pairs, len(gaps))


def _stops(stays, registry, settings, kw, progress):
    """Unlisted stops: DBSCAN over groups of stays of joined 1-degree cells."""
    import dask

    from detectors.stops import cluster_stays, empty_stops

    groups = cross.stay_groups(stays, settings.stops.stop_cluster_radius_m)
    if len(groups) <= 1:
        return cluster_stays(stays, registry, settings.stops)
    with progress.phase("unlisted stops: groups of cells", total=len(groups),
                        unit="groups") as bar:
        found = compute([dask.delayed(stops_task)(stays.iloc[g].reset_index(drop=True),
                                                  registry, settings) for g in groups], kw, bar)
    stops = _concat([f.stops for f in found], ["first_utc", "stop_id"])
    if not len(stops):
        stops = empty_stops()
    stays = _concat([f.stays for f in found], ["mmsi", "start_utc"])
    return stops, stays


def _span(firsts, last):
    """(first, last) receive time of the positions as the figures take it, or None."""
    from shadowfleet.outputs._figures import utc

    times = utc([t for t in [*firsts, last] if t is not None]).dropna()
    return (times.min(), times.max()) if len(times) else None


def _merged_counts(pairs):
    pairs = list(pairs)
    mmsi = np.concatenate([m for m, _ in pairs]) if pairs else np.zeros(0, np.int64)
    count = np.concatenate([c for _, c in pairs]) if pairs else np.zeros(0, np.int64)
    return mmsi, count


def _counts(decoded: list[dict], copies: list[dict]) -> dict:
    """The files' counts added up (``COUNT_KEYS``, ``messages_by_type``,
    ``rejected_by_reason``), with the copies across files (per AIS type, from each
    partition) counted as duplicates, not as messages decoded."""
    counts = {k: sum(d["counts"][k] for d in decoded) for k in COUNT_KEYS}
    by_type: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for d in decoded:
        for k, v in d["messages_by_type"].items():
            by_type[k] = by_type.get(k, 0) + v
        for k, v in d["rejected_by_reason"].items():
            by_reason[k] = by_reason.get(k, 0) + v
    for c in copies:
        for k, v in c.items():
            by_type[k] -= v
            counts["duplicates"] += v
    counts["rejected"] = int(sum(by_reason.values()))
    counts["messages_by_type"] = {str(k): int(v) for k, v in
                                  sorted(by_type.items(), key=lambda kv: int(kv[0]))}
    counts["rejected_by_reason"] = {str(k): int(v) for k, v in sorted(by_reason.items())}
    return counts


def _stats(decoded: list[dict], parts: list[dict]) -> dict:
    """``Decoded.stats`` of the whole run from the files' counts and the partitions'."""
    from ais.tables.decoded import iso_utc

    counts = _counts(decoded, [p["copies"] for p in parts])
    firsts = [p["first"] for p in parts if p["first"] is not None]
    lasts = [p["last"] for p in parts if p["last"] is not None]
    span = {"start": iso_utc(min(firsts)), "end": iso_utc(max(lasts))} if firsts else None
    return {**counts,
            "positions": sum(p["positions"] for p in parts),
            "statics": sum(p["statics"] for p in parts),
            "vessels": sum(p["decoded_vessels"] for p in parts),
            "time_span": span,
            "inputs": [i for d in decoded for i in d["inputs"]]}
