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

import numpy as np
import pandas as pd

from ais.progress import Progress
from ais.tables.decoded import Decoded
from ais.reading.read import read_inputs
from ais.reading.sources import expand_inputs

DEDUP_WINDOW_S = 10.0


def _decode_one(path: str, decoder: str, require_times: bool) -> Decoded:
    return read_inputs([path], decoder=decoder, require_times=require_times, progress=False)


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
    t = frame["timestamp"].to_numpy(dtype="datetime64[ns]").astype(np.int64) / 1e9
    order = np.lexsort((t, key))
    dup = np.zeros(len(frame), dtype=bool)
    last_key, kept_t, kept_source = None, -np.inf, -1
    for i in order:
        if np.isnan(t[i]) or t[i] < -1e17:
            last_key = None
            continue
        if key[i] == last_key and t[i] - kept_t <= window_s and source[i] != kept_source:
            dup[i] = True
            continue
        last_key, kept_t, kept_source = key[i], t[i], source[i]
    return dup


def read_inputs_dask(paths, *, decoder: str = "fast", require_times: bool = False,
                     progress: "bool | Progress" = False, scheduler: str | None = None) -> Decoded:
    """Decode every file of ``paths`` in its own Dask task and merge the results."""
    import dask

    files = expand_inputs(paths)
    if "-" in files:
        from ais.errors import InputError

        raise InputError("-", "stdin cannot be split over Dask workers",
                         "use --engine local for stdin, or save the feed to a file")
    tasks = [dask.delayed(_decode_one)(f, decoder, require_times) for f in files]
    if scheduler is None:
        try:
            from distributed import default_client

            default_client()
            scheduler = None
        except Exception:
            scheduler = "processes" if len(files) > 1 else "synchronous"
    kwargs = {} if scheduler is None else {"scheduler": scheduler}
    with Progress.of(progress).phase("decoding (dask)", total=len(files), unit="files") as bar:
        parts = list(dask.compute(*tasks, **kwargs))
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
