"""Decoding throughput: the fast path of ``ais`` against a plain pyais loop, same run.

Makes (or takes with ``--feed``) an NMEA feed of tag-blocked sentences with a realistic
mix: mostly position reports of types 1 and 3, some Class B type 18, type 5 static data
in two fragments, a few type 24 and type 4, about 2% copies of the same broadcast heard
by a second station, and a few bad lines (bad checksums, cut sentences, junk).

Then, alternating, it times
- fast: ``ais.read_inputs([feed], decoder="fast")`` (framing, assembly, dedup, decoding,
  sorted DataFrames), and
- pyais: a plain loop over the lines with pyais 3.3.1 (``pyais.stream`` handles tag
  blocks and fragments) that builds the same position columns into a DataFrame;
and prints both rates (sentences per second), their ratio, the numba compile / cache
load time (first call on a small feed, excluded from the ratio) and the peak memory
(max RSS) of each path, each measured in a fresh process.

The process is tuned as the ``shadowfleet`` command tunes its own for ``decode``
(``shadowfleet.tuning``: one glibc heap for all threads, switched on before pandas is
imported, and freed memory kept for the next piece); ``--no-memory-tuning`` measures the
library with glibc's defaults, as a program that imports it gets it.

    python benchmarks/decode.py                       # 1,000,000 sentences
    python benchmarks/decode.py --sentences 200000 --repeats 1
    python benchmarks/decode.py --no-memory-tuning
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# before numpy and pandas are imported, as the command's process does (see the docstring);
# not when another benchmark imports this module for its feed or its pyais loop
MEMORY_TUNING = __name__ == "__main__" and "--no-memory-tuning" not in sys.argv
if MEMORY_TUNING:
    from shadowfleet import tuning

    tuning.command_started()
    tuning.command_chosen("decode")

import numpy as np  # noqa: E402

from ais.framing.nmea import _xor  # noqa: E402  (the NMEA checksum rule, one place)

ARMOUR = np.array([v + 48 if v < 40 else v + 56 for v in range(64)], dtype=np.uint8)




def _bits(n: int, width_total: int, fields) -> np.ndarray:
    """Pack (offset, width, int64 values) fields into armoured payload bytes (n, chars)."""
    bits = np.zeros((n, width_total), dtype=np.uint8)
    for off, width, v in fields:
        v = np.asarray(v, dtype=np.int64) & ((1 << width) - 1)
        shifts = np.arange(width - 1, -1, -1, dtype=np.int64)
        bits[:, off:off + width] = ((v[:, None] >> shifts) & 1).astype(np.uint8)
    six = bits.reshape(n, -1, 6)
    vals = (six * np.array([32, 16, 8, 4, 2, 1], dtype=np.uint8)).sum(axis=2)
    return ARMOUR[vals]


def make_feed(path: Path, n_sentences: int, seed: int = 7) -> None:
    """Write the benchmark feed (see module docstring)."""
    import pyais
    rng = np.random.default_rng(seed)
    n_vessels = 3000
    mmsi = rng.integers(200_000_000, 775_999_999, n_vessels)
    base_lat = rng.uniform(-60, 70, n_vessels)
    base_lon = rng.uniform(-179, 179, n_vessels)
    statics = []
    for k in range(300):
        d = {"type": 5, "mmsi": int(mmsi[k]), "imo": 9000000 + k, "callsign": f"C{k:05d}",
             "shipname": f"VESSEL {k}", "ship_type": 70, "to_bow": 100, "to_stern": 20,
             "to_port": 10, "to_starboard": 10, "month": 9, "day": 7, "hour": 12, "minute": 0,
             "draught": 8.5, "destination": "DUNAY"}
        statics.append([s.split(",") for s in pyais.encode_dict(d, talker_id="AI", sentence_type="VDM")])
    others = []
    for k in range(100):
        others.append(pyais.encode_dict({"type": 24, "mmsi": int(mmsi[k]), "partno": 0,
                                         "shipname": f"CLASS B {k}"}, talker_id="AI")[0].split(","))
        others.append(pyais.encode_dict({"type": 4, "mmsi": 2_000_000 + k, "year": 2023, "month": 9,
                                         "day": 7, "lat": 42.0, "lon": 131.0}, talker_id="AI")[0].split(","))
    n = n_sentences
    kind = rng.choice(5, size=n, p=[0.78, 0.14, 0.04, 0.02, 0.02])   # 1/3, 18, 5, 24/4, dup
    v = rng.integers(0, n_vessels, n)
    lat = np.round((base_lat[v] + rng.normal(0, 0.5, n)).clip(-90, 90) * 600000).astype(np.int64)
    lon = np.round((base_lon[v] + rng.normal(0, 0.5, n)).clip(-180, 180) * 600000).astype(np.int64)
    sog = rng.integers(0, 300, n)
    cog = rng.integers(0, 3600, n)
    hdg = rng.integers(0, 360, n)
    mt = np.where(rng.random(n) < 0.8, 1, 3)
    sec = rng.integers(0, 60, n)
    p13 = _bits(n, 168, [(0, 6, mt), (8, 30, mmsi[v]), (50, 10, sog), (61, 28, lon), (89, 27, lat),
                         (116, 12, cog), (128, 9, hdg), (137, 6, sec)])
    p18 = _bits(n, 168, [(0, 6, np.full(n, 18)), (8, 30, mmsi[v]), (46, 10, sog), (57, 28, lon),
                         (85, 27, lat), (112, 12, cog), (124, 9, hdg), (133, 6, sec)])
    t0 = 1_693_526_400
    t = t0 + np.arange(n) // 100      # 100 sentences per second
    lines = []
    last = None
    bad = rng.random(n) < 0.002
    for i in range(n):
        k = kind[i]
        station = "rS1" if i % 3 else "rS2"
        if k == 4 and last is not None:          # the same broadcast heard by a second station
            lines.append(last.replace("s:rS1", "s:rS9").replace("s:rS2", "s:rS9"))
            continue
        if k == 0 or k == 1:
            payload = (p13 if k == 0 else p18)[i].tobytes().decode()
            sentences = [["!AIVDM", "1", "1", "", "A", payload, "0"]]
        elif k == 2:
            sentences = [f[:6] + [f[6].split("*")[0]] for f in statics[i % len(statics)]]
        else:
            f = others[i % len(others)]
            sentences = [f[:6] + [f[6].split("*")[0]]]
        for f in sentences:
            body = ",".join(f)[1:]
            tag = f"s:{station},c:{t[i]}"
            line = f"\\{tag}*{_xor(tag.encode()):02X}\\!{body}*{_xor(body.encode()):02X}"
            if bad[i]:
                line = line[:-1] + ("0" if line[-1] != "0" else "1") if i % 2 else line[:40]
            lines.append(line)
            last = line
        if len(lines) >= n:
            break
    path.write_text("\n".join(lines[:n]) + "\n")


def pyais_loop(path: Path):
    """The anchor: pyais over every line, same position columns, into a DataFrame."""
    import pandas as pd
    from pyais.stream import FileReaderStream
    cols = {k: [] for k in ("mmsi", "timestamp", "lat", "lon", "sog", "cog", "heading", "msg_type")}
    n = 0
    with FileReaderStream(str(path)) as stream:
        for msg in stream:
            n += 1
            try:
                d = msg.decode()
            except Exception:   # noqa: BLE001 - count and go on, as a real loop would
                continue
            if d.msg_type not in (1, 2, 3, 18, 19, 27):
                continue
            tb = msg.tag_block
            ts = None
            if tb is not None:
                tb.init()
                ts = tb.receiver_timestamp
            cols["mmsi"].append(d.mmsi)
            cols["timestamp"].append(float(ts) if ts else np.nan)
            cols["lat"].append(d.lat)
            cols["lon"].append(d.lon)
            cols["sog"].append(d.speed)
            cols["cog"].append(d.course)
            cols["heading"].append(getattr(d, "heading", np.nan))
            cols["msg_type"].append(d.msg_type)
    df = pd.DataFrame(cols)
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="s", utc=True)
    return df


def fast_path(path: Path):
    """The fast path up to the sorted positions and statics frames (each built on first
    use, so they are asked for here, inside the timed call)."""
    import ais
    d = ais.read_inputs([str(path)], decoder="fast")
    len(d.positions)
    len(d.statics)
    return d


def _child(which: str, path: str) -> None:
    t = time.perf_counter()
    out = fast_path(Path(path)) if which == "fast" else pyais_loop(Path(path))
    dt = time.perf_counter() - t
    rows = len(out.positions) if which == "fast" else len(out)
    print(f"{dt:.3f} {rows} {peak_rss_mb():.1f}")


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM; ru_maxrss would carry the parent's
    peak across fork and exec)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sentences", type=int, default=1_000_000)
    ap.add_argument("--feed", type=Path, help="use this NMEA feed instead of making one")
    ap.add_argument("--repeats", type=int, default=2, help="alternating rounds of both paths")
    ap.add_argument("--no-memory-tuning", action="store_true",
                    help="glibc's allocator defaults, not the shadowfleet command's tuning")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    print("memory tuning: " + ("on, as the shadowfleet command's process (one heap for all "
                               "threads, freed memory kept)" if MEMORY_TUNING else
                               "off (glibc defaults, as a program importing the library)"))
    feed = args.feed
    if feed is None:
        feed = Path(tempfile.gettempdir()) / f"shadowfleet-bench-{args.sentences}.nmea"
        if not feed.exists():
            t = time.perf_counter()
            make_feed(feed, args.sentences)
            print(f"made {feed} in {time.perf_counter() - t:.1f} s")
    n_lines = sum(1 for _ in open(feed, "rb"))
    print(f"feed: {feed} ({n_lines:,} lines, {feed.stat().st_size / 1e6:.1f} MB)")

    small = Path(tempfile.gettempdir()) / "shadowfleet-bench-warmup.nmea"
    with open(feed, "rb") as src:
        small.write_bytes(b"".join(src.readline() for _ in range(2000)))
    t = time.perf_counter()
    fast_path(small)
    print(f"numba compile / cache load (first call, 2,000 lines): {time.perf_counter() - t:.2f} s")

    fast_t, py_t = [], []
    for r in range(args.repeats):
        # each timed call starts with no earlier result alive (neither path's)
        t = time.perf_counter()
        d = fast_path(feed)
        fast_t.append(time.perf_counter() - t)
        n_fast = len(d.positions)
        del d
        t = time.perf_counter()
        df = pyais_loop(feed)
        py_t.append(time.perf_counter() - t)
        n_py = len(df)
        del df
        print(f"round {r + 1}: fast {fast_t[-1]:.2f} s ({n_fast:,} positions), "
              f"pyais {py_t[-1]:.2f} s ({n_py:,} positions)")
    fast_rate = n_lines / min(fast_t)
    py_rate = n_lines / min(py_t)
    print(f"fast:  {fast_rate:,.0f} sentences/s (best of {args.repeats})")
    print(f"pyais: {py_rate:,.0f} sentences/s (best of {args.repeats})")
    print(f"ratio: {fast_rate / py_rate:.1f}x")
    for which in ("fast", "pyais"):
        flags = [] if MEMORY_TUNING else ["--no-memory-tuning"]
        out = subprocess.run([sys.executable, __file__, *flags, "--child", which, str(feed)],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
        secs, rows, rss = out.stdout.split()[-3:]
        print(f"peak memory {which}: {float(rss):,.0f} MB max RSS (fresh process, {float(secs):.2f} s)")


if __name__ == "__main__":
    main()
