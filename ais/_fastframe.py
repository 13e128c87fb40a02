"""Numba line framer: raw feed bytes -> one row of sentence fields per line.

The fast path of ``ais`` reads a feed in chunks of whole lines (a ``uint8`` array) and
frames every line here without creating a Python object per line. It handles the
common styles of NMEA 0183 AIS feeds:

- plain sentences ``!AIVDM,1,1,,A,<payload>,0*hh`` (any two-character talker, VDM or
  VDO; NMEA checksum verified);
- an NMEA 4 tag block before the sentence, ``\\s:STATION,c:TIME*hh\\`` (tag-block
  checksum verified; ``c:`` in seconds, or milliseconds when it has 13 digits);
- an epoch prefix, ``1550303566167726840 !AIVDM,...`` (integer seconds, ms, us or ns
  by digit count);
- fields after the checksum, ``!AIVDM,...*hh,bSTATION,1272412827`` (USCG style: a
  station and an integer epoch in seconds).

Every other line (comments, ``$PGHP`` and other ``$`` sentences, ISO-8601 prefixes,
tag blocks with ``g:`` sentence groups, decimal epochs, bad checksums, malformed
fields, ...) is marked ``HANDOFF``: the reference framer (``ais.nmea``) reads those
lines, so rejects carry exactly the reference reasons. Empty lines are ``BLANK``.

The kernel does not interpret times beyond collecting the digits: ``time_value`` holds
the integer and ``time_digits`` its number of digits, ``time_kind`` where it came from
(``TIME_TAG`` tag block ``c:``, ``TIME_PREFIX``, ``TIME_TRAILING``, ``TIME_NONE``).
The receive-time ranking and unit rules live in one place, the table layer.
"""

from __future__ import annotations

import numpy as np

from detectors._numba import njit

OK = 0
BLANK = 1
HANDOFF = 2

TIME_NONE = 0
TIME_TAG = 1
TIME_PREFIX = 2
TIME_TRAILING = 3

MAX_TIME_DIGITS = 18     # int64-safe; longer digit runs are handed off
MAX_PAYLOAD_CHARS = 200  # pyais's MAX_PAYLOAD_LEN

# Integer columns of the framer output, one row per line.
FRAME_FIELDS = ("status", "line_start", "line_end", "sentence_start", "talker_start",
                "is_vdo", "frag_count", "frag_number", "seq_id", "channel",
                "payload_start", "payload_end", "fill", "time_kind", "time_value",
                "time_digits", "station_start", "station_end")
(C_STATUS, C_LSTART, C_LEND, C_SSTART, C_TALKER, C_VDO, C_FCOUNT, C_FNUM, C_SEQ, C_CHAN,
 C_PSTART, C_PEND, C_FILL, C_TKIND, C_TVALUE, C_TDIGITS, C_STSTART, C_STEND) = \
    range(len(FRAME_FIELDS))


@njit
def count_lines(buf):
    """Number of lines in ``buf`` (a last line without ``\\n`` counts)."""
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
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@njit
def _digits(buf, a, b):
    """(value, n_digits) of buf[a:b] when all digits (1..18 of them), else (0, -1)."""
    if b <= a or b - a > MAX_TIME_DIGITS:
        return 0, -1
    v = 0
    for k in range(a, b):
        c = buf[k]
        if c < 48 or c > 57:
            return 0, -1
        v = v * 10 + (c - 48)
    return v, b - a


@njit
def _small_int(buf, a, b):
    """Value of a 1-3 digit decimal field, -1 if empty or not digits."""
    if b <= a or b - a > 3:
        return -1
    v = 0
    for k in range(a, b):
        c = buf[k]
        if c < 48 or c > 57:
            return -1
        v = v * 10 + (c - 48)
    return v


@njit
def _frame_tag_block(buf, a, b, row):
    """Parse the tag block body buf[a:b] ('...*hh'); False when the line must be handed off."""
    star = -1
    for k in range(a, b):
        if buf[k] == 42:
            if star >= 0:
                return False
            star = k
    if star < 0 or b - star != 3:
        return False
    h1 = _hex(buf[star + 1])
    h2 = _hex(buf[star + 2])
    if h1 < 0 or h2 < 0:
        return False
    x = 0
    for k in range(a, star):
        x ^= buf[k]
    if x != h1 * 16 + h2:
        return False
    k = a
    while k < star:
        e = k
        while e < star and buf[e] != 44:
            e += 1
        if e - k < 2 or buf[k + 1] != 58:
            return False
        code = buf[k]
        if code == 99:                       # c: receive time
            v, nd = _digits(buf, k + 2, e)
            if nd < 0 or row[C_TKIND] == TIME_TAG:
                return False
            row[C_TKIND] = TIME_TAG
            row[C_TVALUE] = v
            row[C_TDIGITS] = nd
        elif code == 115:                    # s: source station
            row[C_STSTART] = k + 2
            row[C_STEND] = e
        elif code == 103:                    # g: sentence group -> reference framer
            return False
        k = e + 1
    return True


@njit
def _frame_sentence(buf, a, b, row):
    """Parse '!ttVDM,...*hh[,trailing]' at buf[a:b]; False -> hand off."""
    if b - a < 16 or buf[a] != 33:
        return False
    c3, c4, c5 = buf[a + 3], buf[a + 4], buf[a + 5]
    if c3 != 86 or c4 != 68 or not (c5 == 77 or c5 == 79) or buf[a + 6] != 44:
        return False
    for k in (a + 1, a + 2):
        if buf[k] < 33 or buf[k] > 126 or buf[k] == 44 or buf[k] == 42:
            return False
    row[C_SSTART] = a
    row[C_TALKER] = a + 1
    row[C_VDO] = 1 if c5 == 79 else 0
    # the six comma-separated fields after the tag, then '*hh'
    starts = np.empty(6, dtype=np.int64)
    ends = np.empty(6, dtype=np.int64)
    k = a + 7
    f = 0
    star = -1
    while f < 6:
        starts[f] = k
        while k < b and buf[k] != 44 and buf[k] != 42:
            k += 1
        ends[f] = k
        if k >= b:
            return False
        if f < 5:
            if buf[k] != 44:
                return False
        else:
            if buf[k] != 42:
                return False
            star = k
        k += 1
        f += 1
    if star + 3 > b:
        return False
    h1 = _hex(buf[star + 1])
    h2 = _hex(buf[star + 2])
    if h1 < 0 or h2 < 0:
        return False
    x = 0
    for j in range(a + 1, star):
        x ^= buf[j]
    if x != h1 * 16 + h2:
        return False
    fc = _small_int(buf, starts[0], ends[0])
    fn = _small_int(buf, starts[1], ends[1])
    if fc < 1 or fc > 9 or fn < 1 or fn > fc:
        return False
    if ends[2] > starts[2]:
        seq = _small_int(buf, starts[2], ends[2])
        if seq < 0:
            return False
    else:
        seq = -1
    if ends[3] - starts[3] > 1:
        return False
    chan = buf[starts[3]] if ends[3] > starts[3] else 0
    if chan != 0 and (chan < 33 or chan > 126):
        return False
    plen = ends[4] - starts[4]
    if plen < 1 or plen > MAX_PAYLOAD_CHARS:
        return False
    for j in range(starts[4], ends[4]):
        if buf[j] < 48 or buf[j] > 119 or (88 <= buf[j] <= 95):
            return False
    if ends[5] - starts[5] != 1 or buf[starts[5]] < 48 or buf[starts[5]] > 53:
        return False
    row[C_FCOUNT] = fc
    row[C_FNUM] = fn
    row[C_SEQ] = seq
    row[C_CHAN] = chan
    row[C_PSTART] = starts[4]
    row[C_PEND] = ends[4]
    row[C_FILL] = buf[starts[5]] - 48
    # after the checksum: nothing, or USCG-style fields ',...,rSTATION,EPOCH' ending in a
    # 10-digit epoch (seconds); the last field starting with 'r' or 'b' is the station
    t = star + 3
    if t == b:
        return True
    if buf[t] != 44:
        return False
    last = b
    while buf[last - 1] != 44:
        last -= 1
    v, nd = _digits(buf, last, b)
    if nd != 10:
        return False
    st0 = -1
    st1 = -1
    f0 = t + 1
    while f0 < last:
        f1 = f0
        while buf[f1] != 44:
            f1 += 1
        for j in range(f0, f1):
            if buf[j] < 33 or buf[j] > 126 or buf[j] == 42 or buf[j] == 92:
                return False
        if f1 - f0 >= 2 and (buf[f0] == 98 or buf[f0] == 114):
            st0 = f0 + 1
            st1 = f1
        f0 = f1 + 1
    if row[C_TKIND] == TIME_NONE:
        row[C_TKIND] = TIME_TRAILING
        row[C_TVALUE] = v
        row[C_TDIGITS] = nd
    if row[C_STSTART] < 0 and st0 >= 0:
        row[C_STSTART] = st0
        row[C_STEND] = st1
    return True


@njit
def _frame_line(buf, a, b, row):
    """Frame buf[a:b] (one line without its newline) into ``row``."""
    while a < b and _is_space(buf[a]):
        a += 1
    while b > a and _is_space(buf[b - 1]):
        b -= 1
    row[C_LSTART] = a
    row[C_LEND] = b
    row[C_TKIND] = TIME_NONE
    row[C_SEQ] = -1
    row[C_STSTART] = -1
    row[C_STEND] = -1
    if a == b:
        row[C_STATUS] = BLANK
        return
    row[C_STATUS] = HANDOFF
    for k in range(a, b):
        if buf[k] > 126 or buf[k] < 32 and buf[k] != 9:
            return
    s = a
    c0 = buf[a]
    if c0 == 92:                                  # '\' tag block
        e = a + 1
        while e < b and buf[e] != 92:
            e += 1
        if e >= b or not _frame_tag_block(buf, a + 1, e, row):
            return
        s = e + 1
    elif 48 <= c0 <= 57:                          # epoch prefix
        e = a
        while e < b and 48 <= buf[e] <= 57:
            e += 1
        if e >= b or buf[e] != 32:
            return
        nd = e - a
        if nd == 19:
            # a nanosecond epoch has 19 digits: read seconds and the rest apart (int64-safe)
            v1, n1 = _digits(buf, a, a + 10)
            v2, n2 = _digits(buf, a + 10, e)
            v = v1 * 1000000000 + v2
        elif nd == 10 or nd == 13 or nd == 16:
            v, n1 = _digits(buf, a, e)
        else:
            return
        row[C_TKIND] = TIME_PREFIX
        row[C_TVALUE] = v
        row[C_TDIGITS] = nd
        s = e + 1
        while s < b and buf[s] == 32:
            s += 1
    if not _frame_sentence(buf, s, b, row):
        row[C_STATUS] = HANDOFF
        return
    row[C_STATUS] = OK


@njit
def frame_kernel(buf, out):
    """Frame every line of ``buf`` into ``out`` (n_lines x len(FRAME_FIELDS) int64)."""
    n = 0
    a = 0
    size = len(buf)
    while a < size:
        b = a
        while b < size and buf[b] != 10:
            b += 1
        row = out[n]
        for f in range(out.shape[1]):
            row[f] = 0
        _frame_line(buf, a, b, row)
        n += 1
        a = b + 1
    return n


def frame_lines(buf: np.ndarray) -> np.ndarray:
    """Frame a chunk of whole lines: (n_lines, len(FRAME_FIELDS)) int64, columns ``C_*``."""
    buf = np.ascontiguousarray(buf, dtype=np.uint8)
    out = np.empty((count_lines(buf), len(FRAME_FIELDS)), dtype=np.int64)
    n = frame_kernel(buf, out)
    return out[:n]
