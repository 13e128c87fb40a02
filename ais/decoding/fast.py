"""The fast decoder: assembled messages -> positions/statics frames with numba.

Plugged in by ``ais.decoding.decoders`` (``decoder="fast"``): it exposes ``FAST_TYPES`` and
``decode_messages(MessageTable) -> DecodedParts``, the same contract as
``ais.decoding.reference.decode_messages``. The payloads are decoded in bulk by
``ais.decoding.payloads`` (values bit-identical to pyais 3.3.1); the table rules here are
those of ``ais.decoding.fields`` and ``ais.decoding.reference``, applied to whole columns:

- "not available" -> NaN: lat 91, lon 181, sog 102.3 (type 27: 63), cog >= 360,
  heading >= 360 (type 27 has no heading);
- any other |lat| > 90 is a reject ``lat_out_of_range`` (checked first), |lon| > 180
  ``lon_out_of_range``; a rejected type 19 gives no statics row either;
- statics: text cut at the first ``@`` and stripped (None when empty); IMO, ship type
  and draught 0 -> NaN; length/beam = sum of the two parts, NaN when both are 0; eta
  ``"MM-DD HH:MM"``, None when month or day is 0; type 24 part A gives the name, part B
  call sign, ship type and (except auxiliary craft, MMSI 98xxxxxxx) dimensions.

Messages the kernel leaves to the reference (short payloads, type 24 part 2/3, ...)
are decoded by ``ais.decoding.reference`` in the same call, so rejects carry its reasons.
Type 4 (base station reports) gives no table rows, only a count: ``count_only`` picks
the type 4 messages whose pyais decoding cannot fail (every character valid armour,
fill 0..5, at least the 168 bits of the message) so they are counted without pyais.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ais import reasons
from ais.decoding import fields, reference
from ais.decoding import payloads as fd
from ais.tables.columns import MessageTable, RejectTable, pack_payloads
from ais.tables.frames import DecodedParts, PositionBatch, StaticBatch, epoch_ns, object_array, utc_index
from ais.schema import STATIC_COLUMNS, STATIC_DTYPES, empty_frame

__all__ = ["FAST_TYPES", "COUNT_ONLY_TYPE", "count_only", "decode_messages", "decode_arrays"]

FAST_TYPES = frozenset(fields.POSITION_TYPES | fields.STATIC_TYPES)

# type 4 (base station report): counted only; 168 bits is its full length
COUNT_ONLY_TYPE = 4
COUNT_ONLY_MIN_BITS = 168
_VALID_ARMOUR = np.zeros(256, dtype=bool)
_VALID_ARMOUR[list(fields.ARMOUR)] = True


def count_only(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray,
               fill: np.ndarray) -> np.ndarray:
    """Mask of the messages (payload spans of ``buf``) that are type 4 and that pyais
    always decodes: the reference path counts them and makes no row or reject."""
    starts = np.asarray(starts, dtype=np.int64)
    ends = np.asarray(ends, dtype=np.int64)
    fill = np.asarray(fill, dtype=np.int64)
    n_chars = ends - starts
    out = (n_chars > 0) & (fill >= 0) & (fill <= 5)
    out &= 6 * n_chars - fill >= COUNT_ONLY_MIN_BITS
    idx = np.flatnonzero(out)
    out[idx] = buf[starts[idx]] == ord("4")
    idx = np.flatnonzero(out)
    if len(idx):
        lens = n_chars[idx]
        # every character of those payloads: one flat index array
        pos = np.repeat(starts[idx] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        bad = ~_VALID_ARMOUR[buf[pos]]
        owner = np.repeat(np.arange(len(idx)), lens)
        out[idx[np.unique(owner[bad])]] = False
    return out


def timestamps(t: np.ndarray) -> pd.DatetimeIndex:
    """Epoch seconds -> ``datetime64[ns, UTC]`` rounded to the microsecond, NaN -> NaT
    (``ais.tables.frames.to_timestamps`` without the trip through Python objects)."""
    return utc_index(epoch_ns(t)[0])


def _objects(values) -> pd.Series:
    a = np.empty(len(values), dtype=object)
    a[:] = values
    return pd.Series(a, dtype=object)


def build_frame(columns: tuple[str, ...], dtypes: dict[str, str], data: dict) -> pd.DataFrame:
    """A contract frame straight from arrays (same dtypes as ``ais.tables.frames``'s builders)."""
    n = len(data["mmsi"])
    if n == 0:
        return empty_frame(columns, dtypes)
    out = {}
    for c in columns:
        dt = dtypes[c]
        if c == "timestamp":
            out[c] = pd.Series(timestamps(data["time"]))     # ns, even when all NaT
        elif dt == "object":
            out[c] = _objects(data[c])
        else:
            out[c] = np.asarray(data[c], dtype=dt)
    return pd.DataFrame(out, copy=False)


def _zero_nan(v: np.ndarray) -> np.ndarray:
    return np.where(v == 0, np.nan, v)


def _sum_dims(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.where((a == 0) & (b == 0), np.nan, a + b)


def _eta(month, day, hour, minute) -> np.ndarray:
    out = np.empty(len(month), dtype=object)
    ok = (month > 0) & (day > 0) & ~np.isnan(month) & ~np.isnan(day)
    idx = np.flatnonzero(ok)
    if len(idx):
        # few distinct values: format each once
        code = ((month[idx] * 100 + day[idx]) * 100 + hour[idx]) * 100 + minute[idx]
        uniq, inv = np.unique(code.astype(np.int64), return_inverse=True)
        text = np.array([f"{u // 1000000:02d}-{u // 10000 % 100:02d} {u // 100 % 100:02d}:{u % 100:02d}"
                         for u in uniq.tolist()], dtype=object)
        out[idx] = text[inv]
    return out


_LIMITS = np.array([fields.LAT_NOT_AVAILABLE, fields.LON_NOT_AVAILABLE, fields.SOG_NOT_AVAILABLE,
                    fields.SOG_NOT_AVAILABLE_27, fields.COG_LIMIT, fields.HEADING_LIMIT])
_POS_REASONS = np.empty(3, dtype=object)
_POS_REASONS[[fd.POS_BAD_LAT, fd.POS_BAD_LON]] = [reasons.LAT_OUT_OF_RANGE, reasons.LON_OUT_OF_RANGE]


def static_columns(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Kernel fields of static messages (types 5, 19, 24; text decoded with
    ``table_text=True``) -> statics columns."""
    t = raw["msg_type"]
    n = len(t)
    is5, is19, is24 = t == 5, t == 19, t == 24
    part_b = is24 & (raw["partno"] == 1)
    aux = part_b & (raw["mmsi"] >= 980000000) & (raw["mmsi"] <= 989999999)
    has_dims = is5 | is19 | (part_b & ~aux)
    nan = np.full(n, np.nan)
    out = {
        "imo": np.where(is5, _zero_nan(raw["imo"]), nan),
        "name": raw["shipname"],
        "callsign": raw["callsign"],
        "ship_type": np.where(is5 | is19 | part_b, _zero_nan(raw["ship_type"]), nan),
        "length": np.where(has_dims, _sum_dims(raw["to_bow"], raw["to_stern"]), nan),
        "beam": np.where(has_dims, _sum_dims(raw["to_port"], raw["to_starboard"]), nan),
        "draught": np.where(is5, _zero_nan(raw["draught"]), nan),
        "destination": raw["destination"],
        "eta": np.where(is5, _eta(raw["month"], raw["day"], raw["hour"], raw["minute"]), None),
    }
    return out


def statics_from_raw(raw: dict[str, np.ndarray], names) -> pd.DataFrame:
    """A ``StaticBatch``'s columns -> the statics frame, in row order."""
    return build_frame(STATIC_COLUMNS, STATIC_DTYPES, dict(
        mmsi=raw["mmsi"], time=raw["time"], msg_type=raw["msg_type"],
        source=object_array(names)[raw["station"]], line=raw["line"], **static_columns(raw)))


def decode_arrays(buf: np.ndarray, starts: np.ndarray | None, ends: np.ndarray | None,
                  fill: np.ndarray | None, *,
                  time: np.ndarray, station: np.ndarray, names, line: np.ndarray,
                  source: np.ndarray, text_of, decoded=None,
                  at: np.ndarray | None = None) -> tuple[DecodedParts, np.ndarray]:
    """Decode messages given as payload offsets into one buffer.

    ``station``: int codes into ``names``. ``text_of(index_array) -> object array`` gives
    the raw text of those messages (only called for rejects). Returns the decoded parts
    of every message the kernel covers (positions as a ``PositionBatch`` and statics as
    a ``StaticBatch``, in message order) and the indices of the others (FALLBACK: for
    the pyais path).

    ``decoded``, ``at``: the payloads already decoded (``decode_payloads(...,
    full=False, table_text=True)`` of a larger batch, e.g. in a read-ahead thread),
    message ``i`` being its entry ``at[i]``; ``starts``, ``ends`` and ``fill`` are then
    not needed (None).
    """
    raw = decoded
    if raw is None:
        raw = fd.decode_payloads(buf, starts, ends, fill, full=False, table_text=True)
        at = None

    def per_message(values):
        return values if at is None else values[at]

    status = per_message(raw["status"])
    ok = status == fd.DECODED
    t = per_message(raw["msg_type"])
    n = len(t)
    out_f = np.empty((6, n), dtype=np.float64)
    out_i = np.empty((4, n), dtype=np.int64)
    rejected = np.empty(n, dtype=np.int64)
    code = np.empty(n, dtype=np.int64)
    n_rows, n_rej = fd.position_rows(
        raw["num"], raw["status"], np.arange(n) if at is None else at, _LIMITS,
        np.ascontiguousarray(time, dtype=np.float64), np.ascontiguousarray(station, dtype=np.int64),
        np.ascontiguousarray(line, dtype=np.int64), out_f, out_i, rejected, code)
    rejected = rejected[:n_rej]
    reason = _POS_REASONS[code[:n_rej]]
    is_sta = ok & np.isin(t, tuple(fields.STATIC_TYPES))
    is_sta[rejected] = False
    si = np.flatnonzero(is_sta)
    msg_of = si if at is None else at[si]       # the static messages' entries in ``raw``
    slots = raw["slot"][msg_of]
    sraw = {k: raw[k][msg_of] if k in ("msg_type", "mmsi") else raw[k][slots]
            for k in ("msg_type", "mmsi") + fd.NUMERIC_FIELDS[fd.N_POS:] + fd.TEXT_FIELDS}
    sraw.update(time=np.asarray(time, dtype=np.float64)[si],
                station=np.asarray(station, dtype=np.int64)[si],
                line=np.asarray(line, dtype=np.int64)[si])
    f, i = out_f[:, :n_rows], out_i[:, :n_rows]
    positions = PositionBatch(names, mmsi=i[0], time=f[0], lat=f[1], lon=f[2], sog=f[3],
                              cog=f[4], heading=f[5], msg_type=i[1], station=i[2], line=i[3])
    statics = StaticBatch(names, sraw)
    rej_text = text_of(rejected) if len(rejected) else np.empty(0, dtype=object)
    rejects = RejectTable(source=source[rejected], line=line[rejected], reason=reason,
                          text=np.array([reasons.reject_text(x) for x in rej_text],
                                        dtype=object))
    done = ok.copy()
    done[rejected] = False
    counts = np.bincount(t[done].astype(np.int64), minlength=64)
    types = {int(v): int(counts[v]) for v in np.flatnonzero(counts)}
    return DecodedParts(positions, statics, rejects, types), np.flatnonzero(~ok)


def decode_messages(m: MessageTable) -> DecodedParts:
    """Decode ``m`` (same contract as ``ais.decoding.reference.decode_messages``)."""
    buf, offsets = pack_payloads(m.payload)
    codes, names = pd.factorize(np.asarray(m.station, dtype=object))
    parts, rest = decode_arrays(
        buf, offsets[:-1], offsets[1:], m.fill.astype(np.int64), time=m.time,
        station=codes.astype(np.int64), names=list(names), line=m.line, source=m.source,
        text_of=lambda idx: m.text[idx])
    parts = DecodedParts(parts.positions.frame(sort=False), parts.statics.frame(sort=False),
                         parts.rejects, parts.types)
    if len(rest):
        parts = DecodedParts.concat([parts, reference.decode_messages(m.take(rest))])
    return parts
