"""What one scheduled ``job`` run costs as the state grows (DESIGN.md, "Scale").

A job keeps per-vessel tails (:mod:`shadowfleet.job_tails`): a run analyses every
vessel's last ``tail_hours`` and its open events plus the new data, and the positions
that leave the tails go to the state's archive, which an ordinary run does not read. This
builds a state a few days at a time (``--build-days`` per run, through the job's own
``accumulate`` / ``analyse_state`` / ``commit_state``), and when the positions kept reach
each of ``--sizes`` it times one run that adds ``--new-minutes`` of data: load the
committed state, analyse, commit the next generation, write the outputs.

The anchor, measured in the same run at the first size only (it grows with the data):
the design before tails, one ``pipeline.analyse`` of every position kept, which is what
each run used to cost.

    python benchmarks/job_reanalysis.py [--sizes 1000000,5000000,20000000] [--vessels 500] [--interval-s 120] [--build-days 4] [--claims] [--late HOURS] [--profile N]

``--claims``: the timed runs evaluate every bundled claim (the ships they name by IMO
stood in for by synthetic vessels, by MMSI) and a watchlist of three vessels, as a job
with ``--claims`` and ``--watchlist`` does: they read the archive only for the claimed and
listed vessels' rows and the chunks a reception caveat's dark period overlaps
(``shadowfleet.job_state.KeptPositions``; a claim only the rows its window consults), and
the rows read by claims and by the watchlist are printed apart. The state is built
without them either way, but with the pairs of interest their claims add (Najin and
Vostochny), as a job that always runs with the same claims: the alerts' scores read
those ports, so the state's settled alerts are those the timed runs reuse. ``--profile N``: the N functions of each timed run with the most
cumulative time (cProfile).

``--late HOURS``: each timed run also gets a late file: ``--new-minutes`` of positions of
``--late-vessels`` further vessels (MMSIs of their own at each timed run, on the same
tracks) that end
HOURS before the new data starts, so older than the tails' horizon when HOURS is more
than the tails' length (24 h by default). The run re-analyses from the late data's time
on (``shadowfleet.job_tails.rewind``); a version before it re-analysed everything.

Synthetic tracks: ``--vessels`` vessels between Najin, Dunay and the open sea, one
position every 2 minutes (``--interval-s``), each on a 60-hour cycle: 36 h at a stop (one of
them at sea, each vessel at its own spot there: loitering, stays, a few encounters), 24 h sailing with 8 h dark in the middle. The events,
and so the alerts, grow with the data (one dark period, visit or loitering per vessel
every 60 h); no static reports, so the statics the state keeps whole stay empty.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ais  # noqa: E402
import ais.schema as schema  # noqa: E402
from shadowfleet.job import Analysis, accumulate, analyse_state, write_outputs  # noqa: E402
from shadowfleet.job_state import JobState, commit_state, load_state  # noqa: E402

T0 = pd.Timestamp("2023-09-01T00:00:00Z").value // 10**9
STOPS = np.array([[42.235, 130.305], [42.885, 132.355], [42.55, 131.30], [42.75, 133.06]])
SEA = 2         # the stop at sea
STEP_S = 120    # seconds between a vessel's positions (--interval-s changes it)


def synthetic_positions(k0: int, steps: int, vessels: int, seed: int = 0) -> pd.DataFrame:
    """Positions of time steps ``k0 .. k0 + steps - 1`` (``STEP_S`` each) of every vessel."""
    rng = np.random.default_rng(seed + k0)
    mmsi = np.repeat(273000000 + np.arange(vessels, dtype=np.int64), steps)
    k = np.tile(np.arange(k0, k0 + steps), vessels)
    n = len(k)
    # each vessel cycles between stops: 36 h at a stop, 24 h sailing; 8 h dark in the middle
    phase = (k * STEP_S + (mmsi % 97) * 3600) % (60 * 3600)
    leg = ((k * STEP_S + (mmsi % 97) * 3600) // (60 * 3600) + mmsi) % len(STOPS)
    a, b = STOPS[leg].copy(), STOPS[(leg + 1) % len(STOPS)].copy()
    # at the stop at sea each vessel has its own spot (within about 10 km): ships meet
    # there now and then, not every ship with every other
    spot = np.c_[(mmsi * 7919) % 200 - 100, (mmsi * 104729) % 200 - 100] * 0.0005
    a[leg == SEA] += spot[leg == SEA]
    nxt = (leg + 1) % len(STOPS)
    b[nxt == SEA] += spot[nxt == SEA]
    f = np.clip((phase - 36 * 3600) / (24 * 3600), 0, 1)[:, None]
    pos = a + (b - a) * f + rng.normal(0, 0.002, (n, 2))
    keep = ~((phase > 44 * 3600) & (phase < 52 * 3600))
    t = T0 + k * STEP_S + rng.integers(0, max(1, STEP_S // 20), n)
    frame = pd.DataFrame({
        "mmsi": mmsi, "timestamp": pd.to_datetime(t, unit="s", utc=True).astype("datetime64[ns, UTC]"),
        "lat": pos[:, 0], "lon": pos[:, 1], "sog": np.where(f[:, 0] > 0, 11.0, 0.1),
        "cog": 90.0, "heading": np.nan, "msg_type": 1, "source": "bench.nmea",
        "line": np.arange(1, n + 1)})[keep]
    return schema.sort_by_vessel_time(schema.conform(frame, schema.POSITION_COLUMNS,
                                                     schema.POSITION_DTYPES))


def batch(k0: int, steps: int, vessels: int) -> ais.Decoded:
    positions = synthetic_positions(k0, steps, vessels)
    return ais.Decoded(positions, counts={"messages": len(positions),
                                          "lines_read": len(positions)})


STAND_INS = {9179842: 273000000, 8517839: 273000001, 9161003: 273000002}


def claims_analysis(folder: Path) -> Analysis:
    """Every bundled claim, the ships named by IMO stood in for by synthetic vessels (by
    MMSI: the synthetic feed has no static reports), and a watchlist of three vessels."""
    from shadowfleet.claims import bundled_claims

    claims = []
    for claim in bundled_claims():
        named = [STAND_INS[i] for i in claim.vessels.imo if i in STAND_INS]
        if named:
            claim = dataclasses.replace(claim, vessels=dataclasses.replace(
                claim.vessels, imo=(), mmsi=tuple(named)), labels=())
        claims.append(claim)
    watchlist = folder / "watchlist.csv"
    watchlist.write_text("list,imo,mmsi,name\nEU,,273000003,\nUK,,273000004,\n"
                         "US,,273000005,\n", encoding="utf-8")
    return Analysis.load(pairs=(("Najin", "Dunay"),), claims=claims, watchlists=[watchlist])


_READERS: list = []       # every KeptPositions made (what claims read of the archive)
_CHUNK_ROWS = [0]         # rows read_archive returned (whole chunks, or windows of them)


def _count_archive_reads() -> None:
    """Record each ``KeptPositions`` made from now on in ``_READERS`` (a version
    without it reads the whole archive and records nothing)."""
    import shadowfleet.job_state as job_state

    whole = job_state.read_archive

    def read_archive(*args, **kwargs):
        out = whole(*args, **kwargs)
        _CHUNK_ROWS[0] += len(out)
        return out

    job_state.read_archive = read_archive
    cls = getattr(job_state, "KeptPositions", None)
    if cls is None:
        return
    init = cls.__init__

    def kept(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.read_s = 0.0
        _READERS.append(self)

    def timed(method):
        def run(self, *args, **kwargs):
            t = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                self.read_s += time.perf_counter() - t
        return run

    def timed_parts(method):
        def run(self, *args, **kwargs):
            parts = method(self, *args, **kwargs)
            while True:
                t = time.perf_counter()
                try:
                    frame = next(parts)
                except StopIteration:
                    return
                finally:
                    self.read_s += time.perf_counter() - t
                yield frame
        return run

    def split(method):
        def run(self, *args, **kwargs):
            before = self.rows_read["positions"]
            try:
                return method(self, *args, **kwargs)
            finally:
                key = "claims" if kwargs.get("window") is not None else "others"
                self.split_rows[key] += self.rows_read["positions"] - before
        return run

    def kept_split(self, *args, **kwargs):
        kept(self, *args, **kwargs)
        self.split_rows = {"claims": 0, "others": 0}

    cls.__init__ = kept_split
    cls.positions_of = split(cls.positions_of)
    for name in ("positions_of", "last_seen", "reception_size"):
        setattr(cls, name, timed(getattr(cls, name)))
    cls.each_partition = timed_parts(cls.each_partition)


def one_run(state_dir: Path, new: ais.Decoded, analysis: Analysis) -> dict:
    """A run as ``job`` makes it, timed phase by phase (and its CPU time; the archived
    rows its claims and watchlists read)."""
    first = len(_READERS)
    chunk_rows = _CHUNK_ROWS[0]
    cpu = time.process_time()
    t = time.perf_counter()
    state = load_state(state_dir)
    load = time.perf_counter() - t
    t = time.perf_counter()
    state = accumulate(state, [new])
    result, update, state = analyse_state(state, analysis, state_dir=state_dir)
    analyse_s = time.perf_counter() - t
    t = time.perf_counter()
    state = commit_state(state_dir, dataclasses.replace(state, book=update.book))
    commit = time.perf_counter() - t
    t = time.perf_counter()
    write_outputs(state_dir.parent / "out", result, update, figures=False)
    write = time.perf_counter() - t
    return {"load": load, "analyse": analyse_s, "commit": commit, "outputs": write,
            "cpu": time.process_time() - cpu,
            "read": sum(m.rows_read["positions"] + m.rows_read.get("late", 0) + m.rows_scanned
                        for m in _READERS[first:]),
            "read_s": sum(m.read_s for m in _READERS[first:]),
            "split": [sum(m.split_rows["claims"] for m in _READERS[first:]),
                      sum(m.split_rows["others"] for m in _READERS[first:]),
                      sum(m.rows_scanned for m in _READERS[first:])],
            "chunk_rows": _CHUNK_ROWS[0] - chunk_rows,
            "late": sum(m.rows_read.get("late", 0) for m in _READERS[first:]),
            "kept": int(state.stats["positions"]), "tails": len(state.positions),
            "alerts": len(update.book)}


def anchor(state_dir: Path, analysis: Analysis) -> float:
    """The design before tails: one analysis of every position kept (archive and tails)."""
    from shadowfleet.job_state import read_archive
    from shadowfleet.pipeline import analyse

    state = load_state(state_dir)
    everything = pd.concat([read_archive(state_dir, state.archive)[list(schema.POSITION_COLUMNS)],
                            state.positions], ignore_index=True)
    decoded = ais.Decoded(schema.sort_by_vessel_time(everything))
    t = time.perf_counter()
    analyse(decoded, registry=analysis.registry, params=analysis.settings,
            pairs=list(analysis.pairs))
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,5000000,20000000")
    parser.add_argument("--vessels", type=int, default=500)
    parser.add_argument("--interval-s", type=int, default=120,
                        help="seconds between a vessel's positions")
    parser.add_argument("--build-days", type=int, default=4,
                        help="days of data each run that builds the state adds")
    parser.add_argument("--new-minutes", type=int, default=60,
                        help="data each timed run adds (minutes of every vessel)")
    parser.add_argument("--claims", action="store_true",
                        help="timed runs with every bundled claim and a watchlist")
    parser.add_argument("--late", type=float, default=None, metavar="HOURS",
                        help="each timed run also gets a file of positions ending HOURS "
                             "before its new data")
    parser.add_argument("--late-vessels", type=int, default=20,
                        help="vessels in the late file (with MMSIs of their own)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N functions of each timed run with the most "
                             "cumulative time (cProfile)")
    args = parser.parse_args()
    _count_archive_reads()
    global STEP_S
    STEP_S = args.interval_s
    sizes = [int(s) for s in args.sizes.split(",")]
    analysis = Analysis.load(pairs=(("Najin", "Dunay"),))
    day = 24 * 3600 // STEP_S
    new_steps = max(1, args.new_minutes * 60 // STEP_S)
    print(f"{args.vessels} vessels; each timed run adds {args.new_minutes} min of data "
          f"(~{args.vessels * new_steps} positions)"
          + ("; timed runs with every bundled claim and a watchlist" if args.claims else "")
          + (f"; and a late file of {args.late_vessels} vessels ending {args.late:g} h "
             "before the new data" if args.late is not None else ""),
          flush=True)
    print(f"{'kept':>11} {'in tails':>9} {'load s':>7} {'analyse s':>9} {'commit s':>8} "
          f"{'outputs s':>9} {'run s':>6} {'cpu s':>6} {'alerts':>7} {'run/anchor':>10} "
          f"{'archive rows read':>17} {'reading them s':>14}",
          flush=True)
    anchor_s = None
    with tempfile.TemporaryDirectory() as tmp:
        timed = claims_analysis(Path(tmp)) if args.claims else analysis
        if args.claims:     # the pairs the claims add: the ports of interest of the runs
            from shadowfleet.pipeline import _resolve_pairs

            analysis = Analysis.load(pairs=tuple(_resolve_pairs(
                timed.registry, list(timed.settings.pairs) + list(timed.pairs),
                list(timed.claims))))
        state_dir = Path(tmp) / "state"
        state_dir.mkdir()
        commit_state(state_dir, JobState())
        k = 0
        built = 0.0
        for size in sizes:
            kept = int(load_state(state_dir).stats.get("positions", 0))
            while kept < size:
                t = time.perf_counter()
                steps = args.build_days * day
                state = accumulate(load_state(state_dir), [batch(k, steps, args.vessels)])
                _, update, state = analyse_state(state, analysis, state_dir=state_dir)
                commit_state(state_dir, dataclasses.replace(state, book=update.book))
                built += time.perf_counter() - t
                k += steps
                kept = int(state.stats["positions"])
            if anchor_s is None:
                anchor_s = anchor(state_dir, analysis)
                print(f"anchor: one analysis of all {kept:,} positions kept (the design "
                      f"before tails) {anchor_s:.2f} s", flush=True)
            new = batch(k, new_steps, args.vessels)
            if args.late is not None:
                back = int(args.late * 3600 // STEP_S) + new_steps
                extra = synthetic_positions(k - back, new_steps, args.late_vessels, seed=1)
                # vessels of their own at each timed run (the same ones again would be
                # dark since the last timed run: a long dark period's own archive read)
                extra["mmsi"] += 1_000_000 + 1_000 * sizes.index(size)
                new = ais.Decoded(schema.sort_by_vessel_time(pd.concat(
                    [new.positions, extra], ignore_index=True)),
                    counts={"messages": len(new.positions) + len(extra),
                            "lines_read": len(new.positions) + len(extra)})
            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                r = profiler.runcall(one_run, state_dir, new, timed)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.profile)
            else:
                r = one_run(state_dir, new, timed)
            k += new_steps
            run = r["load"] + r["analyse"] + r["commit"] + r["outputs"]
            print(f"{r['kept']:>11,} {r['tails']:>9,} {r['load']:>7.2f} {r['analyse']:>9.2f} "
                  f"{r['commit']:>8.2f} {r['outputs']:>9.2f} {run:>6.2f} {r['cpu']:>6.2f} "
                  f"{r['alerts']:>7} {run / anchor_s:>10.2f} {r['read']:>17,} "
                  f"{r['read_s']:>14.2f}", flush=True)
            if args.late is not None:
                print(f"{'':>11} archive rows read for the late file: "
                      f"{r['late']:,} (the vessels' rows it rewinds), "
                      f"{r['chunk_rows']:,} more returned by read_archive (whole chunks, "
                      f"dark periods' windows)", flush=True)
            if args.claims:
                c, o, sc = r["split"]
                print(f"{'':>11} archive rows read: {c:,} by claims (positions_of with a "
                      f"window), {o:,} by other positions_of calls (watchlists, no window), "
                      f"{sc:,} scanned for reception caveats", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"building the state: {built:.1f} s in runs of {args.build_days} days; peak RSS "
          f"{peak:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
