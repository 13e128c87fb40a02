"""End to end: ``shadowfleet decode`` and ``shadowfleet detect`` as processes against a
plain pyais loop, same feed, same run, alternating.

The feed (made once and kept in the temporary directory, or given with ``--feed``):
``--vessels`` ships (default 600) over ``--days`` days (default 29) shuttling between the
ports of ``--ports`` (default the bundled registry), so that port visits, round trips,
dark periods and the behaviour detectors have work: each ship dwells in port (jitter
inside the polygon), crosses on its own curved lane at 9-14 knots, now and then goes
dark for 7-30 hours. Class A ships (88%) send types 1 and 3 and type 5 in two fragments,
Class B ships type 18 and type 24 (part A); about 2% of the messages are also heard by
the second station (the same sentence, another ``s:``); every line has a tag block
with the station and the receive time. About ``--messages`` messages in all (default
5,000,000; a type 5 in two fragments counts once, a second station's copy counts).

Then ``--repeats`` rounds (default 2), each running, one after the other, in fresh
processes:

- ``shadowfleet decode FEED --out DIR``;
- ``shadowfleet detect FEED --ports P --out DIR``;
- pyais: a plain loop over the lines with pyais (``benchmarks/decode.py``'s
  ``pyais_loop``: ``pyais.stream`` with tag blocks and fragments) building the position
  columns into a DataFrame, nothing written, no detection;

and prints, per process, the wall time (best of the rounds), messages per second, the
ratio to the pyais loop, the CPU time of the process (user + system: steadier than the
wall time on a shared machine, but the commands use both cores at times), the peak RSS
of the process (``os.wait4``'s ``ru_maxrss``; the
parent stays small so that the figure is the child's) and per message, the size of
``map.html``, and the phases the commands report on stderr (``shadowfleet: <phase>: X s``,
the lines ``ais.progress`` prints when stderr is not a terminal).

    python benchmarks/e2e.py                          # 5M messages, 2 rounds
    python benchmarks/e2e.py --messages 500000 --repeats 1 --no-pyais
    python benchmarks/e2e.py --feed FEED.nmea --only detect
    python benchmarks/e2e.py --only detect --no-pyais --baseline ../other-checkout

Measured on this project's shared 2-core machine (7 Dec 2026, the code before the work of
issue 16's items 2 and 4; 5,270,214 lines, 5,008,143 messages, 378.6 MB, best of 2
alternated rounds):

| process | wall | msg/s | x pyais | peak RSS | bytes/msg |
|---|---|---|---|---|---|
| decode | 9.8 s | 513,300 | 7.1x | 994 MB | 208 |
| detect | 30.4 s | 164,500 | 2.3x | 2,516 MB | 527 |
| pyais loop | 69.4 s | 72,153 | 1.0x | 2,026 MB | 424 |

With issue 16's cuts (the same day, a quiet minute): decode 10.8 s (6.3x), detect 21.8 s
(3.1x, CPU 21.2 s, 2,497 MB = 523 bytes a message), pyais 67.8 s; alternated with the
older code (``--baseline``), detect 28.9 -> 21.5 s. The README's "Speed, end to end" has
the details.

After the memory cuts of the same day (a busy machine, load average 6 to 7; best of 2
alternated rounds with ``--baseline`` the code before): detect 47.7 s (3.6x, CPU 22.8 s,
1,504 MB = 315 bytes a message; the code before 51.0 s, 2,346 MB), decode 25.4 s (6.7x),
pyais 170.3 s (CPU 89.3 s).

decode's spill and writer cut (a busy machine, load average 5 to 6; best of 2 alternated
rounds, ``--only decode --baseline`` the code before): decode 21.9 s (8.2x, CPU 10.4 s,
986 MB; the code before 26.0 s, CPU 13.2 s, 952 MB), pyais 180.9 s (CPU 91.7 s).

Before, map.html 3.31 MB; detect's phases: decoding 4.3 s, identity, cleaning and port visits
3.5 s, dark periods, round trips and alerts 4.5 s, behaviour at sea 8.7 s, writing tables
2.2 s, map 0.9 s, timeline 1.2 s (25.3 s of 30.4 s; the rest is start-up and imports).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PHASE = re.compile(r"^shadowfleet: (.+?): (?:.* in )?([0-9.]+) s$")
TAG_WIDTH = 18          # "s:rS1,c:" + 10 digits
T0 = 1_691_971_200      # 2023-08-14T00:00:00Z


# --------------------------------------------------------------------------- feed

def _imo(k: int) -> int:
    """A valid IMO number (check digit) for ship k."""
    body = 930000 + k
    digits = [int(c) for c in f"{body:06d}"]
    return body * 10 + sum(d * (7 - i) for i, d in enumerate(digits)) % 10


def _tracks(n_messages: int, n_vessels: int, days: float, registry, seed: int):
    """Per-message arrays (vessel, time s, lat, lon, sog, cog) of the ships' tracks."""
    import numpy as np

    rng = np.random.default_rng(seed)
    bbox = registry.arrays[5]
    first_poly = registry.arrays[4][:-1]
    box = bbox[first_poly]
    n_ports = len(box)
    span = days * 86400.0
    mean_dt = span * n_vessels / n_messages
    parts = []
    for v in range(n_vessels):
        home, away = rng.choice(n_ports, 2, replace=False)
        third = int(rng.integers(0, n_ports))
        lane = rng.uniform(-0.25, 0.25)              # this ship's lane: a bend of up to 0.25 deg
        knots = rng.uniform(9, 14)
        t = float(rng.uniform(0, 6 * 3600))
        ts, lats, lons, sogs, cogs = [], [], [], [], []
        here = home
        while t < span:
            # dwell in port: jitter inside the polygon's box
            x0, y0, x1, y1 = box[here]
            n = int(rng.uniform(6, 40) * 3600 / mean_dt) + 2
            dt = rng.uniform(0.5, 1.5, n) * mean_dt
            ts.append(t + np.cumsum(dt))
            lats.append(rng.uniform(y0 + (y1 - y0) * 0.3, y1 - (y1 - y0) * 0.3, n))
            lons.append(rng.uniform(x0 + (x1 - x0) * 0.3, x1 - (x1 - x0) * 0.3, n))
            sogs.append(rng.uniform(0, 0.4, n))
            cogs.append(rng.uniform(0, 360, n))
            t = ts[-1][-1]
            there = away if here == home else (third if third != here and rng.random() < 0.2
                                               else home)
            if there == here:
                there = away
            a = np.array([(box[here, 1] + box[here, 3]) / 2, (box[here, 0] + box[here, 2]) / 2])
            b = np.array([(box[there, 1] + box[there, 3]) / 2, (box[there, 0] + box[there, 2]) / 2])
            dist_nm = float(np.hypot(b[0] - a[0], (b[1] - a[1]) * np.cos(np.radians(a[0])))) * 60
            hours = max(dist_nm / knots, 0.5)
            n = max(int(hours * 3600 / mean_dt), 3)
            f = np.sort(rng.uniform(0, 1, n))
            step = np.diff(np.r_[0.0, f]) * hours * 3600
            if rng.random() < 0.25:                     # goes dark somewhere on the crossing
                step[int(rng.integers(1, n))] += rng.uniform(7, 30) * 3600
            normal = np.array([-(b[1] - a[1]), b[0] - a[0]])
            normal /= max(np.hypot(*normal), 1e-9)
            bend = lane * np.sin(np.pi * f)
            lats.append(a[0] + f * (b[0] - a[0]) + bend * normal[0])
            lons.append(a[1] + f * (b[1] - a[1]) + bend * normal[1])
            ts.append(t + np.cumsum(step))
            sogs.append(np.full(n, knots) + rng.normal(0, 0.3, n))
            cogs.append(np.full(n, float(np.degrees(np.arctan2(b[1] - a[1], b[0] - a[0]))) % 360))
            t = ts[-1][-1]
            here = there
        t_all = np.concatenate(ts)
        keep = t_all < span
        parts.append((np.full(int(keep.sum()), v), t_all[keep], np.concatenate(lats)[keep],
                      np.concatenate(lons)[keep], np.concatenate(sogs)[keep],
                      np.concatenate(cogs)[keep]))
    return [np.concatenate([p[i] for p in parts]) for i in range(6)]


def _digits(values, width: int):
    import numpy as np

    out = np.empty((len(values), width), dtype=np.uint8)
    v = values.astype(np.int64).copy()
    for k in range(width - 1, -1, -1):
        out[:, k] = 48 + v % 10
        v //= 10
    return out


def _checksum_hex(rows):
    """The NMEA checksum (XOR of the bytes) of each row, as two upper-case hex digits."""
    import numpy as np

    x = np.bitwise_xor.reduce(rows, axis=1)
    hexd = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
    return np.c_[hexd[x >> 4], hexd[x & 15]]


def _tagged(tags, bodies):
    """Lines ``\\<tag>*hh\\!<body>*hh\\n`` from tag rows and body rows (uint8 matrices)."""
    import numpy as np

    n = len(tags)
    c = lambda s: np.broadcast_to(np.frombuffer(s, dtype=np.uint8), (n, len(s)))  # noqa: E731
    m = np.concatenate([c(b"\\"), tags, c(b"*"), _checksum_hex(tags), c(b"\\!"), bodies,
                        c(b"*"), _checksum_hex(bodies), c(b"\n")], axis=1)
    return np.ascontiguousarray(m).view(f"S{m.shape[1]}").ravel()


def make_feed(path: Path, n_messages: int, n_vessels: int, days: float, ports: Path | None,
              seed: int = 11) -> dict:
    """Write the feed (module docstring) to ``path``; returns its counts."""
    import numpy as np
    import pyais

    sys.path.insert(0, str(ROOT))
    from benchmarks.decode import _bits
    from ports import load_ports

    registry = load_ports(str(ports) if ports else None)
    rng = np.random.default_rng(seed)
    # positions are about 92% of the messages, statics 6%, copies 2% (dark periods leave
    # about a seventh of the track's time without messages)
    v, t, lat, lon, sog, cog = _tracks(int(n_messages * 0.92 / 0.86), n_vessels, days,
                                       registry, seed)
    order = np.argsort(t, kind="stable")
    v, t, lat, lon, sog, cog = (a[order] for a in (v, t, lat, lon, sog, cog))
    n = len(v)
    mids = np.array([273, 273, 273, 445, 445, 412, 636, 538, 351, 613])
    mmsi = mids[np.arange(n_vessels) % len(mids)] * 1_000_000 + 100_000 + np.arange(n_vessels)
    class_b = np.arange(n_vessels) % 8 == 7                     # 12.5% of the ships
    secs = (T0 + t).astype(np.int64)
    is_b = class_b[v]
    ilat = np.round(lat * 600000).astype(np.int64)
    ilon = np.round(lon * 600000).astype(np.int64)
    isog = np.clip(np.round(sog * 10), 0, 1022).astype(np.int64)
    icog = np.clip(np.round(cog * 10), 0, 3599).astype(np.int64)
    hdg = (icog // 10) % 360
    mt = np.where(rng.random(n) < 0.85, 1, 3)
    sec = (secs % 60)
    head = np.frombuffer(b"AIVDM,1,1,,A,", dtype=np.uint8)
    tail = np.frombuffer(b",0", dtype=np.uint8)
    bodies = np.empty((n, 13 + 28 + 2), dtype=np.uint8)
    bodies[:, :13] = head
    bodies[:, 41:] = tail
    for a in range(0, n, 200_000):          # in pieces: _bits holds a bit per byte
        z = slice(a, min(a + 200_000, n))
        k = z.stop - z.start
        p13 = _bits(k, 168, [(0, 6, mt[z]), (8, 30, mmsi[v[z]]), (50, 10, isog[z]),
                             (61, 28, ilon[z]), (89, 27, ilat[z]), (116, 12, icog[z]),
                             (128, 9, hdg[z]), (137, 6, sec[z])])
        p18 = _bits(k, 168, [(0, 6, np.full(k, 18)), (8, 30, mmsi[v[z]]), (46, 10, isog[z]),
                             (57, 28, ilon[z]), (85, 27, ilat[z]), (112, 12, icog[z]),
                             (124, 9, hdg[z]), (133, 6, sec[z])])
        bodies[z, 13:41] = np.where(is_b[z, None], p18, p13)
    station = np.where((v + (secs // 3600)) % 3 == 0, b"2", b"1")   # two stations
    tags = np.concatenate([np.broadcast_to(np.frombuffer(b"s:rS", dtype=np.uint8), (n, 4)),
                           np.frombuffer(station.tobytes(), dtype=np.uint8)[:, None],
                           np.broadcast_to(np.frombuffer(b",c:", dtype=np.uint8), (n, 3)),
                           _digits(secs, 10)], axis=1)
    lines = _tagged(tags, bodies).tolist()
    keys = [secs]
    # the second station's copies (same second, the other s:)
    dup = np.flatnonzero(rng.random(n) < 0.02)
    other = tags[dup].copy()
    other[:, 4] = np.where(other[:, 4] == ord("1"), ord("2"), ord("1"))
    lines += _tagged(other, bodies[dup]).tolist()
    keys.append(secs[dup])
    del bodies, tags
    # statics: type 5 (two fragments) for class A, type 24 part A for class B, about one
    # static for every 23 positions of the ship, at the times of some of its positions
    texts = {}
    for k in range(n_vessels):
        name = f"SYNTH {k:03d}"
        if class_b[k]:
            s = pyais.encode_dict({"type": 24, "mmsi": int(mmsi[k]), "partno": 0,
                                   "shipname": name}, talker_id="AI")
        else:
            s = pyais.encode_dict({"type": 5, "mmsi": int(mmsi[k]), "imo": _imo(k),
                                   "callsign": f"UB{k:04d}", "shipname": name,
                                   "ship_type": 70 + k % 10, "to_bow": 100, "to_stern": 20,
                                   "to_port": 10, "to_starboard": 12, "month": 9, "day": 7,
                                   "hour": 12, "minute": 0, "draught": 8.5,
                                   "destination": "NAKHODKA"},
                                  talker_id="AI", sentence_type="VDM")
        texts[k] = [x[1:].encode() for x in s]      # '!' left out, checksum kept
    pick = np.flatnonzero(rng.random(n) < 0.065)
    n_statics = n_frag2 = 0
    for i in pick:
        tag = b"s:rS%s,c:%d" % (station[i], secs[i])
        tcs = b"%02X" % (np.bitwise_xor.reduce(np.frombuffer(tag, dtype=np.uint8)))
        parts = [b"\\" + tag + b"*" + tcs + b"\\!" + s + b"\n" for s in texts[int(v[i])]]
        lines.append(b"".join(parts))
        keys.append(secs[i:i + 1])
        n_statics += 1
        n_frag2 += len(parts) - 1
    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")
    with open(path, "wb") as f:
        for start in range(0, len(order), 500_000):
            f.write(b"".join([lines[j] for j in order[start:start + 500_000]]))
    n_lines = n + len(dup) + n_statics + n_frag2
    return {"lines": n_lines, "messages": n_lines - n_frag2, "positions": n,
            "copies": len(dup), "statics": n_statics, "vessels": n_vessels}


# --------------------------------------------------------------------------- runs

def _run(cmd: list[str], env: dict) -> dict:
    """Run ``cmd``; wall time, peak RSS (this child's ru_maxrss), stderr and exit code.
    In the directory of ``env``'s PYTHONPATH (``python -m`` puts the working directory
    first on the path: a baseline must not import this checkout)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         cwd=env.get("PYTHONPATH") or None)
    out, err = p.communicate()
    wall = time.perf_counter() - t
    # communicate() reaped the child: its rusage is in RUSAGE_CHILDREN's maximum only when
    # it is the largest so far, so each run is wrapped to report its own (see _wrapped)
    rss_kb, cpu = None, float("nan")
    for line in err.decode(errors="replace").splitlines():
        if line.startswith("E2E-MAXRSS-KB "):
            rss_kb, cpu = int(line.split()[1]), float(line.split()[2])
    if p.returncode != 0:
        sys.stderr.write(err.decode(errors="replace")[-3000:])
        raise SystemExit(f"{' '.join(cmd)} exited {p.returncode}")
    return {"wall": wall, "cpu": cpu, "rss_mb": (rss_kb or 0) / 1024, "stderr": err.decode(errors="replace"),
            "stdout": out.decode(errors="replace")}


WRAPPER = (
    "import os, resource, sys\n"
    "pid = os.fork()\n"
    "if pid == 0:\n"
    "    os.execvp(sys.argv[1], sys.argv[1:])\n"
    "_, status, ru = os.wait4(pid, 0)\n"
    "sys.stderr.write('E2E-MAXRSS-KB %d %.3f\\n' % (ru.ru_maxrss, ru.ru_utime + ru.ru_stime))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n")


def _wrapped(cmd: list[str]) -> list[str]:
    """``cmd`` forked from a small Python process that prints the child's own peak RSS
    (``os.wait4``): forked from a small process, the figure carries no large parent."""
    return [sys.executable, "-c", WRAPPER, *cmd]


def _phases(stderr: str) -> list[tuple[str, float]]:
    out = []
    for line in stderr.splitlines():
        m = PHASE.match(line.strip())
        if m:
            out.append((m.group(1), float(m.group(2))))
    return out


def _pyais_child(feed: str) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.decode import pyais_loop

    t = time.perf_counter()
    df = pyais_loop(Path(feed))
    print(f"{time.perf_counter() - t:.3f} {len(df)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=5_000_000)
    ap.add_argument("--vessels", type=int, default=600)
    ap.add_argument("--days", type=float, default=29.0)
    ap.add_argument("--ports", type=Path, default=ROOT / "ports" / "data" / "ports.geojson")
    ap.add_argument("--feed", type=Path, help="use this NMEA feed instead of making one")
    ap.add_argument("--repeats", type=int, default=2, help="alternating rounds")
    ap.add_argument("--only", choices=("decode", "detect"), action="append",
                    help="time only these commands (repeatable)")
    ap.add_argument("--no-pyais", action="store_true", help="leave out the pyais loop")
    ap.add_argument("--keep", type=Path, help="write the commands' outputs here (kept)")
    ap.add_argument("--baseline", type=Path, metavar="CHECKOUT",
                    help="also time the commands of another checkout of the project (its "
                         "`python -m shadowfleet`), alternating with this one's, and compare")
    ap.add_argument("--make-feed", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--pyais-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.pyais_child:
        _pyais_child(args.pyais_child)
        return
    if args.make_feed:
        counts = make_feed(args.make_feed, args.messages, args.vessels, args.days, args.ports)
        print(" ".join(f"{k}={v}" for k, v in counts.items()))
        return

    feed = args.feed
    if feed is None:
        feed = Path(tempfile.gettempdir()) / (f"shadowfleet-e2e-{args.messages}-{args.vessels}"
                                              f"-{args.days:g}.nmea")
        if not feed.exists():
            t = time.perf_counter()
            # in a child: the parent stays small (see _wrapped)
            out = subprocess.run([sys.executable, __file__, "--make-feed", str(feed),
                                  "--messages", str(args.messages), "--vessels",
                                  str(args.vessels), "--days", str(args.days), "--ports",
                                  str(args.ports)], check=True, capture_output=True, text=True)
            print(f"made {feed} in {time.perf_counter() - t:.1f} s: {out.stdout.strip()}")
    n_lines = n_frag2 = 0
    with open(feed, "rb") as f:
        for line in f:
            n_lines += 1
            if b"!AIVDM,2,2," in line or b"!AIVDM,3,2," in line or b"!AIVDM,3,3," in line:
                n_frag2 += 1
    n_msgs = n_lines - n_frag2
    print(f"feed: {feed} ({feed.stat().st_size / 1e6:,.1f} MB, {n_lines:,} lines, "
          f"{n_msgs:,} messages)")

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    shadowfleet = shutil.which("shadowfleet") or "shadowfleet"
    work = Path(tempfile.mkdtemp(prefix="shadowfleet-e2e-"))
    which = args.only or ["decode", "detect"]
    cmds = {
        "decode": lambda d: [shadowfleet, "decode", str(feed), "--out", str(d)],
        "detect": lambda d: [shadowfleet, "detect", str(feed), "--ports", str(args.ports),
                             "--out", str(d)],
    }
    envs = {name: env for name in which}
    if args.baseline:
        base = args.baseline.resolve()
        base_env = {**os.environ, "PYTHONPATH": str(base)}
        for name in list(which):
            cmds[f"{name}@baseline"] = (lambda n: lambda d: [
                sys.executable, "-m", "shadowfleet", *cmds[n](d)[1:]])(name)
            envs[f"{name}@baseline"] = base_env
        which = [w for name in which for w in (name, f"{name}@baseline")]
    # compile / load the kernels once, untimed, on the feed's first lines
    small = work / "warmup.nmea"
    with open(feed, "rb") as src, open(small, "wb") as dst:
        for _ in range(20000):
            dst.write(src.readline())
    for name in [w for w in which if w.startswith("detect")] or which[:1]:
        t = time.perf_counter()
        warm_cmd = cmds[name](work / "warm")
        warm_cmd[warm_cmd.index(str(feed))] = str(small)
        _run(_wrapped(warm_cmd), envs[name])
        print(f"warm-up {name} (20,000 lines: kernel cache load or compile): "
              f"{time.perf_counter() - t:.1f} s")
        shutil.rmtree(work / "warm", ignore_errors=True)

    runs: dict[str, list[dict]] = {k: [] for k in [*which, "pyais"]}
    for r in range(args.repeats):
        for name in which:
            out_dir = (args.keep / name) if args.keep else work / name
            shutil.rmtree(out_dir, ignore_errors=True)
            res = _run(_wrapped(cmds[name](out_dir)), envs[name])
            if name == "detect":
                m = out_dir / "map.html"
                res["map_mb"] = m.stat().st_size / 1e6 if m.exists() else float("nan")
            runs[name].append(res)
            print(f"round {r + 1}: {name} {res['wall']:.1f} s (CPU {res['cpu']:.1f} s), "
                  f"peak RSS {res['rss_mb']:,.0f} MB", flush=True)
            if not args.keep:
                shutil.rmtree(out_dir, ignore_errors=True)
        if not args.no_pyais:
            res = _run(_wrapped([sys.executable, __file__, "--pyais-child", str(feed)]), env)
            res["rows"] = int(res["stdout"].split()[-1])
            runs["pyais"].append(res)
            print(f"round {r + 1}: pyais loop {res['wall']:.1f} s (CPU {res['cpu']:.1f} s) "
                  f"({res['rows']:,} positions), peak RSS {res['rss_mb']:,.0f} MB", flush=True)
    shutil.rmtree(work, ignore_errors=True)

    print()
    best_py = min((x["wall"] for x in runs["pyais"]), default=None)
    print(f"{'process':<10} {'best wall':>10} {'msg/s':>12} {'x pyais':>8} "
          f"{'peak RSS':>10} {'B/msg':>6} {'best CPU':>9}")
    for name in [*which, "pyais"]:
        if not runs[name]:
            continue
        best = min(runs[name], key=lambda x: x["wall"])
        rss = max(x["rss_mb"] for x in runs[name])
        ratio = f"{best_py / best['wall']:.1f}x" if best_py else "-"
        print(f"{name:<10} {best['wall']:>8.1f} s {n_msgs / best['wall']:>12,.0f} {ratio:>8} "
              f"{rss:>7,.0f} MB {rss * 1048576 / n_msgs:>6.0f} "
              f"{min(x['cpu'] for x in runs[name]):>7.1f} s")
    for name in which:
        if not name.endswith("@baseline") and f"{name}@baseline" in runs:
            ours, theirs = runs[name], runs[f"{name}@baseline"]
            print(f"{name} against the baseline: wall {min(x['wall'] for x in theirs):.1f} -> "
                  f"{min(x['wall'] for x in ours):.1f} s, CPU "
                  f"{min(x['cpu'] for x in theirs):.1f} -> {min(x['cpu'] for x in ours):.1f} s, "
                  f"peak RSS {max(x['rss_mb'] for x in theirs):,.0f} -> "
                  f"{max(x['rss_mb'] for x in ours):,.0f} MB (best of {len(ours)})")
    for name in which:
        best = min(runs[name], key=lambda x: x["wall"])
        if "map_mb" in best:
            print(f"map.html: {best['map_mb']:.2f} MB")
        phases = _phases(best["stderr"])
        if phases:
            total = sum(s for _, s in phases)
            print(f"{name} phases (best run, {best['wall']:.1f} s wall; the rest is start-up, "
                  f"imports and what no phase covers):")
            for ph, s in phases:
                print(f"  {ph:<45} {s:6.1f} s")
            print(f"  {'(sum of phases)':<45} {total:6.1f} s")


if __name__ == "__main__":
    main()
