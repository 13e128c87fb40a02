"""Byte spans of a chunk buffer: exact ids, strings and ``bytes`` without a loop in Python.

The fast path keeps payloads, stations and line texts as (start, end) offsets into one
``uint8`` buffer. ``span_codes`` numbers equal spans (a 64-bit FNV-1a hash per span into an
open-addressing table, every match compared byte for byte, so a hash collision can
never merge two different spans);
``span_strings`` and ``span_bytes`` make Python objects only where they are needed.
"""

from __future__ import annotations

import numpy as np

from ais._numba import njit, readonly

__all__ = ["span_codes", "span_strings", "span_bytes", "pack"]

@njit
def _hash_spans(buf, starts, ends, out):
    """FNV-1a 64-bit hash of each span (length mixed in)."""
    for i in range(len(starts)):
        h = np.uint64(14695981039346656037)
        for k in range(starts[i], ends[i]):
            h = (h ^ np.uint64(buf[k])) * np.uint64(1099511628211)
        h = (h ^ np.uint64(ends[i] - starts[i])) * np.uint64(1099511628211)
        out[i] = h


@njit(inline="always")
def _same_span(buf, a0, a1, b0, b1):
    if a1 - a0 != b1 - b0:
        return False
    for k in range(a1 - a0):
        if buf[a0 + k] != buf[b0 + k]:
            return False
    return True


@njit
def _table_codes(buf, starts, ends, h, codes, rep):
    """Codes of spans by an open-addressing table on their hashes, every match checked
    byte for byte (different spans with equal hashes get different codes). Fills
    ``codes`` (first-appearance order) and ``rep`` (first span of each code); returns
    the number of codes."""
    size = 1024
    table = np.zeros(size, dtype=np.int64)          # code + 1; 0 = empty
    rep_hash = np.empty(len(starts), dtype=np.uint64)
    n_codes = 0
    for i in range(len(starts)):
        if 2 * (n_codes + 1) > size:                # grow: rehash the codes so far
            size *= 2
            table = np.zeros(size, dtype=np.int64)
            for c in range(n_codes):
                j = np.int64(rep_hash[c] & np.uint64(size - 1))
                while table[j] != 0:
                    j = (j + 1) & (size - 1)
                table[j] = c + 1
        hi = h[i]
        j = np.int64(hi & np.uint64(size - 1))
        code = -1
        while table[j] != 0:
            c = table[j] - 1
            if rep_hash[c] == hi and _same_span(buf, starts[i], ends[i], starts[rep[c]], ends[rep[c]]):
                code = c
                break
            j = (j + 1) & (size - 1)
        if code < 0:
            code = n_codes
            table[j] = code + 1
            rep[code] = i
            rep_hash[code] = hi
            n_codes += 1
        codes[i] = code
    return n_codes


def span_codes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Exact factorisation of byte spans: (codes in first-appearance order, index of the
    first span of each code)."""
    n = len(starts)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    h = np.empty(n, dtype=np.uint64)
    buf = readonly(buf)             # one compiled version whoever owns the bytes
    _hash_spans(buf, starts, ends, h)
    codes = np.empty(n, dtype=np.int64)
    rep = np.empty(n, dtype=np.int64)
    k = _table_codes(buf, starts, ends, h, codes, rep)
    return codes, rep[:k].copy()


def span_strings(buf, starts, ends, present, default):
    """Object array of ``str`` of each span (``default`` where not ``present``)."""
    out = np.empty(len(starts), dtype=object)
    out[:] = default
    idx = np.flatnonzero(present)
    if len(idx):
        codes, rep = span_codes(buf, starts[idx], ends[idx])
        names = np.array([buf[starts[idx[r]]:ends[idx[r]]].tobytes().decode("ascii", "replace")
                          for r in rep], dtype=object)
        out[idx] = names[codes]
    return out



def pack(items) -> tuple[np.ndarray, np.ndarray]:
    """bytes objects -> (uint8 buffer, int64 offsets)."""
    if len(items) == 0:
        return np.empty(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    lengths = np.fromiter((len(p) for p in items), dtype=np.int64, count=len(items))
    off = np.zeros(len(items) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    return np.frombuffer(b"".join(items), dtype=np.uint8), off


@njit
def _gather(buf, starts, ends, out):
    for i in range(len(starts)):
        for k in range(ends[i] - starts[i]):
            out[i, k] = buf[starts[i] + k]


def span_bytes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[bytes]:
    """The spans as ``bytes`` objects: through a NUL-padded fixed-width array, which
    gives back every span that does not end in NUL bytes; those (a serial capture's
    padding on a rejected line) are cut from the buffer one by one."""
    n = len(starts)
    if n == 0:
        return []
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    w = max(int((ends - starts).max()), 1)
    out = np.zeros((n, w), dtype=np.uint8)
    _gather(buf, starts, ends, out)
    spans = out.view(f"S{w}").ravel().tolist()
    nul_end = np.flatnonzero((ends > starts) & (buf[np.maximum(ends - 1, 0)] == 0)) \
        if len(buf) else np.empty(0, dtype=np.int64)
    for i in nul_end:
        spans[i] = bytes(buf[starts[i]:ends[i]])
    return spans


@njit
def _gather_flat(buf, starts, ends, out, off):
    """Copy span i to ``out[off[i]:off[i+1]]``."""
    for i in range(len(starts)):
        o = off[i]
        for k in range(ends[i] - starts[i]):
            out[o + k] = buf[starts[i] + k]
