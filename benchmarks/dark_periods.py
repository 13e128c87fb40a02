"""Cleaning and dark periods (with the reception check) against a plain numpy scan.

The feed is :func:`benchmarks.detect.synthetic_feed` (ships shuttling between the bundled
ports, reporting every 2-4 minutes, going dark now and then), ``--positions`` rows
(default 1,000,000). Timed, after a warm-up that compiles or loads the numba kernels:

- shadowfleet: :func:`detectors.cleaning.clean_positions` and the whole
  :func:`detectors.dark_periods.find_dark_periods` (gaps, reception index and
  ``others_received``, reachable ports, the table);
- anchor: ``others_received`` done the obvious vectorised way, for each dark period a
  numpy mask over every position (time window, other vessel, haversine to either fix),
  on ``--sample`` dark periods and scaled to all of them. Its counts are checked against
  the detector's on that sample.

Run: ``python benchmarks/dark_periods.py`` or ``--positions 200000`` for a quick look.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from detect import synthetic_feed  # noqa: E402
from detectors.cleaning import clean_positions  # noqa: E402
from detectors.dark_periods import DarkPeriodParams, find_dark_periods  # noqa: E402
from ports import load_ports  # noqa: E402

R_NM = 6371.0088 / 1.852


def numpy_others(pos, gaps, radius_nm: float) -> np.ndarray:
    t = pos["timestamp"].astype("int64").to_numpy() / 1e9
    lat = np.radians(pos["lat"].to_numpy())
    lon = np.radians(pos["lon"].to_numpy())
    mmsi = pos["mmsi"].to_numpy()
    end = t.max()
    out = []
    for g in gaps.itertuples(index=False):
        t0 = g.start_utc.value / 1e9
        t1 = end if g.open else g.end_utc.value / 1e9
        when = (t > t0) & ((t <= t1) if g.open else (t < t1)) & (mmsi != g.mmsi)
        near = np.zeros(len(t), dtype=bool)
        for la, lo in ((g.start_lat, g.start_lon), (g.end_lat, g.end_lon)):
            if np.isnan(la):
                continue
            p1, l1 = np.radians(la), np.radians(lo)
            s = (np.sin((lat[when] - p1) / 2) ** 2
                 + np.cos(p1) * np.cos(lat[when]) * np.sin((lon[when] - l1) / 2) ** 2)
            d = 2 * R_NM * np.arcsin(np.sqrt(np.minimum(s, 1.0)))
            near[np.flatnonzero(when)[d <= radius_nm]] = True
        out.append(len(np.unique(mmsi[near])))
    return np.asarray(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--positions", type=int, default=1_000_000)
    ap.add_argument("--vessels", type=int, default=500)
    ap.add_argument("--sample", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    registry = load_ports()
    params = DarkPeriodParams()
    warm = synthetic_feed(registry, 20_000, 20, 1)
    find_dark_periods(clean_positions(warm)[0], registry, params)

    feed = synthetic_feed(registry, args.positions, args.vessels, args.seed)
    a = time.perf_counter()
    pos, jumps = clean_positions(feed)
    b = time.perf_counter()
    gaps = find_dark_periods(pos, registry, params)
    c = time.perf_counter()
    print(f"{len(feed):,} positions, {feed['mmsi'].nunique()} vessels")
    print(f"clean_positions     {b - a:7.2f} s  ({len(jumps)} spoofing jumps)")
    print(f"find_dark_periods   {c - b:7.2f} s  ({len(gaps)} dark periods, "
          f"others_received mean {gaps['others_received'].mean():.1f})")

    usable = pos[~pos["spoofed"]]
    sample = gaps.sample(n=min(args.sample, len(gaps)), random_state=0)
    d = time.perf_counter()
    expected = numpy_others(usable, sample, params.reception_radius_nm)
    e = time.perf_counter()
    agree = bool((expected == sample["others_received"].to_numpy()).all())
    scaled = (e - d) * len(gaps) / max(len(sample), 1)
    print(f"numpy scan          {scaled:7.2f} s  (measured {e - d:.2f} s on {len(sample)} "
          f"dark periods, scaled; counts agree: {agree})")
    print(f"ratio (numpy scan / find_dark_periods): {scaled / (c - b):.1f}x")


if __name__ == "__main__":
    main()
