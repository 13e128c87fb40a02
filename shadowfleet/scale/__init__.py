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
   (for the ranking); writes the vessels' encounter grid at sea and their usable
   positions sorted by space-time cell (:mod:`shadowfleet.scale.cells`: 1 degree x 1 day)
   and sends back how many rows each cell got.
4. **cross-vessel**, on space-time cells with a halo of the search radius
   (:mod:`shadowfleet.scale.cross`), in tasks of consecutive cells of about
   ``cells.CELL_TASK_ROWS`` rows, never on a whole archive:
   - encounters: each grid point at sea is copied to every cell within
     ``encounter_distance_m``; a cell task finds the close pairs of its cells at each grid
     time, each pair kept by the cell of its first vessel's point, and writes them by
     the partition of that vessel; one task per partition then finds the encounters of
     its pairs (runs, speeds, merges are a pair's own);
   - ``others_received``: the dark periods (events, gathered) are routed to every cell
     their fixes' reception radius reaches on every day they last; each cell task lists
     the other vessels its positions show near them, and the distinct (dark period,
     vessel) pairs of all tasks are counted;
   - unlisted stops: the stays (events) in groups of 1-degree cells joined by the
     cluster radius, DBSCAN per group (a task each when there are several);
   - ``imo_on_several_mmsi`` from the IMO spells of every MMSI (one row per spell); the
     ranking's IsolationForest over one row per vessel; round trips and alerts over the
     events.
5. **files**: ``positions.parquet`` and ``statics.parquet`` are written by the client
   from the partitions, a range of MMSIs at a time, in the local engine's row order.

Figures, claims and watchlists never read every position back: the figures read the
per-vessel counts and times the partitions send and the drawn vessels' rows
(``PartitionWriter.positions_of``); claims each vessel's last time, the claimed vessels'
rows and, for the reception caveats, one partition at a time
(``shadowfleet.claims.caveats.PartitionedReception``); watchlists the rows of the vessels
a list can match. They read the statics back (names, identities: a few rows per vessel).
Only ``keep_frames`` (the trajectories) reads the cleaned positions back into the client.

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

from shadowfleet.scale.cluster import dask_scheduler
from shadowfleet.scale.engine import analyse_dask, read_inputs_dask
from shadowfleet.scale.partitions import partition_of
from shadowfleet.scale.writer import PartitionWriter

__all__ = ["PartitionWriter", "analyse_dask", "dask_scheduler", "partition_of",
           "read_inputs_dask"]
