"""Numba line framer: raw feed bytes -> one row of sentence fields per line.

The fast path of ``ais`` frames a chunk of whole lines (a ``uint8`` array) here, with
no Python object per line, following the rules of the reference framer ``ais.nmea``
exactly for the common styles:

- plain sentences ``!AIVDM,1,1,,A,<payload>,0*hh`` (talker two capital letters, VDM or
  VDO, NMEA checksum verified, 7 fields, fragment count/number one digit each,
  sequence id empty or 1-2 digits, fill bits empty or 0-5, payload in the 6-bit armour);
- one NMEA 4 tag block before the sentence, ``\\s:STATION,c:TIME*hh\\`` (a wrong
  tag-block checksum keeps the time and is counted, as in ``ais.nmea``);
- an integer epoch prefix, ``1550303566167726840 !AIVDM,...`` (separators space,
  comma, tab, semicolon);
- fields after the checksum: ``,rSTATION`` / ``,bSTATION`` and integer epochs of 9 or
  more digits (USCG, exactEarth); other trailing fields are ignored, as in ``ais.nmea``;
- ``$PGHP,1,Y,M,D,h,m,s,ms,...`` lines (Gatehouse; checksum verified);
- ``#`` comment lines, other ``$`` sentences, blank lines.

Every other line is ``K_HANDOFF``: the reference framer reads it (with the right
``$PGHP`` state), so its sentences and rejects are exactly the reference's. That covers
tag blocks with ``g:`` groups, a tag block alone on its line (it times the next
sentence), ``$AIVDM`` (AIS behind the parametric-sentence lead), ISO-8601 or decimal
timestamps, several sentences on one line, non-ASCII or control bytes, lines longer
than ``max_line_bytes``, and the faults found after the checksum (bad fields, talker,
payload), so those rejects get ``ais.nmea``'s reasons. The two faults the reference
checks first on an otherwise common line are rejected here, as ``K_REJECT`` rows with
its reason (``C_REASON``): no ``*hh`` at the end (truncated) and a checksum of two hex
digits that does not match (bad checksum). Lines are framed
independently, in parallel blocks of ``BLOCK_BYTES`` (a block frames the lines that
start in it, rows placed by a first pass counting line starts per block); the state
between lines (``$PGHP``, lone tag blocks) is applied afterwards by ``ais._fastfeed``.

The common line (optional epoch prefix, optional ``s:``/``c:`` tag block, one valid
``!ttVDM``/``VDO`` sentence, nothing after the checksum but a ``\\r``) is framed by
``_fast_line`` in one pass: checksum, fields and tag block together, the payload 8
bytes a step, the row written once. Anything else it leaves to ``_frame_line``, the
general framer, so both give the same row for every line (tested).

Times are collected as integers (``*_V`` value, ``*_HAS`` flag); ``epoch_seconds``
turns them into seconds with ``ais.nmea.parse_epoch``'s magnitude rule.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from ais import reasons
from ais._numba import load8 as _load8, njit

K_AIS, K_BLANK, K_SKIP, K_OTHER, K_PGHP, K_HANDOFF, K_REJECT = range(7)
# a ``K_REJECT`` row's reason, in its ``C_REASON`` column
R_BAD_CHECKSUM, R_TRUNCATED = 1, 2
REJECT_REASONS = {R_BAD_CHECKSUM: reasons.BAD_CHECKSUM, R_TRUNCATED: reasons.TRUNCATED}
# what ``_sentence`` makes of a sentence
S_HANDOFF, S_AIS = 0, -1

FRAME_FIELDS = ("kind", "line_start", "line_end", "chan_start", "chan_end", "count", "number",
                "seq", "pay_start", "pay_end", "fill", "tag_ok", "tag_has", "tag_v", "pre_has",
                "pre_v", "tr_has", "tr_v", "st_start", "st_end")
(C_KIND, C_LSTART, C_LEND, C_CHS, C_CHE, C_COUNT, C_NUMBER, C_SEQ, C_PS, C_PE, C_FILL,
 C_TAGOK, C_TAGHAS, C_TAGV, C_PREHAS, C_PREV, C_TRHAS, C_TRV, C_STS,
 C_STE) = range(len(FRAME_FIELDS))
C_REASON = C_COUNT      # the reject reason of a K_REJECT row


@njit
def count_lines(buf):
    """Lines in ``buf`` as ``bytes.split(b"\\n")`` gives them, minus a last empty one."""
    n = 0
    for b in buf:
        if b == 10:
            n += 1
    if len(buf) and buf[len(buf) - 1] != 10:
        n += 1
    return n


@njit
def _hex(c):
    if 48 <= c <= 57:
        return c - 48
    if 65 <= c <= 70:
        return c - 55
    if 97 <= c <= 102:
        return c - 87
    return -1


@njit
def _is_space(c):
    # bytes.strip(): space, \t, \n, \r, \x0b, \x0c
    return c == 32 or (9 <= c <= 13)


@njit
def _integer(buf, a, b):
    """(value, ok) of buf[a:b] when it is 1..19 ASCII digits fitting int64; ok False else."""
    n = b - a
    if n < 1 or n > 19:
        return 0, False
    if n == 19 and buf[a] > 56:        # >= 9e18 would overflow
        return 0, False
    v = 0
    for k in range(a, b):
        c = buf[k]
        if c < 48 or c > 57:
            return 0, False
        v = v * 10 + (c - 48)
    return v, True


@njit
def _all_digits(buf, a, b):
    if b <= a:
        return False
    for k in range(a, b):
        if buf[k] < 48 or buf[k] > 57:
            return False
    return True


@njit
def _digits_with_one_dot(buf, a, b):
    """``f.replace(b".", b"", 1).isdigit()``."""
    dot = False
    n = 0
    for k in range(a, b):
        c = buf[k]
        if c == 46 and not dot:
            dot = True
        elif 48 <= c <= 57:
            n += 1
        else:
            return False
    return n > 0


@njit
def _days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = m + 9 if m <= 2 else m - 3
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit
def _month_days(y, m):
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return 29 if leap else 28
    if m == 4 or m == 6 or m == 9 or m == 11:
        return 30
    return 31


@njit
def _pghp(buf, a, b, pghp_time, i, vals):
    """``$PGHP`` sentence at buf[a:b] (a at '$'): True when framed, time in pghp_time[i]."""
    star = -1
    for k in range(a, b):
        if buf[k] == 42:
            star = k
            break
    if star < 0 or b < star + 3:
        return False
    h1 = _hex(buf[star + 1])
    h2 = _hex(buf[star + 2])
    if h1 < 0 or h2 < 0:
        return False
    x = 0
    for k in range(a + 1, star):
        x ^= buf[k]
    if x != h1 * 16 + h2:
        return False
    pghp_time[i] = np.nan
    # fields of buf[a+1:star]: PGHP,1,Y,M,D,h,m,s,ms,...
    f = 0
    k = a + 1
    one = False
    while True:
        e = k
        while e < star and buf[e] != 44:
            e += 1
        if f == 1:
            one = e - k == 1 and buf[k] == 49
        elif 2 <= f <= 8:
            if e - k > 9:
                return False
            v, ok = _integer(buf, k, e)
            if not ok:
                return False        # int() accepts signs and spaces: let the reference decide
            vals[f - 2] = v
        f += 1
        if e >= star:
            break
        k = e + 1
    if f < 9 or not one:
        return True                  # reference: no time
    y, mo, d, h, mi, s, ms = vals[0], vals[1], vals[2], vals[3], vals[4], vals[5], vals[6]
    if y < 1 or y > 9999 or mo < 1 or mo > 12 or d < 1 or d > _month_days(y, mo) \
            or h > 23 or mi > 59 or s > 59:
        return True                  # datetime() raises: no time
    secs = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    pghp_time[i] = float(secs) + ms / 1000.0
    return True


@njit
def _tag_block(buf, a, b, star, xs, out, li):
    """Tag block content buf[a:b] (between the backslashes), its last '*' at ``star``
    (-1: none) and the XOR of the bytes before it ``xs``; False -> hand off."""
    body_end = b
    out[C_TAGOK, li] = 1
    if star >= 0:
        body_end = star
        hh = min(b, star + 3) - (star + 1)
        if hh == 0:
            out[C_TAGOK, li] = 0
        elif hh == 2:
            h1 = _hex(buf[star + 1])
            h2 = _hex(buf[star + 2])
            if h1 < 0 or h2 < 0:
                return False
            out[C_TAGOK, li] = 1 if xs == h1 * 16 + h2 else 0
        else:
            return False
    k = a
    while k <= body_end:
        e = k
        while e < body_end and buf[e] != 44:
            e += 1
        # key is everything before the first ':'
        colon = -1
        for j in range(k, e):
            if buf[j] == 58:
                colon = j
                break
        if colon == k + 1:
            key = buf[k]
            if key == 99:                                    # c:
                if colon + 1 == e:
                    out[C_TAGHAS, li] = 0                        # float(b"") fails: no time
                else:
                    v, ok = _integer(buf, colon + 1, e)
                    if not ok:
                        return False
                    out[C_TAGHAS, li] = 1
                    out[C_TAGV, li] = v
            elif key == 115 and colon + 1 < e:               # s:
                out[C_STS, li] = colon + 1
                out[C_STE, li] = e
            elif key == 103:                                 # g: groups -> reference
                return False
        k = e + 1
    return True


@njit
def _sentence(buf, i, b, out, li, fs, fe):
    """``!ttVDM,...*hh[,trailing]`` at buf[i:b]: ``S_AIS``, ``S_HANDOFF``, or the
    reason (``R_*``) of the reject the reference gives it. Only the first two checks of
    the reference are made here (no ``*hh``: truncated; a wrong checksum of two hex
    digits: bad checksum); any other fault is handed over."""
    if b - i < 7:
        return S_HANDOFF
    if not (buf[i + 3] == 86 and buf[i + 4] == 68 and (buf[i + 5] == 77 or buf[i + 5] == 79)
            and buf[i + 6] == 44):
        return S_HANDOFF
    # one pass to the '*': checksum and the 7 comma-separated fields of buf[i+1:star]
    x = 0
    f = 0
    fs[0] = i + 1
    star = -1
    k = i + 1
    while k < b:
        c = buf[k]
        if c == 42:
            star = k
            break
        x ^= c
        if c == 44:
            fe[f] = k
            f += 1
            if f >= 7:
                return S_HANDOFF
            fs[f] = k + 1
        k += 1
    if star < 0 or b < star + 3:
        return R_TRUNCATED
    fe[f] = star
    f += 1
    h1 = _hex(buf[star + 1])
    h2 = _hex(buf[star + 2])
    if h1 < 0 or h2 < 0:
        return S_HANDOFF
    if x != h1 * 16 + h2:
        return R_BAD_CHECKSUM
    for k in (i + 1, i + 2):
        if buf[k] < 65 or buf[k] > 90:
            return S_HANDOFF
    if f != 7:
        return S_HANDOFF
    if fe[1] - fs[1] != 1 or fe[2] - fs[2] != 1:
        return S_HANDOFF
    count = buf[fs[1]] - 48
    number = buf[fs[2]] - 48
    if count < 1 or count > 9 or number < 1 or number > count:
        return S_HANDOFF
    seq = -1
    if fe[3] > fs[3]:
        if fe[3] - fs[3] > 2 or not _all_digits(buf, fs[3], fe[3]):
            return S_HANDOFF
        seq = 0
        for j in range(fs[3], fe[3]):
            seq = seq * 10 + buf[j] - 48
    fill = 0
    if fe[6] > fs[6]:
        if fe[6] - fs[6] != 1 or buf[fs[6]] < 48 or buf[fs[6]] > 53:
            return S_HANDOFF
        fill = buf[fs[6]] - 48
    if fe[5] <= fs[5]:
        return S_HANDOFF
    for j in range(fs[5], fe[5]):
        c = buf[j]
        if c < 48 or c > 119 or (88 <= c <= 95):
            return S_HANDOFF
    out[C_CHS, li] = fs[4]
    out[C_CHE, li] = fe[4]
    out[C_COUNT, li] = count
    out[C_NUMBER, li] = number
    out[C_SEQ, li] = seq
    out[C_PS, li] = fs[5]
    out[C_PE, li] = fe[5]
    out[C_FILL, li] = fill
    # trailing fields
    t = star + 3
    if t < b and buf[t] == 44:
        k = t + 1
        have_station = False
        while True:
            e = k
            while e < b and buf[e] != 44:
                e += 1
            if e - k > 1 and (buf[k] == 114 or buf[k] == 98) and not have_station:
                have_station = True
                if out[C_STS, li] < 0:
                    out[C_STS, li] = k
                    out[C_STE, li] = e
            elif e - k >= 9 and _digits_with_one_dot(buf, k, e):
                v, ok = _integer(buf, k, e)
                if not ok:
                    return S_HANDOFF
                out[C_TRHAS, li] = 1
                out[C_TRV, li] = v
            if e >= b:
                break
            k = e + 1
    return S_AIS


@njit
def _frame_line(buf, a, b, out, pghp_time, li, max_line_bytes, fs, fe):
    """Frame buf[a:b] (one line without its newline) into ``out[li]``."""
    while a < b and _is_space(buf[a]):
        a += 1
    while b > a and _is_space(buf[b - 1]):
        b -= 1
    out[C_LSTART, li] = a
    out[C_LEND, li] = b
    out[C_SEQ, li] = -1
    out[C_STS, li] = -1
    out[C_STE, li] = -1
    out[C_TAGOK, li] = 1
    if a == b:
        out[C_KIND, li] = K_BLANK
        return
    if buf[a] == 35:                 # '#': a comment line, whatever follows
        out[C_KIND, li] = K_SKIP
        return
    out[C_KIND, li] = K_HANDOFF
    if b - a > max_line_bytes:
        return
    starts = 0
    m = -1
    for k in range(a, b):
        c = buf[k]
        if c > 126 or (c < 32 and c != 9):
            return
        if c == 33 or c == 36:
            starts += 1
        if m < 0 and (c == 33 or c == 36 or c == 92):
            m = k
    if starts > 1:
        return                       # several sentences on one line: the reference splits
    if m < 0:
        return
    i = m
    if buf[i] == 36:                 # '$'
        if i != a:
            return
        if b - i >= 6 and buf[i + 1] == 80 and buf[i + 2] == 71 and buf[i + 3] == 72 \
                and buf[i + 4] == 80 and buf[i + 5] == 44:
            if _pghp(buf, i, b, pghp_time, li, fs):
                out[C_KIND, li] = K_PGHP
            return
        if b - i >= 7 and buf[i + 3] == 86 and buf[i + 4] == 68 \
                and (buf[i + 5] == 77 or buf[i + 5] == 79) and buf[i + 6] == 44:
            return                   # '$AIVDM': an AIS sentence to ais.nmea, rare: hand over
        out[C_KIND, li] = K_OTHER
        return
    if buf[i] == 92:                 # '\' tag block
        e = i + 1
        x = 0
        xs = 0
        star = -1
        while e < b and buf[e] != 92:
            c = buf[e]
            if c == 42:
                star = e
                xs = x
            x ^= c
            e += 1
        if e >= b:
            return
        if e + 1 >= b or buf[e + 1] != 33:   # a tag block alone: state for the next line
            return
            return
        if not _tag_block(buf, i + 1, e, star, xs, out, li):
            return
        i = e + 1
    # prefix buf[a:m] stripped of " ,\t;"
    p0 = a
    p1 = m
    while p0 < p1 and (buf[p0] == 32 or buf[p0] == 44 or buf[p0] == 9 or buf[p0] == 59):
        p0 += 1
    while p1 > p0 and (buf[p1 - 1] == 32 or buf[p1 - 1] == 44 or buf[p1 - 1] == 9
                       or buf[p1 - 1] == 59):
        p1 -= 1
    if p1 > p0:
        v, ok = _integer(buf, p0, p1)
        if not ok:
            return                   # ISO-8601, decimals, '#': the reference parses them
        out[C_PREHAS, li] = 1
        out[C_PREV, li] = v
    r = _sentence(buf, i, b, out, li, fs, fe)
    if r == S_AIS:
        out[C_KIND, li] = K_AIS
    elif r != S_HANDOFF:
        out[C_KIND, li] = K_REJECT
        out[C_REASON, li] = r


@njit
def frame_kernel(buf, out, pghp_time, max_line_bytes):
    """Frame every line of ``buf``: ``out[C_*, n]`` (int64), ``pghp_time[n]`` (float64)."""
    n = 0
    a = 0
    size = len(buf)
    fs = np.empty(7, dtype=np.int64)    # scratch: field bounds of one sentence
    fe = np.empty(7, dtype=np.int64)
    while a < size:
        b = a
        while b < size and buf[b] != 10:
            b += 1
        for f in range(out.shape[0]):
            out[f, n] = 0
        pghp_time[n] = np.nan
        _frame_line(buf, a, b, out, pghp_time, n, max_line_bytes, fs, fe)
        n += 1
        a = b + 1
    return n


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
def last_newline(buf):
    """Index of the last newline (-1: none)."""
    last_nl = len(buf) - 1
    while last_nl >= 0 and buf[last_nl] != 10:
        last_nl -= 1
    return last_nl


@njit
def _frame_block(j, buf, bounds, offsets, out, pghp_time, max_line_bytes, last_nl):
    """Frame the lines starting in block ``j`` into rows ``offsets[j]:offsets[j + 1]``:
    the fast path first, ``_frame_line`` for every line it leaves."""
    size = len(buf)
    fs = np.empty(7, dtype=np.int64)
    fe = np.empty(7, dtype=np.int64)
    p = bounds[j]
    e = bounds[j + 1]
    if p > 0:
        while p < e and buf[p - 1] != 10:
            p += 1
    li = offsets[j]
    while p < e:
        nl = -1
        if p <= last_nl:
            nl = _fast_line(buf, p, size, out, pghp_time, li, max_line_bytes)
        if nl < 0:
            nl = p
            while nl < size and buf[nl] != 10:
                nl += 1
            for f in range(out.shape[0]):
                out[f, li] = 0
            pghp_time[li] = np.nan
            _frame_line(buf, p, nl, out, pghp_time, li, max_line_bytes, fs, fe)
        li += 1
        p = nl + 1


# Two kernels, not one function compiled twice: numba's disk cache keys a function by
# its code and signature, not by ``parallel``, so one function compiled both ways could
# load the parallel build where the one-thread build was asked for (the read-ahead
# thread must not start parallel work while the main thread runs its own).
@njit
def frame_blocks(buf, bounds, offsets, out, pghp_time, max_line_bytes):
    """Frame every block, one after the other."""
    last_nl = last_newline(buf)     # lines after it go to ``_frame_line`` only
    for j in range(len(bounds) - 1):
        _frame_block(j, buf, bounds, offsets, out, pghp_time, max_line_bytes, last_nl)


@njit(parallel=True)
def frame_blocks_parallel(buf, bounds, offsets, out, pghp_time, max_line_bytes):
    """Frame the blocks on all cores."""
    last_nl = last_newline(buf)     # lines after it go to ``_frame_line`` only
    for j in numba.prange(len(bounds) - 1):
        _frame_block(j, buf, bounds, offsets, out, pghp_time, max_line_bytes, last_nl)


def frame_lines(buf: np.ndarray, max_line_bytes: int = 1024, parallel: bool = False,
                pool=None) -> tuple[np.ndarray, np.ndarray]:
    """Frame a chunk of lines: ((n_lines, len(FRAME_FIELDS)) int64 with contiguous
    columns, pghp times float64). ``parallel=True``: the same rows framed on all cores.
    The fast path frames on one thread: its chunks are framed in the read-ahead thread
    beside the main thread's work, and the first one, framed in the main thread while
    that thread starts, took as long on one core once ``_fast_line`` stopped counting
    references, while the OpenMP workers of a parallel call spin on for a while after
    it, taking CPU from the read-ahead thread (on the 2-core benchmark machine: reads
    of the 1M-sentence feed 0.02 s faster and 0.03 s less CPU framed on one thread).
    ``pool``: an ``ais._memory.BufferPool`` of int64 to take the rows' memory from (the
    caller gives ``rows.base`` back when done)."""
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
    (frame_blocks_parallel if parallel else frame_blocks)(buf, bounds, offsets, out, pghp,
                                                          max_line_bytes)
    return out.T, pghp         # (n_lines, fields), each field contiguous


@njit
def _epoch(value):
    """Integer epoch -> seconds by magnitude: the rule of ``ais.nmea.parse_epoch`` (the
    reference, on text), here on the integers the framer collects."""
    v = np.float64(value)
    if v < 1e8:
        return np.nan
    if v < 1e11:
        return v
    if v < 1e14:
        return v / 1e3
    if v < 1e17:
        return v / 1e6
    return v / 1e9


@njit
def receive_times(idx, tag_has, tag_v, pghp_before, pre_has, pre_v, tr_has, tr_v, out):
    """Receive time of rows ``idx`` by the ranking of ``ais.nmea`` (tag c:, the ``$PGHP``
    time pending before the line, prefix, trailing epoch) into ``out``."""
    for k in range(len(idx)):
        i = idx[k]
        t = _epoch(tag_v[i]) if tag_has[i] != 0 else np.nan
        if np.isnan(t):
            t = pghp_before[k]
        if np.isnan(t) and pre_has[i] != 0:
            t = _epoch(pre_v[i])
        if np.isnan(t) and tr_has[i] != 0:
            t = _epoch(tr_v[i])
        out[k] = t


@njit
def _epochs(values, out):
    for i in range(len(values)):
        out[i] = _epoch(values[i])


def epoch_seconds(value: np.ndarray) -> np.ndarray:
    """Integer epochs -> seconds by magnitude (``ais.nmea.parse_epoch``): < 1e11 seconds,
    < 1e14 ms, < 1e17 us, else ns; NaN below 1e8 (``_epoch`` on each)."""
    value = np.ascontiguousarray(value, dtype=np.int64)
    out = np.empty(len(value), dtype=np.float64)
    _epochs(value, out)
    return out
