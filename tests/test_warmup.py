"""The first run's second process (``shadowfleet.warmup``): it compiles the analysis's
kernels into the shared disk cache, starts only when they are not cached, and the
command says what it is doing while kernels compile (``ais.progress``)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests._live_feeds import REPO


def _python(code: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_warmup_process_fills_the_cache_the_run_reads(tmp_path):
    """In a new, empty cache the analysis kernels are not cached; ``python -m
    shadowfleet.warmup`` compiles them; a later process (a run) finds them cached and
    starts no second process."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    check = ("from shadowfleet import warmup\n"
             "w = warmup.start()\n"
             "print(warmup.analysis_kernels_cached(), w is None)\n"
             "w is None or w.stop()\n")
    before = _python(check, env)
    assert before.returncode == 0, before.stderr
    cached, none_started = before.stdout.split()
    assert cached == "False"
    if (os.cpu_count() or 1) >= 2:
        assert none_started == "False"      # it started one (stopped at once)
    proc = subprocess.run([sys.executable, "-m", "shadowfleet.warmup"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    after = _python(check, env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() == ["True", "True"]
    # and the kernel the demo reaches only on its last step (the hidden port's surroundings)
    last = _python("from ports import _pip\n"
                   "print(bool(_pip.within_many._cache._cache_file._load_index()))\n", env)
    assert last.returncode == 0, last.stderr
    assert last.stdout.split() == ["True"]


def test_first_run_line_names_the_second_process_when_there_is_one():
    import io

    from ais.progress import COMPILING, Progress

    out = io.StringIO()
    p = Progress("lines", stream=out)
    p.report_compiling(note="a second process compiles the detectors' meanwhile")
    import numba

    from ais._numba import njit

    @njit(cache=False)
    def _fresh(x):                      # a kernel nobody compiled yet: one compile
        return x * 3 + 1

    assert _fresh(2) == 7
    p.end_compiling()
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(f"shadowfleet: {COMPILING}: ")
    assert "once per install" in lines[0]
    assert lines[0].endswith("; a second process compiles the detectors' meanwhile")
    assert lines[1].startswith(f"shadowfleet: {COMPILING}: 1 kernel in ")
    assert numba.config.DISABLE_JIT or isinstance(_fresh, numba.core.dispatcher.Dispatcher)
