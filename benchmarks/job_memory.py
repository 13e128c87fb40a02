"""Peak memory of one ``shadowfleet job`` run over a small gzip that inflates to gigabytes.

A hostile or careless delivery: one tag-blocked sentence repeated until the text is
``--gb`` GB, gzip-compressed (about 1/1000 of that). The job must stream it (pieces of
text, gzip inflated as it is read) so its peak memory stays bounded whatever the size
the file inflates to. Every copy after the first is a duplicate (same payload, same
receive time), so what the job keeps is one position: the peak is the streaming's own.

    python benchmarks/job_memory.py [--gb 1.3] [--junk] [--repo CHECKOUT] [--keep DIR]

Runs the job as a separate process (``python -m shadowfleet job``) and reports its
peak RSS (``getrusage`` of the child), wall time and what it decoded. The anchor, in
the same run: the same job over a 1 MB plain file of the same sentence (the fixed
cost of a job process: interpreter, numpy, pandas, numba's cached kernels).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

def _line() -> bytes:
    sys.path.insert(0, str(REPO))
    from ais.encode import checksum, tag_block

    body = "AIVDM,1,1,,A,13aG?P0P00PD;88MD5MTDww@2<0L,0"
    return (tag_block({"s": "bench", "c": 1696161600}) + f"!{body}*{checksum(body)}\n").encode()


LINE = _line()
JUNK = LINE.replace(b"*71\n", b"*00\n")      # the same line with a wrong checksum: a reject


def write_bomb(path: Path, text_bytes: int, line: bytes = LINE) -> int:
    """A gzip of ``line`` repeated to ``text_bytes`` of text; returns its size on disk."""
    block = line * max(1, (1 << 20) // len(line))
    written = 0
    with gzip.open(path, "wb", compresslevel=9) as fh:
        while written < text_bytes:
            fh.write(block)
            written += len(block)
    return path.stat().st_size


def run_job(inbox: Path, work: Path, repo: Path = REPO) -> dict:
    """One job run as a child process (the code of ``repo``): its own peak RSS
    (``wait4``), wall time, counts."""
    env = dict(os.environ, PYTHONPATH=str(repo))
    args = [sys.executable, "-m", "shadowfleet", "job", "--inbox", str(inbox),
            "--state", str(work / "state"), "--out", str(work / "out")]
    started = time.perf_counter()
    proc = subprocess.Popen(args, env=env, cwd=repo, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)     # cwd: python -m puts it first
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"job failed ({proc.returncode}): {err.decode().strip()}")
    summary = json.loads((work / "out" / "summary.json").read_text())
    return {"peak_mb": usage.ru_maxrss / 1024, "seconds": seconds,
            "lines": summary["lines_read"], "duplicates": summary["duplicates"],
            "kept": summary["messages_decoded"], "rejected": summary["rejected"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.3, help="inflated size of the gzip (GB)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--repo", type=Path, default=REPO,
                        help="run the job of this checkout (e.g. an older version, to compare)")
    parser.add_argument("--junk", action="store_true",
                        help="repeat a line with a wrong checksum instead: every line a reject "
                             "(the job keeps the last 100,000 for rejects.csv)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="job-memory-"))
    work.mkdir(parents=True, exist_ok=True)

    small_inbox = work / "small-inbox"
    small_inbox.mkdir(exist_ok=True)
    (small_inbox / "small.nmea").write_bytes(LINE * ((1 << 20) // len(LINE)))
    small = run_job(small_inbox, work / "small", args.repo)

    inbox = work / "inbox"
    inbox.mkdir(exist_ok=True)
    text_bytes = int(args.gb * 1e9)
    started = time.perf_counter()
    if args.junk:       # one good line first: the file is AIS, its junk lines are rejects
        with open(inbox / "bomb.nmea.gz", "wb") as fh:
            fh.write(gzip.compress(LINE))
        write_bomb(inbox / "junk.gz", text_bytes, JUNK)
        with open(inbox / "bomb.nmea.gz", "ab") as fh:      # a second gzip member
            fh.write((inbox / "junk.gz").read_bytes())
        (inbox / "junk.gz").unlink()
        size = (inbox / "bomb.nmea.gz").stat().st_size
    else:
        size = write_bomb(inbox / "bomb.nmea.gz", text_bytes)
    print(f"gzip: {size / 1e6:.2f} MB on disk, {text_bytes / 1e9:.2f} GB of text "
          f"({time.perf_counter() - started:.0f} s to write)")
    big = run_job(inbox, work / "big", args.repo)

    print(f"anchor, 1 MB plain file: peak {small['peak_mb']:,.0f} MB, {small['seconds']:.1f} s")
    print(f"job over the gzip:       peak {big['peak_mb']:,.0f} MB, {big['seconds']:.1f} s; "
          f"{big['lines']:,} lines read, {big['duplicates']:,} duplicates, "
          f"{big['kept']:,} message(s) kept, {big['rejected']:,} rejected")
    print(f"streaming cost over the anchor: {big['peak_mb'] - small['peak_mb']:,.0f} MB")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
