"""Multi-receiver dedup for the fast path: the ``Deduplicator``'s window as packed arrays.

The rule is ``ais.assembly.dedup``'s (a payload equal to a kept copy's within ``window_s``
seconds of it is a duplicate; the window keeps copies by ``Deduplicator.live_mask``).

The fast path keeps the window as an ``_Arena``, which is then the ``Deduplicator``'s
state (``Deduplicator.window``, the reference's ``bytes -> time`` dict, is made from it
only when someone reads it): the payloads packed in the dict's order (insertion order;
an expired entry is only flagged dead until the arena is compacted), a 64-bit hash, kept
time and live flag per entry, and an open-addressing table hash -> entry.

A batch is three numba passes over its messages: ``_probe`` finds each message's entry
by hash alone, new payloads getting new entries; ``_append_check`` copies the new
payloads in and compares every other message with its entry byte for byte; ``_decide``
applies the duplicate rule to the entries' kept times. Each pass prefetches what the
message ``AHEAD`` of it will look up (the table holds millions of slots, and a probe is
a cache miss): on the 1M-sentence benchmark feed ``_probe`` took 12 to 13 ms a read
instead of 28 to 31 ms, and ``_append_check`` 25% less in a test of its own. Should
two payloads share a hash, the check fails before anything is committed and
``_dedup_batch`` does the batch comparing bytes at every probe. The window itself is scanned only when an entry can have expired (the
least kept time is tracked) or it is over its size cap.
"""

from __future__ import annotations

import numpy as np

from ais.tables.spans import _gather_flat, pack
from ais._numba import load8, njit, prefetch, readonly, store8

# a table slot (int64): 0 empty, 1 a deleted entry (tombstone), else the high 32 bits of
# the entry's hash over ``e + 2`` in the low 32 bits (one 8-byte load per probe)
EMPTY, TOMB = 0, 1
HIGH = np.int64(-(1 << 32))
LOW = np.int64((1 << 32) - 1)
# how many messages ahead the batch passes prefetch what a message will look up
AHEAD = 32


@njit(inline="always")
def _repeat(ti, e, e_time, window_s):
    """The dedup rule for one message (receive time ``ti``, window entry ``e``): a
    duplicate when within ``window_s`` of the entry's kept time; else its time is kept."""
    kt = e_time[e]
    if not np.isnan(kt) and abs(ti - kt) <= window_s:
        return True
    e_time[e] = ti
    return False


@njit
def _hash_spans(buf, starts, ends, out):
    """64-bit hash of each span: little-endian 8-byte words, each xored in and mixed
    with a multiply and a shift (a word costs what FNV-1a spends on one byte), then the
    length, then the murmur3 finaliser."""
    m = np.uint64(0x9E3779B97F4A7C15)
    for i in range(len(starts)):
        a = starts[i]
        n = ends[i] - a
        h = np.uint64(0xCBF29CE484222325)
        j = 0
        while j + 8 <= n:
            w = (np.uint64(buf[a + j]) | (np.uint64(buf[a + j + 1]) << np.uint64(8))
                 | (np.uint64(buf[a + j + 2]) << np.uint64(16))
                 | (np.uint64(buf[a + j + 3]) << np.uint64(24))
                 | (np.uint64(buf[a + j + 4]) << np.uint64(32))
                 | (np.uint64(buf[a + j + 5]) << np.uint64(40))
                 | (np.uint64(buf[a + j + 6]) << np.uint64(48))
                 | (np.uint64(buf[a + j + 7]) << np.uint64(56)))
            h = (h ^ w) * m
            h ^= h >> np.uint64(29)
            j += 8
        w = np.uint64(n)
        b = np.uint64(8)
        while j < n:
            w |= np.uint64(buf[a + j]) << b
            b += np.uint64(8)
            j += 1
        h = (h ^ w) * m
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
        out[i] = h


@njit(inline="always")
def _slot(h, shift):
    return np.int64((h * np.uint64(0x9E3779B97F4A7C15)) >> shift)


@njit(inline="always")
def _slot_entry(v):
    return (v & LOW) - 2


@njit(inline="always")
def _slot_value(hk, e):
    return (hk & HIGH) | (e + 2)


@njit
def _table_add(tab, shift, hashes, hkeys, lo, hi, alive):
    """Insert the live entries ``lo <= e < hi`` (their payloads all distinct)."""
    mask = len(tab) - 1
    for e in range(lo, hi):
        if not alive[e]:
            continue
        s = _slot(hashes[e], shift)
        while tab[s] != EMPTY:
            s = (s + 1) & mask
        tab[s] = _slot_value(hkeys[e], e)


@njit
def _dedup_batch(big, ps, pe, hashes, hkeys, times, window_s, dup,
                 buf, used, e_start, e_end, e_hash, e_time, alive, n_ent, tab, shift):
    """The batch in one pass, bytes compared at every probe (the way when two payloads
    share a hash): message i (``big[ps[i]:pe[i]]``, receive time ``times[i]``) is looked
    up among the entries, a new payload is appended as an entry with no kept time, and
    the duplicate rule updates kept times. Returns (entries, bytes used, duplicates,
    least kept time written, latest time)."""
    mask = len(tab) - 1
    k = n_ent
    n_dup = 0
    tmin = np.inf
    tmax = -np.inf
    for i in range(len(ps)):
        a, b = ps[i], pe[i]
        n = b - a
        s = _slot(hashes[i], shift)
        e = -1
        hi = hkeys[i] & HIGH
        while True:
            v = tab[s]
            if v == EMPTY:
                break
            if v != TOMB and (v & HIGH) == hi:
                c = _slot_entry(v)
                c0 = e_start[c]
                if e_end[c] - c0 == n:
                    same = True
                    for j in range(n):
                        if buf[c0 + j] != big[a + j]:
                            same = False
                            break
                    if same:
                        e = c
                        break
            s = (s + 1) & mask
        if e < 0:                       # a new payload: append, in first-seen order
            e = k
            k += 1
            for j in range(n):
                buf[used + j] = big[a + j]
            e_start[e] = used
            e_end[e] = used + n
            used += n
            e_hash[e] = hashes[i]
            e_time[e] = np.nan
            alive[e] = True
            tab[s] = _slot_value(hkeys[i], e)
        ti = times[i]
        if np.isnan(ti):
            continue
        if ti > tmax:
            tmax = ti
        if _repeat(ti, e, e_time, window_s):
            dup[i] = True
            n_dup += 1
        elif ti < tmin:
            tmin = ti
    return k, used, n_dup, tmin, tmax


@njit
def _probe(hashes, hkeys, tab, shift, n_ent, codes, first):
    """By hash alone (bytes checked by ``_append_check``): the entry of each message, a new
    payload getting entry ``n_ent + q`` (``first[q]``: its first message) in the table.
    Kept apart from the bytes so that the table's cache misses overlap. Returns q."""
    mask = len(tab) - 1
    k = 0
    n = len(hashes)
    for i in range(n):
        if i + AHEAD < n:
            prefetch(tab, _slot(hashes[i + AHEAD], shift))
        s = _slot(hashes[i], shift)
        hi = hkeys[i] & HIGH
        while True:
            v = tab[s]
            if v == EMPTY:
                tab[s] = _slot_value(hkeys[i], n_ent + k)
                first[k] = i
                codes[i] = n_ent + k
                k += 1
                break
            if v != TOMB and (v & HIGH) == hi:
                codes[i] = _slot_entry(v)
                break
            s = (s + 1) & mask
    return k


@njit
def _append_check(big, ps, pe, hashes, codes, n_ent, buf, used, e_start, e_end, e_hash,
                  e_time, alive):
    """Append each new payload (at its first message) after entry ``n_ent - 1``, and
    check every other message equals its entry byte for byte. Returns the bytes used,
    or -1 when two payloads share a hash (nothing is committed: the caller keeps its
    entry count and bytes used)."""
    nxt = n_ent
    n = len(ps)
    for i in range(n):
        if i + 2 * AHEAD < n and codes[i + 2 * AHEAD] < n_ent:
            prefetch(e_start, codes[i + 2 * AHEAD])
        if i + AHEAD < n and codes[i + AHEAD] < n_ent:
            prefetch(buf, e_start[codes[i + AHEAD]])
        e = codes[i]
        a, b = ps[i], pe[i]
        if e == nxt:                    # first message of the next new payload
            _copy_bytes(big, a, b - a, buf, used)
            e_start[e] = used
            e_end[e] = used + b - a
            used += b - a
            e_hash[e] = hashes[i]
            e_time[e] = np.nan
            alive[e] = True
            nxt += 1
            continue
        c0 = e_start[e]
        if e_end[e] - c0 != b - a:
            return -1
        for j in range(b - a):
            if buf[c0 + j] != big[a + j]:
                return -1
    return used


@njit
def _copy_bytes(src, a, n, dst, d):
    """``dst[d:d + n] = src[a:a + n]`` 8 bytes a step (a slice assignment makes two array
    views, whose reference counts cost more than the copy of a payload)."""
    j = 0
    while j + 8 <= n:
        store8(dst, d + j, load8(src, a + j))
        j += 8
    while j < n:
        dst[d + j] = src[a + j]
        j += 1


@njit
def _unprobe(tab, shift, hashes, first, n_ent, k):
    """Undo ``_probe``'s new entries."""
    mask = len(tab) - 1
    for q in range(k):
        s = _slot(hashes[first[q]], shift)
        while tab[s] == EMPTY or tab[s] == TOMB or _slot_entry(tab[s]) != n_ent + q:
            s = (s + 1) & mask
        tab[s] = TOMB


@njit
def _decide(times, window_s, codes, e_time, dup):
    """``dedup_kernel`` on the entries' kept times. Returns (duplicates, least kept time
    written, latest time)."""
    n_dup = 0
    tmin = np.inf
    tmax = -np.inf
    n = len(times)
    for i in range(n):
        if i + AHEAD < n:
            prefetch(e_time, codes[i + AHEAD])
        ti = times[i]
        if np.isnan(ti):
            continue
        if ti > tmax:
            tmax = ti
        e = codes[i]
        if _repeat(ti, e, e_time, window_s):
            dup[i] = True
            n_dup += 1
        elif ti < tmin:
            tmin = ti
    return n_dup, tmin, tmax


@njit(inline="always")
def _unlink(tab, shift, e_hash, e):
    mask = len(tab) - 1
    s = _slot(e_hash[e], shift)
    while tab[s] == EMPTY or tab[s] == TOMB or _slot_entry(tab[s]) != e:
        s = (s + 1) & mask
    tab[s] = TOMB


@njit
def _expire(e_time, e_hash, alive, lo, hi, thr, tab, shift):
    """Entries ``lo <= e < hi`` whose kept time is not ``>= thr`` (NaN: none) die.
    Returns (deaths, least kept time of the live ones scanned)."""
    dead = 0
    tmin = np.inf
    for e in range(lo, hi):
        if not alive[e]:
            continue
        t = e_time[e]
        if t >= thr:
            if t < tmin:
                tmin = t
        else:
            alive[e] = False
            _unlink(tab, shift, e_hash, e)
            dead += 1
    return dead, tmin


@njit
def _kill(idx, alive, tab, shift, e_hash):
    for e in idx:
        alive[e] = False
        _unlink(tab, shift, e_hash, e)


def _grown(arr, size, keep):
    out = np.empty(size, dtype=arr.dtype)
    out[:keep] = arr[:keep]
    return out


class _Arena:
    """The window's payloads packed in insertion order (the dict's order), with hash,
    kept time and a live flag per entry, and a hash -> entry table of the live ones.
    Hashes and table are made on first use (an unpickled arena may never need them)."""

    def __init__(self, buf: np.ndarray, off: np.ndarray, times: np.ndarray):
        n = len(times)
        self.buf, self.used = np.ascontiguousarray(buf, dtype=np.uint8), int(off[-1])
        self.start = np.ascontiguousarray(off[:-1], dtype=np.int64)
        self.end = np.ascontiguousarray(off[1:], dtype=np.int64)
        self.time = np.ascontiguousarray(times, dtype=np.float64).copy()
        self.alive = np.ones(n, dtype=np.bool_)
        self.hash = None
        self.tab = None
        self.n_ent = self.n_alive = n
        self.tmin = float(self.time.min()) if n else np.inf     # NaN: a scan drops it
        self.slots = 0          # live entries + tombstones in the table

    @classmethod
    def from_dict(cls, window: dict) -> "_Arena":
        buf, off = pack(list(window.keys()))
        return cls(buf, off, np.fromiter(window.values(), dtype=np.float64, count=len(window)))

    # --- what the Deduplicator asks of its state --------------------------------------

    def __len__(self) -> int:
        return self.n_alive

    def to_dict(self) -> dict:
        idx = np.flatnonzero(self.alive[:self.n_ent])
        raw = self.buf[:self.used].tobytes()
        keys = [raw[a:b] for a, b in zip(self.start[idx].tolist(), self.end[idx].tolist())]
        return dict(zip(keys, self.time[idx].tolist()))

    def packed(self):
        """(bytes, offsets, kept times) of the live entries in order."""
        idx = np.flatnonzero(self.alive[:self.n_ent])
        off = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(self.end[idx] - self.start[idx], out=off[1:])
        buf = np.empty(int(off[-1]), dtype=np.uint8)
        _gather_flat(self.buf, self.start[idx], self.end[idx], buf, off)
        return buf, off, self.time[idx]

    def __reduce__(self):
        return (_Arena, self.packed())

    # --- upkeep -------------------------------------------------------------------------

    def _rehash(self, entries: int) -> None:
        """A fresh table for the live entries, room for ``entries`` at load <= 1/2."""
        bits = 4
        while (1 << bits) < 2 * entries + 16:
            bits += 1
        self.tab = np.zeros(1 << bits, dtype=np.int64)
        self.shift = np.uint64(64 - bits)
        _table_add(self.tab, self.shift, self.hash, self.hash.view(np.int64), 0, self.n_ent,
                   self.alive)
        self.slots = self.n_alive

    def reserve(self, n: int, nbytes: int) -> None:
        """Room for ``n`` more entries of ``nbytes`` bytes in all."""
        if self.hash is None:
            self.hash = np.empty(self.n_ent, dtype=np.uint64)
            _hash_spans(readonly(self.buf), self.start, self.end, self.hash)
        if (2 * (self.n_ent - self.n_alive) > self.n_alive + 65536
                or self.n_ent + n >= LOW - 2):        # entry numbers fit in a slot's 32 bits
            self.compact()
        # grown with room for a next batch twice this one (a reader's pieces double in
        # size at first): fewer copies of what is there
        if self.n_ent + n > len(self.start):
            size = max(2 * len(self.start), self.n_ent + 2 * n)
            for name in ("start", "end", "hash", "time", "alive"):
                setattr(self, name, _grown(getattr(self, name), size, self.n_ent))
        if self.used + nbytes > len(self.buf):
            self.buf = _grown(self.buf, max(2 * len(self.buf), self.used + 2 * nbytes), self.used)
        if self.tab is None or 2 * (self.slots + n) + 16 > len(self.tab):
            self._rehash(3 * (self.n_alive + 2 * n) // 2)   # and for a next batch this size

    def compact(self) -> None:
        """Drop dead entries (kept order); the table is made anew on next reserve."""
        buf, off, times = self.packed()
        hashes = self.hash[np.flatnonzero(self.alive[:self.n_ent])]
        self.__init__(buf, off, times)
        self.hash = hashes
        self.tab = None


def _arena(dd) -> _Arena:
    a = dd._arena
    if a is None:
        a = dd._arena = _Arena.from_dict(dd._window)
        dd._window = None
    return a


def hash_spans(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The window's 64-bit hash of each span ``buf[starts[i]:ends[i]]`` (no state: it can
    be worked out ahead, in another thread, and given to ``dedup``)."""
    out = np.empty(len(starts), dtype=np.uint64)
    _hash_spans(readonly(buf), np.ascontiguousarray(starts, dtype=np.int64),
                np.ascontiguousarray(ends, dtype=np.int64), out)
    return out


def dedup(dd, big: np.ndarray, ps: np.ndarray, pe: np.ndarray, times: np.ndarray,
          hashes: np.ndarray | None = None) -> np.ndarray:
    """Duplicate mask of messages ``big[ps[i]:pe[i]]`` (receive times ``times``) in input
    order; updates ``dd`` (window, latest, duplicates) exactly as ``keep_mask`` does.
    ``hashes``: ``hash_spans`` of those spans when already known."""
    n = len(ps)
    dup = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return dup
    ps = np.ascontiguousarray(ps, dtype=np.int64)
    pe = np.ascontiguousarray(pe, dtype=np.int64)
    times = np.ascontiguousarray(times, dtype=np.float64)
    a = _arena(dd)
    if hashes is None:
        hashes = hash_spans(big, ps, pe)
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    a.reserve(n, int((pe - ps).sum()))
    first = a.n_ent
    hkeys = hashes.view(np.int64)
    codes = np.empty(n, dtype=np.int64)
    first_msg = np.empty(n, dtype=np.int64)
    k = _probe(hashes, hkeys, a.tab, a.shift, first, codes, first_msg)
    used = _append_check(big, ps, pe, hashes, codes, first, a.buf, a.used, a.start, a.end,
                         a.hash, a.time, a.alive)
    if used >= 0:
        a.used = used
        a.n_ent += k
        n_dup, tmin, tmax = _decide(times, float(dd.params.window_s), codes, a.time, dup)
    else:                               # a hash shared by two payloads: bytes decide
        _unprobe(a.tab, a.shift, hashes, first_msg, first, k)
        a.slots += k
        a.n_ent, a.used, n_dup, tmin, tmax = _dedup_batch(
            big, ps, pe, hashes, hkeys, times, float(dd.params.window_s), dup,
            a.buf, a.used, a.start, a.end, a.hash, a.time, a.alive, a.n_ent, a.tab, a.shift)
    a.n_alive += a.n_ent - first
    a.slots += a.n_ent - first
    dd.duplicates += n_dup
    if tmax > -np.inf:
        dd.latest = max(dd.latest, tmax)

    # prune as live_mask does: the retention threshold, then the size cap
    thr = dd.latest - dd.params.retention_s
    a.tmin = min(a.tmin, tmin)
    lo = 0 if not a.tmin >= thr else first
    dead, live_min = _expire(a.time, a.hash, a.alive, lo, a.n_ent, thr, a.tab, a.shift)
    a.tmin = live_min if lo == 0 else min(a.tmin, live_min)
    a.n_alive -= dead
    if a.n_alive > dd.params.max_window_messages:
        idx = np.flatnonzero(a.alive[:a.n_ent])
        keep = np.zeros(len(idx), dtype=np.bool_)
        keep[dd.most_recent(a.time[idx])] = True
        _kill(idx[~keep], a.alive, a.tab, a.shift, a.hash)
        a.n_alive = int(keep.sum())
    return dup
