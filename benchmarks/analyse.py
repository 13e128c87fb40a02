"""Time of the whole analysis (``shadowfleet.pipeline.analyse``: track split, cleaning,
every detector, identity anomalies, alerts) on already decoded frames, so the decoder's
time does not hide the detectors'.

Two feeds:

- the bundled demo feed (``shadowfleet demo``'s, decoded once before timing);
- the synthetic feed of ``benchmarks/detect.py`` (``--positions`` rows of ``--vessels``
  ships shuttling between the bundled ports, dark now and then), with one static report
  per vessel and hour; no MMSI in it is shared, so the track split finds nothing and
  what it costs is the price every unshared MMSI pays.

Each is analysed ``--repeat`` times after a warm-up (numba compile or cache load); the
fastest counts (the machine is shared). ``--split`` also times the identity step alone
(:func:`shadowfleet.pipeline.identify`: the track split, the labelling of the rows and
the identity anomalies) and, within it, the track split
(:func:`detectors.identity_tracks.split_tracks`) on the same frames: the rest of the
analysis is the detectors after it, working per (mmsi, track).

Run: ``python benchmarks/analyse.py`` (1,000,000 synthetic positions), or
``python benchmarks/analyse.py --positions 200000`` for a quick look.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import ais  # noqa: E402
from benchmarks.detect import synthetic_feed  # noqa: E402
from ports import load_ports  # noqa: E402


def synthetic_decoded(registry, n_positions: int, n_vessels: int, seed: int) -> ais.Decoded:
    """The synthetic positions of ``benchmarks/detect.py`` with one static report per
    vessel and hour (name and IMO constant), as ``ais`` would deliver them."""
    pos = synthetic_feed(registry, n_positions, n_vessels, seed)
    pos = pos.assign(sog=np.nan, cog=np.nan, heading=np.nan, msg_type=1)
    pos = ais.schema.conform(pos, ais.POSITION_COLUMNS, ais.schema.POSITION_DTYPES)
    hourly = pos.groupby(["mmsi", pos["timestamp"].dt.floor("h")], sort=True).head(1)
    statics = pd.DataFrame({
        "mmsi": hourly["mmsi"].to_numpy(), "timestamp": hourly["timestamp"].to_numpy(),
        "imo": np.nan, "name": [f"SHIP {m % 100000}" for m in hourly["mmsi"]],
        "callsign": "", "ship_type": 70.0, "msg_type": 5, "source": "synthetic", "line": 0})
    statics = ais.schema.conform(statics, ais.STATIC_COLUMNS, ais.schema.STATIC_DTYPES)
    return ais.Decoded(pos.reset_index(drop=True), statics.reset_index(drop=True))


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--vessels", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--split", action="store_true", help="also time the track split alone")
    args = ap.parse_args(argv)

    from shadowfleet.demo import bundled_feed
    from shadowfleet.pipeline import analyse

    registry = load_ports()
    feeds = [("demo feed", ais.read_inputs([bundled_feed()], progress=False)),
             ("synthetic", synthetic_decoded(registry, args.positions, args.vessels,
                                             args.seed))]
    for label, decoded in feeds:
        analyse(decoded, registry=registry)                   # compile / load the cache
        seconds, result = best_of(args.repeat, lambda: analyse(decoded, registry=registry))
        n = len(decoded.positions)
        print(f"{label}: {n:,} positions, {decoded.positions['mmsi'].nunique()} vessels: "
              f"analyse {seconds:.3f} s best of {args.repeat} "
              f"({len(result.port_visits)} visits, {len(result.dark_periods)} dark periods, "
              f"{len(result.alerts)} alerts)")
        if args.split:
            from detectors.identity_tracks import split_tracks
            from shadowfleet.config import Settings
            from shadowfleet.pipeline import identify

            settings = Settings.defaults()
            step, ident = best_of(args.repeat, lambda: identify(decoded, settings))
            split, _ = best_of(args.repeat, lambda: split_tracks(decoded.positions))
            print(f"{label}: identity step {step:.3f} s, of which split_tracks {split:.3f} s "
                  f"({len(ident.table)} identity anomalies, "
                  f"{ident.tracks['mmsi'].nunique()} shared MMSIs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
