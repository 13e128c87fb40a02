"""Byte spans of a chunk buffer: exact ids, strings and ``bytes`` without a loop in Python.

The fast path keeps payloads, stations and line texts as (start, end) offsets into one
``uint8`` buffer. ``span_codes`` numbers equal spans (a 64-bit FNV-1a hash per span,
then every span compared byte for byte with the first of its id, so a hash collision can
never merge two different spans: it falls back to an exact factorisation);
``span_strings`` and ``span_bytes`` make Python objects only where they are needed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors._numba import njit

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


@njit
def _spans_match(buf, starts, ends, codes, rep):
    """True when every span equals the representative span of its code."""
    for i in range(len(starts)):
        r = rep[codes[i]]
        a, b = starts[i], ends[i]
        ra, rb = starts[r], ends[r]
        if b - a != rb - ra:
            return False
        for k in range(b - a):
            if buf[a + k] != buf[ra + k]:
                return False
    return True


@njit
def _first_of_code(codes, rep):
    """rep[c] = first index with code c (rep preset to -1)."""
    for i in range(len(codes)):
        if rep[codes[i]] < 0:
            rep[codes[i]] = i


def span_codes(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """Exact factorisation of byte spans: (codes in first-appearance order, index of the
    first span of each code)."""
    n = len(starts)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    h = np.empty(n, dtype=np.uint64)
    _hash_spans(buf, starts, ends, h)
    codes, uniques = pd.factorize(h)
    codes = codes.astype(np.int64)
    rep = np.full(len(uniques), -1, dtype=np.int64)
    _first_of_code(codes, rep)
    if not _spans_match(buf, starts, ends, codes, rep):   # a hash collision: exact, slowly
        keys = [buf[a:b].tobytes() for a, b in zip(starts, ends)]
        codes, _ = pd.factorize(np.array(keys, dtype=object))
        codes = codes.astype(np.int64)
        first = np.unique(codes, return_index=True)[1]
        rep = np.empty(len(first), dtype=np.int64)
        rep[codes[first]] = first
    return codes, rep


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
    """The spans as ``bytes`` objects (no NUL inside AIS text, so a NUL-padded
    fixed-width array gives them back exactly)."""
    n = len(starts)
    if n == 0:
        return []
    w = max(int((ends - starts).max()), 1)
    out = np.zeros((n, w), dtype=np.uint8)
    _gather(buf, starts, ends, out)
    return out.view(f"S{w}").ravel().tolist()


@njit
def _gather_flat(buf, starts, ends, out, off):
    """Copy span i to ``out[off[i]:off[i+1]]``."""
    for i in range(len(starts)):
        o = off[i]
        for k in range(ends[i] - starts[i]):
            out[o + k] = buf[starts[i] + k]
