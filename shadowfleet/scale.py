"""``--engine dask``: decode input files in parallel worker processes.

A year of a global archive is thousands of files; decoding is the costly part and each
file decodes independently, so Dask runs ``ais.read_inputs`` on one file per task (on a
local process pool, or on the cluster of an active ``dask.distributed`` client) and the
results are merged into one ``Decoded``.

What differs from the local engine, and how it is made good:
- the local engine carries one decoder across files, so a multi-fragment message split
  over two files is assembled and a copy of a message in another file is a duplicate.
  Per-file decoding cannot see across files; after the merge, decoded rows of different
  files that are equal in every field except source and line, of the same vessel and
  received within ``window_s`` (10 s, the same rule as the decoder's), are dropped as
  duplicates and counted in ``duplicates``. A message split across two files stays a reject
  (``orphan_fragment``) in each: archives split on message boundaries do not have them.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pandas as pd

from ais.errors import InputError
from ais.progress import Progress
from ais.tables.decoded import COUNT_KEYS, Decoded
from ais.reading.read import read_inputs
from ais.reading.sources import expand_inputs

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
