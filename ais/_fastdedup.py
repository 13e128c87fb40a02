"""Multi-receiver dedup for the fast path, on the ``Deduplicator``'s own state.

The rule is ``ais.assemble``'s (a payload equal to a kept copy's within ``window_s``
seconds of it is a duplicate; the window keeps copies by ``Deduplicator.live_mask``).
The state stays the reference's ``dict`` (payload ``bytes`` -> receive time, in the
order the reference would build it), so either path can continue from it.

What is fast here: the window's payloads are also kept packed, with their hashes, in
a side cache tied to the ``Deduplicator`` (not pickled: rebuilt from the dict when
missing or stale). A batch hashes only its own payloads, and the dict is updated in
place (expired keys deleted, new ones appended) instead of rebuilt, which gives the
same keys, values and order as the reference's rebuild.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd

from ais._fastspans import _first_of_code, _gather_flat, _hash_spans, _spans_match, pack
from ais.assemble import dedup_kernel

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
    if c is None or c.window is not dd.window or c.n != len(dd.window):
        c = _CACHE[dd] = _Window(dd.window)
    return c


def dedup(dd, big: np.ndarray, ps: np.ndarray, pe: np.ndarray, times: np.ndarray) -> np.ndarray:
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
    c = _Window.__new__(_Window)
    c.buf, c.starts, c.ends, c.hashes = buf, off[:-1].copy(), off[1:].copy(), hashes
    c.window, c.n = window, len(window)
    _CACHE[dd] = c
    return dup
