"""The state of an ``IncrementalDecoder`` as plain data: JSON values and numeric arrays.

A scheduled job or a live watch carries the decoder from one run to the next: the
pending text and line counter of each input, its ``$PGHP`` time and lone tag block
waiting for the next sentence, its open ``g:`` groups, the fragments of the messages
still open, and the window of kept copies for dedup. ``decoder_state`` gives all of it
as ``(meta, arrays)``: ``meta`` holds only JSON values (str, int, finite float, bool,
None, lists, dicts with str keys) and ``arrays`` only numeric numpy arrays (no object
arrays), so whoever stores them can use JSON and ``np.savez`` and read them back with
``allow_pickle=False``: nothing in a stored state can run code. ``decoder_from_state``
checks everything it reads and raises ``DecoderStateError`` (one line) for anything
this version did not write.

Byte strings (pending text, payloads, raw sentences) and text (stations, channels,
group ids) are packed: one uint8 buffer per column and int64 offsets (``<name>_buf``,
``<name>_off``; item i is ``buf[off[i]:off[i + 1]]``, text UTF-8). ``STATE_VERSION``
changes whenever the layout does.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from ais.assembly.dedup import DedupParams
from ais.assembly.fast_dedup import _Arena
from ais.assembly.fragments import AssemblyParams, _Open
from ais.errors import ConfigError, DecoderStateError
from ais.framing.nmea import FramingParams, _SourceState
from ais.tables.spans import pack

if TYPE_CHECKING:
    from ais.incremental.decoder import IncrementalDecoder

__all__ = ["STATE_VERSION", "decoder_state", "decoder_from_state"]

STATE_VERSION = 1
_COUNTS = ("lines_read", "sentences", "non_ais_sentences", "tagblock_checksum_errors",
           "skipped_lines")


def _text(values) -> list[bytes]:
    return [v.encode("utf-8", "surrogatepass") for v in values]


def _put(arrays: dict, name: str, items: list[bytes]) -> None:
    arrays[f"{name}_buf"], arrays[f"{name}_off"] = pack(items)


def _finite_or_none(v):
    return None if v is None or not math.isfinite(v) else float(v)


def decoder_state(dec) -> tuple[dict, dict[str, np.ndarray]]:
    """``(meta, arrays)`` of ``dec`` (an ``IncrementalDecoder``); ``dec`` is not changed."""
    framer, asm, dd = dec.framer, dec.assembler, dec.deduper
    arrays: dict[str, np.ndarray] = {}
    sources = []
    partial, g_src, g_gid, g_station, g_has_station, g_time, g_has_time = ([] for _ in range(7))
    for index in sorted(framer.states):
        st = framer.states[index]
        tag = None
        if st.tag is not None:
            t, station, ok = st.tag
            tag = [_finite_or_none(t), station, bool(ok)]
        sources.append({"index": int(index), "name": st.name, "line_no": int(st.line_no),
                        "pghp": _finite_or_none(st.pghp), "tag": tag})
        partial.append(bytes(st.partial))
        for gid, (station, t) in st.groups.items():
            g_src.append(len(sources) - 1)
            g_gid.append(bytes(gid))
            g_station.append("" if station is None else station)
            g_has_station.append(station is not None)
            g_time.append(np.nan if t is None else float(t))
            g_has_time.append(t is not None)
    _put(arrays, "partial", partial)
    arrays["group_source"] = np.asarray(g_src, dtype=np.int64)
    _put(arrays, "group_id", g_gid)
    _put(arrays, "group_station", _text(g_station))
    arrays["group_has_station"] = np.asarray(g_has_station, dtype=np.bool_)
    arrays["group_time"] = np.asarray(g_time, dtype=np.float64)
    arrays["group_has_time"] = np.asarray(g_has_time, dtype=np.bool_)

    keys, opens = list(asm.open.keys()), list(asm.open.values())
    _put(arrays, "open_station", _text(k[0] for k in keys))
    _put(arrays, "open_channel", _text(k[1] for k in keys))
    arrays["open_seq"] = np.asarray([k[2] for k in keys], dtype=np.int64)
    arrays["open_count"] = np.asarray([k[3] for k in keys], dtype=np.int64)
    arrays["open_first_time"] = np.asarray([o.first_time for o in opens], dtype=np.float64)
    arrays["open_first_index"] = np.asarray([o.first_index for o in opens], dtype=np.int64)
    arrays["open_next"] = np.asarray([o.next for o in opens], dtype=np.int64)
    arrays["open_rows"] = np.asarray([len(o.rows) for o in opens], dtype=np.int64)
    rows = [r for o in opens for r in o.rows]
    for k, name in ((0, "row_source"), (1, "row_line"), (5, "row_fill"), (7, "row_count")):
        arrays[name] = np.asarray([r[k] for r in rows], dtype=np.int64)
    arrays["row_time"] = np.asarray([r[2] for r in rows], dtype=np.float64)
    _put(arrays, "row_station", _text(r[3] for r in rows))
    _put(arrays, "row_payload", [bytes(r[4]) for r in rows])
    _put(arrays, "row_text", [bytes(r[6]) for r in rows])

    if dd._arena is not None:
        buf, off, times = dd._arena.packed()
    else:
        buf, off = pack(list(dd._window.keys()))
        times = np.fromiter(dd._window.values(), dtype=np.float64, count=len(dd._window))
    arrays["window_buf"], arrays["window_off"] = np.ascontiguousarray(buf), off
    arrays["window_time"] = np.asarray(times, dtype=np.float64)

    meta = {
        "version": STATE_VERSION,
        "decoder": dec.decoder,
        "names": list(dec.names),
        "framing": _params(framer.params, FramingParams),
        "assembly": _params(asm.params, AssemblyParams),
        "dedup": _params(dd.params, DedupParams),
        "counts": {k: int(framer.counts[k]) for k in _COUNTS},
        "sources": sources,
        "sentences_seen": int(asm.seen),
        "dedup_latest": _finite_or_none(dd.latest),
        "duplicates": int(dd.duplicates),
    }
    return meta, arrays


def _params(params, cls) -> dict:
    return {f: getattr(params, f) for f in cls.__dataclass_fields__}


# ------------------------------------------------------------------------------ reading

class _Reader:
    """Checked access to ``(meta, arrays)``: every problem is a ``DecoderStateError``."""

    def __init__(self, meta, arrays):
        if not isinstance(meta, dict):
            raise DecoderStateError("decoder state: not a JSON object")
        self.meta, self.arrays = meta, arrays

    def value(self, container, key, kind, where="decoder state"):
        if not isinstance(container, dict) or key not in container:
            raise DecoderStateError(f"{where}: {key!r} missing")
        v = container[key]
        ok = {"int": isinstance(v, int) and not isinstance(v, bool),
              "str": isinstance(v, str), "bool": isinstance(v, bool),
              "float?": v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                      and math.isfinite(v)),
              "str?": v is None or isinstance(v, str),
              "list": isinstance(v, list), "dict": isinstance(v, dict)}[kind]
        if not ok:
            raise DecoderStateError(f"{where}: {key!r} is not {kind.rstrip('?')}")
        return v

    def array(self, name, dtype, n=None):
        if name not in self.arrays:
            raise DecoderStateError(f"decoder state: array {name!r} missing")
        a = np.asarray(self.arrays[name])
        if a.dtype != np.dtype(dtype) or a.ndim != 1 or (n is not None and len(a) != n):
            size = "" if n is None else f"{n} "
            raise DecoderStateError(f"decoder state: array {name!r} is not {size}"
                                    f"{np.dtype(dtype).name} values")
        return a

    def packed(self, name, n) -> list[bytes]:
        buf = self.array(f"{name}_buf", np.uint8)
        off = self.array(f"{name}_off", np.int64, n + 1)
        if off[0] != 0 or off[-1] != len(buf) or (np.diff(off) < 0).any():
            raise DecoderStateError(f"decoder state: offsets of {name!r} do not fit its bytes")
        raw = buf.tobytes()
        return [raw[a:b] for a, b in zip(off[:-1].tolist(), off[1:].tolist())]

    def texts(self, name, n) -> list[str]:
        try:
            return [b.decode("utf-8", "surrogatepass") for b in self.packed(name, n)]
        except UnicodeDecodeError:
            raise DecoderStateError(f"decoder state: {name!r} is not UTF-8 text") from None

    def params(self, key, cls):
        fields = self.value(self.meta, key, "dict")
        if set(fields) != set(cls.__dataclass_fields__):
            raise DecoderStateError(f"decoder state: {key!r} parameters are not those of "
                                    f"{cls.__name__}")
        try:
            return cls(**fields)
        except (TypeError, ValueError, ConfigError) as exc:
            raise DecoderStateError(f"decoder state: {key!r} parameters: {exc}") from None


def decoder_from_state(meta: dict, arrays) -> "IncrementalDecoder":
    """The ``IncrementalDecoder`` that ``decoder_state`` described (``arrays``: any
    mapping of name -> array, such as an ``np.load`` of an ``.npz``)."""
    from ais.incremental.decoder import IncrementalDecoder

    r = _Reader(meta, arrays)
    version = r.value(meta, "version", "int")
    if version != STATE_VERSION:
        raise DecoderStateError(f"decoder state version {version}, this version reads "
                                f"{STATE_VERSION}")
    decoder = r.value(meta, "decoder", "str")
    if decoder not in ("fast", "pyais"):
        raise DecoderStateError(f"decoder state: unknown decoder {decoder!r}")
    params = {k: r.params(k, cls) for k, cls in (("framing", FramingParams),
                                                  ("assembly", AssemblyParams),
                                                  ("dedup", DedupParams))}
    dec = IncrementalDecoder(decoder=decoder, **params)

    names = r.value(meta, "names", "list")
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise DecoderStateError("decoder state: 'names' is not a list of distinct names")
    dec.names = list(names)
    dec._index = {n: i for i, n in enumerate(names)}

    counts = r.value(meta, "counts", "dict")
    for k in _COUNTS:
        dec.framer.counts[k] = r.value(counts, k, "int", "decoder state counts")

    sources = r.value(meta, "sources", "list")
    partial = r.packed("partial", len(sources))
    states = []
    for s, text in zip(sources, partial):
        index = r.value(s, "index", "int", "decoder state source")
        if not 0 <= index < len(names) or index in dec.framer.states:
            raise DecoderStateError(f"decoder state: source index {index} out of place")
        st = _SourceState(r.value(s, "name", "str", "decoder state source"))
        st.partial = text
        st.line_no = r.value(s, "line_no", "int", "decoder state source")
        st.pghp = r.value(s, "pghp", "float?", "decoder state source")
        tag = s.get("tag") if isinstance(s, dict) else None
        if tag is not None:
            if (not isinstance(tag, list) or len(tag) != 3 or not isinstance(tag[2], bool)
                    or not (tag[1] is None or isinstance(tag[1], str))
                    or not (tag[0] is None or isinstance(tag[0], (int, float)))):
                raise DecoderStateError("decoder state: a pending tag block is not "
                                        "[time, station, ok]")
            tag = (None if tag[0] is None else float(tag[0]), tag[1], tag[2])
        st.tag = tag
        dec.framer.states[index] = st
        states.append(st)

    g_src = r.array("group_source", np.int64)
    n_groups = len(g_src)
    if n_groups and (g_src.min() < 0 or g_src.max() >= len(states)):
        raise DecoderStateError("decoder state: a g: group of no source")
    gids = r.packed("group_id", n_groups)
    g_station = r.texts("group_station", n_groups)
    has_station = r.array("group_has_station", np.bool_, n_groups)
    g_time = r.array("group_time", np.float64, n_groups)
    has_time = r.array("group_has_time", np.bool_, n_groups)
    for k in range(n_groups):
        states[g_src[k]].groups[gids[k]] = (g_station[k] if has_station[k] else None,
                                            float(g_time[k]) if has_time[k] else None)

    seq = r.array("open_seq", np.int64)
    n_open = len(seq)
    o_station = r.texts("open_station", n_open)
    o_channel = r.texts("open_channel", n_open)
    o_count = r.array("open_count", np.int64, n_open)
    first_time = r.array("open_first_time", np.float64, n_open)
    first_index = r.array("open_first_index", np.int64, n_open)
    nxt = r.array("open_next", np.int64, n_open)
    n_rows = r.array("open_rows", np.int64, n_open)
    if (n_rows < 1).any():
        raise DecoderStateError("decoder state: an open message without fragments")
    total = int(n_rows.sum())
    cols = {name: r.array(name, np.int64, total)
            for name in ("row_source", "row_line", "row_fill", "row_count")}
    r_time = r.array("row_time", np.float64, total)
    r_station = r.texts("row_station", total)
    r_payload = r.packed("row_payload", total)
    r_text = r.packed("row_text", total)
    rows = [(int(cols["row_source"][i]), int(cols["row_line"][i]), float(r_time[i]), r_station[i],
             r_payload[i], int(cols["row_fill"][i]), r_text[i], int(cols["row_count"][i]))
            for i in range(total)]
    open_ = OrderedDict()
    at = 0
    for k in range(n_open):
        o = _Open(rows[at], float(first_time[k]), int(first_index[k]))
        o.rows = rows[at:at + int(n_rows[k])]
        o.next = int(nxt[k])
        at += int(n_rows[k])
        open_[(o_station[k], o_channel[k], int(seq[k]), int(o_count[k]))] = o
    dec.assembler.open = open_
    dec.assembler.seen = r.value(meta, "sentences_seen", "int")

    w_time = r.array("window_time", np.float64)
    w_keys = r.packed("window", len(w_time))
    dd = dec.deduper
    if len(set(w_keys)) != len(w_keys):
        raise DecoderStateError("decoder state: a payload twice in the dedup window")
    if decoder == "fast":
        buf = np.frombuffer(b"".join(w_keys), dtype=np.uint8).copy()
        dd._arena, dd._window = _Arena(buf, r.array("window_off", np.int64), w_time), None
    else:
        dd._window = dict(zip(w_keys, w_time.tolist()))
    latest = r.value(meta, "dedup_latest", "float?")
    dd.latest = -np.inf if latest is None else float(latest)
    dd.duplicates = r.value(meta, "duplicates", "int")
    return dec
