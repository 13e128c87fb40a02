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
    # the run's share first (``compile_here``, right after it starts the second process)
    here = _python("from shadowfleet import warmup\nwarmup.compile_here()\n", env)
    assert here.returncode == 0, here.stderr
    proc = subprocess.run([sys.executable, "-m", "shadowfleet.warmup"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    after = _python(check, env)
    assert after.returncode == 0, after.stderr
    assert after.stdout.split() == ["True", "True"]
    # and the kernel the demo reaches only on its last step (the hidden port's surroundings)
    # ``compile_here`` compiled them with the argument types of the analysis's calls: one
    # specialisation each in the cache, not a second one compiled by the second process
    last = _python("from ports import _pip\n"
                   "print(len(_pip.within_many._cache._cache_file._load_index()),\n"
                   "      len(_pip.locate_many.serial._cache._cache_file._load_index()))\n", env)
    assert last.returncode == 0, last.stderr
    assert last.stdout.split() == ["1", "1"]


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


def test_the_run_waits_for_the_second_process_rather_than_compile_beside_it(monkeypatch):
    """Where the analysis starts, a run whose second process is still compiling waits for
    it to end (saying so on its progress) instead of compiling the same kernels; nothing
    to wait for once it ended, after ``stop``, or in a process that started none."""
    import io
    import time

    from ais.progress import Progress
    from shadowfleet import warmup

    assert warmup._current is None
    assert warmup.wait_for(Progress.off()) is False
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
    w = warmup.Warmup(proc)
    monkeypatch.setattr(warmup, "_current", w)
    out = io.StringIO()
    progress = Progress("lines", stream=out)
    t = time.perf_counter()
    assert warmup.wait_for(progress) is True
    progress.end_step()
    assert proc.poll() is not None and time.perf_counter() - t > 0.5
    assert out.getvalue().startswith(f"shadowfleet: {warmup.WAITING}: ")
    assert warmup.wait_for(progress) is False          # it ended: no wait, no line
    w.stop()
    assert warmup._current is None
    # a process that does not end: the run waits at most ``timeout_s``, then goes on
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stuck = warmup.Warmup(slow)
    monkeypatch.setattr(warmup, "_current", stuck)
    t = time.perf_counter()
    assert warmup.wait_for(None, timeout_s=0.2) is True
    assert time.perf_counter() - t < 5 and stuck.running
    stuck.stop()
    assert not stuck.running and warmup._current is None
