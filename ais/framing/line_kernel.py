"""Numba line framer, the general part: raw feed bytes -> one row of sentence fields per line.

The fast path of ``ais`` frames a chunk of whole lines (a ``uint8`` array) with no
Python object per line, following the rules of the reference framer ``ais.framing.nmea``
exactly for the common styles:

- plain sentences ``!AIVDM,1,1,,A,<payload>,0*hh`` (talker two capital letters, VDM or
  VDO, NMEA checksum verified, 7 fields, fragment count/number one digit each,
  sequence id empty or 1-2 digits, fill bits empty or 0-5, payload in the 6-bit armour);
- one NMEA 4 tag block before the sentence, ``\\s:STATION,c:TIME*hh\\`` (a wrong
  tag-block checksum keeps the time and is counted, as in ``ais.framing.nmea``);
- an integer epoch prefix, ``1550303566167726840 !AIVDM,...`` (separators space,
  comma, tab, semicolon);
- fields after the checksum: ``,rSTATION`` / ``,bSTATION`` and integer epochs of 9 or
  more digits (USCG, exactEarth); other trailing fields are ignored, as in ``ais.framing.nmea``;
- ``$PGHP,1,Y,M,D,h,m,s,ms,...`` lines (Gatehouse; checksum verified);
- ``#`` comment lines, other ``$`` sentences, blank lines.

Every other line is ``K_HANDOFF``: the reference framer reads it (with the right
``$PGHP`` state), so its sentences and rejects are exactly the reference's. That covers
tag blocks with ``g:`` groups, a tag block alone on its line (it times the next
sentence), ``$AIVDM`` (AIS behind the parametric-sentence lead), ISO-8601 or decimal
timestamps, several sentences on one line, non-ASCII or control bytes, lines longer
than ``max_line_bytes``, and the faults found after the checksum (bad fields, talker,
payload), so those rejects get ``ais.framing.nmea``'s reasons. The two faults the reference
checks first on an otherwise common line are rejected here, as ``K_REJECT`` rows with
its reason (``C_REASON``): no ``*hh`` at the end (truncated) and a checksum of two hex
digits that does not match (bad checksum); so is a line of ASCII (control bytes
included) with no ``!``, ``$`` or ``\\`` in it (not NMEA): a feed of junk lines costs
no Python object per line but its reject. The state between lines (``$PGHP``, lone
tag blocks) is applied afterwards by ``ais.incremental.fast_framing``.

This module holds the row layout (``FRAME_FIELDS``, the ``K_*`` kinds and ``C_*``
columns), ``_frame_line``, the general framer of one line, and ``frame_kernel``, which
frames a chunk with it alone (the slow, obvious way, kept as the tests' yardstick).
``ais.framing.fast_lines`` frames the common line in one pass and drives the blocks.

Times are collected as integers (``*_V`` value, ``*_HAS`` flag); ``epoch_seconds``
turns them into seconds with ``ais.framing.nmea.parse_epoch``'s magnitude rule.
"""

from __future__ import annotations

import numpy as np

from ais import reasons
from ais._numba import njit
from ais.framing.nmea import LATEST_EPOCH_S

K_AIS, K_BLANK, K_SKIP, K_OTHER, K_PGHP, K_HANDOFF, K_REJECT = range(7)
# a ``K_REJECT`` row's reason, in its ``C_REASON`` column
R_BAD_CHECKSUM, R_TRUNCATED, R_NOT_NMEA = 1, 2, 3
REJECT_REASONS = {R_BAD_CHECKSUM: reasons.BAD_CHECKSUM, R_TRUNCATED: reasons.TRUNCATED,
                  R_NOT_NMEA: reasons.NOT_NMEA}
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


@njit(inline="always")
def _open_row(buf, a, b, out, li):
    """The start of row ``li`` for the line buf[a:b]: its bounds stripped of white space
    as ``bytes.strip()`` strips (space, \t, \n, \r, \x0b, \x0c), no sequence, no
    station tag, the tag block good so far. Returns the stripped bounds. Shared by
    :func:`_frame_line` and the fast path's ``_leave_line``, so that a line the fast path
    leaves has the row this framer writes for it."""
    while a < b and (buf[a] == 32 or 9 <= buf[a] <= 13):
        a += 1
    while b > a and (buf[b - 1] == 32 or 9 <= buf[b - 1] <= 13):
        b -= 1
    out[C_LSTART, li] = a
    out[C_LEND, li] = b
    out[C_SEQ, li] = -1
    out[C_STS, li] = -1
    out[C_STE, li] = -1
    out[C_TAGOK, li] = 1
    return a, b


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
    t = float(secs) + ms / 1000.0
    if 0 <= t < LATEST_EPOCH_S:
        pghp_time[i] = t
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
    a, b = _open_row(buf, a, b, out, li)
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
    m = np.int64(-1)          # not a literal: one compiled version of _pghp, not two
    ctrl = False
    for k in range(a, b):
        c = buf[k]
        if c > 126:
            return                   # not ASCII: the reference checks the UTF-8
        if c < 32 and c != 9:
            ctrl = True
            continue
        if c == 33 or c == 36:
            starts += 1
        if m < 0 and (c == 33 or c == 36 or c == 92):
            m = k
    if m < 0:                        # no '!', '$' or '\' at all: junk, control bytes or not
        out[C_KIND, li] = K_REJECT
        out[C_REASON, li] = R_NOT_NMEA
        return
    if ctrl or starts > 1:
        return                       # control bytes; several sentences: the reference
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
            return                   # '$AIVDM': an AIS sentence to ais.framing.nmea, rare: hand over
        out[C_KIND, li] = K_OTHER
        return
    if buf[i] == 92:                 # '\' tag block
        e = i + 1
        x = 0
        xs = np.int64(0)          # not a literal: one compiled version of _tag_block
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


@njit
def _epoch(value):
    """Integer epoch -> seconds by magnitude: the rule of ``ais.framing.nmea.parse_epoch`` (the
    reference, on text), here on the integers the framer collects."""
    v = np.float64(value)
    if v < 1e8:
        return np.nan
    if v < 1e11:
        s = v
    elif v < 1e14:
        s = v / 1e3
    elif v < 1e17:
        s = v / 1e6
    else:
        s = v / 1e9
    return s if s < LATEST_EPOCH_S else np.nan


@njit
def receive_times(idx, tag_has, tag_v, pghp_before, pre_has, pre_v, tr_has, tr_v, out):
    """Receive time of rows ``idx`` by the ranking of ``ais.framing.nmea`` (tag c:, the ``$PGHP``
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
    """Integer epochs -> seconds by magnitude (``ais.framing.nmea.parse_epoch``): < 1e11 seconds,
    < 1e14 ms, < 1e17 us, else ns; NaN below 1e8 and from ``LATEST_EPOCH_S`` on (``_epoch``
    on each)."""
    value = np.ascontiguousarray(value, dtype=np.int64)
    out = np.empty(len(value), dtype=np.float64)
    _epochs(value, out)
    return out
