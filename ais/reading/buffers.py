"""Large flat arrays handed from piece to piece of a read instead of freed and allocated.

For the largest arrays of each piece of a read (the text read, the framed lines): while
the read lasts they are handed from piece to piece instead of being
freed and allocated again, so the heap the pieces need stays the same few blocks
whatever else the process allocates in between. (Measured on the 1M-sentence benchmark
feed read right after a pyais run in the same process, which fragments the heap: 17,000
to 35,000 page faults before the pools, 0.6 to 0.8 s against 0.33 s for a read without
faults.) The pools are emptied when a read ends. Kept for the next read instead, their
idle 150 MB were not available to other work (``shadowfleet decode``'s sort), and the
decode benchmark was no faster: its best fast read was 0.36 to 0.47 s over eight runs
keeping them, 0.31 to 0.38 s over seven runs emptying them (of versions that differed
in other ways too, on a machine whose speed varies by a third).
"""

from __future__ import annotations

import threading
import weakref

import numpy as np

__all__ = ["BufferPool", "empty_pools"]


def empty_pools() -> None:
    """Let every ``BufferPool`` go of the buffers it holds (the end of a read)."""
    for pool in list(BufferPool.pools):
        pool.clear()


class BufferPool:
    """Flat arrays given back after use and handed out again (at most ``kept`` of them
    held, each of at least ``min_size`` items). Thread-safe. A buffer must be given
    back only once nothing reads or writes it any more (no view of it kept)."""

    pools: "weakref.WeakSet[BufferPool]" = weakref.WeakSet()    # for empty_pools

    def __init__(self, dtype, min_size: int, kept: int):
        BufferPool.pools.add(self)
        self.dtype = np.dtype(dtype)
        self.min_size = int(min_size)
        self.kept = kept
        self._free: list[np.ndarray] = []
        self._lock = threading.Lock()

    def take(self, size: int) -> np.ndarray:
        """A flat array of at least ``size`` items (contents undefined)."""
        with self._lock:
            for k, buf in enumerate(self._free):
                if len(buf) >= size:
                    return self._free.pop(k)
        return np.empty(max(size, self.min_size), dtype=self.dtype)

    def clear(self) -> None:
        """Let go of the buffers held (their memory goes back to the heap for any use)."""
        with self._lock:
            self._free.clear()

    def give(self, buf: np.ndarray) -> None:
        """Keep ``buf`` for a next ``take`` (in place of the smallest one kept when
        ``kept`` are held already)."""
        if buf.dtype != self.dtype or buf.ndim != 1 or self.kept <= 0:
            return
        with self._lock:
            if len(self._free) < self.kept:
                self._free.append(buf)
                return
            k = min(range(len(self._free)), key=lambda j: len(self._free[j]))
            if len(self._free[k]) < len(buf):
                self._free[k] = buf
