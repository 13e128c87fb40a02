"""Numba line framer, the fast part: the common line in one pass, chunks in blocks.

The common line (optional epoch prefix, optional ``s:``/``c:`` tag block, one valid
``!ttVDM``/``VDO`` sentence, nothing after the checksum but a ``\\r``) is framed by
``_fast_line`` in one pass: checksum, fields and tag block together, the payload 8
bytes a step, the row written once. Anything else it leaves to ``_frame_line``, the
general framer (``ais.framing.line_kernel``, which also defines the rows), so
both give the same row for every line (tested). (``frame_left`` compiles
``_frame_line``, ``_pghp`` and ``_epoch`` in; the project's disk cache,
:mod:`ais._kernel_cache`, stamps them with ``line_kernel``'s source too.)

Lines are framed independently, in blocks of ``BLOCK_BYTES`` (a block frames the
lines that start in it, rows placed by a first pass counting line starts per block),
by the fast path alone; the lines it leaves are then framed by ``frame_left``, a
kernel of its own, so that a feed of common lines never compiles the general framer
(two thirds of the framer's compile work on the first run after an install).
``frame_lines`` is the entry point.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from ais._numba import load8 as _load8, njit
from ais.framing.line_kernel import (C_CHE, C_CHS, C_COUNT, C_FILL, C_KIND, C_LEND,
                                     C_LSTART, C_NUMBER, C_PE, C_PREHAS, C_PREV, C_PS, C_SEQ,
                                     C_STE, C_STS, C_TAGHAS, C_TAGOK, C_TAGV, C_TRHAS, C_TRV,
                                     FRAME_FIELDS, K_AIS, K_HANDOFF, _frame_line, _hex,
                                     _open_row)


_H = np.uint64(0x8080808080808080)      # SWAR: the high bit of every byte
_ONES = np.uint64(0x0101010101010101)
_A48 = np.uint64(48 * 0x0101010101010101)
_A88 = np.uint64(88 * 0x0101010101010101)
_A96 = np.uint64(96 * 0x0101010101010101)
_A120 = np.uint64(120 * 0x0101010101010101)


@njit
def _not_armour(w):
    """High bit set in each byte of ``w`` outside the 6-bit armour (48..87, 96..119)."""
    v = w | _H                          # no borrow between bytes: v - n*ONES has the
    ge48 = (v - _A48) & _H              # high bit of a byte set iff the byte >= n
    ge88 = (v - _A88) & _H
    ge96 = (v - _A96) & _H
    ge120 = (v - _A120) & _H
    good = ge48 & ~ge120 & ~(ge88 & ~ge96) & ~(w & _H)
    return _H & ~good


@njit
def _fold(w):
    """XOR of the 8 bytes of ``w``."""
    w ^= w >> np.uint64(32)
    w ^= w >> np.uint64(16)
    w ^= w >> np.uint64(8)
    return np.int64(w & np.uint64(255))


@njit
def _tag_plain(c):
    """A tag-block byte with no meaning to the framer (printable, not , * \\ ! $)."""
    return 32 <= c <= 126 and c != 44 and c != 42 and c != 92 and c != 33 and c != 36


# No reference counting (``_nrt=False``: it makes no array): a call per line otherwise
# took and dropped a reference to each of its three arrays, six atomic operations that
# cost more than the framing itself (the 1M-sentence benchmark feed framed in 81 to 86
# ms with them, 49 to 51 ms without).
@njit(_nrt=False)
def _fast_line(buf, a, size, out, pghp_time, li, max_line_bytes):
    r"""The common line in one pass over its bytes, its row written once:
    ``[epoch sep][\s:..,c:..*hh\]!ttVDM,c,n,seq,ch,payload,fill*hh[\r]``, all valid.

    Returns the index of the line's newline, or -1 for anything else (nothing written):
    ``_frame_line`` then decides, so whatever is framed here is framed as there. The line
    must end with a newline: every scan stops at it and every byte is read only after
    the one before it matched something else, so nothing past it is read.
    """
    k = a
    c = buf[k]
    pre_has = 0
    pre_v = 0
    if 48 <= c <= 57:                                # integer epoch prefix
        while 48 <= c <= 57:
            pre_v = pre_v * 10 + (c - 48)
            k += 1
            c = buf[k]
        if k - a > 19 or (k - a == 19 and buf[a] > 56):
            return -1
        pre_has = 1
        while c == 32 or c == 44 or c == 9 or c == 59:
            k += 1
            c = buf[k]
    tag_ok = 1
    tag_has = 0
    tag_v = 0
    sts = -1
    ste = -1
    if c == 92:                                      # tag block: fields, XOR, *hh\
        k += 1
        x = 0
        while True:
            key = buf[k]
            if (key == 99 or key == 115 or key == 103) and buf[k + 1] == 58:
                if key == 103:
                    return -1                        # g: groups
                x ^= key ^ 58
                k += 2
                f0 = k
                c = buf[k]
                if key == 99:
                    v = 0
                    while 48 <= c <= 57:
                        v = v * 10 + (c - 48)
                        x ^= c
                        k += 1
                        c = buf[k]
                    if k == f0 or k - f0 > 18:
                        return -1
                    tag_has = 1
                    tag_v = v
                else:
                    while _tag_plain(c):
                        x ^= c
                        k += 1
                        c = buf[k]
                    if k > f0:
                        sts = f0
                        ste = k
            else:
                c = key
                while _tag_plain(c):
                    x ^= c
                    k += 1
                    c = buf[k]
            if c == 44:
                x ^= 44
                k += 1
                continue
            if c != 42:
                return -1
            break
        h1 = _hex(buf[k + 1])
        if h1 < 0:
            return -1
        h2 = _hex(buf[k + 2])
        if h2 < 0 or buf[k + 3] != 92:
            return -1
        tag_ok = 1 if x == h1 * 16 + h2 else 0
        k += 4
        c = buf[k]
    if c != 33:
        return -1
    i = k                                            # !ttVDM,c,n,
    t1 = buf[i + 1]
    if t1 < 65 or t1 > 90:
        return -1
    t2 = buf[i + 2]
    if t2 < 65 or t2 > 90 or buf[i + 3] != 86 or buf[i + 4] != 68:
        return -1
    s5 = buf[i + 5]
    if (s5 != 77 and s5 != 79) or buf[i + 6] != 44:
        return -1
    count = buf[i + 7] - 48
    if count < 1 or count > 9 or buf[i + 8] != 44:
        return -1
    number = buf[i + 9] - 48
    if number < 1 or number > count or buf[i + 10] != 44:
        return -1
    x = t1 ^ t2 ^ 86 ^ 68 ^ s5 ^ (count + 48) ^ (number + 48)    # the six commas cancel
    k = i + 11
    c = buf[k]
    seq = -1
    if 48 <= c <= 57:
        seq = c - 48
        x ^= c
        k += 1
        c = buf[k]
        if 48 <= c <= 57:
            seq = seq * 10 + (c - 48)
            x ^= c
            k += 1
            c = buf[k]
    if c != 44:
        return -1
    k += 1
    chs = k                                          # channel: letters and digits
    c = buf[k]
    while (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122):
        x ^= c
        k += 1
        c = buf[k]
    che = k
    if c != 44:
        return -1
    k += 1
    ps = k                                           # payload: the 6-bit armour,
    xw = np.uint64(0)                                # 8 bytes a step
    while True:
        if k + 8 > size:
            c = buf[k]
            while 48 <= c <= 119 and not (88 <= c <= 95):
                x ^= c
                k += 1
                c = buf[k]
            break
        w = _load8(buf, k)
        bad = _not_armour(w)
        if bad != 0:
            nb = trailing_zeros(bad) >> 3
            xw ^= w & ((np.uint64(1) << np.uint64(8 * nb)) - np.uint64(1))
            k += nb
            c = buf[k]
            break
        xw ^= w
        k += 8
    x ^= _fold(xw)
    pe = k
    if c != 44 or pe == ps:
        return -1
    k += 1
    c = buf[k]
    fill = 0
    if 48 <= c <= 53:
        fill = c - 48
        x ^= c
        k += 1
        c = buf[k]
    if c != 42:
        return -1
    h1 = _hex(buf[k + 1])
    if h1 < 0:
        return -1
    h2 = _hex(buf[k + 2])
    if h2 < 0 or x != h1 * 16 + h2:
        return -1
    b = k + 3
    if b - a > max_line_bytes:
        return -1
    nl = b
    if buf[nl] == 13:
        nl += 1
    if buf[nl] != 10:
        return -1                                    # trailing fields, spaces, ...
    out[C_KIND, li] = K_AIS
    out[C_LSTART, li] = a
    out[C_LEND, li] = b
    out[C_CHS, li] = chs
    out[C_CHE, li] = che
    out[C_COUNT, li] = count
    out[C_NUMBER, li] = number
    out[C_SEQ, li] = seq
    out[C_PS, li] = ps
    out[C_PE, li] = pe
    out[C_FILL, li] = fill
    out[C_TAGOK, li] = tag_ok
    out[C_TAGHAS, li] = tag_has
    out[C_TAGV, li] = tag_v
    out[C_PREHAS, li] = pre_has
    out[C_PREV, li] = pre_v
    out[C_TRHAS, li] = 0
    out[C_TRV, li] = 0
    out[C_STS, li] = sts
    out[C_STE, li] = ste
    pghp_time[li] = np.nan
    return nl


BLOCK_BYTES = 1 << 20   # bytes per parallel task (a task frames the lines starting in it)


@njit
def count_starts(buf, bounds, counts):
    """Lines starting in each block ``bounds[j]:bounds[j + 1]`` (at 0 or after a newline).
    Serial: the loop is vectorised, about 4 ms per 72 MB, and prange gains nothing."""
    for j in range(len(counts)):
        s = bounds[j]
        e = bounds[j + 1]
        n = 1 if s == 0 and e > 0 else 0
        for c in buf[max(s - 1, 0):e - 1]:
            if c == 10:
                n += 1
        counts[j] = n


@njit
def count_newlines(buf):
    """Newlines in ``buf`` (a loop the compiler vectorises: milliseconds per 32 MB)."""
    n = 0
    for c in buf:
        if c == 10:
            n += 1
    return n


@njit
def nth_newline(buf, n):
    """Index of the ``n``-th newline of ``buf`` (``n`` >= 1), -1 when it has fewer."""
    k = 0
    for i in range(len(buf)):
        if buf[i] == 10:
            k += 1
            if k == n:
                return i
    return -1


@njit
def last_newline(buf):
    """Index of the last newline (-1: none)."""
    last_nl = len(buf) - 1
    while last_nl >= 0 and buf[last_nl] != 10:
        last_nl -= 1
    return last_nl


# A row the fast path left, to frame with ``_frame_line`` in a second pass (or to hand
# over to the reference framer): its kind until then (``_leave_line``).
K_LEFT = -1


@njit(inline="always")
def _leave_line(buf, a, b, out, pghp_time, li):
    """Row ``li`` for the line buf[a:b] the fast path left: ``K_LEFT``, the line's
    bounds stripped of white space, every other field as ``_frame_line`` sets it for a
    line it hands over (so that the row can be handed to the reference framer as is)."""
    for f in range(out.shape[0]):
        out[f, li] = 0
    _open_row(buf, a, b, out, li)
    out[C_KIND, li] = K_LEFT
    pghp_time[li] = np.nan


@njit(inline="always")
def _frame_block(j, buf, bounds, offsets, out, pghp_time, max_line_bytes, last_nl):
    """Frame the lines starting in block ``j`` into rows ``offsets[j]:offsets[j + 1]``
    with the fast path; a line it leaves is marked ``K_LEFT`` with its bounds. Returns
    how many it left."""
    size = len(buf)
    p = bounds[j]
    e = bounds[j + 1]
    if p > 0:
        while p < e and buf[p - 1] != 10:
            p += 1
    li = offsets[j]
    left = 0
    while p < e:
        nl = -1
        if p <= last_nl:
            nl = _fast_line(buf, p, size, out, pghp_time, li, max_line_bytes)
        if nl < 0:
            nl = p
            while nl < size and buf[nl] != 10:
                nl += 1
            _leave_line(buf, p, nl, out, pghp_time, li)
            left += 1
        li += 1
        p = nl + 1
    return left


# Two kernels, not one function compiled twice: numba's disk cache keys a function by
# its code and signature, not by ``parallel``, so one function compiled both ways could
# load the parallel build where the one-thread build was asked for (the read-ahead
# thread must not start parallel work while the main thread runs its own).
@njit
def frame_blocks(buf, bounds, offsets, out, pghp_time, max_line_bytes, left):
    """Frame every block with the fast path, one after the other (lines left in
    ``left[j]`` per block)."""
    last_nl = last_newline(buf)     # lines after it are left to the general framer
    for j in range(len(bounds) - 1):
        left[j] = _frame_block(j, buf, bounds, offsets, out, pghp_time, max_line_bytes,
                               last_nl)


@njit(parallel=True)
def frame_blocks_parallel(buf, bounds, offsets, out, pghp_time, max_line_bytes, left):
    """Frame the blocks with the fast path on all cores."""
    last_nl = last_newline(buf)     # lines after it are left to the general framer
    for j in numba.prange(len(bounds) - 1):
        left[j] = _frame_block(j, buf, bounds, offsets, out, pghp_time, max_line_bytes,
                               last_nl)


# A kernel of its own, called only when the fast path left lines: a feed of common
# lines (the bundled demo's) never compiles the general framer (4 s of compile CPU, two
# thirds of the framer's, on the first run after an install).
@njit
def frame_left(buf, rows, out, pghp_time, max_line_bytes):
    """Frame rows ``rows`` (``K_LEFT``, their line's stripped bounds in
    ``C_LSTART``/``C_LEND``) with the general framer ``_frame_line``."""
    fs = np.empty(7, dtype=np.int64)    # scratch: field bounds of one sentence
    fe = np.empty(7, dtype=np.int64)
    for k in range(len(rows)):
        li = rows[k]
        a = out[C_LSTART, li]
        b = out[C_LEND, li]
        for f in range(out.shape[0]):
            out[f, li] = 0
        pghp_time[li] = np.nan
        _frame_line(buf, a, b, out, pghp_time, li, max_line_bytes, fs, fe)


def frame_lines(buf: np.ndarray, max_line_bytes: int = 1024, parallel: bool = False,
                pool=None, hand_over: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Frame a chunk of lines: ((n_lines, len(FRAME_FIELDS)) int64 with contiguous
    columns, pghp times float64). ``parallel=True``: the same rows framed on all cores.
    The fast path frames on one thread: its chunks are framed in the read-ahead thread
    beside the main thread's work, and the first one, framed in the main thread while
    that thread starts, took as long on one core once ``_fast_line`` stopped counting
    references, while the OpenMP workers of a parallel call spin on for a while after
    it, taking CPU from the read-ahead thread (on the 2-core benchmark machine: reads
    of the 1M-sentence feed 0.02 s faster and 0.03 s less CPU framed on one thread).
    ``pool``: an ``ais.reading.buffers.BufferPool`` of int64 to take the rows' memory from (the
    caller gives ``rows.base`` back when done). ``hand_over``: when the fast path leaves
    at most this many lines, they are not framed here but handed over (``K_HANDOFF``,
    their stripped bounds) to the reference framer, which frames them as ``_frame_line``
    would (a few comment or junk lines in a feed of common lines: the general framer
    is then not compiled on the first run after an install)."""
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    bounds = np.r_[np.arange(0, len(buf), BLOCK_BYTES, dtype=np.int64), len(buf)]
    counts = np.empty(len(bounds) - 1, dtype=np.int64)
    count_starts(buf, bounds, counts)
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    n = int(offsets[-1])
    if pool is None:
        out = np.empty((len(FRAME_FIELDS), n), dtype=np.int64)
    else:
        size = len(FRAME_FIELDS) * n
        out = pool.take(size)[:size].reshape(len(FRAME_FIELDS), n)
    pghp = np.empty(n, dtype=np.float64)
    left = np.zeros(len(counts), dtype=np.int64)
    (frame_blocks_parallel.parallel if parallel else frame_blocks)(buf, bounds, offsets, out,
                                                                   pghp, max_line_bytes, left)
    n_left = int(left.sum())
    if n_left:                      # lines the fast path left
        rows = np.flatnonzero(out[C_KIND] == K_LEFT)
        if n_left <= hand_over:     # to the reference framer, as they are
            out[C_KIND, rows] = K_HANDOFF
        else:                       # the general framer
            frame_left(buf, rows, out, pghp, max_line_bytes)
    return out.T, pghp         # (n_lines, fields), each field contiguous
