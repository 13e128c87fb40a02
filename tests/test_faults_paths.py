"""Bad paths and failing writes: one line naming the path and what to do, exit 1, on every
command, before any work; nothing already committed is lost.

The tests run as root, for whom permissions do not fail: the paths here fail for root
too (under /proc, a file where a directory is expected, /proc/self/mem, which cannot be
read from its start) and a full disk is a file size limit (RLIMIT_FSIZE, with SIGXFSZ
ignored: writes past it fail with EFBIG, as they fail with ENOSPC on a full disk).
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess

import pandas as pd
import pytest

from tests._live_feeds import REPO, cli_command, cli_env, run_cli, scenario_lines, slice_lines, write_feed
from tests.test_job_crash import check_log_against_book
from tests.test_job_incremental import PAIRS

FEED = REPO / "shadowfleet" / "data" / "demo" / "najin-dunay-2023.nmea.gz"


def one_line_error(res, *names) -> str:
    err = res.stderr.decode()
    assert res.returncode == 1, (res.returncode, err)
    assert err.startswith("shadowfleet: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for name in names:
        assert str(name) in err, err
    return err


@pytest.fixture()
def a_file(tmp_path):
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


@pytest.mark.parametrize("bad", ["proc", "file", "under-file"])
def test_a_bad_out_fails_at_once_on_every_command(tmp_path, a_file, bad):
    out = {"proc": "/proc/x/out", "file": a_file, "under-file": a_file / "sub"}[bad]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    commands = [
        ("decode", FEED, "--out", out),
        ("detect", FEED, "--out", out),
        ("demo", "--out", out),
        ("job", "--inbox", inbox, "--state", tmp_path / "state", "--out", out),
        ("job", "--inbox", inbox, "--state", out, "--out", tmp_path / "o"),
        ("watch", "-", "--out", out),
        ("watch", "-", "--out", tmp_path / "w", "--state", out),
        ("simulate", "--scenario", "control", "--out", f"{out}/feed.nmea", "--truth",
         tmp_path / "t.json"),
        ("detect", FEED, "--out", tmp_path / "d", "--export-trajectories", f"{out}/t.gpkg"),
    ]
    for command in commands:
        res = run_cli(*command, "--quiet", timeout=60, stdin=subprocess.DEVNULL)
        err = one_line_error(res, out)
        assert "give --" in err, err
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_detect_with_a_bad_out_does_no_work(tmp_path):
    """The issue's case: the whole analysis ran, then a 43-line traceback."""
    res = run_cli("detect", FEED, "--out", "/proc/x/out", timeout=60)
    err = one_line_error(res, "/proc/x/out")
    assert "decoding" not in err and "port visits" not in err    # no phase ran


def test_an_input_or_inbox_that_cannot_be_read(tmp_path):
    res = run_cli("detect", "/proc/self/mem", "--out", tmp_path / "o", "--quiet")
    one_line_error(res, "/proc/self/mem")
    res = run_cli("job", "--inbox", "/proc/x/inbox", "--state", tmp_path / "s",
                  "--out", tmp_path / "o2", "--quiet")
    one_line_error(res, "/proc/x/inbox")


def test_an_unreadable_inbox_file_is_reported_and_retried(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    part = slice_lines(scenario_lines(seed=3), 4)
    write_feed(inbox / "a.nmea", part[0])
    os.symlink("/proc/self/mem", inbox / "b.nmea")         # a file no one can read
    args = ("job", "--inbox", inbox, "--state", tmp_path / "state", "--out", tmp_path / "out")
    res = run_cli(*args)
    assert res.returncode == 1
    assert b"not read (retried next run)" in res.stdout and b"b.nmea" in res.stdout
    assert (tmp_path / "out" / "alerts.csv").exists()        # a.nmea was processed
    (inbox / "b.nmea").unlink()
    write_feed(inbox / "b.nmea", part[1])                    # readable now: processed
    res = run_cli(*args)
    assert res.returncode == 0 and b"1 new file(s)" in res.stdout, res.stdout


def _limited(limit_bytes: int):
    def setup():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return setup


@pytest.mark.parametrize("fault", ["full-disk-at-commit", "output-blocked"])
def test_a_write_failing_mid_run_loses_nothing(tmp_path, fault):
    """A job whose writes fail (a full disk while it commits its state; a directory
    standing where an output file goes, after the commit): one line naming the path,
    exit 1; the next run, once the fault is gone, ends exactly where one run over all the
    files ends, every alert logged once."""
    lines = scenario_lines(seed=3)
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    whole = tmp_path / "whole.nmea"
    write_feed(whole, lines)
    parts = slice_lines(lines, 3)
    args = ["job", "--inbox", inbox, "--state", tmp_path / "state", "--out", out,
            "--pair", "Najin,Dunay", "--quiet"]
    write_feed(inbox / "p0.nmea", parts[0])
    assert run_cli(*args).returncode == 0
    for i, part in enumerate(parts[1:], 1):
        write_feed(inbox / f"p{i}.nmea", part)
    if fault == "full-disk-at-commit":
        failed = subprocess.run(cli_command(*args), cwd=REPO, env=cli_env(), capture_output=True,
                                timeout=120, preexec_fn=_limited(20_000))
        err = one_line_error(failed, tmp_path / "state")
        assert "ulimit" in err and "committed is kept" in err
    else:
        (out / "summary.json").unlink()
        (out / "summary.json").mkdir()
        failed = run_cli(*args)
        one_line_error(failed, out / "summary.json")
        (out / "summary.json").rmdir()
    done = run_cli(*args)
    assert done.returncode == 0, done.stderr
    from shadowfleet.pipeline import detect

    truth = detect([whole], pairs=list(PAIRS))
    check_log_against_book(out, truth)
    assert len(pd.read_parquet(out / "positions.parquet")) == len(truth.positions)
    assert (out / "summary.json").is_file()


def test_detect_on_a_full_disk_keeps_the_previous_outputs(tmp_path):
    out = tmp_path / "out"
    assert run_cli("detect", FEED, "--out", out, "--quiet", "--no-figures").returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = subprocess.run(cli_command("detect", FEED, "--out", out, "--quiet", "--no-figures"),
                         cwd=REPO, env=cli_env(), capture_output=True, timeout=120,
                         preexec_fn=_limited(50_000))
    one_line_error(res)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before            # each file replaced atomically, or not at all
    shutil.rmtree(out)
