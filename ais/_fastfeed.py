"""The fast path of ``IncrementalDecoder.feed``: bytes -> ``Decoded`` with numba.

Same stages and state as the reference path (``ais.incremental``): framing
(``ais.nmea.Framer`` state per input: partial line, line counter, pending ``$PGHP`` time
and tag block, open ``g:`` groups), assembly (``ais.assemble.Assembler``), dedup
(``ais.assemble.Deduplicator``) and decoding; the same ``Decoded`` comes out, and the
state left behind is the reference's, so a pickled decoder can switch paths.

How the work is split, one chunk of whole lines at a time:

1. ``ais._fastframe`` frames every line in numba. Lines of the common styles become
   array rows; every other line (faults, groups, ISO times, ...) is handed to the
   reference framer, in line order, with the ``$PGHP``/tag state it would have had.
   A sentence after a lone tag block line is handed over too (the reference merges them).
2. Single-fragment sentences of fast lines stay as offsets into the chunk; everything
   else (fragments, handed-over lines) becomes a ``SentenceTable`` and goes through
   ``Assembler.assemble_fragments`` with its global sentence index.
3. Dedup runs ``ais.assemble.dedup_kernel`` on payload ids computed in numba (64-bit
   hash, every collision checked byte for byte) over all messages in the reference's
   message order; the dedup window keeps the reference's ``bytes`` keys.
4. ``ais._fast.decode_arrays`` decodes the kept messages in bulk; types it does not
   cover go to pyais.

Python objects are made only for handed-over lines, fragments, rejects, the pyais
fallback and the strings that differ (stations, channels).
"""

from __future__ import annotations

import heapq

import numpy as np
import pandas as pd

from ais import _fast
from ais import _fastframe as ff
from ais.assemble import dedup_kernel
from ais.columns import MessageTable, RejectTable, SentenceTable
from ais.decoded import Decoded
from ais.decode_pyais import decode_messages as decode_pyais
from ais.fields import message_type
from ais.frames import DecodedParts, rejects_frame
from detectors._numba import njit

__all__ = ["feed"]


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
    first = np.unique(codes, return_index=True)[1]
    rep[codes[first]] = first
    if not _spans_match(buf, starts, ends, codes, rep):   # a hash collision: exact, slowly
        keys = [buf[a:b].tobytes() for a, b in zip(starts, ends)]
        codes, _ = pd.factorize(np.array(keys, dtype=object))
        codes = codes.astype(np.int64)
        first = np.unique(codes, return_index=True)[1]
        rep = np.empty(len(first), dtype=np.int64)
        rep[codes[first]] = first
    return codes, rep


def _span_strings(buf, starts, ends, present, default):
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


def _time_of(rows, pghp_before):
    """Receive time by the ranking of ``ais.nmea``: tag c:, $PGHP, prefix, trailing epoch."""
    def epoch(has, v):
        t = ff.epoch_seconds(rows[:, v])
        t[rows[:, has] == 0] = np.nan
        return t
    t = epoch(ff.C_TAGHAS, ff.C_TAGV)
    for alt in (pghp_before, epoch(ff.C_PREHAS, ff.C_PREV), epoch(ff.C_TRHAS, ff.C_TRV)):
        t = np.where(np.isnan(t), alt, t)
    return t


def _pghp_value(p) -> float:
    return np.nan if p is None else float(p)


def _frame(dec, i: int, st, body: bytes):
    """Frame ``body`` (whole lines of input ``i``).

    Returns (buf, rows, kind, pghp time pending before each line, sentence/reject tables
    of the handed-over lines keyed by line index). Updates ``st`` and the framer counts
    exactly as the reference would.
    """
    framer = dec.framer
    buf = np.frombuffer(body, dtype=np.uint8)
    rows, pghp = ff.frame_lines(buf, framer.params.max_sentence_bytes)
    n = len(rows)
    line0 = st.line_no
    pghp0 = _pghp_value(st.pghp)
    kind = rows[:, ff.C_KIND].copy()
    is_ev = (kind == ff.K_AIS) | (kind == ff.K_PGHP)
    ev_val = np.where(kind == ff.K_PGHP, pghp, np.nan)
    ev_idx = np.maximum.accumulate(np.where(is_ev, np.arange(n), -1)) if n else np.zeros(0, np.int64)
    ais_idx = np.flatnonzero(kind == ff.K_AIS)
    queue = [int(h) for h in np.flatnonzero(kind == ff.K_HANDOFF)]

    def hand_over_next_ais(h):
        # a pending lone tag block: the next fast AIS sentence goes to the reference
        k = np.searchsorted(ais_idx, h, side="right")
        if k < len(ais_idx) and kind[ais_idx[k]] == ff.K_AIS:
            j = int(ais_idx[k])
            kind[j] = ff.K_HANDOFF
            heapq.heappush(queue, j)

    state = (st.pghp, st.tag)     # after the last handed-over line (or at the start)
    state_line = -1
    after_pghp: dict[int, float] = {}
    tables: dict[int, tuple] = {}
    heapq.heapify(queue)
    if st.tag is not None:
        hand_over_next_ais(-1)
    while queue:
        h = heapq.heappop(queue)
        e = int(ev_idx[h - 1]) if h > 0 else -1
        p_state, t_state = state
        if e > state_line:
            p_state = None if np.isnan(ev_val[e]) else float(ev_val[e])
            if kind[e] == ff.K_AIS:
                t_state = None
        st.pghp, st.tag = p_state, t_state
        st.line_no = line0 + h
        raw = body[rows[h, ff.C_LSTART]:rows[h, ff.C_LEND]]
        tables[h] = framer._frame_lines(i, st, [raw])
        state = (st.pghp, st.tag)
        state_line = h
        after_pghp[h] = _pghp_value(st.pghp)
        if st.tag is not None:
            hand_over_next_ais(h)
    handoff = kind == ff.K_HANDOFF
    ais = kind == ff.K_AIS
    # state at the end of the chunk
    fast_ev = np.flatnonzero(ais | (kind == ff.K_PGHP))
    last_fast = int(fast_ev[-1]) if len(fast_ev) else -1
    if last_fast > state_line:
        st.pghp = None if np.isnan(ev_val[last_fast]) else float(ev_val[last_fast])
        st.tag = None if kind[last_fast] == ff.K_AIS else state[1]
    else:
        st.pghp, st.tag = state
    st.line_no = line0 + n
    # counts of the lines framed here (handed-over lines were counted by the reference)
    c = framer.counts
    c["lines_read"] += int(n - handoff.sum())
    c["sentences"] += int(ais.sum())
    c["non_ais_sentences"] += int((kind == ff.K_OTHER).sum())
    c["skipped_lines"] += int((kind == ff.K_SKIP).sum())
    c["tagblock_checksum_errors"] += int((ais & (rows[:, ff.C_TAGOK] == 0)).sum())
    # $PGHP time pending before each line: that of the last event before it
    val = np.where(kind == ff.K_PGHP, pghp, np.nan)
    for h, v in after_pghp.items():
        val[h] = v
    ev = np.where(ais | (kind == ff.K_PGHP) | handoff, np.arange(n), -1)
    prev = np.r_[-1, np.maximum.accumulate(ev)[:-1]] if n else ev
    pending = np.where(prev >= 0, val[np.maximum(prev, 0)], pghp0)
    return buf, rows, kind, pending, tables


def _fast_sentences(buf, rows, idx, pending, i, st, line0):
    """Columns of the fast AIS lines ``idx``: time, station, line number."""
    r = rows[idx]
    time = _time_of(r, pending[idx])
    station = _span_strings(buf, r[:, ff.C_STS], r[:, ff.C_STE], r[:, ff.C_STS] >= 0, st.name)
    line = line0 + 1 + idx
    return r, time, station, line


def _object_sentences(buf, r, time, station, line, i, sel) -> SentenceTable:
    """SentenceTable of the fast rows ``sel`` (fragments), as the reference builds it."""
    rr = r[sel]
    def span(a, b):
        return [buf[x:y].tobytes() for x, y in zip(rr[:, a], rr[:, b])]
    channel = [x.decode("ascii", "replace") for x in span(ff.C_CHS, ff.C_CHE)]
    return SentenceTable.from_lists({
        "source": [i] * len(rr), "line": line[sel].tolist(), "time": time[sel].tolist(),
        "station": list(station[sel]), "channel": channel, "count": rr[:, ff.C_COUNT].tolist(),
        "number": rr[:, ff.C_NUMBER].tolist(), "seq": rr[:, ff.C_SEQ].tolist(),
        "group": [""] * len(rr), "payload": span(ff.C_PS, ff.C_PE),
        "fill": rr[:, ff.C_FILL].tolist(), "text": span(ff.C_LSTART, ff.C_LEND)})


def feed(dec, source: str, data: bytes, *, final: bool = False) -> Decoded:
    """``IncrementalDecoder.feed`` on the fast path (see module docstring)."""
    from ais.incremental import station_name
    from ais.nmea import _SourceState

    i = dec._source(source)
    framer = dec.framer
    st = framer.states.get(i)
    if st is None:
        st = framer.states[i] = _SourceState(station_name(source))
    before = dict(framer.counts)
    dups_before = dec.deduper.duplicates
    data = st.partial + data
    if final:
        body, st.partial = data, b""
    else:
        cut = data.rfind(b"\n") + 1
        body, st.partial = data[:cut], data[cut:]
    line0 = st.line_no
    buf, rows, kind, pending, tables = _frame(dec, i, st, body)
    n = len(rows)

    # sentences in line order: each fast AIS line one, each handed-over line its own
    per_line = np.where(kind == ff.K_AIS, 1, 0).astype(np.int64)
    hs = sorted(tables)
    for h in hs:
        per_line[h] = len(tables[h][0])
    first_index = np.cumsum(per_line) - per_line + dec.assembler.seen
    total = int(per_line.sum())
    dec.assembler.seen += total

    fidx = np.flatnonzero(kind == ff.K_AIS)
    r, ftime, fstation, fline = _fast_sentences(buf, rows, fidx, pending, i, st, line0)
    fsingle = r[:, ff.C_COUNT] == 1
    frag = ~fsingle
    obj = [_object_sentences(buf, r, ftime, fstation, fline, i, frag)] if frag.any() else []
    obj_index = [first_index[fidx[frag]]] if frag.any() else []
    for h in hs:
        s_h = tables[h][0]
        if len(s_h):
            obj.append(s_h)
            obj_index.append(first_index[h] + np.arange(len(s_h)))
    frame_rejects = RejectTable.concat([tables[h][1] for h in hs])
    if obj:
        s_obj = SentenceTable.concat(obj)
        s_index = np.concatenate(obj_index)
        order = np.argsort(s_index, kind="stable")
        s_obj, s_index = s_obj.take(order), s_index[order]
    else:
        s_obj, s_index = SentenceTable.empty(), np.zeros(0, dtype=np.int64)

    # messages: object singles, completed fragments, fast singles; in the reference order
    osingle = np.flatnonzero(s_obj.count == 1)
    o_msgs = MessageTable(
        source=s_obj.source[osingle], line=s_obj.line[osingle], time=s_obj.time[osingle],
        station=s_obj.station[osingle], payload=s_obj.payload[osingle],
        fill=s_obj.fill[osingle],
        msg_type=np.fromiter((message_type(p) for p in s_obj.payload[osingle]), dtype=np.int16,
                             count=len(osingle)),
        text=s_obj.text[osingle])
    multi = np.flatnonzero(s_obj.count > 1)
    if len(multi):
        m_msgs, m_order, orphans = dec.assembler.assemble_fragments(s_obj, multi, s_index[multi])
    else:
        m_msgs, m_order, orphans = MessageTable.empty(), np.zeros(0, dtype=np.int64), RejectTable.empty()
    o_msgs = MessageTable.concat([o_msgs, m_msgs])
    o_key = np.r_[s_index[osingle], m_order].astype(np.int64)
    f_sel = np.flatnonzero(fsingle)
    f_key = first_index[fidx[f_sel]]
    # one sequence: fast singles first in the concatenation, then object messages
    keys = np.r_[f_key, o_key]
    seq = np.argsort(keys, kind="stable")
    n_fast = len(f_sel)

    # payload spans of every message in one buffer: the chunk, then object payloads
    o_buf, o_off = _pack(o_msgs.payload)
    prior = list(dec.deduper.window.keys())
    p_buf, p_off = _pack(prior)
    all_buf = np.concatenate([buf, o_buf, p_buf])
    starts = np.r_[r[f_sel, ff.C_PS], len(buf) + o_off[:-1], len(buf) + len(o_buf) + p_off[:-1]]
    ends = np.r_[r[f_sel, ff.C_PE], len(buf) + o_off[1:], len(buf) + len(o_buf) + p_off[1:]]
    times = np.r_[ftime[f_sel], o_msgs.time]
    n_msg = len(times)
    # dedup in message order, prior window first
    order_all = np.r_[n_msg + np.arange(len(prior)), seq].astype(np.int64)
    codes, rep = span_codes(all_buf, starts[order_all], ends[order_all])
    kept = np.full(len(rep), np.nan)
    kept[codes[:len(prior)]] = np.fromiter(dec.deduper.window.values(), dtype=np.float64,
                                           count=len(prior))
    dup_seq = np.zeros(n_msg, dtype=np.bool_)
    t_seq = np.ascontiguousarray(times[seq])
    dedup_kernel(codes[len(prior):], t_seq, kept, float(dec.deduper.params.window_s), dup_seq)
    dd = dec.deduper
    dd.duplicates += int(dup_seq.sum())
    finite = times[~np.isnan(times)]
    if len(finite):
        dd.latest = max(dd.latest, float(finite.max()))
    live = np.flatnonzero(kept >= dd.latest - dd.params.retention_s)
    rep_pos = order_all[rep[live]]
    dd.window = {all_buf[starts[p]:ends[p]].tobytes(): float(k)
                 for p, k in zip(rep_pos, kept[live])}
    dup = np.zeros(n_msg, dtype=np.bool_)
    dup[seq] = dup_seq

    # decode the kept messages
    fk = np.flatnonzero(~dup[:n_fast])
    rf = r[f_sel[fk]]
    src = np.full(len(fk), i, dtype=np.int32)
    fst = fstation[f_sel[fk]]
    fln = fline[f_sel[fk]]
    text_of = lambda ix: np.array([buf[a:b].tobytes() for a, b in  # noqa: E731
                                   zip(rf[ix, ff.C_LSTART], rf[ix, ff.C_LEND])], dtype=object)
    parts_fast, rest = _fast.decode_arrays(
        buf, rf[:, ff.C_PS], rf[:, ff.C_PE], rf[:, ff.C_FILL], time=ftime[f_sel[fk]],
        station=fst, line=fln, source=src, text_of=text_of)
    parts = [parts_fast]
    if len(rest):
        payload = np.array([buf[a:b].tobytes() for a, b in zip(rf[rest, ff.C_PS], rf[rest, ff.C_PE])],
                           dtype=object)
        rest_msgs = MessageTable(
            source=src[rest], line=fln[rest], time=ftime[f_sel[fk]][rest], station=fst[rest],
            payload=payload, fill=rf[rest, ff.C_FILL],
            msg_type=np.fromiter((message_type(p) for p in payload), dtype=np.int16, count=len(rest)),
            text=text_of(rest))
        parts.append(decode_pyais(rest_msgs))
    ok = np.flatnonzero(~dup[n_fast:])
    if len(ok):
        parts.append(_fast.decode_messages(o_msgs.take(ok)))
    parts = DecodedParts.concat(parts)
    rejects = RejectTable.concat([frame_rejects, orphans, parts.rejects])
    counts = {k: framer.counts[k] - before[k] for k in before}
    counts.update(messages=n_msg, duplicates=dd.duplicates - dups_before,
                  no_receive_time=int(np.isnan(times[~dup]).sum()))
    rej = rejects_frame(rejects, dec.names)
    rej = rej.sort_values(["source", "line"], kind="mergesort").reset_index(drop=True)
    return Decoded(_fast.sort_frame(parts.positions), _fast.sort_frame(parts.statics), rej,
                   counts, parts.types, sort=False)


def _pack(payloads) -> tuple[np.ndarray, np.ndarray]:
    if len(payloads) == 0:
        return np.empty(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=len(payloads))
    off = np.zeros(len(payloads) + 1, dtype=np.int64)
    np.cumsum(lengths, out=off[1:])
    return np.frombuffer(b"".join(payloads), dtype=np.uint8), off
