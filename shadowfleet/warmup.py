"""The first run after an install: the analysis's kernels compiled in a second process.

On the first run numba compiles every kernel the run uses (then loads them from its disk
cache, :mod:`ais._kernel_cache`). A run compiles in one thread (numba holds one lock for
all its compiles), decoding first, then the detectors: on a machine of two cores or more,
while the run compiles and runs the decoder, this module's process (``python -m
shadowfleet.warmup``) compiles the detectors' and ports' kernels on another core, by
analysing the first ``WARMUP_LINES`` lines of the bundled feed (decoded with pyais, so
that it compiles none of the decoder's kernels the run is compiling) with the bundled
ports and claims, then the few the run reaches only at its end (the demo's second
act). The run then loads them from the shared disk cache when it gets there.
The same kernels with the same argument types serve any feed, ports and claims: the
detectors see the same columns whatever the input.

:func:`start` starts it only when the analysis kernels are not in the cache yet (a few
index files read: nothing on later runs), and only with more than one CPU. It writes
nothing but numba's cache; the run stops it when it ends (a kernel it was compiling is
compiled again on the run that needs it: numba writes its cache files whole or not at
all). When the run reaches the analysis while the second process is still compiling,
it waits for it (:func:`wait_for`, "waiting for the second process" on its progress)
rather than compile the same kernels beside it: the second process compiles them in
the order the run needs them, so a run that went on compiled one kernel after another
behind it, each the one the second process was compiling, twice the CPU for no time
gained (a cold demo's run compiled 33 kernels instead of 28, on a busy machine). A
kernel the second process did not compile (an analysis that needs other kernels than
the demo's), the run compiles itself, as without it.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["WARMUP_LINES", "WAIT_MAX_S", "analysis_kernels_cached", "start", "compile_here",
           "wait_for", "Warmup", "main"]

# The bundled feed's first lines: its first ten days, with port visits at both ends of
# the shuttle, dark periods, possible port calls, an encounter, loitering and stays, so
# that the analysis calls nearly every kernel it calls on the whole feed (1.5 s of pyais).
WARMUP_LINES = 45_000


def _sentinels() -> list:
    """A kernel of each analysis step, the ones the warm-up compiles."""
    from detectors import (_dark_periods_kernel, _encounters_kernel, _identity_tracks_kernel,
                           _loitering_kernel, _port_visits_kernel, _stays_kernel)
    from ports import _pip

    sized = [_port_visits_kernel.port_visits_kernel, _dark_periods_kernel._count_others,
             _identity_tracks_kernel._assign, _stays_kernel._fill, _pip.nearest_many]
    return [k.serial for k in sized] + [_encounters_kernel.find_runs,
                                        _loitering_kernel.loiter_stats]


def analysis_kernels_cached() -> bool:
    """Whether numba's disk cache holds the analysis's kernels for the current sources
    (each sentinel's index has an entry with the current stamp)."""
    try:
        return all(bool(k._cache._cache_file._load_index()) for k in _sentinels())
    except Exception:              # a cache numba cannot read: as if empty
        return False


# The longest a run waits for the second process (:func:`wait_for`); past it the run
# compiles what it still needs itself. The second process's work is about 20 s of CPU.
WAIT_MAX_S = 300.0

_current: "Warmup | None" = None     # the second process this process started


class Warmup:
    """The second process, under way: :meth:`stop` when the run ends."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout_s: float) -> bool:
        """Wait until the process ends, at most ``timeout_s``: whether it ended."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def stop(self) -> None:
        global _current
        if _current is self:
            _current = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start() -> Warmup | None:
    """Start the second process when it can help: more than one CPU and the analysis
    kernels not cached yet. None otherwise."""
    if (os.cpu_count() or 1) < 2 or analysis_kernels_cached():
        return None
    global _current
    try:
        proc = subprocess.Popen([sys.executable, "-m", "shadowfleet.warmup"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, close_fds=True)
    except OSError:
        return None
    _current = Warmup(proc)
    return _current


def compile_here() -> None:
    """In the run, right after it started the second process: compile the ports'
    kernels that the second process reaches first and last (``ports._pip.locate_many``,
    the first analysis step's, and ``within_many``, the demo's last step's: 2.7 s of its
    about 20 s of CPU), before the run starts decoding. The run's own compiles (the
    decoder's) are the lighter share: without these the run waited for the second
    process at the analysis. Done before the second process has decoded its lines with
    pyais and compiled the identity kernels, so it loads them from the cache. The
    argument types are those of every call (``PortRegistry`` makes its inputs read-only
    contiguous float64; tested: one specialisation each after a run)."""
    import numpy as np

    from ports import load_ports
    from shadowfleet.demo import NEAR_NM

    try:
        registry = load_ports()
        if len(registry.names):
            z = np.zeros(1)
            registry.locate(z, z)
            registry.contains(0, z, z, buffer_nm=NEAR_NM)
    except Exception:       # only a head start: the run compiles them when it needs them
        pass


WAITING = "waiting for the second process to compile the detectors' kernels"


def wait_for(progress=None, timeout_s: float = WAIT_MAX_S) -> bool:
    """Where the run's analysis starts: when the second process this process started is
    still compiling, wait for it to end (at most ``timeout_s``), a ``WAITING`` phase on
    ``progress``; the analysis then loads its kernels from the cache. Whether it waited
    (nothing to wait for in the second process itself, in later runs, or once it ended)."""
    w = _current
    if w is None or not w.running:
        return False
    if progress is not None:
        progress.step(WAITING)
    w.wait(timeout_s)
    return True


def warm(lines: int = WARMUP_LINES) -> None:
    """Compile the analysis kernels: analyse the bundled feed's first ``lines`` lines."""
    from ports import load_ports
    from shadowfleet.claims import bundled_claim_files, load_claims
    from shadowfleet.config import Settings
    from shadowfleet.demo import (DEMO_NOTE, bundled_feed, bundled_manifest, stand_ins,
                                  with_stand_ins)
    from shadowfleet.pipeline import analyse, decode

    with tempfile.TemporaryDirectory(prefix="shadowfleet-warmup-") as tmp:
        head = Path(tmp) / "head.nmea"
        with gzip.open(bundled_feed(), "rb") as src, open(head, "wb") as dst:
            for i, line in enumerate(src):
                if i >= lines:
                    break
                dst.write(line)
        decoded = decode([head], decoder="pyais")
    claims = with_stand_ins(load_claims(bundled_claim_files()), stand_ins(bundled_manifest()))
    registry = load_ports()
    analyse(decoded, registry=registry, claims=claims, params=Settings.defaults(),
            simulated=DEMO_NOTE)
    _warm_last_kernels(registry)


def _warm_last_kernels(registry) -> None:
    """The kernels a run reaches only at its end, after the analysis, when the second
    process is done: the demo's second act asks which stops lie near the hidden port
    (``PortRegistry.contains``, ``ports._pip.within_many``), which the run otherwise
    compiled itself on its last step (1.9 s in a cold demo on the busy 2-core machine,
    load 4.5). The argument types are those of any call: float64 positions, any port."""
    import numpy as np

    from shadowfleet.demo import NEAR_NM

    if len(registry.names):
        registry.contains(0, np.zeros(1), np.zeros(1), buffer_nm=NEAR_NM)


def main() -> None:
    warm()


if __name__ == "__main__":
    main()
