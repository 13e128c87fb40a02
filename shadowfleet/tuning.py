"""Memory tuning of the ``shadowfleet`` command's own process (glibc; elsewhere a no-op).

The library changes nothing in a process that imports it (a notebook, a Dask worker, a
long-running service): no allocator option, signal handler, thread pool size or umask
(``tests/test_side_effects.py``). The command is a process of its own, and it switches
on two glibc ``mallopt`` settings for itself, because they pay there:

- **one heap for every thread** (``M_ARENA_MAX`` 1), for every subcommand, set by
  ``shadowfleet.__main__`` before anything else is imported: pyarrow starts a thread of
  its own when pandas is imported, that thread makes a second arena, and once two
  arenas exist glibc hands them to new threads in turn whatever the limit. The
  reader's read-ahead and sorter threads allocate large arrays; on a thread's own arena
  (heaps of at most 64 MiB) anything larger is ``mmap``-ed and unmapped on ``free`` and
  those heaps are trimmed, so each piece's arrays were fresh memory again (measured
  with ``perf``: 18% of the samples of five benchmark reads zeroing new huge pages, 4%
  with one arena);
- **freed memory kept for the next piece** (``M_MMAP_THRESHOLD`` and
  ``M_TRIM_THRESHOLD`` 2 GiB), for the subcommands that read feeds in bulk
  (``BULK_READ_COMMANDS``): every piece of a feed allocates arrays of tens to hundreds
  of MB and frees them; glibc serves blocks that large with ``mmap`` and gives them
  back on ``free``, so the next piece pays the page faults of fresh memory again, which
  on virtual machines costs as much as the decoding. The peak memory is unchanged; it
  goes back to the system at exit (or at ``release_freed_memory``) instead of after
  each piece. ``detect`` gives it back when its read ends and has large blocks
  ``mmap``-ed again for the analysis (``end_bulk_read``: the analysis's arrays, kept
  one after the other, cost it 0.6 GB of peak RSS on the 5M-message e2e feed).
  ``job`` and ``watch`` (long-lived, feeding small batches) keep glibc's defaults.

What each is worth today is measured in the README ("Performance"). A program that
embeds the library and wants the same can call ``share_main_arena`` first thing (before
importing pandas) and ``keep_freed_memory`` before a long read.
"""

from __future__ import annotations

import ctypes
import ctypes.util

__all__ = ["BULK_READ_COMMANDS", "share_main_arena", "keep_freed_memory",
           "release_freed_memory", "end_bulk_read", "trim_heap", "command_started",
           "command_chosen"]

BULK_READ_COMMANDS = frozenset({"decode", "detect", "demo"})

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_LIMIT = 2**31 - 1          # the largest value mallopt takes: 2 GiB
# after a bulk read (``end_bulk_read``): blocks from this size up are mmap-ed
ANALYSIS_MMAP_BYTES = 1 << 20
_kept = False
_command = False
_analysing = False      # end_bulk_read ended a bulk read in this process


def _libc_function(name: str):
    """glibc's function ``name`` through ctypes, or None (another C library)."""
    try:
        return getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None


def _mallopt(param: int, value: int) -> bool:
    """glibc ``mallopt(param, value)``; True when glibc took it (False elsewhere)."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(param, value))


def share_main_arena() -> bool:
    """Have every thread started from now on allocate from glibc's main arena; True
    when glibc took it. Must come before pandas is imported (see the module docstring)."""
    return _mallopt(_M_ARENA_MAX, 1)


def keep_freed_memory() -> bool:
    """Ask glibc to keep large freed blocks in the heap (once per process); True when it
    took it."""
    global _kept
    if not _kept:
        _kept = _mallopt(_M_MMAP_THRESHOLD, _LIMIT) and _mallopt(_M_TRIM_THRESHOLD, _LIMIT)
    return _kept


def release_freed_memory() -> bool:
    """Empty the read buffer pools and give the free memory of the heap back to the
    system (glibc ``malloc_trim``): for the end of a long read whose freed memory was
    kept, before work that allocates blocks of other sizes (``shadowfleet decode``'s
    sort) and would otherwise add them on top of it. True when the heap was trimmed."""
    from ais.reading.buffers import empty_pools

    empty_pools()
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim(0)
    return True


def end_bulk_read() -> bool:
    """The bulk read of a command that goes on to analyse what it read (``detect``) is
    over: what the read kept of its freed memory goes back to the system
    (:func:`release_freed_memory`) and large blocks are ``mmap``-ed and given back on
    ``free`` again, at a fixed ``ANALYSIS_MMAP_BYTES`` (glibc's own threshold moves up to
    32 MiB as blocks are freed, and blocks under it stay in the heap). The analysis
    allocates and frees arrays of every size, a few at a time, and the heap kept every
    one of them: measured on the 5M-message feed of ``benchmarks/e2e.py``, ``detect``'s
    peak RSS 2.7 GB with the read's setting kept, 2.2 GB with glibc's defaults
    throughout, 2.1 GB with this. Does nothing (False) unless :func:`keep_freed_memory`
    switched the setting on."""
    global _kept
    if not _kept:
        return False
    release_freed_memory()
    _mallopt(_M_MMAP_THRESHOLD, ANALYSIS_MMAP_BYTES)
    _mallopt(_M_TRIM_THRESHOLD, ANALYSIS_MMAP_BYTES)
    _kept = False
    global _analysing
    _analysing = True
    return True


def trim_heap() -> bool:
    """Give the free memory inside the heap back to the system (glibc ``malloc_trim``,
    which also returns free pages in the middle of the heap; ``free`` only gives back
    its top), between steps of the analysis after a bulk read (:func:`end_bulk_read`).
    The read's arrays came from the heap (its setting kept them there), and the
    analysis's arrays under ``ANALYSIS_MMAP_BYTES`` and its many small objects leave
    holes there too: measured on the 5M-message feed of ``benchmarks/e2e.py``, 424 MB of
    the heap free but resident when the detectors started, and each behaviour detector
    keeping 40-100 MB more. ``detect`` also calls it while the read's pieces are
    joined (``ais.read_inputs``' ``release``): the pieces' columns are let go one after
    the other, into the heap the read keeps. A call costs 2-10 ms there. Does nothing
    (False) in a process without a bulk read of its own (a notebook, a library caller,
    ``job``)."""
    if not (_analysing or _kept):
        return False
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim(0)
    return True


def command_started() -> None:
    """The ``shadowfleet`` command's process starts (``shadowfleet.__main__``, before
    anything else is imported): one heap for every thread."""
    global _command
    _command = True
    share_main_arena()


def command_chosen(name: str | None) -> None:
    """The command's subcommand is known: a bulk read keeps freed memory. Does nothing
    in a process that is not the command (the CLI's functions called from Python)."""
    if _command and name in BULK_READ_COMMANDS:
        keep_freed_memory()
