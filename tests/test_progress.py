"""Progress on stderr (``ais.progress``): a bar per phase on a terminal, a line per phase
otherwise, nothing with ``--quiet``; the commands report every long phase."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess

import pytest

from ais.progress import Progress
from tests._live_feeds import REPO, cli_command, cli_env, run_cli, scenario_lines, write_feed

FEED = REPO / "shadowfleet" / "data" / "demo" / "najin-dunay-2023.nmea.gz"


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_lines_mode_writes_one_line_per_finished_phase():
    out = io.StringIO()
    p = Progress("lines", stream=out)
    with p.phase("decoding", total=3 << 20, unit="B") as ph:
        ph.update(2 << 20)
        ph.update(1 << 20)
    p.step("cleaning")
    p.step("claims")
    p.end_step()
    p.end_step()                      # nothing left to end: no line
    lines = out.getvalue().splitlines()
    assert [ln.split(":")[1].strip() for ln in lines] == ["decoding", "cleaning", "claims"]
    assert lines[0].startswith("shadowfleet: decoding: 3.0 MB in ") and lines[0].endswith(" s")


def test_a_phase_that_fails_reports_nothing():
    out = io.StringIO()
    p = Progress("lines", stream=out)
    with pytest.raises(RuntimeError):
        with p.phase("writing"):
            raise RuntimeError("disk")
    assert out.getvalue() == ""


def test_bar_mode_draws_a_bar_and_clears_it():
    out = Terminal()
    p = Progress("bar", stream=out, bar_delay_s=0)
    with p.phase("decoding", total=100, unit="B") as ph:
        ph.update(40)
        drawn = out.getvalue()
    assert "decoding" in drawn and "/100" in drawn and "%|" in drawn
    assert "\n" not in out.getvalue().strip("\r\n")     # a bar redrawn in place, no lines


def test_the_mode_follows_the_stream_and_quiet():
    assert Progress.for_command(stream=Terminal()).mode == "bar"
    assert Progress.for_command(stream=io.StringIO()).mode == "lines"
    assert Progress.for_command(quiet=True, stream=Terminal()).mode == "off"
    assert Progress.of(False).mode == "off" and Progress.of(None).mode == "off"
    off = io.StringIO()
    p = Progress("off", stream=off)
    with p.phase("x") as ph:
        ph.update(5)
    p.step("y")
    p.end_step()
    assert off.getvalue() == ""


def phases(stderr: bytes) -> list[str]:
    """The phase lines (not errors, nor the lines of kernels compiled on a first run)."""
    from ais.progress import COMPILING

    return [ln.split(":")[1].strip() for ln in stderr.decode().splitlines()
            if ln.startswith("shadowfleet: ") and not ln.startswith("shadowfleet: error")
            and not ln.startswith(f"shadowfleet: {COMPILING}")]


def test_detect_reports_each_phase_and_quiet_silences_it(tmp_path):
    res = run_cli("detect", FEED, "--out", tmp_path / "o", "--claims",
                  REPO / "shadowfleet" / "data" / "claims" / "rusi-wapo-2023.yaml")
    assert res.returncode == 0, res.stderr
    assert phases(res.stderr) == ["decoding", "identity, cleaning and port visits",
                                  "dark periods, round trips and alerts", "behaviour at sea",
                                  "claims", "writing tables", "map", "timeline"]
    quiet = run_cli("detect", FEED, "--out", tmp_path / "q", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == b"" and quiet.stdout == b""


def test_decode_job_and_demo_report_their_phases(tmp_path):
    res = run_cli("decode", FEED, "--out", tmp_path / "d")
    assert phases(res.stderr) == ["decoding", "sorting and writing"]
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    write_feed(inbox / "a.nmea", scenario_lines(seed=3))
    res = run_cli("job", "--inbox", inbox, "--state", tmp_path / "s", "--out", tmp_path / "j",
                  "--figures")
    assert res.returncode == 0, res.stderr
    assert phases(res.stderr) == ["loading the state", "decoding a.nmea",
                                  "identity, cleaning and port visits",
                                  "dark periods, round trips and alerts", "behaviour at sea",
                                  "committing the state", "writing tables", "map", "timeline"]
    assert b"1 new file(s)" in res.stdout
    quiet = run_cli("job", "--inbox", inbox, "--state", tmp_path / "s", "--out",
                    tmp_path / "j", "--quiet")
    assert quiet.returncode == 0 and quiet.stderr == b"" and quiet.stdout == b""
    res = run_cli("demo", "--out", tmp_path / "demo", "--quiet")
    assert res.returncode == 0 and res.stderr == b"" and res.stdout == b""
    # the demo's phases once each: the second act (printed on stdout) reports none
    res = run_cli("demo", "--out", tmp_path / "demo2")
    assert res.returncode == 0, res.stderr
    assert phases(res.stderr) == ["decoding", "identity, cleaning and port visits",
                                  "dark periods, round trips and alerts", "behaviour at sea",
                                  "claims", "writing tables", "map", "timeline"]
    assert b"second act" in res.stdout


def test_on_a_terminal_there_are_no_phase_lines(tmp_path):
    """stderr a terminal (a pty): bars, redrawn in place, never the lines of a log."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(cli_command("decode", FEED, "--out", tmp_path / "d"), cwd=REPO,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=secondary)
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(primary, 4096)
        except OSError:         # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    proc.wait(timeout=60)
    os.close(primary)
    assert proc.returncode == 0
    assert b"shadowfleet: decoding:" not in seen and b"sorting and writing:" not in seen


def _fresh_kernels():
    """Two functions numba has never compiled (no disk cache: a test probe, not a
    project kernel), the outer calling the inner."""
    import numba

    @numba.njit(cache=False)
    def inner(x):
        return x * 2.0

    @numba.njit(cache=False)
    def outer(a):
        s = 0.0
        for v in a:
            s += inner(v)
        return s

    return outer


def test_compiling_kernels_is_reported_once_with_a_closing_line():
    import numpy as np

    from ais.progress import COMPILING

    out = io.StringIO()
    p = Progress("lines", stream=out)
    p.report_compiling()
    outer = _fresh_kernels()
    assert outer(np.arange(3.0)) == 6.0
    assert outer(np.arange(4.0)) == 12.0        # compiled already: no more events
    p.end_compiling()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"shadowfleet: {COMPILING}: ") and "cache" in lines[0]
    # the inner function compiles inside the outer one: one kernel
    assert lines[1].startswith(f"shadowfleet: {COMPILING}: 1 kernel in ")
    assert lines[1].endswith(" s")
    p.end_compiling()                           # ended: nothing more
    assert out.getvalue().count("\n") == 2


def test_no_compile_no_line_and_off_reports_nothing():
    import numpy as np

    out = io.StringIO()
    p = Progress("lines", stream=out)
    p.report_compiling()
    p.end_compiling()
    assert out.getvalue() == ""
    quiet = Progress.off()
    quiet.report_compiling()
    _fresh_kernels()(np.arange(2.0))
    quiet.end_compiling()                       # off: nothing was listening


def test_compiling_kernels_bar_on_a_terminal():
    import numpy as np

    from ais.progress import COMPILING

    out = Terminal()
    p = Progress("bar", stream=out)
    p.report_compiling()
    _fresh_kernels()(np.arange(2.0))
    p.end_compiling()
    text = out.getvalue()
    assert COMPILING in text and "kernel" in text
