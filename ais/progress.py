"""Progress of a command's long phases, on stderr: the one mechanism every command uses.

A ``Progress`` reports *phases* (decoding, each detector group, claims, figures, a job's
files...). On a terminal each phase is a tqdm bar, shown once the phase has lasted
``bar_delay_s`` (a quick phase does not flash one); otherwise (a log file, cron's mail,
a pipe) each phase that ends gives one line::

    shadowfleet: decoding: 1.3 GB in 12.4 s

``Progress.off()`` (``--quiet``) reports nothing. A phase that ends in an exception
reports nothing either: the error is what the user needs to read.

Library code takes a ``progress`` argument that defaults to ``Progress.off()``, so a
notebook or a Dask worker that calls it prints nothing unless asked; the command line
makes the one instance of a run (``Progress.for_command``) and passes it down.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from typing import IO, Iterator

__all__ = ["Progress", "Phase", "COMPILING"]

COMPILING = "compiling kernels for first use (once per install)"


def _amount(n: float, unit: str) -> str:
    if unit == "B":
        for size, name in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")):
            if n >= size:
                return f"{n / size:.1f} {name}"
        return f"{int(n)} B"
    return f"{int(n):,} {unit}" if unit else f"{int(n):,}"


class Phase:
    """One phase under way: ``update(n)`` adds to its count (bytes, files, vessels)."""

    def __init__(self, owner: "Progress", name: str, total: float | None, unit: str):
        self.owner, self.name, self.total, self.unit = owner, name, total, unit
        self.n = 0
        self.started = time.perf_counter()
        self._bar = None
        if owner.bars:
            from tqdm import tqdm

            self._bar = tqdm(total=total or None, unit=unit or "it",
                             unit_scale=unit == "B", delay=owner.bar_delay_s,
                             file=owner.stream, desc=name, leave=False,
                             dynamic_ncols=True)

    def update(self, n: float = 1) -> None:
        if n <= 0:
            return
        self.n += n
        if self._bar is not None:
            self._bar.update(n)

    def _end(self, ok: bool) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if ok and self.owner.lines:
            seconds = time.perf_counter() - self.started
            amount = f"{_amount(self.n, self.unit)} in " if self.n and self.unit else ""
            self.owner.stream.write(f"{self.owner.prefix}: {self.name}: {amount}"
                                    f"{seconds:.1f} s\n")
            self.owner.stream.flush()


class Progress:
    """Where a run reports its phases (see the module docstring).

    ``mode``: ``"bar"`` (a tqdm bar per phase), ``"lines"`` (a line per phase that ends)
    or ``"off"``. ``for_command`` picks bar or lines by whether the stream is a terminal.
    """

    def __init__(self, mode: str = "off", *, stream: IO[str] | None = None,
                 prefix: str = "shadowfleet", bar_delay_s: float = 1.0):
        if mode not in ("bar", "lines", "off"):
            raise ValueError(f"progress mode {mode!r}: use bar, lines or off")
        self.mode = mode
        self.stream = stream if stream is not None else sys.stderr
        self.prefix = prefix
        self.bar_delay_s = bar_delay_s
        self._step: Phase | None = None
        self._compiling: _CompileReport | None = None

    @classmethod
    def off(cls) -> "Progress":
        return cls("off")

    @classmethod
    def for_command(cls, *, quiet: bool = False, stream: IO[str] | None = None) -> "Progress":
        """A command's progress: off when ``quiet``, bars on a terminal, lines otherwise."""
        stream = stream if stream is not None else sys.stderr
        if quiet:
            return cls("off", stream=stream)
        tty = getattr(stream, "isatty", None)
        return cls("bar" if tty is not None and tty() else "lines", stream=stream)

    @classmethod
    def of(cls, progress) -> "Progress":
        """``progress`` as a ``Progress``: True is ``for_command()``, False/None off."""
        if isinstance(progress, Progress):
            return progress
        return cls.for_command() if progress else cls.off()

    @property
    def bars(self) -> bool:
        return self.mode == "bar"

    @property
    def lines(self) -> bool:
        return self.mode == "lines"

    @property
    def enabled(self) -> bool:
        return self.mode != "off"

    @contextmanager
    def phase(self, name: str, *, total: float | None = None, unit: str = "") -> Iterator[Phase]:
        """A phase: ``with progress.phase("decoding", total=size, unit="B") as p: p.update(n)``."""
        self.end_step()
        ph = Phase(self, name, total, unit)
        try:
            yield ph
        except BaseException:
            ph._end(ok=False)
            raise
        ph._end(ok=True)

    def step(self, name: str) -> None:
        """End the step phase under way (if any) and start the next: phase boundaries in
        straight-line code (``shadowfleet.pipeline.analyse``). ``end_step`` ends the last."""
        self.end_step()
        self._step = Phase(self, name, None, "")

    def end_step(self) -> None:
        if self._step is not None:
            step, self._step = self._step, None
            step._end(ok=True)

    def report_compiling(self, note: str = "") -> None:
        """Report numba compiling kernels from now on (the first run after an install, or
        after the code changed: later runs load them from numba's cache, which reports
        nothing). A line when the first compile starts, then a bar of the kernels
        compiled on a terminal; :meth:`end_compiling` ends it with a line of how many
        kernels and how long. Nothing when progress is off. ``note``: added to the first
        line (what else is under way)."""
        if self.enabled and self._compiling is None:
            self._compiling = _CompileReport(self, note)

    def end_compiling(self) -> None:
        """Stop reporting compiles; one line of what was compiled, if anything was."""
        report, self._compiling = self._compiling, None
        if report is not None:
            report.close()

    def abandon_step(self) -> None:
        """The code under a step failed: end it without its line."""
        if self._step is not None:
            step, self._step = self._step, None
            step._end(ok=False)


class _CompileReport:
    """A numba event listener (``numba:compile``, fired for a real compile, never for a
    load from the cache) counting the kernels compiled and the time spent, from any
    thread (the read-ahead thread compiles the framing kernels). Compiles nested in a
    compile (a kernel calling another) count in the outer one."""

    def __init__(self, owner: "Progress", note: str = ""):
        import threading

        from numba.core import event

        self.owner = owner
        self.note = note
        self.kernels = 0
        self.seconds = 0.0
        self._lock = threading.Lock()
        self._local = threading.local()
        self._bar = None
        self._event = event
        listener = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                listener._start()

            def on_end(self, ev):
                listener._end()

        self._listener = _Listener()
        event.register("numba:compile", self._listener)

    def _start(self) -> None:
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        if depth:
            return
        self._local.started = time.perf_counter()
        with self._lock:
            first = self.kernels == 0 and self._bar is None
            if first:
                owner = self.owner
                if owner.bars:
                    from tqdm import tqdm

                    self._bar = tqdm(total=None, unit="kernels", desc=COMPILING, leave=False,
                                     file=owner.stream, dynamic_ncols=True)
                else:
                    note = f"; {self.note}" if self.note else ""
                    owner.stream.write(f"{owner.prefix}: {COMPILING}: numba compiles the "
                                       f"kernels once; later runs load them from its cache"
                                       f"{note}\n")
                    owner.stream.flush()

    def _end(self) -> None:
        self._local.depth = depth = max(getattr(self._local, "depth", 1) - 1, 0)
        if depth:
            return
        with self._lock:
            self.kernels += 1
            self.seconds += time.perf_counter() - self._local.started
            if self._bar is not None:
                self._bar.update(1)

    def close(self) -> None:
        self._event.unregister("numba:compile", self._listener)
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            if self.kernels:
                kernels = f"{self.kernels} kernel" + ("s" if self.kernels != 1 else "")
                self.owner.stream.write(f"{self.owner.prefix}: {COMPILING}: "
                                        f"{kernels} in {self.seconds:.1f} s\n")
                self.owner.stream.flush()
