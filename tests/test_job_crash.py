"""`job` as real processes: SIGKILL at random moments, then completed; two concurrent runs.

The killed runs are forked from a fork server that has already imported shadowfleet
(``multiprocessing`` "forkserver" with preloaded modules): real processes killed with a
real SIGKILL, without paying the interpreter start-up in each of them. The run that
completes the work and the concurrent runs go through the command line.
"""

import json
import multiprocessing
import os
import random
import signal
import subprocess
import time

import pandas as pd

from tests._live_feeds import REPO, cli_command, cli_env, run_cli, slice_lines, write_feed
from tests.test_job_incremental import analysis, comparable, feed, read_alerts_csv, truth  # noqa: F401


def job_args(tmp_path):
    return ("job", "--inbox", tmp_path / "inbox", "--state", tmp_path / "state",
            "--out", tmp_path / "out", "--pair", "Najin,Dunay")


def deliver(path, inbox):
    """Put a file into the inbox the way a feed should: write under .part, then rename."""
    part = inbox / (path.name + ".part")
    part.write_bytes(path.read_bytes())
    os.replace(part, inbox / path.name)


def lock_holder(state_dir) -> int | None:
    try:
        text = (state_dir / "lock").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def left_behind(state_dir, before: int) -> str:
    """Where a killed run was: used to show the kills hit every phase."""
    if any(p.name.startswith(".gen-") for p in state_dir.iterdir()):
        return "half-written generation"
    generation = current_generation(state_dir)
    if generation == before:
        return "before its commit"
    done = (state_dir / f"gen-{generation:08d}" / "outputs.done").exists()
    return "after its outputs" if done else "committed, outputs due"


def check_log_against_book(out, truth):
    book = read_alerts_csv(out / "alerts.csv")
    assert book["alert_id"].is_unique
    pd.testing.assert_frame_equal(comparable(book[book["status"] != "retracted"]),
                                  comparable(truth.alerts))
    log = pd.read_csv(out / "alerts_log.csv", keep_default_na=False, dtype={"version": int})
    assert not log.duplicated(["alert_id", "version"]).any(), "a version logged twice"
    last = log.groupby("alert_id")["version"].agg(["count", "max"])
    assert (last["count"] == last["max"]).all(), "a version missing from the log"
    versions = book.set_index("alert_id")["version"].astype(int)
    assert last["max"].sort_index().equals(versions.sort_index().rename("max"))
    assert (out / "alerts_log.csv").read_bytes().endswith(b"\n")


def current_generation(state_dir) -> int:
    try:
        return int(json.loads((state_dir / "CURRENT").read_text())["generation"])
    except (OSError, ValueError, KeyError):
        return 0


_PRELOAD = ["shadowfleet.job", "shadowfleet.pipeline", "shadowfleet.config", "ports",
            "detectors.cleaning", "detectors.port_visits", "detectors.dark_periods",
            "detectors.round_trips", "detectors.alerts", "ais"]


def _job_process(inbox, state, out) -> None:
    from shadowfleet.job import run_job

    run_job(inbox, state, out, pairs=["Najin,Dunay"])


class _Forked:
    """A ``run_job`` in a process forked from the fork server (Popen-like)."""

    _ctx = None

    def __init__(self, tmp_path):
        if _Forked._ctx is None:
            _Forked._ctx = multiprocessing.get_context("forkserver")
            _Forked._ctx.set_forkserver_preload(_PRELOAD)
        self.proc = _Forked._ctx.Process(
            target=_job_process,
            args=(tmp_path / "inbox", tmp_path / "state", tmp_path / "out"))
        self.proc.start()
        self.pid = self.proc.pid

    def poll(self):
        return None if self.proc.is_alive() else self.proc.exitcode

    def kill(self):
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # it finished (and was reaped) between the poll and the kill
        self.proc.join(30)


def run_and_kill(tmp_path, mode: str, rng: random.Random, work_s: float) -> str:
    """Start a job and SIGKILL it: at a random time into its work (``time``), or a random
    few milliseconds after it starts writing a generation (``commit``) or after the
    generation is committed (``publish``: log append and outputs)."""
    state_dir = tmp_path / "state"
    before = current_generation(state_dir)
    proc = _Forked(tmp_path)
    deadline = time.monotonic() + 120

    def waiting(condition) -> bool:
        return not condition() and proc.poll() is None and time.monotonic() < deadline

    while waiting(lambda: lock_holder(state_dir) == proc.pid):
        time.sleep(0.002)
    if mode == "time":
        time.sleep(rng.uniform(0.0, work_s))
    elif mode == "commit":
        while waiting(lambda: any(p.name.startswith(".gen-") for p in state_dir.iterdir())):
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.02))
    else:
        while waiting(lambda: current_generation(state_dir) != before):
            time.sleep(0.001)
        time.sleep(rng.uniform(0.0, 0.05))
    alive = proc.poll() is None
    proc.kill()
    return left_behind(state_dir, before) if alive else "exited before the kill"


def _finer_slices(whole, folder, n):
    """The whole feed in ``n`` slices: enough files that most killed runs have work."""
    lines = whole.read_text(encoding="ascii").splitlines()
    paths = []
    for i, part in enumerate(slice_lines(lines, n)):
        path = folder / f"slice-{(7 * i) % n:02d}-{i}.nmea"
        write_feed(path, part)
        paths.append(path)
    return paths


def test_sigkill_at_random_moments_then_completed(tmp_path, feed, truth):
    (tmp_path / "slices").mkdir()
    slices = _finer_slices(feed[0], tmp_path / "slices", 24)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    rng = random.Random(20231014)
    # one uninterrupted run sets the time scale of a run's work on this machine
    deliver(slices[0], inbox)
    _Forked(tmp_path).proc.join(120)            # starts the fork server, warms it up
    deliver(slices[1], inbox)
    first = _Forked(tmp_path)
    while lock_holder(tmp_path / "state") != first.pid and first.poll() is None:
        time.sleep(0.002)
    started = time.monotonic()                  # from taking the lock to the exit
    first.proc.join(120)
    assert first.proc.exitcode == 0
    work_s = time.monotonic() - started
    outcomes = []
    modes = ["time", "commit", "publish"]
    pending = list(slices[2:])
    killed: list[str] = []
    while len(killed) < 10 and len(outcomes) < 24:          # bounded: at most 24 runs
        if pending:
            deliver(pending.pop(0), inbox)
        outcomes.append(run_and_kill(tmp_path, modes[len(outcomes) % 3], rng, work_s))
        killed = [o for o in outcomes if o != "exited before the kill"]
    print("SIGKILL left behind:", outcomes)
    assert len(killed) >= 10, outcomes
    for path in pending:
        deliver(path, inbox)
    assert {"before its commit", "half-written generation",
            "committed, outputs due"} <= set(killed), outcomes
    done = run_cli(*job_args(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr
    again = run_cli(*job_args(tmp_path), timeout=120)
    assert again.returncode == 0 and b"0 new file(s)" in again.stdout
    check_log_against_book(tmp_path / "out", truth)


def test_two_concurrent_jobs_one_does_the_work(tmp_path, feed, truth):
    _, slices = feed
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for path in slices:
        deliver(path, inbox)
    procs = [subprocess.Popen(cli_command(*job_args(tmp_path)), cwd=REPO, env=cli_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    said = [o[0].decode() for o in outs]
    workers = [s for s in said if "10 new file(s)" in s]
    waiters = [s for s in said if "another run" in s and "holds the lock" in s]
    assert len(workers) == 1 and len(waiters) == 1, said
    check_log_against_book(tmp_path / "out", truth)
