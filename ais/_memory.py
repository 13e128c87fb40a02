"""Keep freed memory in the process for the next piece of a long read.

Every piece of a feed allocates arrays of tens to hundreds of MB (framed lines, decoded
fields) and frees them when the piece is done. glibc serves blocks that large with
``mmap`` and gives them back to the kernel on ``free``, so the next piece pays the page
faults of fresh memory again: on virtual machines that costs as much as the decoding
(measured here: the 1M-sentence benchmark read in 0.84 s by default, 0.67 s with freed
memory kept). ``keep_freed_memory`` raises glibc's ``mmap`` and trim thresholds so large
blocks come from the heap and stay there for reuse. The process's peak memory is
unchanged; it is returned to the kernel at exit instead of after each piece.

``share_main_arena`` (called when ``ais`` is imported) keeps every thread on the main
heap (one arena). The reader's read-ahead and sorter threads allocate large arrays too,
and a thread's own arena is made of heaps of at most 64 MiB: anything larger is
``mmap``-ed and unmapped on ``free`` whatever the thresholds, and those heaps are
trimmed, so each piece's arrays were fresh memory again
(measured with ``perf``: 18% of the samples of five benchmark reads zeroing new huge
pages, 4% with one arena; the reads 0.46 to 0.55 s instead of 0.59 to 0.75 s). The
threads allocate a few large blocks per piece, so sharing one arena costs nothing
measurable. Threads that already have an arena keep it, and the limit has to be set
before a second arena exists (see ``share_main_arena``).

Elsewhere than glibc (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from ais.reading.buffers import empty_pools

__all__ = ["keep_freed_memory", "share_main_arena", "release_freed_memory"]

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
_LIMIT = 2**31 - 1          # the largest value mallopt takes: 2 GiB
_done = False


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


def keep_freed_memory() -> bool:
    """Ask glibc to keep large freed blocks (once per process); True when it took it."""
    global _done
    if not _done:
        _done = _mallopt(_M_MMAP_THRESHOLD, _LIMIT) and _mallopt(_M_TRIM_THRESHOLD, _LIMIT)
    return _done


def share_main_arena() -> bool:
    """Have every thread started from now on allocate from glibc's main arena; True
    when glibc took it. Called when ``ais`` is imported, before pandas: pyarrow starts a
    thread of its own (``jemalloc_bg_thd``) that makes a second arena and keeps it for
    the life of the process, and once two arenas exist glibc hands them to new threads
    in turn, whatever the limit. Every other read then ran its read-ahead and sorter
    threads on the second arena, whose heaps are unmapped when their blocks are freed:
    17,000 to 20,000 page faults a read of the 1M-sentence benchmark feed, 0.5 to 1.0 s
    instead of 0.35 to 0.45 s."""
    return _mallopt(_M_ARENA_MAX, 1)


def release_freed_memory() -> bool:
    """Empty the buffer pools and give the free memory of the heap back to the system
    (glibc ``malloc_trim``): for the end of a long read whose freed memory was kept,
    before work that allocates blocks of other sizes (``shadowfleet decode``'s sort) and
    would otherwise add them on top of it. True when the heap was trimmed."""
    empty_pools()
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim.argtypes = (ctypes.c_size_t,)
    trim(0)
    return True
