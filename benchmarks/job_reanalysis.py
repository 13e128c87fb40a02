"""How long a scheduled ``job`` run takes as its state grows.

Each ``job`` run re-analyses everything kept (the simplest exact design, see
``shadowfleet.job``); this measures, for states of growing size, the three costs of a run
that does not depend on the size of the new files: load the committed state, re-analyse
it (every detector, the alert book), commit the next generation, write the outputs. The anchor, measured in
the same run, is reading the state's positions back from Parquet alone (the least any
design that keeps the positions must pay).

    python benchmarks/job_reanalysis.py [--sizes 10000,100000,1000000] [--vessels 200]

Synthetic tracks: ``--vessels`` vessels between Najin, Dunay and the open sea, one
position every 10 minutes, each switching off for 8 hours now and then.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ais  # noqa: E402
import ais.schema as schema  # noqa: E402
from shadowfleet.job import Analysis, analyse_state, write_outputs  # noqa: E402
from shadowfleet.job_state import JobState, commit_state, load_state  # noqa: E402

T0 = pd.Timestamp("2023-09-01T00:00:00Z").value // 10**9
STOPS = np.array([[42.235, 130.305], [42.885, 132.355], [42.55, 131.30], [42.75, 133.06]])


def synthetic_positions(n: int, vessels: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    per = max(2, n // vessels)
    mmsi = np.repeat(273000000 + np.arange(vessels, dtype=np.int64), per)[:n]
    k = np.tile(np.arange(per), vessels)[:n]
    # each vessel cycles between stops: 36 h at a stop, 24 h sailing; 8 h dark in the middle
    phase = (k * 600 + (mmsi % 97) * 3600) % (60 * 3600)
    leg = ((k * 600 + (mmsi % 97) * 3600) // (60 * 3600) + mmsi) % len(STOPS)
    a, b = STOPS[leg], STOPS[(leg + 1) % len(STOPS)]
    f = np.clip((phase - 36 * 3600) / (24 * 3600), 0, 1)[:, None]
    pos = a + (b - a) * f + rng.normal(0, 0.002, (n, 2))
    keep = ~((phase > 44 * 3600) & (phase < 52 * 3600))
    t = T0 + k * 600 + rng.integers(0, 30, n)
    frame = pd.DataFrame({
        "mmsi": mmsi, "timestamp": pd.to_datetime(t, unit="s", utc=True).astype("datetime64[ns, UTC]"),
        "lat": pos[:, 0], "lon": pos[:, 1], "sog": np.where(f[:, 0] > 0, 11.0, 0.1),
        "cog": 90.0, "heading": np.nan, "msg_type": 1, "source": "bench.nmea",
        "line": np.arange(1, n + 1)})[keep]
    return schema.sort_by_vessel_time(schema.conform(frame, schema.POSITION_COLUMNS,
                                                     schema.POSITION_DTYPES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--vessels", type=int, default=200)
    args = parser.parse_args()
    analysis = Analysis.load(pairs=(("Najin", "Dunay"),))
    # warm numba's cache and imports
    analyse_state(JobState(positions=synthetic_positions(2000, 10)), analysis)
    print(f"{'positions':>10} {'load s':>8} {'analyse s':>10} {'commit s':>9} {'outputs s':>9} "
          f"{'anchor s':>9} {'run/anchor':>10} {'alerts':>7}")
    for n in (int(s) for s in args.sizes.split(",")):
        positions = synthetic_positions(n, args.vessels)
        with tempfile.TemporaryDirectory() as tmp:
            commit_state(tmp, JobState(positions=positions))
            t = time.perf_counter()
            pd.read_parquet(Path(tmp) / "gen-00000001" / "positions.parquet")
            anchor = time.perf_counter() - t
            t = time.perf_counter()
            state = load_state(tmp)
            load = time.perf_counter() - t
            t = time.perf_counter()
            result, update = analyse_state(state, analysis)
            analyse_s = time.perf_counter() - t
            t = time.perf_counter()
            commit_state(tmp, state)
            commit = time.perf_counter() - t
            t = time.perf_counter()
            write_outputs(Path(tmp) / "out", result, update, figures=False)
            write = time.perf_counter() - t
        run = load + analyse_s + commit + write
        print(f"{len(positions):>10} {load:>8.2f} {analyse_s:>10.2f} {commit:>9.2f} {write:>9.2f} "
              f"{anchor:>9.3f} {run / anchor:>10.1f} {len(update.book):>7}", flush=True)


if __name__ == "__main__":
    main()
