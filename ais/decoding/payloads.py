"""Numba kernels that decode armoured AIS payloads straight into field arrays.

The fast path of ``ais``: a batch of messages is one ``uint8`` buffer holding the
6-bit armoured payload characters of every message back to back (a multi-fragment
message is its fragments' payloads concatenated in fragment order), plus per message
the ``start``/``end`` offsets into that buffer and the number of fill bits.

The values are exactly those of pyais 3.3.1 (``pyais/messages.py``, ``bit_vector.py``),
which is the reference decoder of the project:

- armour: character ``c`` in ``48..119`` maps to ``c - 48`` (minus 8 more above 40),
  anything else to 0; the message has ``6 * n_chars - fill_bits`` bits;
- a field that runs past the end of the bits keeps only the bits present (pyais's
  ``get``), a signed field takes its sign from the first bit present;
- lat/lon in 1/10000 minute: ``((10 * v + 3) // 6) / 1e6`` (pyais's ``to_lat_lon``,
  which equals ``round(v / 600000, 6)``); type 27 in 1/10 minute:
  ``((10000 * v + 3) // 6) / 1e6``; speed and course ``v / 10.0`` (type 27: whole
  knots and degrees, unscaled); draught ``v / 10.0``;
- ship type of types 5 and 19 goes through pyais's ``ShipType`` enum (unknown codes
  become 0 or a "reserved" code); type 24 part B keeps the raw 8 bits;
- text: 6-bit characters (``v < 32 -> chr(v + 64)``, else ``chr(v)``), trailing ``@``
  removed, then spaces stripped on both sides (``rstrip("@").strip()``).

Sentinels (lat 91, lon 181, speed 102.3, ...) are *not* interpreted here: the kernel
returns what pyais returns, and the table layer applies the project's rules.

A message is decoded here (``status == DECODED``) only when it is of a covered type
(1, 2, 3, 18, 19, 27 positions; 5, 19, 24 statics) and has at least
``ais.decoding.fields.MIN_BITS`` bits (the end of the last field the tables read); anything
else (other types, type 24 with part number 2 or 3, short payloads) gets
``status == FALLBACK`` and is handed to the pyais path, so odd inputs always get the
reference treatment and the reference reject reason.
"""

from __future__ import annotations

import numpy as np

from ais.decoding import fields
from ais.decoding.fields import MIN_BITS, MIN_BITS_24
from ais._numba import helper, njit, readonly

DECODED = 0
FALLBACK = 1

POSITION_TYPES = (1, 2, 3, 18, 19, 27)
STATIC_TYPES = (5, 19, 24)

TEXT_CHARS = 20  # name and destination: 120 bits; call sign: 42 bits (7 characters)

# Numeric output columns (float64; NaN where pyais gives no value for the message type).
NUMERIC_FIELDS = ("msg_type", "nbits", "mmsi", "speed", "lon", "lat", "course", "heading",
                  "imo", "ship_type", "to_bow", "to_stern", "to_port", "to_starboard",
                  "month", "day", "hour", "minute", "draught", "partno")
TEXT_FIELDS = ("shipname", "callsign", "destination")
(F_TYPE, F_NBITS, F_MMSI, F_SPEED, F_LON, F_LAT, F_COURSE, F_HEADING, F_IMO, F_SHIPTYPE,
 F_BOW, F_STERN, F_PORT, F_STARBOARD, F_MONTH, F_DAY, F_HOUR, F_MINUTE, F_DRAUGHT,
 F_PARTNO) = range(len(NUMERIC_FIELDS))
N_POS = F_HEADING + 1          # fields every message has; the rest only static messages
T_NAME, T_CALLSIGN, T_DEST = range(len(TEXT_FIELDS))


def armor_table() -> np.ndarray:
    """pyais's ``_PAYLOAD_ARMOR``: armoured character code -> 6-bit value."""
    return np.array([(c - 56 if c - 48 > 40 else c - 48) if 48 <= c <= 119 else 0
                     for c in range(256)], dtype=np.int64)


def sixbit_chars() -> np.ndarray:
    """6-bit value -> ASCII code of the character pyais decodes it to."""
    return np.array([v + 64 if v < 32 else v for v in range(64)], dtype=np.uint8)


def min_bits_table() -> np.ndarray:
    """Message type (0..63; 64, 65 = type 24 part A, B) -> bits needed, 0 = not covered."""
    t = np.zeros(66, dtype=np.int64)
    for mt, n in MIN_BITS.items():
        t[mt] = n
    t[64] = MIN_BITS_24[0]
    t[65] = MIN_BITS_24[1]
    return t


def ship_type_table() -> np.ndarray:
    """Raw 8-bit ship type -> the integer value of pyais's ``ShipType`` for it."""
    from pyais.constants import ShipType
    return np.array([int(ShipType.from_value(v)) for v in range(256)], dtype=np.int64)


@helper
def _get(buf, start, nbits, armor, bit, width):
    """Unsigned field of ``width`` bits at ``bit`` (bits past the end are dropped)."""
    if width <= 0 or bit >= nbits:
        return 0
    avail = min(width, nbits - bit)
    end = bit + avail
    c0 = bit // 6
    c1 = (end - 1) // 6
    v = 0
    for c in range(c0, c1 + 1):
        v = (v << 6) | armor[buf[start + c]]
    v >>= (c1 + 1) * 6 - end
    return v & ((1 << avail) - 1)


@helper
def _get_signed(buf, start, nbits, armor, bit, width):
    """Two's-complement field; the sign is the first bit present."""
    if width <= 0 or bit >= nbits:
        return 0
    avail = min(width, nbits - bit)
    v = _get(buf, start, nbits, armor, bit, width)
    if v & (1 << (avail - 1)):
        v -= 1 << avail
    return v


@helper
def _text(buf, start, nbits, armor, chars, bit, width, out, row, col, out_len):
    """pyais ``get_str``: write the trimmed text to ``out[row, col]``, length to ``out_len``."""
    if width <= 0 or bit >= nbits:
        out_len[row, col] = 0
        return
    n = 0
    # the characters wholly inside the message from a stream of its 6-bit values (each
    # armour character read once), the rest as ``_get`` gives them
    c = start + bit // 6
    acc = armor[buf[c]] & ((1 << (6 - bit % 6)) - 1)
    have = 6 - bit % 6
    c += 1
    b = bit
    end = bit + width
    while b < end and b + 6 <= nbits:
        if have < 6:
            acc = ((acc << 6) | armor[buf[c]]) & 0xFFF
            c += 1
            have += 6
        have -= 6
        out[row, col, n] = chars[(acc >> have) & 63]
        n += 1
        b += 6
    while b < end:
        out[row, col, n] = chars[_get(buf, start, nbits, armor, b, 6)]
        n += 1
        b += 6
    hi = n
    while hi > 0 and out[row, col, hi - 1] == 64:      # rstrip("@")
        hi -= 1
    while hi > 0 and out[row, col, hi - 1] == 32:      # strip(): trailing spaces
        hi -= 1
    lo = 0
    while lo < hi and out[row, col, lo] == 32:         # strip(): leading spaces
        lo += 1
    for k in range(hi - lo):
        out[row, col, k] = out[row, col, lo + k]
    for k in range(hi - lo, out.shape[2]):
        out[row, col, k] = 0
    out_len[row, col] = hi - lo


@helper
def _latlon(v):
    return ((10 * v + 3) // 6) / 1e6


@helper
def _latlon600(v):
    return ((10000 * v + 3) // 6) / 1e6


@njit
def decode_kernel(buf, starts, ends, fill, armor, chars, ship_types, min_bits, num, slot,
                  snum, text, text_len, status):
    """Decode message ``i`` (``buf[starts[i]:ends[i]]``, ``fill[i]`` fill bits) into
    ``num[F_*, i]`` for the first ``N_POS`` fields, ``snum[F_* - N_POS, slot[i]]`` for
    the others (NaN = no value), ``text[slot[i], T_*, :]`` / ``text_len[slot[i], T_*]``
    and ``status[i]`` (DECODED or FALLBACK). Only messages of the static types have a
    slot (``slot[i] >= 0``): their static fields and text are decoded, nobody else's."""
    nan = np.nan
    # one thread: the fast path calls it from the read-ahead thread, beside the caller's
    # own kernels (about 30 ms per million messages)
    for i in range(len(starts)):
        for f in range(num.shape[0]):
            num[f, i] = nan
        row = slot[i]
        if row >= 0:
            for f in range(snum.shape[0]):
                snum[f, row] = nan
        s = starts[i]
        nbits = (ends[i] - s) * 6 - fill[i]
        num[F_NBITS, i] = nbits
        status[i] = FALLBACK
        if nbits <= 38:
            continue
        mt = _get(buf, s, nbits, armor, 0, 6)
        num[F_TYPE, i] = mt
        num[F_MMSI, i] = _get(buf, s, nbits, armor, 8, 30)
        if mt == 24:
            part = _get(buf, s, nbits, armor, 38, 2)
            snum[F_PARTNO - N_POS, row] = part
            if part > 1 or nbits < min_bits[64 + part]:
                continue
        elif min_bits[mt] == 0 or nbits < min_bits[mt]:
            continue
        if mt == 1 or mt == 2 or mt == 3:
            num[F_SPEED, i] = _get(buf, s, nbits, armor, 50, 10) / 10.0
            num[F_LON, i] = _latlon(_get_signed(buf, s, nbits, armor, 61, 28))
            num[F_LAT, i] = _latlon(_get_signed(buf, s, nbits, armor, 89, 27))
            num[F_COURSE, i] = _get(buf, s, nbits, armor, 116, 12) / 10.0
            num[F_HEADING, i] = _get(buf, s, nbits, armor, 128, 9)
        elif mt == 18 or mt == 19:
            num[F_SPEED, i] = _get(buf, s, nbits, armor, 46, 10) / 10.0
            num[F_LON, i] = _latlon(_get_signed(buf, s, nbits, armor, 57, 28))
            num[F_LAT, i] = _latlon(_get_signed(buf, s, nbits, armor, 85, 27))
            num[F_COURSE, i] = _get(buf, s, nbits, armor, 112, 12) / 10.0
            num[F_HEADING, i] = _get(buf, s, nbits, armor, 124, 9)
            if mt == 19:
                _text(buf, s, nbits, armor, chars, 143, 120, text, row, T_NAME, text_len)
                snum[F_SHIPTYPE - N_POS, row] = ship_types[_get(buf, s, nbits, armor, 263, 8)]
                snum[F_BOW - N_POS, row] = _get(buf, s, nbits, armor, 271, 9)
                snum[F_STERN - N_POS, row] = _get(buf, s, nbits, armor, 280, 9)
                snum[F_PORT - N_POS, row] = _get(buf, s, nbits, armor, 289, 6)
                snum[F_STARBOARD - N_POS, row] = _get(buf, s, nbits, armor, 295, 6)
        elif mt == 27:
            num[F_LON, i] = _latlon600(_get_signed(buf, s, nbits, armor, 44, 18))
            num[F_LAT, i] = _latlon600(_get_signed(buf, s, nbits, armor, 62, 17))
            num[F_SPEED, i] = float(_get(buf, s, nbits, armor, 79, 6))
            num[F_COURSE, i] = float(_get(buf, s, nbits, armor, 85, 9))
        elif mt == 5:
            snum[F_IMO - N_POS, row] = _get(buf, s, nbits, armor, 40, 30)
            _text(buf, s, nbits, armor, chars, 70, 42, text, row, T_CALLSIGN, text_len)
            _text(buf, s, nbits, armor, chars, 112, 120, text, row, T_NAME, text_len)
            snum[F_SHIPTYPE - N_POS, row] = ship_types[_get(buf, s, nbits, armor, 232, 8)]
            snum[F_BOW - N_POS, row] = _get(buf, s, nbits, armor, 240, 9)
            snum[F_STERN - N_POS, row] = _get(buf, s, nbits, armor, 249, 9)
            snum[F_PORT - N_POS, row] = _get(buf, s, nbits, armor, 258, 6)
            snum[F_STARBOARD - N_POS, row] = _get(buf, s, nbits, armor, 264, 6)
            snum[F_MONTH - N_POS, row] = _get(buf, s, nbits, armor, 274, 4)
            snum[F_DAY - N_POS, row] = _get(buf, s, nbits, armor, 278, 5)
            snum[F_HOUR - N_POS, row] = _get(buf, s, nbits, armor, 283, 5)
            snum[F_MINUTE - N_POS, row] = _get(buf, s, nbits, armor, 288, 6)
            snum[F_DRAUGHT - N_POS, row] = _get(buf, s, nbits, armor, 294, 8) / 10.0
            _text(buf, s, nbits, armor, chars, 302, 120, text, row, T_DEST, text_len)
        elif mt == 24:
            if part == 0:
                _text(buf, s, nbits, armor, chars, 40, 120, text, row, T_NAME, text_len)
            elif part == 1:
                mmsi = num[F_MMSI, i]
                aux = 980000000 <= mmsi <= 989999999
                snum[F_SHIPTYPE - N_POS, row] = _get(buf, s, nbits, armor, 40, 8)
                _text(buf, s, nbits, armor, chars, 90, 42, text, row, T_CALLSIGN, text_len)
                if not aux:
                    snum[F_BOW - N_POS, row] = _get(buf, s, nbits, armor, 132, 9)
                    snum[F_STERN - N_POS, row] = _get(buf, s, nbits, armor, 141, 9)
                    snum[F_PORT - N_POS, row] = _get(buf, s, nbits, armor, 150, 6)
                    snum[F_STARBOARD - N_POS, row] = _get(buf, s, nbits, armor, 156, 6)
        status[i] = DECODED


POS_OK, POS_BAD_LAT, POS_BAD_LON = 0, 1, 2


@njit
def position_rows(num, status, at, limits, time, station, line, out_f, out_i, rejected,
                  reject_code):
    """The positions table rules of ``ais.decoding.fields`` applied to decoded messages in one
    pass (message ``i`` is column ``at[i]`` of ``num`` and ``status``; ``time``,
    ``station`` and ``line`` are per message): each DECODED message of a position type
    becomes row ``k`` of ``out_f``
    (time, lat, lon, sog, cog, heading) / ``out_i`` (mmsi, msg_type, station, line),
    or a reject (index into ``rejected``, ``POS_BAD_LAT`` checked first, then
    ``POS_BAD_LON``). ``limits``: lat n/a, lon n/a, sog n/a, sog n/a type 27, cog limit,
    heading limit. Returns (rows, rejects)."""
    nan = np.nan
    k = 0
    r = 0
    for i in range(len(at)):
        a = at[i]
        if status[a] != DECODED:
            continue
        mt = num[F_TYPE, a]
        if not (mt == 1 or mt == 2 or mt == 3 or mt == 18 or mt == 19 or mt == 27):
            continue
        lat = num[F_LAT, a]
        lon = num[F_LON, a]
        lat_na = lat == limits[0]
        lon_na = lon == limits[1]
        if not lat_na and abs(lat) > 90:
            rejected[r] = i
            reject_code[r] = POS_BAD_LAT
            r += 1
            continue
        if not lon_na and abs(lon) > 180:
            rejected[r] = i
            reject_code[r] = POS_BAD_LON
            r += 1
            continue
        sog = num[F_SPEED, a]
        if sog == (limits[3] if mt == 27 else limits[2]):
            sog = nan
        cog = num[F_COURSE, a]
        if cog >= limits[4]:
            cog = nan
        heading = num[F_HEADING, a]
        if mt == 27 or heading >= limits[5]:
            heading = nan
        out_f[0, k] = time[i]
        out_f[1, k] = nan if lat_na else lat
        out_f[2, k] = nan if lon_na else lon
        out_f[3, k] = sog
        out_f[4, k] = cog
        out_f[5, k] = heading
        out_i[0, k] = np.int64(num[F_MMSI, a])
        out_i[1, k] = np.int64(mt)
        out_i[2, k] = station[i]
        out_i[3, k] = line[i]
        k += 1
    return k, r


@njit
def _static_slots(buf, starts, ends, armor, slot):
    """slot[i] = k for the k-th message whose first character says type 5, 19 or 24,
    -1 for the others; returns the number of slots."""
    k = 0
    for i in range(len(starts)):
        slot[i] = -1
        if ends[i] > starts[i]:
            t = armor[buf[starts[i]]]
            if t == 5 or t == 19 or t == 24:
                slot[i] = k
                k += 1
    return k


_ARMOR = armor_table()
_CHARS = sixbit_chars()
_SHIP_TYPES = ship_type_table()
_MIN_BITS = min_bits_table()


def decode_payloads(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                    fill: np.ndarray, full: bool = True,
                    table_text: bool = False) -> dict[str, np.ndarray]:
    """Decode a batch of armoured payloads.

    ``buf`` is ``uint8``; message ``i`` is ``buf[starts[i]:ends[i]]`` with ``fill[i]``
    fill bits. Returns a dict with one float64 array per name in ``NUMERIC_FIELDS``
    (NaN = no value), ``status`` (uint8: DECODED or FALLBACK), and per name in
    ``TEXT_FIELDS`` an object array of ``str`` (``None`` where the type has no such
    field). With ``full=False`` the fields of static messages only (``NUMERIC_FIELDS``
    after ``N_POS``, and the text) hold one value per slot, and ``slot`` gives each
    message's (-1: none): what the fast path uses, as it reads them for static rows only.
    ``table_text``: the text as the tables hold it (``ais.decoding.fields.table_text``), not as
    pyais gives it.
    """
    buf = readonly(np.ascontiguousarray(buf, dtype=np.uint8))    # one specialisation
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    ends = np.ascontiguousarray(ends, dtype=np.int64)
    fill = np.ascontiguousarray(fill, dtype=np.int64)
    n = len(starts)
    num = np.empty((N_POS, n), dtype=np.float64)
    # a slot for each message whose first character says type 5, 19 or 24
    slot = np.empty(n, dtype=np.int64)
    n_slots = _static_slots(buf, starts, ends, _ARMOR, slot)
    snum = np.empty((len(NUMERIC_FIELDS) - N_POS, n_slots), dtype=np.float64)
    text = np.zeros((n_slots, len(TEXT_FIELDS), TEXT_CHARS), dtype=np.uint8)
    text_len = np.full((n_slots, len(TEXT_FIELDS)), -1, dtype=np.int64)
    status = np.empty(n, dtype=np.uint8)
    decode_kernel(buf, starts, ends, fill, _ARMOR, _CHARS, _SHIP_TYPES, _MIN_BITS, num, slot,
                  snum, text, text_len, status)
    out: dict[str, np.ndarray] = {name: num[k] for k, name in enumerate(NUMERIC_FIELDS[:N_POS])}
    out["status"] = status
    out["slot"] = slot
    for k, name in enumerate(NUMERIC_FIELDS[N_POS:]):
        out[name] = snum[k]
    for k, name in enumerate(TEXT_FIELDS):
        out[name] = text_to_objects(text[:, k, :], text_len[:, k], table_text)
    if full:
        return expand_slots(out)
    out["num"] = num
    return out


def expand_slots(out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``decode_payloads(..., full=False)`` -> one value per message for every field
    (NaN / None for messages without a slot)."""
    slot = out["slot"]
    n = len(slot)
    has = slot >= 0
    res = {k: v for k, v in out.items() if k != "slot"}
    for name in NUMERIC_FIELDS[N_POS:]:
        col = np.full(n, np.nan)
        col[has] = out[name][slot[has]]
        res[name] = col
    for name in TEXT_FIELDS:
        col = np.empty(n, dtype=object)
        col[has] = out[name][slot[has]]
        res[name] = col
    return res


def text_to_objects(chars: np.ndarray, lengths: np.ndarray, table_text: bool = False) -> np.ndarray:
    """(n, w) uint8 NUL-padded rows -> object array of ``str`` (``None`` where length < 0).

    Names, call signs and destinations repeat (every vessel sends them again and again):
    equal rows are found by hash (``ais.tables.spans.span_codes``, exact) and each distinct
    text is made into a ``str`` once; equal rows share it. ``table_text``: as the tables
    hold it (``ais.decoding.fields.table_text``), worked out once per distinct text too.
    """
    from ais.tables.spans import span_codes
    out = np.empty(len(lengths), dtype=object)
    idx = np.flatnonzero(lengths >= 0)
    if len(idx):
        w = chars.shape[1]
        flat = np.ascontiguousarray(chars).reshape(-1)
        starts = idx.astype(np.int64) * w
        ends = starts + lengths[idx]
        codes, rep = span_codes(flat, starts, ends)
        uniq = np.empty(len(rep), dtype=object)
        uniq[:] = [flat[starts[r]:ends[r]].tobytes().decode("ascii") for r in rep]
        if table_text:
            uniq[:] = [fields.table_text(u) for u in uniq]
        out[idx] = uniq[codes]
    return out
