"""Multi-receiver dedup for the fast path, on the ``Deduplicator``'s own state.

The rule is ``ais.assemble``'s (a payload equal to a kept copy's within ``window_s``
seconds of it is a duplicate; the window keeps copies by ``Deduplicator.live_mask``).
The state stays the reference's ``dict`` (payload ``bytes`` -> receive time, in the
order the reference would build it), so either path can continue from it.

What is fast here: the window's payloads are also kept in a side arena tied to the
``Deduplicator`` (weakly, never pickled; rebuilt from the dict when missing or stale):
packed bytes in the dict's order, a 64-bit hash, kept time and live flag per entry,
and an open-addressing hash -> entry table. A batch then costs work in proportion to
its own size: hash its payloads, look them up (every hit compared byte for byte; a
collision between different payloads sends the batch the exact way,
``_dedup_rebuild``), and update the dict in place (expired keys deleted, new ones
appended), which gives the same keys, values and order as the reference's rebuild.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from ais._fastspans import _first_of_code, _gather_flat, _hash_spans, _spans_match, pack
from ais.assemble import dedup_kernel
from detectors._numba import njit

_CACHE: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


class _Window:
    """Packed copy of ``dd.window``'s keys (same order) and their hashes."""

    def __init__(self, window: dict):
        keys = list(window.keys())
        self.buf, off = pack(keys)
        self.starts, self.ends = off[:-1].copy(), off[1:].copy()
        self.hashes = np.empty(len(keys), dtype=np.uint64)
        _hash_spans(self.buf, self.starts, self.ends, self.hashes)
        self.window = window
        self.n = len(keys)


def _window_cache(dd) -> _Window:
    c = _CACHE.get(dd)
    if not isinstance(c, _Window) or c.window is not dd.window or c.n != len(dd.window):
        c = _Window(dd.window)
    return c


def _dedup_rebuild(dd, big: np.ndarray, ps: np.ndarray, pe: np.ndarray,
                   times: np.ndarray) -> np.ndarray:
    """Duplicate mask of messages ``big[ps[i]:pe[i]]`` (receive times ``times``) in input
    order; updates ``dd`` (window, latest, duplicates) exactly as ``keep_mask`` does."""
    n = len(ps)
    dup = np.zeros(n, dtype=np.bool_)
    if n == 0:
        return dup
    w = _window_cache(dd)
    p = w.n
    new_h = np.empty(n, dtype=np.uint64)
    _hash_spans(big, ps, pe, new_h)
    codes, uniques = pd.factorize(np.concatenate([w.hashes, new_h]))
    codes = codes.astype(np.int64)
    rep = np.full(len(uniques), -1, dtype=np.int64)
    _first_of_code(codes, rep)
    allbuf = np.concatenate([w.buf, big])
    starts = np.r_[w.starts, len(w.buf) + ps]
    ends = np.r_[w.ends, len(w.buf) + pe]
    if not _spans_match(allbuf, starts, ends, codes, rep):   # a hash collision: exact ids
        keys = [allbuf[a:b].tobytes() for a, b in zip(starts, ends)]
        codes, _ = pd.factorize(np.array(keys, dtype=object))
        codes = codes.astype(np.int64)
        rep = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
        _first_of_code(codes, rep)
    kept = np.full(len(rep), np.nan)
    old = np.fromiter(dd.window.values(), dtype=np.float64, count=p)
    kept[codes[:p]] = old
    dedup_kernel(codes[p:], np.ascontiguousarray(times, dtype=np.float64), kept,
                 float(dd.params.window_s), dup)
    dd.duplicates += int(dup.sum())
    finite = times[~np.isnan(times)]
    if len(finite):
        dd.latest = max(dd.latest, float(finite.max()))
    live = dd.live_mask(kept)
    # the dict in place: same keys, values and order as the reference's rebuild
    window = dd.window
    prior_codes = codes[:p]           # 0..p-1 when the window's keys are distinct
    keys = list(window.keys())
    for j in np.flatnonzero(~live[prior_codes]):
        del window[keys[j]]
    changed = np.flatnonzero(live[prior_codes] & (kept[prior_codes] != old))
    for j in changed:
        window[keys[j]] = float(kept[prior_codes[j]])
    new_codes = np.arange(p, len(rep))[live[p:]] if len(rep) > p else np.zeros(0, np.int64)
    if len(new_codes):
        from ais._fastspans import span_bytes
        new_keys = span_bytes(allbuf, starts[rep[new_codes]], ends[rep[new_codes]])
        window.update(zip(new_keys, kept[new_codes].tolist()))
    # the side cache follows the dict
    keep_idx = np.r_[np.flatnonzero(live[prior_codes]), rep[new_codes]].astype(np.int64)
    sel_s, sel_e = starts[keep_idx], ends[keep_idx]
    lengths = sel_e - sel_s
    off = np.zeros(len(keep_idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    buf = np.empty(int(off[-1]), dtype=np.uint8)
    _gather_flat(allbuf, sel_s, sel_e, buf, off)
    hashes = np.concatenate([w.hashes, new_h])[keep_idx]
    _CACHE[dd] = _Arena.from_arrays(window, buf, off[:-1].copy(), off[1:].copy(), hashes)
    return dup


# --- incremental window: O(batch) work per batch ----------------------------------------

EMPTY = -1
TOMB = -2


@njit
def _slot(h, mask):
    return np.int64((h * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(20)) & mask


@njit
def _t_find(tkeys, tvals, h):
    """Value stored for hash ``h`` in the open-addressing table, or -1."""
    mask = len(tkeys) - 1
    i = _slot(h, mask)
    while True:
        v = tvals[i]
        if v == EMPTY:
            return -1
        if v != TOMB and tkeys[i] == h:
            return v
        i = (i + 1) & mask


@njit
def _t_put(tkeys, tvals, h, v):
    """Insert ``h -> v`` (``h`` not present)."""
    mask = len(tkeys) - 1
    i = _slot(h, mask)
    while tvals[i] >= 0:
        i = (i + 1) & mask
    tkeys[i] = h
    tvals[i] = v


@njit
def _t_delete(tkeys, tvals, h):
    mask = len(tkeys) - 1
    i = _slot(h, mask)
    while True:
        v = tvals[i]
        if v == EMPTY:
            return
        if v != TOMB and tkeys[i] == h:
            tvals[i] = TOMB
            return
        i = (i + 1) & mask


def _table(n: int):
    cap = 16
    while cap < 2 * n + 16:
        cap *= 2
    return np.zeros(cap, dtype=np.uint64), np.full(cap, EMPTY, dtype=np.int64)


@njit
def _codes_kernel(big, ps, pe, new_h, arena, e_start, e_end, tkeys, tvals, bkeys, bvals,
                  n_ent, codes, first_new):
    """Payload id of each message: an arena entry (< n_ent) or a new unique (n_ent + k,
    first message ``first_new[k]``). Returns the number of new uniques, -1 on a hash
    collision (two different payloads, one hash: the caller goes the exact way)."""
    k = 0
    for i in range(len(ps)):
        h = new_h[i]
        a, b = ps[i], pe[i]
        e = _t_find(tkeys, tvals, h)
        if e >= 0:
            s0, s1 = e_start[e], e_end[e]
            if s1 - s0 != b - a:
                return -1
            for j in range(b - a):
                if arena[s0 + j] != big[a + j]:
                    return -1
            codes[i] = e
            continue
        q = _t_find(bkeys, bvals, h)
        if q >= 0:
            m = first_new[q]
            if pe[m] - ps[m] != b - a:
                return -1
            for j in range(b - a):
                if big[ps[m] + j] != big[a + j]:
                    return -1
            codes[i] = n_ent + q
            continue
        _t_put(bkeys, bvals, h, k)
        first_new[k] = i
        codes[i] = n_ent + k
        k += 1
    return k


@njit
def _map_remove(tkeys, tvals, hashes, idx):
    for e in idx:
        _t_delete(tkeys, tvals, hashes[e])


@njit
def _map_add(tkeys, tvals, hashes, idx):
    """Add entries; False when a hash is already there (a collision)."""
    for e in idx:
        h = hashes[e]
        if _t_find(tkeys, tvals, h) >= 0:
            return False
        _t_put(tkeys, tvals, h, e)
    return True


class _Arena:
    """The window's payloads packed in insertion order (the dict's order), with hash,
    kept time and a live flag per entry, and a hash -> entry map of the live ones."""

    @classmethod
    def from_arrays(cls, window, buf, starts, ends, hashes):
        a = cls()
        n = len(starts)
        a.buf, a.used = np.ascontiguousarray(buf), len(buf)
        a.start, a.end, a.hash = starts.astype(np.int64), ends.astype(np.int64), hashes.astype(np.uint64)
        a.time = np.fromiter(window.values(), dtype=np.float64, count=n)
        a.alive = np.ones(n, dtype=np.bool_)
        a.n_ent = n
        a.tkeys, a.tvals = _table(2 * n)
        a.slots = n                  # live entries + tombstones in the table
        a.ok = _map_add(a.tkeys, a.tvals, a.hash, np.arange(n, dtype=np.int64))
        a.window, a.n = window, len(window)
        return a

    def append(self, src, starts, ends, hashes, times):
        n = len(starts)
        size = int((ends - starts).sum())
        if self.used + size > len(self.buf):
            grown = np.empty(max(2 * len(self.buf), self.used + size, 1024), dtype=np.uint8)
            grown[:self.used] = self.buf[:self.used]
            self.buf = grown
        off = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=off[1:])
        _gather_flat(src, starts, ends, self.buf[self.used:], off)
        first = self.n_ent
        self.start = np.r_[self.start[:self.n_ent], self.used + off[:-1]]
        self.end = np.r_[self.end[:self.n_ent], self.used + off[1:]]
        self.hash = np.r_[self.hash[:self.n_ent], hashes]
        self.time = np.r_[self.time[:self.n_ent], times]
        self.alive = np.r_[self.alive[:self.n_ent], np.ones(n, dtype=np.bool_)]
        self.used += size
        self.n_ent += n
        if 2 * (self.slots + n) + 16 > len(self.tkeys):      # grow: rehash the live ones
            live = np.flatnonzero(self.alive[:first])
            self.tkeys, self.tvals = _table(2 * (len(live) + n))
            self.ok = self.ok and _map_add(self.tkeys, self.tvals, self.hash, live)
            self.slots = len(live)
        self.ok = self.ok and _map_add(self.tkeys, self.tvals, self.hash,
                                       np.arange(first, self.n_ent))
        self.slots += n

    def compact(self):
        idx = np.flatnonzero(self.alive[:self.n_ent])
        off = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(self.end[idx] - self.start[idx], out=off[1:])
        buf = np.empty(max(int(off[-1]), 1024), dtype=np.uint8)
        _gather_flat(self.buf, self.start[idx], self.end[idx], buf, off)
        fresh = _Arena.from_arrays(self.window, buf[:int(off[-1])], off[:-1], off[1:],
                                   self.hash[idx])
        fresh.buf = buf
        fresh.time = self.time[idx]
        return fresh

    def keys(self, idx) -> list[bytes]:
        from ais._fastspans import span_bytes
        return span_bytes(self.buf, self.start[idx], self.end[idx])


def dedup(dd, big: np.ndarray, ps: np.ndarray, pe: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Duplicate mask of messages ``big[ps[i]:pe[i]]`` (receive times ``times``) in input
    order; updates ``dd`` (window, latest, duplicates) exactly as ``keep_mask`` does."""
    n = len(ps)
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    a = _CACHE.get(dd)
    if not isinstance(a, _Arena) or a.window is not dd.window or a.n != len(dd.window) or not a.ok:
        return _dedup_rebuild(dd, big, ps, pe, times)
    new_h = np.empty(n, dtype=np.uint64)
    _hash_spans(big, ps, pe, new_h)
    codes = np.empty(n, dtype=np.int64)
    first_new = np.empty(n, dtype=np.int64)
    bkeys, bvals = _table(n)
    k = _codes_kernel(big, ps, pe, new_h, a.buf, a.start, a.end, a.tkeys, a.tvals, bkeys, bvals,
                      a.n_ent, codes, first_new)
    if k < 0:
        return _dedup_rebuild(dd, big, ps, pe, times)
    kept = np.r_[a.time[:a.n_ent], np.full(k, np.nan)]
    dup = np.zeros(n, dtype=np.bool_)
    dedup_kernel(codes, np.ascontiguousarray(times, dtype=np.float64), kept,
                 float(dd.params.window_s), dup)
    dd.duplicates += int(dup.sum())
    finite = times[~np.isnan(times)]
    if len(finite):
        dd.latest = max(dd.latest, float(finite.max()))
    alive_idx = np.flatnonzero(a.alive[:a.n_ent])            # the dict's order
    live = dd.live_mask(np.r_[kept[alive_idx], kept[a.n_ent:]])
    p = len(alive_idx)
    window = dd.window
    dead = alive_idx[~live[:p]]
    if len(dead):
        for key in a.keys(dead):
            del window[key]
        a.alive[dead] = False
        _map_remove(a.tkeys, a.tvals, a.hash, dead)
    stay = alive_idx[live[:p]]
    changed = stay[kept[stay] != a.time[stay]]
    if len(changed):
        for key, t in zip(a.keys(changed), kept[changed].tolist()):
            window[key] = t
        a.time[changed] = kept[changed]
    q = np.flatnonzero(live[p:])
    if len(q):
        m = first_new[q]
        from ais._fastspans import span_bytes
        window.update(zip(span_bytes(big, ps[m], pe[m]), kept[a.n_ent + q].tolist()))
        a.append(big, ps[m], pe[m], new_h[m], kept[a.n_ent + q])
    a.n = len(window)
    if a.n_ent - a.n > a.n + 4096:
        a = a.compact()
    _CACHE[dd] = a
    return dup
