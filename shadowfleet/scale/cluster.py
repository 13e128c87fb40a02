"""Where a Dask run's tasks run: a ``LocalCluster``, a cluster's scheduler, or one of
Dask's local schedulers (:func:`dask_scheduler`), and :func:`compute` with progress."""

from __future__ import annotations

import contextlib
import os

from ais.errors import InputError

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
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InputError(None, f"no Dask scheduler answers at {scheduler}: {exc}",
                         "start one (dask scheduler; dask worker ADDRESS) or leave out "
                         "--scheduler for a local cluster") from None
    with client:
        yield {"scheduler": client}


def compute(tasks: list, kw: dict, bar=None) -> list:
    """The results of ``tasks`` (Dask delayed objects) in their order, on the scheduler of
    ``kw`` (:func:`dask_scheduler`); ``bar`` (a progress phase) counts each task as it
    ends on a ``distributed`` cluster, all of them at the end on a local scheduler."""
    import dask

    client = kw.get("scheduler")
    if client is None or isinstance(client, str):
        out = list(dask.compute(*tasks, **kw))
        if bar is not None:
            bar.update(len(tasks))
        return out
    from distributed import as_completed

    futures = client.compute(list(tasks))
    try:
        for _ in as_completed(futures):
            if bar is not None:
                bar.update(1)
        return client.gather(futures)
    finally:
        for f in futures:
            f.release()


def n_workers(kw: dict) -> int:
    """How many tasks the scheduler of ``kw`` runs at once (workers of a cluster, cores
    for Dask's local threads and processes, 1 for the synchronous one)."""
    scheduler = kw.get("scheduler")
    if scheduler is None or scheduler in ("threads", "threading", "processes", "multiprocessing"):
        return os.cpu_count() or 1
    if isinstance(scheduler, str):
        return 1
    info = scheduler.scheduler_info()
    return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))
