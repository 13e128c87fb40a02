"""NMEA 0183 framing: raw lines (bytes) -> a columnar table of AIS sentences + rejects.

A line may carry, around one ``!xxVDM`` / ``!xxVDO`` sentence:
- an NMEA 4 tag block ``\\s:STATION,c:TIME,g:N-M-ID*hh\\`` before it;
- a timestamp prefix: ISO-8601 or epoch seconds / ms / us / ns, separated from the
  sentence by a space, comma, tab or semicolon (go-ais: ``1550303566167726840 !AIVDM...``);
- fields after the checksum: exactEarth ``...*hh,1328000000000`` (epoch ms) and the US
  Coast Guard ``...*hh,rSTATION,1152921700`` (station, epoch seconds).
A Gatehouse ``$PGHP,1,Y,M,D,h,m,s,ms,...`` line gives the time of the next AIS sentence
of the same input (Danish Maritime Authority feeds).

Receive time, when several are present, ranks: tag block ``c:`` (10 digits seconds, 13
milliseconds; sized by magnitude), then ``$PGHP``, then the prefix, then the trailing
epoch. A tag block whose own checksum is wrong (Kystverket ``g:`` blocks, AMSA ``*00``)
still gives its time and station; the fault is counted (``tagblock_checksum_errors``).
Station: tag block ``s:``, then the USCG trailing ``r``/``b`` field, then the input name.
Fragments 2..n of a ``g:`` group that carry no ``s:``/``c:`` of their own (exactEarth)
take them from the group's first sentence.

``$AIVDM`` (the wrong lead character, sent by some receivers) is read like ``!AIVDM``.
Other sentences (``$GPVTG``, ``$AIVSI``, ``!AIPWR``...) are skipped and counted, comment
lines (``#``) and blank lines skipped. Several sentences on one line (a stream without
newlines) are split at each checksum followed by a new tag block or sentence. Every
other fault is a reject with a reason from ``ais.reasons``; it never affects the lines
around it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from ais import reasons
from ais.tables.columns import RejectTable, SentenceTable
from ais.errors import ConfigError
from ais.decoding.fields import ARMOUR

__all__ = ["FramingParams", "Framer", "receive_time", "parse_epoch", "parse_timestamp",
           "ACCEPTED_TIME_STYLES"]

ACCEPTED_TIME_STYLES = (
    "an NMEA 4 tag block with c: (\\c:1696161600*hh\\!AIVDM...)",
    "a $PGHP line before each sentence (Gatehouse)",
    "a timestamp before the sentence (ISO-8601 or epoch s/ms/ns, then space, comma, tab or ;)",
    "an epoch after the checksum (...*hh,1696161600 or ...*hh,rSTATION,1696161600)",
)

# the latest receive time taken: 2255-03-14. A later one (a garbled c:, a year 9999 in
# an ISO-8601 prefix or a $PGHP line) does not fit a datetime64[ns] and is no time
LATEST_EPOCH_S = 9.0e9

_START = re.compile(rb"[\\!$]")
# a checksum directly followed by the start of another tag block or sentence
_SPLIT = re.compile(rb"(?<=\*[0-9A-Fa-f]{2})[ \t\r]*(?=\\[^!$\\]|[!$])")
_NOT_ARMOUR = bytes(sorted(set(range(256)) - ARMOUR))
_PREFIX_SEPARATORS = b" ,\t;"
# control bytes (NUL and the rest below 32 but tab and CR, DEL): never in a valid line
_CONTROL = bytes(range(0, 9)) + bytes(range(10, 13)) + bytes(range(14, 32)) + b"\x7f"

# kinds of parsed segments
_AIS, _PGHP, _OTHER, _SKIP, _REJECT, _TAG = range(6)


@dataclass(frozen=True, kw_only=True)
class FramingParams:
    """max_sentence_bytes: longest tag block + sentence + trailing fields accepted on a
    line with no sentence boundaries (an NMEA sentence is at most 82 characters; tag
    blocks and USCG fields add about 150). max_open_groups: ``g:`` groups remembered
    while waiting for their later sentences. max_unterminated_bytes: a live feed that
    sends this much without a newline has its pending text framed as one line (so a
    stream with no newlines at all is still decoded, and memory stays bounded)."""

    max_sentence_bytes: int = 1024
    max_open_groups: int = 10_000
    max_unterminated_bytes: int = 1 << 20

    def __post_init__(self):
        if self.max_sentence_bytes < 82:
            raise ConfigError(None, f"max_sentence_bytes={self.max_sentence_bytes} is below "
                              "the NMEA maximum of 82", "use at least 82")
        if self.max_unterminated_bytes < self.max_sentence_bytes:
            raise ConfigError(None, "max_unterminated_bytes must be >= max_sentence_bytes",
                              "raise max_unterminated_bytes")
        if self.max_open_groups < 1:
            raise ConfigError(None, f"max_open_groups={self.max_open_groups} must be >= 1",
                              "use a positive number")


def _xor(data: bytes) -> int:
    """XOR of all bytes (NMEA checksum), by folding one big integer: no per-byte loop."""
    x = int.from_bytes(data, "little")
    n = len(data)
    while n > 1:
        h = (n + 1) // 2
        x = (x & ((1 << (8 * h)) - 1)) ^ (x >> (8 * h))
        n = h
    return x


def parse_epoch(text: bytes | str) -> float | None:
    """Epoch number -> seconds, sized by magnitude: < 1e11 seconds, < 1e14 milliseconds,
    < 1e17 microseconds, else nanoseconds. None when not a number, before 1973 or from
    ``LATEST_EPOCH_S`` on."""
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(v) or v < 1e8:
        return None
    if v < 1e11:
        s = v
    elif v < 1e14:
        s = v / 1e3
    elif v < 1e17:
        s = v / 1e6
    else:
        s = v / 1e9
    return s if s < LATEST_EPOCH_S else None


def parse_timestamp(text: bytes | str) -> float | None:
    """A line prefix -> epoch seconds: an epoch (see ``parse_epoch``) or ISO-8601
    (``2023-09-07T12:00:00Z``, ``2023-09-07 12:00:00.5+00:00``; naive means UTC)."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit() and text.replace(".", "", 1).isdigit():
        return parse_epoch(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    t = dt.timestamp()
    return t if 0 <= t < LATEST_EPOCH_S else None


def _pghp_time(fields: list[bytes]) -> float | None:
    """``$PGHP,1,Y,M,D,h,m,s,ms,...`` -> epoch seconds."""
    if len(fields) < 9 or fields[1] != b"1":
        return None
    try:
        y, mo, d, h, mi, s, ms = (int(f) for f in fields[2:9])
        dt = datetime(y, mo, d, h, mi, s, tzinfo=timezone.utc)
    except ValueError:
        return None
    t = dt.timestamp() + ms / 1000.0
    return t if 0 <= t < LATEST_EPOCH_S else None


def _parse_tag_block(content: bytes):
    """Tag block text (between the backslashes) -> (time, station, group, checksum_ok)."""
    star = content.rfind(b"*")
    ok = True
    body = content
    if star >= 0:
        body = content[:star]
        hh = content[star + 1:star + 3]
        try:
            ok = int(hh, 16) == _xor(body)
        except ValueError:
            ok = False
    t = station = group = None
    for field in body.split(b","):
        key, sep, value = field.partition(b":")
        if not sep:
            continue
        if key == b"c":
            t = parse_epoch(value)
        elif key == b"s" and value:
            station = value.decode("ascii", "replace")
        elif key == b"g":
            group = value
    return t, station, group, ok


def _other(prefix: bytes):
    """A non-AIS NMEA sentence is skipped (and counted); one behind text that is not a
    timestamp is a garbage line that happens to hold a '$' or '!': a reject, not a skip."""
    prefix = prefix.strip(_PREFIX_SEPARATORS)
    if prefix and parse_timestamp(prefix) is None:
        return _REJECT, reasons.NOT_NMEA
    return _OTHER, None


def _parse_segment(seg: bytes):
    """One sentence with its prefix, tag block and trailing fields.

    Returns ``(kind, value)``: (_AIS, dict), (_PGHP, time), (_OTHER, None),
    (_SKIP, None), (_REJECT, reason) or (_TAG, (time, station, checksum_ok)) for a tag
    block alone on its line (DMA writes ``\\si:AISD*3F\\`` or ``\\c:...\\`` on the line
    before the sentence; it applies to the next AIS sentence).
    """
    m = _START.search(seg)
    if m is None:
        return (_SKIP, None) if seg.startswith(b"#") else (_REJECT, reasons.NOT_NMEA)
    i = m.start()
    prefix = seg[:i]
    tag_t = station = group = None
    tag_ok = True
    while i < len(seg) and seg[i] == 0x5C:  # backslash: a tag block
        j = seg.find(b"\\", i + 1)
        if j < 0:
            return _REJECT, reasons.TRUNCATED
        t, s, g, ok = _parse_tag_block(seg[i + 1:j])
        tag_t = t if tag_t is None else tag_t
        station = s if station is None else station
        group = g if group is None else group
        tag_ok = tag_ok and ok
        i = j + 1
    if i >= len(seg):
        return _TAG, (tag_t, station, tag_ok)   # alone on its line: for the next sentence
    lead = seg[i]
    if lead == 0x24:  # '$'
        if seg.startswith(b"PGHP,", i + 1):
            star = seg.find(b"*", i)
            if star < 0 or len(seg) < star + 3:
                return _REJECT, reasons.TRUNCATED
            try:
                ok = int(seg[star + 1:star + 3], 16) == _xor(seg[i + 1:star])
            except ValueError:
                ok = False
            if not ok:
                return _REJECT, reasons.BAD_CHECKSUM
            return _PGHP, _pghp_time(seg[i + 1:star].split(b","))
        if seg[i + 3:i + 7] not in (b"VDM,", b"VDO,"):
            return _other(prefix)
        # '$AIVDM': some receivers use the parametric-sentence lead; same content
    elif lead != 0x21:  # not '!'
        return (_SKIP, None) if seg.startswith(b"#") else (_REJECT, reasons.NOT_NMEA)
    if seg[i + 3:i + 7] not in (b"VDM,", b"VDO,"):
        if len(seg) - i < 7 and b"*" not in seg[i:]:
            return _REJECT, reasons.TRUNCATED
        return _other(prefix)
    star = seg.find(b"*", i)
    if star < 0 or len(seg) < star + 3:
        return _REJECT, reasons.TRUNCATED
    try:
        checksum = int(seg[star + 1:star + 3], 16)
    except ValueError:
        return _REJECT, reasons.BAD_CHECKSUM
    if checksum != _xor(seg[i + 1:star]):
        return _REJECT, reasons.BAD_CHECKSUM
    talker = seg[i + 1:i + 3]
    if not (talker.isalpha() and talker.isupper()):
        return _REJECT, reasons.UNKNOWN_TALKER
    fields = seg[i + 1:star].split(b",")
    if len(fields) < 7:
        return _REJECT, reasons.TRUNCATED
    if len(fields) > 7:
        return _REJECT, reasons.BAD_FIELDS
    _, count, number, seq, channel, payload, fill = fields
    if not (count.isdigit() and number.isdigit() and len(count) == 1 and len(number) == 1):
        return _REJECT, reasons.BAD_FIELDS
    count, number = int(count), int(number)
    if count < 1 or number < 1 or number > count:
        return _REJECT, reasons.BAD_FIELDS
    if seq and not (seq.isdigit() and len(seq) <= 2):
        return _REJECT, reasons.BAD_FIELDS
    if fill and not (fill.isdigit() and len(fill) == 1 and int(fill) <= 5):
        return _REJECT, reasons.BAD_FIELDS
    if not payload or payload.translate(None, _NOT_ARMOUR) != payload:
        return _REJECT, reasons.BAD_PAYLOAD
    # trailing fields: USCG ",rSTATION,epoch", exactEarth ",epoch"
    trail_t = trail_station = None
    trailing = seg[star + 3:]
    if trailing.startswith(b","):
        for f in trailing[1:].split(b","):
            if f[:1] in (b"r", b"b") and len(f) > 1 and trail_station is None:
                trail_station = f.decode("ascii", "replace")
            elif len(f) >= 9 and f.replace(b".", b"", 1).isdigit():
                trail_t = parse_epoch(f)
    prefix_t = None
    prefix = prefix.strip(_PREFIX_SEPARATORS)
    if prefix:
        prefix_t = parse_timestamp(prefix)
    return _AIS, {
        "tag_t": tag_t, "prefix_t": prefix_t, "trail_t": trail_t, "tag_ok": tag_ok,
        "station": station if station is not None else trail_station, "group": group,
        "channel": channel.decode("ascii", "replace"), "count": count, "number": number,
        "seq": int(seq) if seq else -1, "payload": payload, "fill": int(fill) if fill else 0,
    }


def split_sentences(line: bytes) -> list[bytes]:
    """Split a line holding several sentences (a stream without newlines)."""
    if line.count(b"!") + line.count(b"$") <= 1:
        return [line]
    if b"\r" in line:       # sentences separated by bare carriage returns
        return [s for part in line.split(b"\r") for s in split_sentences(part.strip()) if s]
    return [s for s in _SPLIT.split(line) if s]


def receive_time(line: bytes, pending_pghp: float | None = None) -> float | None:
    """Receive time of one line, epoch seconds, by the ranking of this module.

    For a ``$PGHP`` line, its own time (pass it as ``pending_pghp`` for the next line).
    For an AIS sentence: tag block ``c:``, else ``pending_pghp``, else prefix, else trailing
    epoch. None when the line carries none (replay uses this to pace a feed).
    """
    line = line.strip()
    kind, value = _parse_segment(split_sentences(line)[0]) if line else (_SKIP, None)
    if kind == _PGHP:
        return value
    if kind != _AIS:
        return None
    return _rank(value, pending_pghp)


def _rank(v: dict, pghp: float | None) -> float | None:
    for t in (v["tag_t"], pghp, v["prefix_t"], v["trail_t"]):
        if t is not None:
            return t
    return None


class _SourceState:
    """Framing state of one input between ``frame`` calls."""

    __slots__ = ("name", "partial", "line_no", "pghp", "tag", "groups")

    def __init__(self, name: str):
        self.name = name
        self.partial = b""
        self.line_no = 0
        self.pghp = None
        self.tag = None
        self.groups: dict[bytes, tuple] = {}


class Framer:
    """Stateful framer: raw bytes of each input (in pieces) -> SentenceTable + RejectTable.

    State per input: the unterminated last line, the line counter, a pending ``$PGHP``
    time and open ``g:`` groups. Picklable.
    """

    def __init__(self, params: FramingParams = FramingParams()):
        self.params = params
        self.states: dict[int, _SourceState] = {}
        self.counts = {"lines_read": 0, "sentences": 0, "non_ais_sentences": 0,
                       "tagblock_checksum_errors": 0, "skipped_lines": 0}

    def frame(self, source: int, name: str, data: bytes, final: bool = False):
        """Frame ``data`` (the next bytes of input ``source``). The last line is held
        back until its newline arrives or ``final`` is true."""
        st = self.states.get(source)
        if st is None:
            st = self.states[source] = _SourceState(name)
        body = self.take_body(st, data, final)
        lines = body.split(b"\n") if body else []
        if lines and not lines[-1]:        # the text after the final newline
            lines.pop()
        return self._frame_lines(source, st, lines)

    def take_body(self, st: _SourceState, data: bytes, final: bool) -> bytes:
        """The text ready to frame: pending text + ``data`` up to the last newline (all of
        it when ``final``); the rest stays pending. Past ``max_unterminated_bytes`` pending,
        the cut is the last sentence boundary instead (a feed that sends no newlines)."""
        data = st.partial + data
        if final:
            st.partial = b""
            return data
        cut = data.rfind(b"\n") + 1
        if len(data) - cut > self.params.max_unterminated_bytes:
            tail_from = max(cut, len(data) - 2 * self.params.max_sentence_bytes)
            last = None
            for m in _SPLIT.finditer(data, tail_from):
                last = m.end()
            cut = len(data) if last is None else last
        st.partial = data[cut:]
        return data[:cut]

    def _frame_lines(self, source: int, st: _SourceState, lines: list[bytes],
                     line_nos: list[int] | None = None):
        """Frame ``lines`` in order. With ``line_nos`` (the line number of each), lines that
        are not consecutive in the input are framed as if each were framed alone with no
        ``$PGHP`` time or tag block pending; when one leaves such state behind, the call
        stops and returns None (the caller then frames them one by one)."""
        rows: list[tuple] = []
        rej = {k: [] for k in RejectTable.FIELDS}
        counts = self.counts
        max_len = self.params.max_sentence_bytes
        default_station = st.name

        def reject(line_no, reason, text):
            rej["source"].append(source)
            rej["line"].append(line_no)
            rej["reason"].append(reason)
            rej["text"].append(reasons.reject_text(text))

        for k, raw in enumerate(lines):
            if line_nos is not None:
                if st.pghp is not None or st.tag is not None:
                    return None
                st.line_no = line_nos[k] - 1
            st.line_no += 1
            line_no = st.line_no
            counts["lines_read"] += 1
            line = raw.strip()
            if not line:
                continue
            if line.startswith(b"#"):       # comment line (USCG logs, gpsd test files)
                counts["skipped_lines"] += 1
                continue
            if not line.isascii():
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    reject(line_no, reasons.INVALID_UTF8, line)
                    continue
            for seg in split_sentences(line):
                if len(seg) > max_len:
                    reject(line_no, reasons.LINE_TOO_LONG, seg)
                    continue
                kind, v = _parse_segment(seg)
                if kind == _AIS:
                    pass
                elif kind == _PGHP:
                    st.pghp = v
                    continue
                elif kind == _OTHER:
                    counts["non_ais_sentences"] += 1
                    continue
                elif kind == _TAG:
                    st.tag = v
                    continue
                elif kind == _SKIP:
                    counts["skipped_lines"] += 1
                    continue
                else:
                    st.pghp = st.tag = None   # the rejected line may have been the one they timed
                    if v != reasons.NOT_NMEA and seg.translate(None, _CONTROL) != seg:
                        v = reasons.CONTROL_BYTES   # say why: NUL padding, binary junk
                    reject(line_no, v, seg)
                    continue
                counts["sentences"] += 1
                if st.tag is not None:
                    tag_t, tag_station, tag_ok = st.tag
                    st.tag = None
                    if v["tag_t"] is None:
                        v["tag_t"] = tag_t
                    if v["station"] is None:
                        v["station"] = tag_station
                    v["tag_ok"] = v["tag_ok"] and tag_ok
                if not v["tag_ok"]:
                    counts["tagblock_checksum_errors"] += 1
                t = _rank(v, st.pghp)
                st.pghp = None
                station = v["station"]
                group = v["group"]
                gid = b""
                if group is not None:
                    parts = group.split(b"-", 2)
                    gid = parts[-1]
                    first = parts[0] == b"1"
                    if first:
                        if len(parts) == 3 and parts[1] == b"1":
                            pass                  # a group of one sentence: nothing to remember
                        else:
                            if len(st.groups) >= self.params.max_open_groups:
                                st.groups.pop(next(iter(st.groups)))
                            st.groups[gid] = (station, t)
                    else:
                        inherited = st.groups.get(gid)
                        if inherited is not None:
                            station = station if station is not None else inherited[0]
                            t = t if t is not None else inherited[1]
                        if len(parts) == 3 and parts[0] == parts[1]:
                            st.groups.pop(gid, None)
                rows.append((source, line_no, np.nan if t is None else t,
                             default_station if station is None else station, v["channel"],
                             v["count"], v["number"], v["seq"], gid.decode("ascii", "replace"),
                             v["payload"], v["fill"], seg))
        if line_nos is not None and (st.pghp is not None or st.tag is not None):
            return None
        if rows:
            cols = dict(zip(SentenceTable.FIELDS, (list(c) for c in zip(*rows))))
        else:
            cols = {k: [] for k in SentenceTable.FIELDS}
        return SentenceTable.from_lists(cols), RejectTable.from_lists(rej)
