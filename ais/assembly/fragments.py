"""Multi-fragment assembly, on the sentence table.

Used by both decoders (pyais reference and fast path) and by ``IncrementalDecoder``.

**Assembly.** Fragments of one message share (station, channel, sequential id,
fragment count). Fragment 1 opens a message, fragment k+1 must follow fragment k,
fragment ``count`` completes it: payloads joined, fill bits of the last fragment,
line and station of the first, receive time the first known among the fragments.
Fragments of different stations or channels may interleave freely. A fragment that
cannot be placed (a later part with no open message, a part out of order, a part
received more than ``timeout_s`` after its message's first, an open message displaced
by a new fragment 1 of the same key, one still open after ``max_gap_sentences``
sentences, or evicted when more than ``max_pending`` messages are open) is a reject
``orphan_fragment``, each of its fragments on its own line; nothing else is affected.
The timeout compares a message's own fragments' receive times, never another line's: a
line with a garbled time far ahead (another receiver's, or junk) expires nothing. Defaults: a type 5 message's two
fragments are sent in consecutive slots (ITU-R M.1371), so one minute or 1,000
sentences is generous.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ais import reasons
from ais.tables.columns import MessageTable, RejectTable, SentenceTable
from ais.errors import ConfigError
from ais.decoding.fields import message_type

__all__ = ["AssemblyParams", "Assembler"]


@dataclass(frozen=True, kw_only=True)
class AssemblyParams:
    timeout_s: float = 60.0
    max_gap_sentences: int = 1_000
    max_pending: int = 10_000

    def __post_init__(self):
        if not self.timeout_s > 0:
            raise ConfigError(None, f"timeout_s={self.timeout_s} must be > 0", "use a positive number of seconds")
        if self.max_gap_sentences < 1 or self.max_pending < 1:
            raise ConfigError(None, "max_gap_sentences and max_pending must be >= 1",
                              "use positive counts")


class _Open:
    __slots__ = ("rows", "first_time", "first_index", "next")

    def __init__(self, row, t, index):
        self.rows = [row]
        self.first_time = t
        self.first_index = index
        self.next = 2


class Assembler:
    """Stateful assembler: sentence tables in, message tables and orphan rejects out.

    State between calls: the open messages (their fragment rows) and the running
    sentence index. Picklable.
    """

    def __init__(self, params: AssemblyParams = AssemblyParams()):
        self.params = params
        self.open: OrderedDict[tuple, _Open] = OrderedDict()
        self.seen = 0

    def assemble(self, s: SentenceTable) -> tuple[MessageTable, RejectTable]:
        n = len(s)
        base = self.seen
        self.seen += n
        single = np.flatnonzero(s.count == 1)
        singles = MessageTable(
            source=s.source[single], line=s.line[single], time=s.time[single],
            station=s.station[single], payload=s.payload[single], fill=s.fill[single],
            msg_type=np.fromiter((message_type(p) for p in s.payload[single]), dtype=np.int16,
                                 count=len(single)),
            text=s.text[single])
        order_single = base + single
        multi = np.flatnonzero(s.count > 1)
        if len(multi) == 0:
            return singles, RejectTable.empty()
        multis, done_order, orphans = self.assemble_fragments(s, multi, base + multi)
        messages = MessageTable.concat([singles, multis])
        order = np.argsort(np.r_[order_single, done_order], kind="stable")
        return messages.take(order), orphans

    def assemble_fragments(self, s: SentenceTable, rows: np.ndarray, index: np.ndarray):
        """Place the fragments ``s[rows]`` (count > 1), whose global sentence indices are
        ``index``, in input order. Returns (completed messages, the index of the sentence
        that completed each, orphan rejects). The fast path calls this directly."""
        done_rows, done_order, orphans = [], [], []
        p = self.params
        for i, index in zip(rows, index):
            index = int(index)
            t = s.time[i]
            row = self._row(s, i)
            self._expire(index, orphans)
            key = (s.station[i], s.channel[i], int(s.seq[i]), int(s.count[i]))
            number = int(s.number[i])
            if number == 1:
                old = self.open.pop(key, None)
                if old is not None:
                    orphans.extend(old.rows)
                if len(self.open) >= p.max_pending:
                    _, evicted = self.open.popitem(last=False)
                    orphans.extend(evicted.rows)
                self.open[key] = _Open(row, t, index)
                continue
            msg = self.open.get(key)
            if msg is None or msg.next != number or _too_old(t, msg.first_time, p.timeout_s):
                if msg is not None:
                    del self.open[key]
                    orphans.extend(msg.rows)
                orphans.append(row)
                continue
            msg.rows.append(row)
            msg.next += 1
            if number == row[-1]:  # the last fragment
                del self.open[key]
                done_rows.append(msg.rows)
                done_order.append(index)
        return _join(done_rows), np.asarray(done_order, dtype=np.int64), _orphan_table(orphans)

    def finish(self) -> RejectTable:
        """Every message still open is incomplete: its fragments become orphan rejects."""
        orphans = [r for m in self.open.values() for r in m.rows]
        self.open.clear()
        return _orphan_table(orphans)

    @staticmethod
    def _row(s: SentenceTable, i: int) -> tuple:
        return (int(s.source[i]), int(s.line[i]), float(s.time[i]), s.station[i],
                s.payload[i], int(s.fill[i]), s.text[i], int(s.count[i]))

    def _expire(self, index: int, orphans: list) -> None:
        p = self.params
        while self.open:
            key, oldest = next(iter(self.open.items()))
            if index - oldest.first_index <= p.max_gap_sentences:
                return
            del self.open[key]
            orphans.extend(oldest.rows)


def _too_old(t: float, first_time: float, timeout_s: float) -> bool:
    """A fragment received more than ``timeout_s`` after its message's first."""
    return not np.isnan(t) and not np.isnan(first_time) and t - first_time > timeout_s


def _join(groups: list[list[tuple]]) -> MessageTable:
    cols = {k: [] for k in MessageTable.FIELDS}
    for rows in groups:
        first = rows[0]
        times = [r[2] for r in rows if not np.isnan(r[2])]
        payload = b"".join(r[4] for r in rows)
        cols["source"].append(first[0])
        cols["line"].append(first[1])
        cols["time"].append(times[0] if times else np.nan)
        cols["station"].append(first[3])
        cols["payload"].append(payload)
        cols["fill"].append(rows[-1][5])
        cols["msg_type"].append(message_type(payload))
        cols["text"].append(first[6])
    return MessageTable.from_lists(cols)


def _orphan_table(rows: list[tuple]) -> RejectTable:
    rows = sorted(rows, key=lambda r: (r[0], r[1]))
    return RejectTable.from_lists({
        "source": [r[0] for r in rows], "line": [r[1] for r in rows],
        "reason": [reasons.ORPHAN_FRAGMENT] * len(rows),
        "text": [reasons.reject_text(r[6]) for r in rows]})
