"""Detector throughput against movingpandas on the same synthetic feed, same run.

The feed: ``--vessels`` ships shuttling between random pairs of the bundled ports,
reporting every 2-4 minutes, dwelling in port (jitter inside the polygon), crossing at
sea on a straight line and going dark now and then for 7-30 hours; about
``--positions`` rows in all (default 1,000,000).

Both sides do the same two jobs on the same rows:

- shadowfleet: the dark-period gap kernel (:func:`detectors._dark_periods_kernel.find_gaps`,
  gaps over ``gap_hours``) and the port-visit state machine with point-in-polygon for
  every position (:func:`detectors.port_visits.find_port_visits`);
- movingpandas: ``ObservationGapSplitter(...).split(gap=gap_hours)`` and, for every
  resulting trajectory and every port polygon, ``Trajectory.clip(polygon,
  point_based=True)``.

Building the movingpandas ``TrajectoryCollection`` (GeoDataFrame, points) is timed
separately and not counted against it. numba kernels are compiled (or loaded from the
cache) on a small warm-up feed first. With ``--mp-vessels K`` movingpandas runs on the
first K vessels only and its time is scaled by rows (printed as such): use it only
when the full run would not finish.

Measured on a shared two-core machine (22 Nov 2026, 1,000,000 positions, 400 vessels):
shadowfleet 0.18 s, movingpandas 439 s (plus 6 s to build its collection): 2384x.

Run: ``python benchmarks/detect.py`` (movingpandas takes several minutes), or
``python benchmarks/detect.py --positions 200000`` for a quick look.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ais.schema import vessel_offsets  # noqa: E402
from detectors._dark_periods_kernel import find_gaps  # noqa: E402
from detectors._frames import epoch_seconds  # noqa: E402
from detectors.port_visits import PortVisitParams, find_port_visits  # noqa: E402
from ports import load_ports  # noqa: E402

T0 = pd.Timestamp("2023-08-15T00:00:00Z")


def synthetic_feed(registry, n_positions: int, n_vessels: int, seed: int) -> pd.DataFrame:
    """Positions frame (mmsi, timestamp, lat, lon, source, line) sorted by vessel, time."""
    rng = np.random.default_rng(seed)
    bbox = registry.arrays[5]
    first_poly = registry.arrays[4][:-1]
    centres = np.c_[(bbox[first_poly, 1] + bbox[first_poly, 3]) / 2,
                    (bbox[first_poly, 0] + bbox[first_poly, 2]) / 2]
    per_vessel = n_positions // n_vessels
    mmsi_parts, t_parts, lat_parts, lon_parts = [], [], [], []
    for v in range(n_vessels):
        a, b = rng.choice(len(centres), 2, replace=False)
        lat, lon, dt = [], [], []
        here, there = a, b
        while len(lat) < per_vessel:
            n_dwell = int(rng.integers(20, 120))
            lat.extend(centres[here, 0] + rng.normal(0, 0.003, n_dwell))
            lon.extend(centres[here, 1] + rng.normal(0, 0.003, n_dwell))
            dt.extend(rng.uniform(120, 240, n_dwell))
            n_sea = int(rng.integers(100, 300))
            f = np.linspace(0, 1, n_sea + 2)[1:-1]
            lat.extend(centres[here, 0] + f * (centres[there, 0] - centres[here, 0]) + 0.05)
            lon.extend(centres[here, 1] + f * (centres[there, 1] - centres[here, 1]))
            step = rng.uniform(120, 240, n_sea)
            if rng.random() < 0.3:   # goes dark somewhere on the crossing
                step[int(rng.integers(0, n_sea))] = rng.uniform(7, 30) * 3600
            dt.extend(step)
            here, there = there, here
        lat_parts.append(np.asarray(lat[:per_vessel]))
        lon_parts.append(np.asarray(lon[:per_vessel]))
        t_parts.append(np.cumsum(dt[:per_vessel]))
        mmsi_parts.append(np.full(per_vessel, 273000000 + v, dtype=np.int64))
    t = np.concatenate(t_parts)
    return pd.DataFrame({
        "mmsi": np.concatenate(mmsi_parts),
        "timestamp": T0 + pd.to_timedelta(np.round(t * 1e9).astype("int64"), unit="ns"),
        "lat": np.concatenate(lat_parts), "lon": np.concatenate(lon_parts),
        "source": "synthetic", "line": np.arange(len(t), dtype=np.int64)})


def run_shadowfleet(positions: pd.DataFrame, registry, gap_hours: float):
    t = epoch_seconds(positions["timestamp"])
    offsets = vessel_offsets(positions["mmsi"].to_numpy())
    gi, gj = find_gaps(t, offsets, gap_hours * 3600.0, float(t.max()))
    visits = find_port_visits(positions, registry, PortVisitParams(gap_hours=gap_hours))
    return int((gj >= 0).sum()), len(visits)


def build_collection(positions: pd.DataFrame):
    import geopandas as gpd
    import movingpandas as mpd

    gdf = gpd.GeoDataFrame(
        {"mmsi": positions["mmsi"].to_numpy(),
         "t": positions["timestamp"].dt.tz_localize(None).to_numpy()},
        geometry=gpd.points_from_xy(positions["lon"], positions["lat"]), crs="EPSG:4326")
    return mpd.TrajectoryCollection(gdf, "mmsi", t="t")


def run_movingpandas(collection, registry, gap_hours: float):
    import movingpandas as mpd
    import shapely

    polygons = [shapely.geometry.shape(f["geometry"])
                for f in registry.to_geojson()["features"]]
    split = mpd.ObservationGapSplitter(collection).split(gap=timedelta(hours=gap_hours))
    n_clipped = 0
    for traj in split.trajectories:
        for poly in polygons:
            n_clipped += len(traj.clip(poly, point_based=True).trajectories)
    return len(split.trajectories), n_clipped


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--vessels", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gap-hours", type=float, default=6.0)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of the shadowfleet side; the fastest counts (shared machines)")
    ap.add_argument("--mp-vessels", type=int, default=0,
                    help="run movingpandas on the first K vessels only and scale by rows")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)

    registry = load_ports()
    positions = synthetic_feed(registry, args.positions, args.vessels, args.seed)
    print(f"feed: {len(positions):,} positions, {positions.mmsi.nunique()} vessels, "
          f"{len(registry.names)} ports")

    run_shadowfleet(positions.iloc[:5000], registry, args.gap_hours)      # compile / load
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        n_gaps, n_visits = run_shadowfleet(positions, registry, args.gap_hours)
        times.append(time.perf_counter() - t0)
    ours = min(times)
    print(f"shadowfleet  gaps + port visits: {ours:8.3f} s  best of {args.repeat} "
          f"({n_gaps} closed gaps, "
          f"{n_visits} visits, {len(positions) / ours / 1e6:.1f} M positions/s)")

    mp_rows = positions
    if args.mp_vessels:
        keep = np.unique(positions.mmsi)[: args.mp_vessels]
        mp_rows = positions[positions.mmsi.isin(keep)]
    t0 = time.perf_counter()
    collection = build_collection(mp_rows)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_traj, n_clipped = run_movingpandas(collection, registry, args.gap_hours)
    theirs = time.perf_counter() - t0
    scale = len(positions) / len(mp_rows)
    note = f" (on {len(mp_rows):,} rows, x{scale:.1f} scaled)" if scale != 1 else ""
    print(f"movingpandas split + clip:       {theirs * scale:8.3f} s{note}  "
          f"({n_traj} trajectories, {n_clipped} clipped segments; "
          f"building the collection took {build:.1f} s more)")
    print(f"ratio movingpandas / shadowfleet: {theirs * scale / ours:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
