"""The fast path's framing of a chunk: the numba framer, with the reference framer's
state between lines (``$PGHP`` times, lone tag blocks, line numbers, counts).

``ais.framing.fast_lines`` frames every line of a chunk on its own; here the state
between lines is applied, and every line the kernel hands off is given to the reference
framer (``ais.framing.nmea.Framer``) with the ``$PGHP``/tag state it would have had:
all of them in one call when no such state is pending, else one by one in line order.
A sentence (or rejected line) after a lone tag block line is handed over too (the
reference merges them). ``frame_ahead`` does the work that needs no decoder state
(framing, dedup hashes, decoding the single-sentence lines) in the reader's read-ahead
thread; ``ais.incremental.fast_feed`` goes on from there.
"""

from __future__ import annotations

import heapq

import numpy as np

from ais import reasons
from ais.assembly import fast_dedup as fdd
from ais.decoding import payloads
from ais.framing import fast_lines, line_kernel as ff
from ais.reading.buffers import BufferPool
from ais.tables.columns import RejectTable, SentenceTable
from ais.tables.frames import object_array
from ais.tables.spans import span_codes


def _col(rows, c, idx):
    """Column ``c`` of the framed rows ``idx`` (``np.take`` on the contiguous column: about
    twice as fast as ``rows[idx, c]`` on the transposed rows)."""
    return np.take(rows[:, c], idx)


def _span_names(buf, starts, ends):
    """Codes of the station spans of framed rows (-1: the line names none) and the name
    of each code. Needs no decoder state: ``frame_ahead`` does it too."""
    local = np.full(len(starts), -1, dtype=np.int64)
    idx = np.flatnonzero(starts >= 0)
    names: list[str] = []
    if len(idx):
        codes, rep = span_codes(buf, starts[idx], ends[idx])
        names = [buf[starts[idx[r]]:ends[idx[r]]].tobytes().decode("ascii", "replace") for r in rep]
        local[idx] = codes
    return local, names


def _time_of(rows, idx, pghp_before):
    """Receive time of framed rows ``idx`` by the ranking of ``ais.framing.nmea``: tag c:,
    $PGHP, prefix, trailing epoch."""
    out = np.empty(len(idx), dtype=np.float64)
    col = [np.ascontiguousarray(rows[:, c]) for c in (ff.C_TAGHAS, ff.C_TAGV, ff.C_PREHAS,
                                                       ff.C_PREV, ff.C_TRHAS, ff.C_TRV)]
    ff.receive_times(idx, col[0], col[1], np.ascontiguousarray(pghp_before, dtype=np.float64),
                     col[2], col[3], col[4], col[5], out)
    return out


def hand_over_left(size: int) -> int:
    """How many of the lines the fast path leaves in a chunk of ``size`` bytes (comments,
    junk, truncated lines, bad checksums, trailing fields) go to the reference framer
    rather than the numba general framer (``fast_lines.frame_lines``'s ``hand_over``):
    64, and one more per 64 KiB (512 in a 32 MB chunk). The reference frames them as
    the general framer does (tested), in microseconds each; a feed of common lines with
    a few others (the bundled demo's: 14 of 185,000) then never compiles the general
    framer, two thirds of the framer's compile work on the first run after an install."""
    return 64 + size // 65536


def _pghp_value(p) -> float:
    return np.nan if p is None else float(p)


# the framed rows of chunks framed ahead (20 int64 per line: about 70 MB per 32 MB chunk),
# handed from the chunk fed to the next one framed (see ``ais.reading.buffers``; more kept idle
# only raised the peak memory of long reads)
_ROWS = BufferPool(np.int64, 0, 1)


class Framed:
    """``feed``'s work on a chunk done ahead (``frame_ahead``): valid for a call whose
    text to frame is exactly that chunk (nothing pending before it, ending at a line
    end)."""

    __slots__ = ("size", "rows", "pghp", "stations", "hashes", "decoded", "entry")

    def __init__(self, size, rows, pghp, stations, hashes, decoded, entry):
        self.size = size            # bytes framed
        self.rows, self.pghp = rows, pghp
        self.stations = stations    # ``_span_names`` of every row's station span
        self.hashes = hashes        # dedup hash of every row's payload span
        # the single-sentence AIS lines decoded (``decode_payloads(..., full=False,
        # table_text=True)``): row r is entry ``entry[r]`` (-1: not decoded)
        self.decoded, self.entry = decoded, entry

    def release(self) -> None:
        """``feed`` is done with the rows: their memory goes back to the pool."""
        rows, self.rows = self.rows, None
        if rows is not None:
            _ROWS.give(rows.base)


def frame_ahead(data: bytes, max_sentence_bytes: int) -> Framed:
    """The work of ``feed`` on ``data`` that needs no decoder state: framing, the dedup
    hashes and the decoding of every single-sentence line (the ones dedup drops too:
    a few per cent). One thread, as ``_frame`` frames too (see ``fast_lines.frame_lines``)."""
    buf = np.frombuffer(data, dtype=np.uint8)
    rows, pghp = fast_lines.frame_lines(buf, max_sentence_bytes, parallel=False, pool=_ROWS,
                                        hand_over=hand_over_left(len(buf)))
    # the dedup hash of every row's payload span (only the AIS lines' are read)
    hashes = fdd.hash_spans(buf, rows[:, ff.C_PS], rows[:, ff.C_PE])
    single = np.flatnonzero((rows[:, ff.C_KIND] == ff.K_AIS) & (rows[:, ff.C_COUNT] == 1))
    decoded = payloads.decode_payloads(
        buf, _col(rows, ff.C_PS, single), _col(rows, ff.C_PE, single),
        _col(rows, ff.C_FILL, single), full=False, table_text=True)
    entry = np.full(len(rows), -1, dtype=np.int64)
    entry[single] = np.arange(len(single))
    return Framed(len(data), rows, pghp, _span_names(buf, rows[:, ff.C_STS], rows[:, ff.C_STE]),
                  hashes, decoded, entry)


def _frame(dec, i: int, st, body: bytes, framed=None):
    """Frame ``body`` (whole lines of input ``i``).

    Returns (buf, rows, kind, pghp time pending before each line, (sentence table,
    reject table) of the handed-over lines in line order, ``framed`` or None when it
    does not apply). Updates ``st`` and the framer counts exactly as the reference would.
    """
    framer = dec.framer
    buf = np.frombuffer(body, dtype=np.uint8)
    if framed is not None and framed.size == len(buf):
        rows, pghp = framed.rows, framed.pghp
    else:
        framed = None
        rows, pghp = fast_lines.frame_lines(buf, framer.params.max_sentence_bytes,
                                            hand_over=hand_over_left(len(buf)))
    n = len(rows)
    line0 = st.line_no
    pghp0 = _pghp_value(st.pghp)
    kind = rows[:, ff.C_KIND].copy()
    batch = _hand_over_at_once(framer, i, st, body, rows, kind, line0)
    if batch is not None:
        return (buf, rows, kind, np.full(n, np.nan),
                (batch[0], _with_fast_rejects(batch[1], i, buf, rows, kind, line0)), framed)
    # events of the framing state: a sentence or a rejected line clears it, $PGHP sets it
    ends_state = (kind == ff.K_AIS) | (kind == ff.K_REJECT)
    is_ev = ends_state | (kind == ff.K_PGHP)
    ev_val = np.where(kind == ff.K_PGHP, pghp, np.nan)
    ev_idx = np.maximum.accumulate(np.where(is_ev, np.arange(n), -1)) if n else np.zeros(0, np.int64)
    ais_idx = np.flatnonzero(ends_state)
    queue = [int(h) for h in np.flatnonzero(kind == ff.K_HANDOFF)]

    def hand_over_next_ais(h):
        # a pending lone tag block: the next fast AIS sentence (or rejected line, which
        # drops it) goes to the reference
        k = np.searchsorted(ais_idx, h, side="right")
        if k < len(ais_idx) and kind[ais_idx[k]] != ff.K_HANDOFF:
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
            if ends_state[e]:
                t_state = None
        st.pghp, st.tag = p_state, t_state
        st.line_no = line0 + h
        raw = bytes(body[rows[h, ff.C_LSTART]:rows[h, ff.C_LEND]])
        tables[h] = framer._frame_lines(i, st, [raw])
        state = (st.pghp, st.tag)
        state_line = h
        after_pghp[h] = _pghp_value(st.pghp)
        if st.tag is not None:
            hand_over_next_ais(h)
    handoff = kind == ff.K_HANDOFF
    ends_state = (kind == ff.K_AIS) | (kind == ff.K_REJECT)    # handed-over lines excluded now
    # state at the end of the chunk
    fast_ev = np.flatnonzero(ends_state | (kind == ff.K_PGHP))
    last_fast = int(fast_ev[-1]) if len(fast_ev) else -1
    if last_fast > state_line:
        st.pghp = None if np.isnan(ev_val[last_fast]) else float(ev_val[last_fast])
        st.tag = None if ends_state[last_fast] else state[1]
    else:
        st.pghp, st.tag = state
    st.line_no = line0 + n
    _count_fast_lines(framer, rows, kind)
    # $PGHP time pending before each line: that of the last event before it
    val = np.where(kind == ff.K_PGHP, pghp, np.nan)
    for h, v in after_pghp.items():
        val[h] = v
    ev = np.where(ends_state | (kind == ff.K_PGHP) | handoff, np.arange(n), -1)
    prev = np.r_[-1, np.maximum.accumulate(ev)[:-1]] if n else ev
    pending = np.where(prev >= 0, val[np.maximum(prev, 0)], pghp0)
    order = sorted(tables)
    sentences = SentenceTable.concat([tables[h][0] for h in order])
    rejects = _with_fast_rejects(RejectTable.concat([tables[h][1] for h in order]), i, buf, rows,
                                 kind, line0)
    return buf, rows, kind, pending, (sentences, rejects), framed


def _with_fast_rejects(handed, i, buf, rows, kind, line0):
    """The rejects of the handed-over lines and those of the lines the kernel rejected
    (``K_REJECT``: reason code, the stripped line as text), in line order."""
    idx = np.flatnonzero(kind == ff.K_REJECT)
    if len(idx) == 0:
        return handed
    reason = np.empty(len(idx), dtype=object)
    for code, name in ff.REJECT_REASONS.items():
        reason[_col(rows, ff.C_REASON, idx) == code] = name
    spans = zip(_col(rows, ff.C_LSTART, idx).tolist(), _col(rows, ff.C_LEND, idx).tolist())
    text = object_array([reasons.reject_text(bytes(buf[a:b])) for a, b in spans])
    fast = RejectTable(source=np.full(len(idx), i, dtype=np.int32), line=line0 + 1 + idx,
                       reason=reason, text=text)
    if len(handed) == 0:
        return fast
    both = RejectTable.concat([handed, fast])
    return both.take(np.argsort(both.line, kind="stable"))


def _hand_over_at_once(dec_framer, i, st, body, rows, kind, line0):
    """The handed-over lines in one call of the reference framer, when that is the same
    as one call per line: no ``$PGHP`` time or lone tag block pending at the start, no
    ``$PGHP`` line in the chunk, and no handed-over line leaving one pending (the fast
    lines between them then leave the state empty too). Returns the tables, or None
    (nothing changed) when those conditions do not hold."""
    handoff = np.flatnonzero(kind == ff.K_HANDOFF)
    if st.pghp is not None or st.tag is not None or (kind == ff.K_PGHP).any():
        return None
    if len(handoff) == 0:
        st.line_no = line0 + len(kind)
        _count_fast_lines(dec_framer, rows, kind)
        return SentenceTable.empty(), RejectTable.empty()
    saved = (dict(dec_framer.counts), dict(st.groups), st.line_no)
    lines = [bytes(body[a:b]) for a, b in zip(_col(rows, ff.C_LSTART, handoff).tolist(),
                                              _col(rows, ff.C_LEND, handoff).tolist())]
    tables = dec_framer._frame_lines(i, st, lines, line_nos=(line0 + handoff + 1).tolist())
    if tables is None:          # a line left a time or tag pending: one call per line
        dec_framer.counts.clear()
        dec_framer.counts.update(saved[0])
        st.groups.clear()
        st.groups.update(saved[1])
        st.line_no = saved[2]
        st.pghp = st.tag = None
        return None
    st.line_no = line0 + len(kind)
    _count_fast_lines(dec_framer, rows, kind)
    return tables


def _count_fast_lines(framer, rows, kind):
    """Add the counts of the lines framed here (handed-over lines were counted by the
    reference)."""
    handoff = kind == ff.K_HANDOFF
    ais = kind == ff.K_AIS
    c = framer.counts
    c["lines_read"] += int(len(kind) - handoff.sum())
    c["sentences"] += int(ais.sum())
    c["non_ais_sentences"] += int((kind == ff.K_OTHER).sum())
    c["skipped_lines"] += int((kind == ff.K_SKIP).sum())
    c["tagblock_checksum_errors"] += int((ais & (rows[:, ff.C_TAGOK] == 0)).sum())
