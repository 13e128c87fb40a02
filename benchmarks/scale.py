"""Scale: the Dask engine on archives of 5M, 20M and 50M messages, the local one on 5M.

Writes (once, kept in ``--data``) a synthetic archive of daily NMEA files, then runs
``shadowfleet detect`` on the first days of it, each run in a fresh process:

- the local engine on the ``--local`` slice (default 5M messages);
- the Dask engine on each of ``--sizes`` (default 5M, 20M, 50M), on a ``LocalCluster``
  of ``--workers`` worker processes (default 2, one thread each) with a memory limit of
  ``--memory-limit`` each (default 2 GB), or on the cluster whose scheduler is at
  ``--scheduler`` (then ``--data`` and ``--work`` must be on storage every worker reaches).

For each it prints the wall time, messages per second, the peak memory (VmHWM) of the
client process and of each worker process, and checks that the Dask run's event files
are the local run's when both ran on the same slice. Event files only: no figures, no
claims (``--no-figures``), so no process gathers positions.

    python benchmarks/scale.py                                 # 50M archive; 5M, 20M, 50M
    python benchmarks/scale.py --sizes 5M,20M                   # what fits in the time
    python benchmarks/scale.py --scheduler tcp://head:8786 --data /shared/ais --work /shared/tmp

The archive: ``--vessels`` vessels (default 1,200), one position report (type 1) a
minute, a type 5 static report (two fragments) every 30 minutes; a fifth of them shuttle
between Najin, Dunay, Vladivostok and Nakhodka (port visits, round trips), the others sail
straight legs around the world at 8 to 14 knots, changing course once a day, some lying
still for days (loitering, stays, stops), a few pairs drifting together at sea
(encounters); each vessel goes dark for 8 to 30 hours now and then (dark periods).
Days of 1,440 reports a vessel: 50M messages are 29 days of 1,200 vessels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ais.framing.nmea import _xor  # noqa: E402  (the NMEA checksum rule, one place)

ARMOUR = np.array([v + 48 if v < 40 else v + 56 for v in range(64)], dtype=np.uint8)
T0 = 1_693_526_400                    # 2023-09-01T00:00:00Z
DAY_S = 86_400
STEP_S = 60                           # a position report a minute
STATIC_EVERY_S = 1_800                # a type 5 every 30 minutes
STOPS = np.array([[42.235, 130.305], [42.885, 132.355], [43.10, 131.89], [42.80, 132.90]])
MIDS = np.array([273, 636, 538, 351, 477, 413, 440, 431, 209, 229, 256, 311, 372, 215, 248,
                 352, 353, 354, 355, 356, 357, 370, 371, 373, 563, 564, 565, 566, 412, 414])
KN = 1852.0 / 3600.0 / 111_320.0      # knots -> degrees of latitude per second
EVENT_FILES = ("port_visits.csv", "round_trips.csv", "dark_periods.csv", "alerts.csv",
               "encounters.csv", "loitering.csv", "stops.csv", "stays.csv", "identity.csv",
               "vessels.csv", "rejects.csv")


def _payloads(fields, n: int) -> np.ndarray:
    """(n, 28) armoured payload bytes of 168-bit messages from (offset, width, values)."""
    bits = np.zeros((n, 168), dtype=np.uint8)
    for off, width, v in fields:
        v = np.asarray(v, dtype=np.int64) & ((1 << width) - 1)
        shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
        bits[:, off:off + width] = ((v[:, None] >> shifts) & 1).astype(np.uint8)
    six = bits.reshape(n, -1, 6)
    return ARMOUR[(six * np.array([32, 16, 8, 4, 2, 1], dtype=np.uint8)).sum(axis=2)]


def _hex2(values: np.ndarray) -> np.ndarray:
    digits = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    return np.stack([digits[values >> 4], digits[values & 15]], axis=1)


def position_lines(mmsi, t, lat, lon, sog, cog, station: bytes, chunk: int = 200_000) -> bytes:
    """Tag-blocked type 1 sentences, built as byte matrices (fixed width), ``chunk``
    rows at a time."""
    if len(t) > chunk:
        return b"".join(position_lines(*(x[i:i + chunk] for x in (mmsi, t, lat, lon, sog, cog)),
                                       station, chunk) for i in range(0, len(t), chunk))
    n = len(t)
    if n == 0:
        return b""
    payload = _payloads([(0, 6, np.ones(n)), (8, 30, mmsi), (50, 10, np.round(sog * 10)),
                         (61, 28, np.round(lon * 600_000)), (89, 27, np.round(lat * 600_000)),
                         (116, 12, np.round(cog * 10)), (128, 9, np.full(n, 511)),
                         (137, 6, t % 60)], n)
    digits = np.char.encode(t.astype(np.int64).astype(str)).astype("S10").view(np.uint8).reshape(n, 10)
    tag = np.concatenate([np.tile(np.frombuffer(b"s:" + station + b",c:", np.uint8), (n, 1)),
                          digits], axis=1)
    body = np.concatenate([np.tile(np.frombuffer(b"AIVDM,1,1,,A,", np.uint8), (n, 1)), payload,
                           np.tile(np.frombuffer(b",0", np.uint8), (n, 1))], axis=1)
    tag_cs = _hex2(np.bitwise_xor.reduce(tag, axis=1))
    body_cs = _hex2(np.bitwise_xor.reduce(body, axis=1))

    def const(s):
        return np.tile(np.frombuffer(s, np.uint8), (n, 1))

    line = np.concatenate([const(b"\\"), tag, const(b"*"), tag_cs, const(b"\\!"), body,
                           const(b"*"), body_cs, const(b"\n")], axis=1)
    return line.tobytes()


def static_templates(mmsi: np.ndarray) -> list[list[str]]:
    """Each vessel's type 5 as its two sentences' bodies (no checksum), via pyais."""
    import pyais

    out = []
    for k, m in enumerate(mmsi):
        d = {"type": 5, "mmsi": int(m), "imo": _imo(910_000 + k), "callsign": f"C{k:05d}",
             "shipname": f"VESSEL {k}", "ship_type": 70, "to_bow": 150, "to_stern": 30,
             "to_port": 12, "to_starboard": 12, "month": 9, "day": 15, "hour": 12,
             "minute": 0, "draught": 9.5, "destination": "NAKHODKA"}
        out.append([s[1:].split("*")[0] for s in
                    pyais.encode_dict(d, talker_id="AI", sentence_type="VDM", seq_id=k % 10)])
    return out


def _imo(body: int) -> int:
    """The IMO number of six digits ``body`` and its check digit."""
    digits = [int(c) for c in f"{body:06d}"[-6:]]
    return body * 10 + sum(d * w for d, w in zip(digits, range(7, 1, -1))) % 10


class Fleet:
    """The vessels' state, carried from day to day (see the module docstring)."""

    def __init__(self, vessels: int, seed: int):
        self.rng = np.random.default_rng(seed)
        rng = self.rng
        self.n = vessels
        mid = rng.choice(MIDS, vessels)
        self.mmsi = mid * 1_000_000 + rng.choice(1_000_000, vessels, replace=False)
        self.shuttle = np.arange(vessels) < vessels // 5
        self.lat = rng.uniform(-50, 60, vessels)
        self.lon = rng.uniform(-179, 179, vessels)
        self.still = rng.random(vessels) < 0.15
        pairs = np.flatnonzero(~self.shuttle)[:max(2, vessels // 50) * 2]
        self.lat[pairs[1::2]] = self.lat[pairs[0::2]] + 0.002     # drifting together
        self.lon[pairs[1::2]] = self.lon[pairs[0::2]]
        self.still[pairs] = True
        self.leg = rng.integers(0, len(STOPS), vessels)
        self.phase = rng.uniform(0, 60 * 3600, vessels)
        self.dark_until = np.zeros(vessels)
        self.templates = static_templates(self.mmsi)

    def day(self, d: int) -> bytes:
        """Day ``d``'s file: every vessel's reports, in time order, then its statics."""
        rng = self.rng
        start = T0 + d * DAY_S
        steps = np.arange(0, DAY_S, STEP_S)
        v = np.repeat(np.arange(self.n), len(steps))
        dt = np.tile(steps, self.n).astype(np.float64)
        t = start + dt + rng.integers(0, 20, len(v))
        # sailing vessels: one course a day, 8 to 14 knots; still ones swing on 100 m
        course = rng.uniform(0, 360, self.n)
        speed = np.where(self.still, 0.0, rng.uniform(8, 14, self.n))
        rad = np.radians(course)
        dlat = speed * KN * np.cos(rad)
        dlon = speed * KN * np.sin(rad) / np.maximum(np.cos(np.radians(self.lat)), 0.2)
        lat = self.lat[v] + dlat[v] * dt + rng.normal(0, 0.0003, len(v))
        lon = self.lon[v] + dlon[v] * dt + rng.normal(0, 0.0003, len(v))
        sog = np.repeat(speed, len(steps))
        cog = np.repeat(course, len(steps))
        # shuttles: 36 h at a stop, 24 h sailing to the next, round and round
        sh = self.shuttle[v]
        phase = (self.phase[v] + dt) % (60 * 3600)
        leg = (self.leg[v] + ((self.phase[v] + dt) // (60 * 3600)).astype(np.int64)) % len(STOPS)
        a, b = STOPS[leg], STOPS[(leg + 1) % len(STOPS)]
        f = np.clip((phase - 36 * 3600) / (24 * 3600), 0, 1)
        lat = np.where(sh, a[:, 0] + (b[:, 0] - a[:, 0]) * f, lat)
        lon = np.where(sh, a[:, 1] + (b[:, 1] - a[:, 1]) * f, lon)
        sog = np.where(sh, np.where((f > 0) & (f < 1), 11.0, 0.1), sog)
        # dark now and then: a vessel silent from a random moment for 8 to 30 h (into the
        # next day, maybe)
        before = self.dark_until
        go_dark = rng.random(self.n) < 0.08
        dark_from = np.where(go_dark, start + rng.uniform(0, DAY_S, self.n), np.inf)
        dark_until = np.where(go_dark, dark_from + rng.uniform(8, 30, self.n) * 3600, -np.inf)

        def is_dark(k, ts):
            return (ts < before[k]) | ((ts >= dark_from[k]) & (ts < dark_until[k]))

        keep = ~is_dark(v, t)
        lat = np.clip(lat, -85, 85)
        lon = (lon + 180) % 360 - 180
        self.dark_until = np.maximum(before, dark_until)
        self.lat = np.clip(self.lat + dlat * DAY_S, -70, 75)
        self.lon = (self.lon + dlon * DAY_S + 180) % 360 - 180
        self.leg = (self.leg + ((self.phase + DAY_S) // (60 * 3600)).astype(np.int64)) % len(STOPS)
        self.phase = (self.phase + DAY_S) % (60 * 3600)
        order = np.argsort(t[keep], kind="stable")
        idx = np.flatnonzero(keep)[order]
        text = position_lines(self.mmsi[v[idx]], t[idx].astype(np.int64), lat[idx], lon[idx],
                              sog[idx], cog[idx] % 360, b"rS1")
        lines = []
        for k in range(self.n):
            for s in range(int(rng.integers(0, STATIC_EVERY_S)), DAY_S, STATIC_EVERY_S):
                ts = start + s
                if is_dark(k, ts):
                    continue
                tag = f"s:rS1,c:{ts}"
                for body in self.templates[k]:
                    lines.append(f"\\{tag}*{_xor(tag.encode()):02X}\\!{body}*"
                                 f"{_xor(body.encode()):02X}\n")
        return text + "".join(lines).encode()


def make_archive(data: Path, messages: int, vessels: int, seed: int) -> list[tuple[Path, int]]:
    """The daily files (made once; kept), with the messages in each."""
    data.mkdir(parents=True, exist_ok=True)
    index = data / "index.json"
    want = {"vessels": vessels, "seed": seed}
    if index.exists():              # days made before for as many messages or more
        made = json.loads(index.read_text())
        if {k: made[k] for k in want} == want and made["messages"] >= messages:
            return [(data / f, n) for f, n in made["files"]]
    fleet = Fleet(vessels, seed)
    files, total, d = [], 0, 0
    t = time.perf_counter()
    while total < messages:
        path = data / f"ais-{d + 1:03d}.nmea"
        text = fleet.day(d)
        path.write_bytes(text)
        n = text.count(b"\n") - text.count(b"!AIVDM,2,1,")    # type 5: two lines, one message
        files.append((path.name, int(n)))
        total += n
        d += 1
        print(f"  day {d}: {n:,} messages ({total:,} so far, {time.perf_counter() - t:.0f} s)",
              flush=True)
    index.write_text(json.dumps({**want, "messages": messages, "files": files}, indent=1))
    return [(data / f, n) for f, n in files]


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(args) -> None:
    """One run in this fresh process; prints a JSON line."""
    from shadowfleet import tuning

    tuning.command_started()
    tuning.command_chosen("detect")
    from shadowfleet.pipeline import detect

    files = json.loads(args.child)
    out = Path(args.out)
    t = time.perf_counter()
    workers = {}
    if args.engine == "local":
        result = detect(files)
        result.write(out, figures=False)
    else:
        from distributed import Client, LocalCluster

        def worker_peak():
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
            return float("nan")

        if args.scheduler:
            cluster, address = None, args.scheduler
        else:
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                   memory_limit=args.memory_limit, dashboard_address=None)
            address = cluster.scheduler_address
        started = time.perf_counter()
        with Client(address) as client:
            result = detect(files, engine="dask", scheduler=address, work=args.work,
                            keep_frames=False)
            result.write(out, figures=False)
            workers = client.run(worker_peak)
        t = started
        if cluster is not None:
            cluster.close()
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "client_mb": peak_rss_mb(),
                      "workers_mb": sorted(workers.values(), reverse=True),
                      "alerts": result.summary["events"]["alerts"],
                      "vessels": result.summary["events"]["vessels"],
                      "positions": result.summary["positions"]}))


def run(engine: str, files: list[Path], out: Path, args) -> dict:
    cmd = [sys.executable, __file__, "--child", json.dumps([str(f) for f in files]),
           "--engine", engine, "--out", str(out), "--workers", str(args.workers),
           "--memory-limit", args.memory_limit]
    if args.scheduler:
        cmd += ["--scheduler", args.scheduler]
    if args.work:
        cmd += ["--work", str(args.work)]
    done = subprocess.run(cmd, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{engine} run failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _size(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("KM")) * scale)


def same_events(a: Path, b: Path) -> bool:
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in EVENT_FILES)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5M,20M,50M", help="Dask runs, messages (5M,20M,50M)")
    ap.add_argument("--local", default="5M", help="the local engine's run (0: none)")
    ap.add_argument("--vessels", type=int, default=1_200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--scheduler", help="a Dask scheduler's address (default: a LocalCluster)")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "shadowfleet-scale")
    ap.add_argument("--work", type=Path, help="the engine's work directory (shared storage)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--engine", default="dask", help=argparse.SUPPRESS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    sizes = [_size(s) for s in args.sizes.split(",") if s.strip()]
    local = _size(args.local) if args.local not in ("0", "") else 0
    print(f"archive: {max(sizes + [local]):,} messages or more in daily files under {args.data}")
    files = make_archive(args.data, max(sizes + [local]), args.vessels, args.seed)
    out_root = args.out or Path(tempfile.mkdtemp(prefix="shadowfleet-scale-out-"))

    def first(n):
        picked, total = [], 0
        for f, m in files:
            if total >= n:
                break
            picked.append(f)
            total += m
        return picked, total

    where = args.scheduler or (f"LocalCluster, {args.workers} worker processes, "
                               f"memory limit {args.memory_limit} each")
    print(f"dask: {where}")
    print(f"{'run':<28}{'messages':>12}{'files':>7}{'time s':>9}{'msg/s':>11}"
          f"{'client MB':>11}  workers' peak MB")
    results = {}
    runs = ([("local", local)] if local else []) + [("dask", n) for n in sizes]
    for engine, n in runs:
        picked, total = first(n)
        out = out_root / f"{engine}-{n}"
        r = run(engine, picked, out, args)
        results[(engine, n)] = out
        workers = ", ".join(f"{w:,.0f}" for w in r["workers_mb"]) or "-"
        print(f"{engine + ' ' + format(n, ','):<28}{total:>12,}{len(picked):>7}"
              f"{r['seconds']:>9.1f}{total / r['seconds']:>11,.0f}{r['client_mb']:>11,.0f}  "
              f"{workers}", flush=True)
    for n in sizes:
        if ("local", n) in results:
            same = same_events(results[("local", n)], results[("dask", n)])
            print(f"{n:,}: the Dask run's event files are the local run's: {same}")


if __name__ == "__main__":
    main()
