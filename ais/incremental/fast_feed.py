"""The fast path of ``IncrementalDecoder.feed``: bytes -> ``Decoded`` with numba.

Same stages and state as the reference path (``ais.incremental.decoder``): framing
(``ais.framing.nmea.Framer`` state per input: partial line, line counter, pending ``$PGHP`` time
and tag block, open ``g:`` groups), assembly (``ais.assembly.fragments.Assembler``), dedup
(``ais.assembly.dedup.Deduplicator``) and decoding; the same ``Decoded`` comes out, and the
state left behind is the reference's, so a decoder (or its carried ``state()``) can
switch paths.

How the work is split, one chunk of whole lines at a time:

1. ``ais.framing.fast_lines`` frames every line in numba (``ais.reading`` has it done for the
   next chunk in its read-ahead thread: ``frame_ahead``, which also hashes the payloads
   for dedup and decodes the single-sentence lines). Lines of the common styles become
   array rows, as do the lines it rejects itself (no ``*hh``, wrong checksum: the
   reference's reasons; such a line ends a pending ``$PGHP`` time or tag block, as
   there); every other line (other faults, groups, ISO times, ...) is handed to the
   reference framer with the ``$PGHP``/tag state it would have had: all of them in one
   call when no such state is pending, else one by one in line order. A sentence (or
   rejected line) after a lone tag block line is handed over too (the reference merges
   them).
2. Single-sentence messages go straight on as offsets into the chunk; handed-over
   lines' sentences are packed into the same buffer. Fragments go through
   ``ais.assembly.fast_fragments`` (numba, the ``Assembler``'s rules, starting from and leaving
   its open messages).
3. ``ais.assembly.fast_dedup`` drops multi-receiver copies over all messages in the reference's
   message order, on the ``Deduplicator``'s packed window.
4. ``ais.decoding.fast.decode_arrays`` decodes the kept messages in bulk (or takes what
   ``frame_ahead`` decoded); types it does not cover go to pyais. Positions leave as a
   ``PositionBatch`` (columns), made into the sorted frame once, when the caller asks
   for it.

Python objects are made only for handed-over lines, fragments, rejects, statics, the
pyais fallback and the strings that differ (stations, channels).
"""

from __future__ import annotations

import collections

import numpy as np
import pandas as pd

from ais import reasons
from ais.assembly import fast_dedup as fdd, fast_fragments as fa
from ais.assembly.fragments import _Open
from ais.decoding import fast as _fast
from ais.decoding.fields import message_type
from ais.decoding.reference import decode_messages as decode_pyais
from ais.framing import fast_lines, line_kernel as ff
from ais.incremental.fast_framing import _col, _frame, _span_names, _time_of
from ais.tables.columns import MessageTable, RejectTable
from ais.tables.decoded import Decoded
from ais.tables.frames import DecodedParts, name_ranks, object_array, rejects_frame
from ais.tables.spans import pack, span_bytes, span_strings

__all__ = ["feed"]


def _stations(dec) -> dict[str, int]:
    """Station name -> code, kept on the decoder (codes never change once given)."""
    reg = dec.__dict__.get("_station_codes")
    if reg is None:
        reg = dec._station_codes = {}
    return reg


def _station_names(dec) -> np.ndarray:
    return object_array(list(_stations(dec)))


def _code_strings(dec, values) -> np.ndarray:
    """Station strings -> codes (a loop in Python: handed-over lines and open fragments only)."""
    reg = _stations(dec)
    return np.array([reg.setdefault(v, len(reg)) for v in values], dtype=np.int64)


def _code_spans(dec, local, names, default: str) -> np.ndarray:
    """Station codes of the decoder from ``_span_names``'s (``default`` where -1)."""
    reg = _stations(dec)
    table = np.r_[_code_strings(dec, names), reg.setdefault(default, len(reg))]
    return table[local]         # -1: the last entry, the default


def _store(buf: np.ndarray, spare) -> np.ndarray | None:
    """``spare`` when the chunk ``buf`` is its start (``feed``'s ``spare``), else None."""
    if (isinstance(spare, np.ndarray) and spare.dtype == np.uint8 and spare.ndim == 1
            and spare.flags.writeable and spare.flags.c_contiguous and len(buf) <= len(spare)
            and (len(buf) == 0 or buf.ctypes.data == spare.ctypes.data)):
        return spare
    return None


def _append(big: np.ndarray, store, *parts) -> np.ndarray:
    """``big`` followed by ``parts``: written after it in ``store`` when ``big`` is the
    start of ``store`` and they fit (no copy of ``big``), else a new array."""
    n = len(big) + sum(len(p) for p in parts)
    if store is None or n > len(store) or (len(big) and big.ctypes.data != store.ctypes.data):
        return np.concatenate([big, *parts])
    at = len(big)
    for p in parts:
        store[at:at + len(p)] = p
        at += len(p)
    return store[:n]


class _Sentences:
    """Sentence columns in sentence order; payload and text are spans into one buffer."""

    def __init__(self, **cols):
        self.__dict__.update(cols)


MESSAGE_COLUMNS = ("source", "line", "time", "station", "ps", "pe", "fill", "ts", "te", "key")
SENTENCE_COLUMNS = ("source", "line", "time", "station", "count", "number", "seq", "fill", "ps",
                    "pe", "ts", "te", "channel", "index")
# the framed row column of each of those that is read straight from the rows
_ROW_COLUMN = {"count": ff.C_COUNT, "number": ff.C_NUMBER, "seq": ff.C_SEQ, "fill": ff.C_FILL,
               "ps": ff.C_PS, "pe": ff.C_PE, "ts": ff.C_LSTART, "te": ff.C_LEND}


def _sentences(dec, i, st, buf, rows, kind, pending, tables, framed, line0, first_index,
               store=None):
    """The chunk's sentences, fast lines and handed-over lines: single-sentence messages
    as message columns (``MESSAGE_COLUMNS``, ``key`` = sentence index) and fragments as
    sentence columns in sentence order (for assembly). Returns (buffer, singles, fragments,
    rows of the first singles (the fast lines'), in that order)."""
    fidx = np.flatnonzero(kind == ff.K_AIS)
    time = _time_of(rows, fidx, pending[fidx])
    if framed is None:        # not done ahead
        stations = _span_names(buf, _col(rows, ff.C_STS, fidx), _col(rows, ff.C_STE, fidx))
    else:
        stations = (framed.stations[0][fidx], framed.stations[1])
    station = _code_spans(dec, *stations, st.name)

    def fast_columns(sel, names):
        """Columns ``names`` of the fast lines ``fidx[sel]`` (all: None), each gathered
        from the framed rows once."""
        idx = fidx if sel is None else fidx[sel]
        cols = {}
        for c in names:
            if c == "source":
                cols[c] = np.full(len(idx), i, dtype=np.int32)
            elif c == "line":
                cols[c] = line0 + 1 + idx
            elif c in ("time", "station"):
                v = time if c == "time" else station
                cols[c] = v if sel is None else v[sel]
            elif c in ("key", "index"):
                cols[c] = first_index[idx]
            elif c == "channel":        # only fragments need them (assembly key)
                cols[c] = span_strings(buf, _col(rows, ff.C_CHS, idx), _col(rows, ff.C_CHE, idx),
                                       np.ones(len(idx), bool), "")
            else:
                cols[c] = _col(rows, _ROW_COLUMN[c], idx)
        return cols

    one = _col(rows, ff.C_COUNT, fidx) == 1
    singles, frags = [], []
    one_idx = None if one.all() else np.flatnonzero(one)
    singles.append(fast_columns(one_idx, MESSAGE_COLUMNS))
    if one_idx is not None:
        frags.append(fast_columns(np.flatnonzero(~one), SENTENCE_COLUMNS))
    fast_rows = fidx if one_idx is None else fidx[one_idx]
    s_obj = tables[0]
    big = buf
    if len(s_obj):
        h = s_obj.line - line0 - 1        # the line each sentence came from
        o_index = first_index[h] + np.arange(len(h)) - np.searchsorted(h, h, side="left")
        pay_buf, pay_off = pack(s_obj.payload)
        txt_buf, txt_off = pack(s_obj.text)
        base = len(buf)
        big = _append(buf, store, pay_buf, txt_buf)
        p = dict(source=s_obj.source.astype(np.int32), line=s_obj.line, time=s_obj.time,
                 station=_code_strings(dec, s_obj.station), count=s_obj.count.astype(np.int64),
                 number=s_obj.number.astype(np.int64), seq=s_obj.seq.astype(np.int64),
                 fill=s_obj.fill.astype(np.int64), ps=base + pay_off[:-1], pe=base + pay_off[1:],
                 ts=base + len(pay_buf) + txt_off[:-1], te=base + len(pay_buf) + txt_off[1:],
                 channel=s_obj.channel, index=o_index)
        o_one = p["count"] == 1
        sel = np.flatnonzero(o_one)
        singles.append({c: p["index" if c == "key" else c][sel] for c in MESSAGE_COLUMNS})
        sel = np.flatnonzero(~o_one)
        if len(sel):
            frags.append({c: p[c][sel] for c in SENTENCE_COLUMNS})
    single = singles[0] if len(singles) == 1 else \
        {c: np.concatenate([p[c] for p in singles]) for c in MESSAGE_COLUMNS}
    if not frags:
        frag = None
    else:
        cols = {c: np.concatenate([p[c] for p in frags]) for c in SENTENCE_COLUMNS}
        order = np.argsort(cols["index"], kind="stable")
        frag = _Sentences(**{c: v[order] for c, v in cols.items()})
    return big, single, frag, fast_rows


def _assemble(dec, big, s: _Sentences, store=None):
    """Fragments -> completed messages (spans into a new buffer) with the index that
    completed each, orphan rejects; updates ``dec.assembler.open``."""
    asm = dec.assembler
    if s is None:       # no fragment in this chunk
        if not asm.open:
            return big, None, RejectTable.empty()
        s = _Sentences(**{c: np.zeros(0, dtype=np.float64 if c == "time" else
                                      object if c == "channel" else np.int64)
                          for c in SENTENCE_COLUMNS})
    fr = np.flatnonzero(s.count > 1)
    pre = list(asm.open.items())
    if len(fr) == 0 and not pre:
        return big, None, RejectTable.empty()
    pre_rows = [(slot, row) for slot, (_, o) in enumerate(pre) for row in o.rows]
    n_pre = len(pre_rows)
    # pre rows: (source, line, time, station, payload, fill, text, count)
    p_pay, p_pay_off = pack([row[4] for _, row in pre_rows])
    p_txt, p_txt_off = pack([row[6] for _, row in pre_rows])
    base = len(big)
    big = _append(big, store, p_pay, p_txt) if n_pre else big
    station = np.r_[_code_strings(dec, [k[0] for k, _ in pre]), s.station[fr]].astype(np.int64)
    channel = np.concatenate([np.array([k[1] for k, _ in pre], dtype=object), s.channel[fr]])
    seq = np.r_[np.array([k[2] for k, _ in pre], dtype=np.int64), s.seq[fr]]
    count = np.r_[np.array([k[3] for k, _ in pre], dtype=np.int64), s.count[fr]]
    cc = pd.factorize(channel)[0].astype(np.int64)
    keys = ((station * (cc.max(initial=0) + 1) + cc) * 102 + (seq + 1)) * 10 + count
    pre_key, row_key = keys[:len(pre)], keys[len(pre):]
    pre_slot = np.array([slot for slot, _ in pre_rows], dtype=np.int64)
    n = n_pre + len(fr)
    key = np.r_[pre_key[pre_slot], row_key] if n_pre else row_key.copy()
    number = np.r_[np.zeros(n_pre, np.int64), s.number[fr]]
    cnt = np.r_[np.array([row[7] for _, row in pre_rows], dtype=np.int64), s.count[fr]]
    time = np.r_[np.array([row[2] for _, row in pre_rows], dtype=np.float64), s.time[fr]]
    index = np.r_[np.zeros(n_pre, np.int64), s.index[fr]]
    state = np.empty(n, dtype=np.int64)
    orank = np.empty(n, dtype=np.int64)
    done = np.empty(n, dtype=np.int64)
    slot_of_row = np.full(n, -1, dtype=np.int64)
    p = asm.params
    n_msg, still, s_ft, s_fi, s_next = fa.assemble_kernel(
        key, number, cnt, time, index, n_pre, pre_slot, pre_key,
        np.array([o.first_time for _, o in pre], dtype=np.float64),
        np.array([o.first_index for _, o in pre], dtype=np.int64),
        np.array([o.next for _, o in pre], dtype=np.int64),
        float(p.timeout_s), int(p.max_gap_sentences), int(p.max_pending),
        state, orank, done, slot_of_row)
    # row columns over pre rows + chunk fragments
    src = np.r_[np.array([row[0] for _, row in pre_rows], dtype=np.int32), s.source[fr]]
    line = np.r_[np.array([row[1] for _, row in pre_rows], dtype=np.int64), s.line[fr]]
    fill = np.r_[np.array([row[5] for _, row in pre_rows], dtype=np.int64), s.fill[fr]]
    ps = np.r_[base + p_pay_off[:-1], s.ps[fr]]
    pe = np.r_[base + p_pay_off[1:], s.pe[fr]]
    ts = np.r_[base + len(p_pay) + p_txt_off[:-1], s.ts[fr]]
    te = np.r_[base + len(p_pay) + p_txt_off[1:], s.te[fr]]
    sta = np.r_[_code_strings(dec, [row[3] for _, row in pre_rows]), s.station[fr]].astype(np.int64)
    names = _station_names(dec)
    # orphans, in the reference's order: sorted by (source, line), stable in orphan order
    orp = np.flatnonzero(state == fa.ORPHAN)
    orp = orp[np.argsort(orank[orp], kind="stable")]
    orp = orp[np.lexsort((line[orp], src[orp]))]
    txt = span_bytes(big, ts[orp], te[orp])
    orphans = RejectTable(source=src[orp], line=line[orp],
                          reason=np.full(len(orp), reasons.ORPHAN_FRAGMENT, dtype=object),
                          text=np.array([reasons.reject_text(x) for x in txt],
                                        dtype=object))
    # the messages still open go back to the Assembler, as it keeps them
    asm.open.clear()
    if len(still):
        open_rows = np.flatnonzero(state == fa.OPEN_AT_END)
        pay = span_bytes(big, ps[open_rows], pe[open_rows])
        tx = span_bytes(big, ts[open_rows], te[open_rows])
        by_slot: dict[int, list] = {}
        for j, rr in enumerate(open_rows):
            by_slot.setdefault(int(slot_of_row[rr]), []).append(
                (int(src[rr]), int(line[rr]), float(time[rr]), names[sta[rr]], pay[j], int(fill[rr]),
                 tx[j], int(cnt[rr])))
        key_of = {}
        for slot in still:
            rows_ = by_slot[int(slot)]
            if slot < len(pre):
                k = pre[slot][0]
            else:
                r0 = int(np.flatnonzero(slot_of_row == slot)[0])
                f = r0 - n_pre
                k = (names[s.station[fr[f]]], s.channel[fr[f]], int(s.seq[fr[f]]),
                     int(s.count[fr[f]]))
            key_of[int(slot)] = k
            o = _Open(rows_[0], float(s_ft[slot]), int(s_fi[slot]))
            o.rows = rows_
            o.next = int(s_next[slot])
            asm.open[k] = o
    if n_msg == 0:
        return big, None, orphans
    # completed messages: payloads joined, fill of the last, line/station/text of the first,
    # time the first known among the fragments
    total = int((pe - ps)[state >= 0].sum())
    mbuf = np.empty(total, dtype=np.uint8)
    m_s = np.empty(n_msg, dtype=np.int64)
    m_e = np.empty(n_msg, dtype=np.int64)
    first = np.full(n_msg, -1, dtype=np.int64)
    last = np.full(n_msg, -1, dtype=np.int64)
    fa.gather_messages(big, ps, pe, state, n_msg, mbuf, m_s, m_e, first, last)
    rows_t = np.flatnonzero((state >= 0) & ~np.isnan(time))
    mtime = np.full(n_msg, np.nan)
    if len(rows_t):
        ms, firsts = np.unique(state[rows_t], return_index=True)
        mtime[ms] = time[rows_t[firsts]]
    base2 = len(big)
    big = _append(big, store, mbuf)
    msgs = dict(source=src[first], line=line[first], time=mtime, station=sta[first],
                ps=base2 + m_s, pe=base2 + m_e, fill=fill[last], ts=ts[first], te=te[first],
                key=done[:n_msg].copy())
    return big, msgs, orphans


def feed(dec, source: str, data, *, final: bool = False, framed=None, spare=None) -> Decoded:
    """``IncrementalDecoder.feed`` on the fast path (see module docstring)."""
    from ais.incremental.decoder import station_name
    from ais.framing.nmea import _SourceState

    i = dec._source(source)
    framer = dec.framer
    st = framer.states.get(i)
    if st is None:
        st = framer.states[i] = _SourceState(station_name(source))
    before = dict(framer.counts)
    dd = dec.deduper
    dups_before = dd.duplicates
    if st.partial:
        framed = None           # framed ahead without the text pending before it
        data = st.partial + data
    if final:
        body, st.partial = data, b""
    else:
        # ``data`` may be any bytes-like object (the reader's pieces are views of its
        # kept buffers): what is left after the last line end is copied out
        cut = fast_lines.last_newline(np.frombuffer(data, dtype=np.uint8)) + 1
        body, st.partial = memoryview(data)[:cut], bytes(memoryview(data)[cut:])
    line0 = st.line_no
    buf, rows, kind, pending, tables, framed = _frame(dec, i, st, body, framed)
    store = _store(buf, spare)

    # global sentence index: each fast AIS line one sentence, each handed-over line its own
    per_line = (kind == ff.K_AIS).astype(np.int64)
    s_lines = tables[0].line - line0 - 1
    np.add.at(per_line, s_lines, 1)
    first_index = np.cumsum(per_line) - per_line + dec.assembler.seen
    dec.assembler.seen += int(per_line.sum())
    frame_rejects = tables[1]

    big, single, frag, fast_rows = _sentences(dec, i, st, buf, rows, kind, pending, tables,
                                              framed, line0, first_index, store)
    del rows, kind, pending, tables, body, data     # the framed chunk is no longer needed
    if framed is not None:
        framed.release()
    big, multi, orphans = _assemble(dec, big, frag, store)
    m = single
    if multi is not None:
        m = {c: np.concatenate([m[c], multi[c]]) for c in MESSAGE_COLUMNS}
    key = m["key"]
    n_msg = len(key)
    ordered = n_msg < 2 or bool((key[1:] > key[:-1]).all())
    order = None if ordered else np.argsort(key, kind="stable")   # the reference's order

    def in_order(c):
        return m[c] if order is None else m[c][order]

    # dedup over the messages in order, against the kept copies of earlier calls
    times = np.ascontiguousarray(in_order("time"), dtype=np.float64)
    m_hashes = None
    nf = len(fast_rows)         # the fast lines' singles come first in ``m``
    if framed is not None:      # hashed ahead
        m_hashes = np.concatenate([framed.hashes[fast_rows],
                                   fdd.hash_spans(big, m["ps"][nf:], m["pe"][nf:])])
        m_hashes = m_hashes if order is None else m_hashes[order]
    dup = fdd.dedup(dd, big, in_order("ps"), in_order("pe"), times, hashes=m_hashes)

    # decode the kept messages in bulk (the fast lines' singles were decoded ahead when
    # ``framed`` applies); pyais for what the kernel leaves
    keep = np.flatnonzero(~dup)
    sel = keep if order is None else order[keep]
    if framed is None:
        parts = _decode(dec, big, m, sel)
    else:
        ahead = sel < nf
        parts = DecodedParts.concat([_decode(dec, big, m, sel[ahead], framed.decoded,
                                             framed.entry[fast_rows[sel[ahead]]]),
                                     _decode(dec, big, m, sel[~ahead])])
    rejects = RejectTable.concat([frame_rejects, orphans, parts.rejects])
    counts = {key: framer.counts[key] - before[key] for key in before}
    counts.update(messages=n_msg, duplicates=dd.duplicates - dups_before,
                  no_receive_time=int(np.isnan(times[keep]).sum()))
    if len(rejects) > 1:            # the frame's order: (source, line), stable
        rejects = rejects.take(np.lexsort((rejects.line, name_ranks(dec.names)[rejects.source])))
    by_reason = collections.Counter(rejects.reason.tolist())
    return Decoded(parts.positions, parts.statics, rejects_frame(rejects, dec.names), counts,
                   parts.types, by_reason, sort=False)


def _decode(dec, big, m, sel, decoded=None, at=None) -> DecodedParts:
    """Decode messages ``sel`` of the message columns ``m`` (spans into ``big``): the
    kernel (or its results ``decoded``, message ``j`` being entry ``at[j]``), type 4
    counted, pyais for the rest. Positions come as a ``PositionBatch``. A column is
    gathered for all of ``sel`` only when every message needs it (the spans of messages
    decoded ahead are read only for the few that are rejected or left to pyais)."""

    def col(c, ix=None):
        return m[c][sel] if ix is None else m[c][sel[ix]]

    def text_of(ix):
        return np.array(span_bytes(big, col("ts", ix), col("te", ix)), dtype=object)

    names = _station_names(dec)
    spans = (None, None, None) if decoded is not None else (col("ps"), col("pe"), col("fill"))
    parts, rest = _fast.decode_arrays(big, *spans, time=col("time"), station=col("station"),
                                      names=names, line=col("line"), source=col("source"),
                                      text_of=text_of, decoded=decoded, at=at)
    ps, pe, fill = col("ps", rest), col("pe", rest), col("fill", rest)
    counted = _fast.count_only(big, ps, pe, fill)
    if counted.any():
        types = dict(parts.types)
        types[_fast.COUNT_ONLY_TYPE] = types.get(_fast.COUNT_ONLY_TYPE, 0) + int(counted.sum())
        parts = DecodedParts(parts.positions, parts.statics, parts.rejects, types)
        rest, ps, pe, fill = rest[~counted], ps[~counted], pe[~counted], fill[~counted]
    if len(rest):
        payload = np.array(span_bytes(big, ps, pe), dtype=object)
        rest_msgs = MessageTable(
            source=col("source", rest), line=col("line", rest), time=col("time", rest),
            station=names[col("station", rest)], payload=payload, fill=fill,
            msg_type=np.fromiter((message_type(p) for p in payload), dtype=np.int16,
                                 count=len(rest)),
            text=text_of(rest))
        parts = DecodedParts.concat([parts, decode_pyais(rest_msgs)])
    return parts
