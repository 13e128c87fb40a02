"""Peak memory of ``shadowfleet decode`` on a multi-GB feed (the streaming external
sort), against the in-memory path (``read_inputs`` + ``write_decoded``) on a prefix.

Makes (or takes with ``--feed``) a big NMEA feed cheaply: the 1M-sentence benchmark
feed of ``benchmarks/decode.py`` repeated, each copy's tag block times shifted by one
more day (tag block checksums recomputed), so no copy duplicates another. Then, each
in a fresh process (numba's cache warmed first by a small run):
- stream: ``shadowfleet decode FEED --out DIR`` (the CLI's ``main``, with the memory
  tuning the command switches on for its process: ``shadowfleet.tuning``);
- memory: ``write_decoded(read_inputs([PREFIX]))``, the decode of before, on the first
  ``--prefix-mb`` of the feed, and stream on the same prefix for the ratio;
and prints input size, lines, wall time and peak RSS (VmHWM of the child).

    python benchmarks/decode_memory.py --gb 2.5          # makes /tmp/shadowfleet-big-*.nmea
    python benchmarks/decode_memory.py --feed big.nmea --prefix-mb 300
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ais.framing.nmea import _xor  # noqa: E402  (the NMEA checksum rule, one place)

DAY_S = 86_400
_TAG_TIME = re.compile(rb"\\((?:[^\\*]*,)?c:)(\d+)([^\\*]*)\*([0-9A-Fa-f]{2})\\")

CHILD = """
import sys, time
from shadowfleet import tuning
tuning.command_started()        # the memory tuning of the shadowfleet command's process
t = time.perf_counter()
if sys.argv[1] == "stream":
    from shadowfleet.cli import main
    main(["decode", sys.argv[2], "--out", sys.argv[3], "--quiet"], standalone_mode=False)
else:
    tuning.keep_freed_memory()  # as the command does for its bulk reads
    import ais
    from shadowfleet.outputs.decoded import write_decoded
    d = ais.read_inputs([sys.argv[2]])
    write_decoded(d, sys.argv[3])
    print(d.describe())
dt = time.perf_counter() - t
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0].split()[1]
print(f"RESULT {dt:.2f} {int(hwm) / 1024:.0f}")
"""


def shifted(data: bytes, days: int) -> bytes:
    """``data`` with every tag block ``c:`` time moved by ``days`` days, checksum redone
    (a wrong one kept)."""
    if days == 0:
        return data
    cache: dict[bytes, bytes] = {}

    def repl(m: re.Match) -> bytes:
        key = m.group(0)
        out = cache.get(key)
        if out is None:
            tag = m.group(1) + str(int(m.group(2)) + days * DAY_S).encode() + m.group(3)
            valid = int(m.group(4), 16) == _xor(m.group(1) + m.group(2) + m.group(3))
            check = b"%02X" % _xor(tag) if valid else m.group(4)     # bad ones stay bad
            out = cache[key] = b"\\" + tag + b"*" + check + b"\\"
        return out

    return _TAG_TIME.sub(repl, data)


def make_big(base: Path, path: Path, copies: int) -> None:
    data = base.read_bytes()
    if not data.endswith(b"\n"):
        data += b"\n"
    with open(path, "wb") as fh:
        for k in range(copies):
            fh.write(shifted(data, k))


def run(which: str, feed: Path, out: Path) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, describe text) of one child process."""
    shutil.rmtree(out, ignore_errors=True)
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CHILD, which, str(feed), str(out)],
                         capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    wall = time.perf_counter() - t
    lines = res.stdout.strip().splitlines()
    _, _, peak = lines[-1].split()
    return wall, float(peak), "\n".join(lines[:-1])


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(64 << 20):
            n += chunk.count(b"\n")
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--feed", type=Path, help="a big NMEA feed to use instead of making one")
    ap.add_argument("--base", type=Path, default=Path(tempfile.gettempdir()) / "shadowfleet-bench-1000000.nmea",
                    help="feed to repeat (made by benchmarks/decode.py when missing)")
    ap.add_argument("--gb", type=float, default=2.5, help="size of the feed to make")
    ap.add_argument("--prefix-mb", type=float, default=300, help="prefix for the in-memory run")
    ap.add_argument("--keep", action="store_true", help="keep the feed and outputs made")
    args = ap.parse_args()
    tmp = Path(tempfile.gettempdir())
    made: list[Path] = []
    base = args.base
    if not base.exists():
        from benchmarks.decode import make_feed
        make_feed(base, 1_000_000)
    copy_bytes = base.stat().st_size
    feed = args.feed
    if feed is None:
        copies = max(1, round(args.gb * 1e9 / copy_bytes))
        feed = tmp / f"shadowfleet-big-{copies}x.nmea"
        if not feed.exists():
            t = time.perf_counter()
            make_big(base, feed, copies)
            made.append(feed)
            print(f"made {feed} ({copies} shifted copies) in {time.perf_counter() - t:.0f} s")
    prefix = tmp / "shadowfleet-big-prefix.nmea"
    n_prefix = max(1, round(args.prefix_mb * 1e6 / copy_bytes))
    make_big(base, prefix, n_prefix) if args.feed is None else _head(feed, prefix, args.prefix_mb)
    made.append(prefix)
    warm = tmp / "shadowfleet-big-warm.nmea"
    warm.write_bytes(b"".join(base.open("rb").readlines()[:5000]))
    made.append(warm)
    out = tmp / "shadowfleet-big-out"
    out_memory = tmp / "shadowfleet-big-out-memory"
    try:
        run("stream", warm, out)            # numba cache loaded or compiled, not timed
        run("memory", warm, out)
        rows = []
        for label, which, path in (("stream", "stream", feed), ("stream", "stream", prefix),
                                   ("memory", "memory", prefix)):
            wall, peak, text = run(which, path, out_memory if which == "memory" else out)
            n = count_lines(path)
            rows.append((label, path, path.stat().st_size, n, wall, peak))
            print(f"{label:6s} {path.name}: {path.stat().st_size / 1e6:,.0f} MB, {n:,} lines, "
                  f"{wall:.1f} s ({n / wall / 1e6:.2f} M lines/s), peak RSS {peak:,.0f} MB")
            if path == feed:
                print("  " + text.replace("\n", "\n  "))
        s_pre, m_pre = rows[1], rows[2]
        same = all((out / f).read_bytes() == (out_memory / f).read_bytes() for f in
                   ("positions.parquet", "statics.parquet", "rejects.csv", "summary.json"))
        print(f"prefix: stream peak / memory peak = {s_pre[5] / m_pre[5]:.2f}, "
              f"stream time / memory time = {s_pre[4] / m_pre[4]:.2f}, "
              f"files byte-identical: {'yes' if same else 'NO'}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(out_memory, ignore_errors=True)
        if not args.keep:
            for p in made:
                p.unlink(missing_ok=True)


def _head(src: Path, dst: Path, mb: float) -> None:
    """The first ``mb`` megabytes of ``src``, cut at a line end."""
    with open(src, "rb") as fh:
        data = fh.read(int(mb * 1e6))
    dst.write_bytes(data[:data.rfind(b"\n") + 1])


if __name__ == "__main__":
    main()
