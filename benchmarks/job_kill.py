"""Crash safety at scale: SIGKILL ``job`` runs at random moments, then let one complete.

The bundled simulated feed (2023 Najin-Dunay scenario, 119,303 lines) is cut into
``--files`` files delivered to an inbox a few at a time, the way a feed delivers them
(written under ``.part``, then renamed). Job runs are started one after another and each
is killed with a real SIGKILL at a random moment: a random time into its work (loading
the state, decoding, analysing), a few milliseconds after it starts writing a generation,
or a few milliseconds after the generation is committed (the log append and the
outputs). Runs are forked from a fork server that has imported shadowfleet (real
processes killed for real, without paying the interpreter start-up each time). Once
``--kills`` kills have landed, the remaining files are delivered and ``shadowfleet job``
runs to completion through the command line.

Checked at the end:

- ``alerts.csv`` (its alerts that are not retracted) equals the alerts of one
  ``detect`` over the whole feed, column for column;
- ``alerts_log.csv``: no version logged twice, none missing (each alert's versions
  1..n all there), the book's version of each alert is the last one logged, the file
  ends in a newline;
- the live alerts equal those of an uninterrupted ``job`` over the same files in one
  run (a second state, the same files).

    python benchmarks/job_kill.py [--kills 100] [--files 150] [--seed 20231014]

Prints how many kills landed in each phase, how many runs were started, the time, and
each check's result; exits 1 on a failed check.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from detectors.columns import ALERT_COLUMNS  # noqa: E402

FEED = REPO / "shadowfleet" / "data" / "demo" / "najin-dunay-2023.nmea.gz"
PAIR = "Najin,Dunay"
PRELOAD = ["shadowfleet.job", "shadowfleet.pipeline", "shadowfleet.config", "ports",
           "detectors.cleaning", "detectors.port_visits", "detectors.dark_periods",
           "detectors.round_trips", "detectors.alerts", "ais"]
COMPARED = list(ALERT_COLUMNS)      # the contract columns of alerts.csv


def split_feed(folder: Path, n: int) -> list[Path]:
    """The feed in ``n`` files of consecutive lines (its comment lines in the first)."""
    lines = gzip.decompress(FEED.read_bytes()).split(b"\n")
    if not lines[-1]:
        lines.pop()
    size = -(-len(lines) // n)
    paths = []
    for i in range(n):
        path = folder / f"part-{i:03d}.nmea"
        path.write_bytes(b"\n".join(lines[i * size:(i + 1) * size]) + b"\n")
        paths.append(path)
    return paths


def deliver(path: Path, inbox: Path) -> None:
    part = inbox / (path.name + ".part")
    part.write_bytes(path.read_bytes())
    os.replace(part, inbox / path.name)


def lock_holder(state: Path) -> int | None:
    try:
        text = (state / "lock").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def generation(state: Path) -> int:
    try:
        return int(json.loads((state / "CURRENT").read_text())["generation"])
    except (OSError, ValueError, KeyError):
        return 0


def left_behind(state: Path, before: int) -> str:
    """Where a killed run was, from what it left in the state directory."""
    if any(p.name.startswith(".gen-") for p in state.iterdir()):
        return "writing its generation"
    now = generation(state)
    if now == before:
        return "before its commit (loading, decoding, analysing)"
    done = (state / f"gen-{now:08d}" / "outputs.done").exists()
    return "after its outputs" if done else "committed, log and outputs due"


def _job(inbox, state, out) -> None:
    from shadowfleet.job import run_job

    run_job(inbox, state, out, pairs=[PAIR])


class Forked:
    _ctx = None

    def __init__(self, inbox, state, out):
        if Forked._ctx is None:
            Forked._ctx = multiprocessing.get_context("forkserver")
            Forked._ctx.set_forkserver_preload(PRELOAD)
        self.proc = Forked._ctx.Process(target=_job, args=(inbox, state, out))
        self.proc.start()
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.is_alive()

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.join(60)


def run_and_kill(inbox, state, out, mode, rng, work_s) -> str:
    before = generation(state)
    proc = Forked(inbox, state, out)
    deadline = time.monotonic() + 300

    def waiting(condition) -> bool:
        return not condition() and proc.alive() and time.monotonic() < deadline

    while waiting(lambda: lock_holder(state) == proc.pid):
        time.sleep(0.002)
    if mode == "time":
        time.sleep(rng.uniform(0.0, work_s))
    elif mode == "commit":
        while waiting(lambda: any(p.name.startswith(".gen-") for p in state.iterdir())):
            time.sleep(0.0005)
        time.sleep(rng.uniform(0.0, 0.03))
    else:
        while waiting(lambda: generation(state) != before):
            time.sleep(0.0005)
        time.sleep(rng.uniform(0.0, 0.2))
    alive = proc.alive()
    proc.kill()
    return left_behind(state, before) if alive else "exited before the kill"


def cli(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "shadowfleet", *map(str, args)], env=env,
                          capture_output=True, timeout=600)


def comparable(frame):
    import pandas as pd

    out = frame[COMPARED].copy()
    for c in ("start_utc", "end_utc"):
        out[c] = pd.to_datetime(out[c], utc=True).astype("datetime64[ns, UTC]")
    for c in ("name", "summary", "evidence", "claim_ids", "kind", "alert_id"):
        out[c] = out[c].fillna("").astype(str)
    out["mmsi"] = out["mmsi"].astype("int64")
    for c in ("imo", "lat", "lon", "score"):
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
    return out.sort_values("alert_id").reset_index(drop=True)


def read_book(path):
    import pandas as pd

    return pd.read_csv(path, keep_default_na=False, na_values=[""],
                       dtype={"name": str, "summary": str, "evidence": str, "claim_ids": str})


def checks(out: Path, reference_out: Path) -> list[str]:
    import pandas as pd

    from shadowfleet.pipeline import detect

    failures = []
    truth = detect([FEED], pairs=[PAIR])
    book = read_book(out / "alerts.csv")
    live = book[book["status"] != "retracted"]
    if not book["alert_id"].is_unique:
        failures.append("alerts.csv has an alert id twice")
    if not comparable(live).equals(comparable(truth.alerts)):
        failures.append("alerts.csv differs from one detect over the whole feed")
    log = pd.read_csv(out / "alerts_log.csv", keep_default_na=False, dtype={"version": int})
    if log.duplicated(["alert_id", "version"]).any():
        failures.append("a version logged twice")
    last = log.groupby("alert_id")["version"].agg(["count", "max"])
    if not (last["count"] == last["max"]).all():
        failures.append("a version missing from the log")
    versions = book.set_index("alert_id")["version"].astype(int).sort_index()
    if not last["max"].sort_index().rename(None).equals(versions.rename(None)):
        failures.append("the book's versions are not the last logged")
    if not (out / "alerts_log.csv").read_bytes().endswith(b"\n"):
        failures.append("alerts_log.csv ends in a torn line")
    ref = read_book(reference_out / "alerts.csv")
    if not comparable(live).equals(comparable(ref[ref["status"] != "retracted"])):
        failures.append("alerts.csv differs from an uninterrupted job over the same files")
    print(f"alerts: {len(live):,} live ({len(truth.alerts):,} from detect), "
          f"{len(book) - len(live):,} retracted, {len(log):,} log records "
          f"for {log['alert_id'].nunique():,} alert ids")
    return failures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=100)
    ap.add_argument("--files", type=int, default=150)
    ap.add_argument("--seed", type=int, default=20231014)
    args = ap.parse_args()
    started = time.monotonic()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="job-kill-"))
    files = split_feed(work, args.files)
    inbox, state, out = work / "inbox", work / "state", work / "out"
    inbox.mkdir()

    deliver(files[0], inbox)
    first = Forked(inbox, state, out)             # starts the fork server, warms it up
    first.proc.join(300)
    deliver(files[1], inbox)
    timed = Forked(inbox, state, out)
    while lock_holder(state) != timed.pid and timed.alive():
        time.sleep(0.002)
    t0 = time.monotonic()
    timed.proc.join(300)
    work_s = time.monotonic() - t0
    print(f"one run's work: {work_s:.2f} s")

    pending = list(files[2:])
    outcomes: collections.Counter = collections.Counter()
    modes = ["time", "commit", "publish"]
    runs = 0
    kills = 0
    while kills < args.kills and runs < 3 * args.kills:
        if pending:             # a new file before each run (a killed run leaves its own)
            deliver(pending.pop(0), inbox)
        outcome = run_and_kill(inbox, state, out, modes[runs % 3], rng, work_s)
        runs += 1
        outcomes[outcome] += 1
        if outcome != "exited before the kill":
            kills += 1
    for path in pending:
        deliver(path, inbox)
    done = cli("job", "--inbox", inbox, "--state", state, "--out", out, "--pair", PAIR,
               "--quiet")
    again = cli("job", "--inbox", inbox, "--state", state, "--out", out, "--pair", PAIR)
    print(f"{runs} runs started, {kills} killed by SIGKILL; where the kills landed:")
    for what, n in outcomes.most_common():
        print(f"  {n:4d}  {what}")
    print(f"completion: exit {done.returncode}, then a run with nothing new: exit "
          f"{again.returncode} ({again.stdout.decode().splitlines()[0] if again.stdout else ''})")

    reference = work / "reference"
    (reference / "inbox").mkdir(parents=True)
    for path in files:
        shutil.copy(path, reference / "inbox" / path.name)
    ref = cli("job", "--inbox", reference / "inbox", "--state", reference / "state", "--out",
              reference / "out", "--pair", PAIR, "--quiet")
    failures = checks(out, reference / "out")
    if done.returncode or again.returncode or ref.returncode:
        failures.append(f"a completing run failed: {done.stderr.decode()} {again.stderr.decode()}")
    if b"0 new file(s)" not in again.stdout:
        failures.append("the run after completion found new files")
    print(f"{time.monotonic() - started:.0f} s in all")
    for f in failures:
        print("FAILED:", f)
    print("all checks passed" if not failures else f"{len(failures)} check(s) failed")
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
