"""Encounters on >= 1M positions of 1,000 vessels against the all-pairs references.

The feed (:func:`synthetic_fleet`): ``--vessels`` (1,000) vessels over ``--days`` (7)
in the sea around the bundled ports, a fix every 4-13 minutes (about 1,050 per
vessel) and now and then a silence of 1-3 hours. About half sail between random
waypoints at 8-14 knots; the others lie at random spots for 6-30 hours and move on at 8
knots. ``--meetings`` (60) pairs of the slow ones are planted in a meeting at sea, 3 to
6 hours within 50-300 m of each other, at least 8 nm from any port, received every 7-13
minutes from an hour before to an hour after.

Timed in the same run, after a warm-up that compiles or loads the numba kernels:

- shadowfleet: :func:`detectors.encounters.find_encounters` on the whole feed (grid,
  spatial index, runs, merging, the table), with the bundled port registry;
- the all-pairs reference of the tests (:func:`tests.reference_behaviour.ref_encounters`:
  plain Python, every pair of vessels at every common grid time) on ``--subset`` vessels
  (the vessels of the first planted meetings and others drawn at random). Its grid
  stage is scaled to all vessels in proportion to vessels and its pair stage in
  proportion to pairs: running it on 1,000 vessels (499,500 pairs) would take hours.
  Its encounters are checked against the full run's encounters between the same
  vessels (a pair's encounters do not depend on other vessels);
- the candidate search done the obvious vectorised way: at each grid time, the numpy
  haversine matrix of all vessels present, on ``--steps`` grid times scaled to all of
  them; its close pairs are checked against the spatial index's at those times.

Run: ``python benchmarks/encounters.py`` (about a minute on 2 cores) or
``--vessels 200 --subset 40`` for a quick look.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ais.schema import POSITION_COLUMNS, POSITION_DTYPES  # noqa: E402
from detectors import _encounters_kernel as _k  # noqa: E402
from detectors._behaviour import Rows, away_from_ports  # noqa: E402
from detectors.encounters import EncounterParams, find_encounters  # noqa: E402
from ports import load_ports  # noqa: E402
from tests.reference_behaviour import ref_grids, ref_pair_encounters  # noqa: E402

T0 = 1_693_526_400                       # 2023-09-01T00:00:00Z
BOX = (41.9, 43.0, 130.6, 133.4)         # lat, lat, lon, lon: the sea around the ports
M_PER_DEG = 1852.0 * 60.0
KN = 1852.0 / 3600.0                     # m/s per knot


def _dist_m(la0, lo0, la1, lo1):
    return math.hypot((la1 - la0) * M_PER_DEG,
                      (lo1 - lo0) * M_PER_DEG * math.cos(math.radians((la0 + la1) / 2)))


def synthetic_fleet(registry, n_vessels=1000, days=7.0, n_meetings=60, seed=7):
    """(positions frame, planted meetings as (mmsi_1, mmsi_2, start s, end s))."""
    rng = np.random.default_rng(seed)
    end = T0 + days * 86400

    def spot():
        return rng.uniform(BOX[0], BOX[1]), rng.uniform(BOX[2], BOX[3])

    knots = {}
    slow = []
    for v in range(n_vessels):
        mmsi = 200_000_000 + v * 1013
        t = T0 - 3600.0
        la, lo = spot()
        ks = [(t, la, lo)]
        sailing = rng.random() < 0.5
        while t < end:
            if not sailing:
                t += rng.uniform(6, 30) * 3600
                ks.append((t, la, lo))
            la2, lo2 = spot()
            t += _dist_m(la, lo, la2, lo2) / ((rng.uniform(8, 14) if sailing else 8.0) * KN)
            la, lo = la2, lo2
            ks.append((t, la, lo))
        knots[mmsi] = ks
        if not sailing:
            slow.append(mmsi)
    rng.shuffle(slow)
    meetings = []
    for m in range(min(n_meetings, len(slow) // 2)):
        a, b = slow[2 * m], slow[2 * m + 1]
        while True:
            la, lo = spot()
            if registry.nearest([la], [lo], 8.0)[0][0] < 0:
                break
        start = T0 + 600.0 * rng.integers(6, int((end - T0 - 8 * 3600) / 600))
        stop = start + 600.0 * rng.integers(18, 37)           # 3 to 6 hours
        sep = rng.uniform(50, 300)
        lb, ob = la + sep / M_PER_DEG, lo
        for mmsi, (y, x) in ((a, (la, lo)), (b, (lb, ob))):
            ks = knots[mmsi]
            before = [k for k in ks if k[0] < start - 3 * 3600]
            after = [k for k in ks if k[0] > stop + 3 * 3600]
            knots[mmsi] = before + [(start, y, x), (stop, y, x)] + after
        meetings.append((min(a, b), max(a, b), start, stop))
    window = {m: (s - 3600, e + 3600) for m1, m2, s, e in meetings for m in (m1, m2)}

    mmsis, times, lats, lons = [], [], [], []
    for mmsi, ks in knots.items():
        kt = np.array([k[0] for k in ks])
        dt = rng.uniform(4, 13, int(days * 24 * 6 * 1.5)) * 60
        silent = rng.random(len(dt)) < 0.01
        dt[silent] = rng.uniform(60, 180, silent.sum()) * 60
        t = T0 + np.round(np.cumsum(dt))
        if mmsi in window:     # no silence during a planted meeting: a fix every 7-13 min
            lo, hi = window[mmsi]
            inside = lo + np.cumsum(rng.uniform(7, 13, int((hi - lo) / 420) + 1) * 60)
            t = np.sort(np.r_[t[(t < lo) | (t > hi)], np.round(inside[inside <= hi])])
        t = t[t < end]
        jitter = rng.normal(0, 5, (2, len(t))) / M_PER_DEG
        mmsis.append(np.full(len(t), mmsi, dtype=np.int64))
        times.append(t)
        lats.append(np.interp(t, kt, [k[1] for k in ks]) + jitter[0])
        lons.append(np.interp(t, kt, [k[2] for k in ks]) + jitter[1])
    n = sum(len(t) for t in times)
    frame = pd.DataFrame({
        "mmsi": np.concatenate(mmsis),
        "timestamp": pd.to_datetime(np.concatenate(times).astype(np.int64), unit="s", utc=True),
        "lat": np.concatenate(lats), "lon": np.concatenate(lons),
        "sog": np.nan, "cog": np.nan, "heading": np.nan, "msg_type": 1, "source": "bench",
        "line": np.arange(1, n + 1)})
    frame = frame.astype({c: POSITION_DTYPES[c] for c in POSITION_COLUMNS if c != "timestamp"})
    return frame[list(POSITION_COLUMNS)], meetings


def numpy_all_pairs(gk, glat, glon, gvid, ok, steps, dist_m):
    """Close pairs (vid_a, vid_b, k) at the given grid times from the full haversine
    matrix of all vessels present."""
    out = set()
    r = 6371008.8
    for k in steps:
        sel = np.flatnonzero((gk == k) & ok)
        la = np.radians(glat[sel])[:, None]
        lo = np.radians(glon[sel])[:, None]
        s = (np.sin((la.T - la) / 2) ** 2
             + np.cos(la) * np.cos(la.T) * np.sin((lo.T - lo) / 2) ** 2)
        d = 2 * r * np.arcsin(np.sqrt(np.minimum(s, 1.0)))
        i, j = np.nonzero(np.triu(d <= dist_m, 1))
        out.update(zip(gvid[sel[i]].tolist(), gvid[sel[j]].tolist(), [int(k)] * len(i)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vessels", type=int, default=1000)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--meetings", type=int, default=60)
    ap.add_argument("--subset", type=int, default=80)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    registry = load_ports()
    params = EncounterParams()

    warm, _ = synthetic_fleet(registry, 30, 1.0, 5, seed=1)
    find_encounters(warm, registry, params)

    feed, meetings = synthetic_fleet(registry, args.vessels, args.days, args.meetings, args.seed)
    a = time.perf_counter()
    enc = find_encounters(feed, registry, params)
    b = time.perf_counter()
    fast_s = b - a
    found = sum(any((r.mmsi_1, r.mmsi_2) == (m1, m2) and r.start_utc.value / 1e9 < e
                    and r.end_utc.value / 1e9 > s for r in enc.itertuples())
                for m1, m2, s, e in meetings)
    n_vessels = feed["mmsi"].nunique()
    print(f"{len(feed):,} positions, {n_vessels} vessels, {len(meetings)} planted meetings")
    print(f"find_encounters       {fast_s:8.2f} s  ({len(enc)} encounters, planted found "
          f"{found}/{len(meetings)})")

    # the all-pairs reference on a subset
    rng = np.random.default_rng(0)
    planted = sorted({m for m1, m2, _, _ in meetings[:args.subset // 4] for m in (m1, m2)})
    others = [m for m in rng.permutation(feed["mmsi"].unique()) if m not in planted]
    subset = set(planted) | set(others[:max(args.subset - len(planted), 0)])
    sub = feed[feed["mmsi"].isin(subset)]
    c = time.perf_counter()
    grids = ref_grids(sub)
    d = time.perf_counter()
    ref = ref_pair_encounters(grids, registry)
    e = time.perf_counter()
    n_sub = len(subset)
    pairs_sub = n_sub * (n_sub - 1) / 2
    pairs_all = n_vessels * (n_vessels - 1) / 2
    scaled = (d - c) * n_vessels / n_sub + (e - d) * pairs_all / pairs_sub
    sub_fast_a = time.perf_counter()
    sub_enc = find_encounters(sub, registry, params)
    sub_fast_s = time.perf_counter() - sub_fast_a
    key = lambda m1, m2, s, t: (int(m1), int(m2), int(s), int(t))  # noqa: E731
    ref_set = {key(x["mmsi_1"], x["mmsi_2"], x["start"], x["end"]) for x in ref}
    full_on_sub = {key(r.mmsi_1, r.mmsi_2, r.start_utc.value // 10**9, r.end_utc.value // 10**9)
                   for r in enc.itertuples() if r.mmsi_1 in subset and r.mmsi_2 in subset}
    sub_set = {key(r.mmsi_1, r.mmsi_2, r.start_utc.value // 10**9, r.end_utc.value // 10**9)
               for r in sub_enc.itertuples()}
    print(f"all-pairs reference   {scaled:8.0f} s  (measured {e - c:.1f} s on {n_sub} vessels, "
          f"{int(pairs_sub):,} pairs: grid {d - c:.1f} s scaled x{n_vessels / n_sub:.1f}, "
          f"pairs {e - d:.1f} s scaled x{pairs_all / pairs_sub:.0f})")
    print(f"  same encounters on the {n_sub} vessels: {ref_set == full_on_sub} "
          f"({len(ref_set)} reference, {len(full_on_sub)} from the full run; "
          f"find_encounters on the subset alone {sub_fast_s:.2f} s, agrees: {sub_set == ref_set})")
    print(f"  ratio (reference scaled / find_encounters): {scaled / fast_s:,.0f}x; "
          f"on the subset measured: {(e - c) / sub_fast_s:,.0f}x")

    # the candidate search by numpy distance matrices, all vessels at each grid time
    rows = Rows.of(feed)
    step_s = params.encounter_step_minutes * 60
    gk, glat, glon, goff = _k.resample(rows.t, rows.lat, rows.lon, rows.offsets, step_s, 3600.0)
    gvid = np.repeat(np.arange(len(goff) - 1, dtype=np.int64), np.diff(goff))
    ok = away_from_ports(registry, glat, glon, params.encounter_port_distance_nm)
    f = time.perf_counter()
    pa, pb, _ = _k.close_pairs(gk, glat, glon, gvid, ok, params.encounter_distance_m)
    g = time.perf_counter()
    all_steps = np.unique(gk)
    steps = np.sort(rng.choice(all_steps, size=min(args.steps, len(all_steps)), replace=False))
    h = time.perf_counter()
    brute = numpy_all_pairs(gk, glat, glon, gvid, ok, steps, params.encounter_distance_m)
    i = time.perf_counter()
    index_pairs = {(int(x), int(y), int(k)) for x, y, k in zip(gvid[pa], gvid[pb], gk[pa])
                   if k in set(steps.tolist())}
    brute_scaled = (i - h) * len(all_steps) / len(steps)
    print(f"close pairs, index    {g - f:8.2f} s  ({len(gk):,} grid positions, {len(all_steps)} "
          f"grid times, {len(pa):,} close pairs)")
    print(f"close pairs, numpy    {brute_scaled:8.2f} s  (all-pairs matrices, measured "
          f"{i - h:.2f} s on {len(steps)} grid times, scaled; same pairs: {brute == index_pairs})")
    print(f"  ratio (numpy matrices / index): {brute_scaled / (g - f):,.0f}x")


if __name__ == "__main__":
    main()
