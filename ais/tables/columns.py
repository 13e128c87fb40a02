"""Columnar tables passed between the ingest stages (framing -> assembly -> decoding).

Each is a set of equal-length numpy arrays, one row per sentence, message or reject,
in input order. Text-like columns (station, payload, raw line) are object arrays of
``str`` / ``bytes``; everything else is numeric. ``source`` is an index into the
list of input names kept by whoever drives the stages (``IncrementalDecoder``).
"""

from __future__ import annotations

import numpy as np


class Columns:
    """Equal-length named numpy arrays; subclasses declare ``FIELDS`` (name -> dtype)."""

    FIELDS: dict[str, object] = {}

    def __init__(self, **arrays):
        missing = set(self.FIELDS) - set(arrays)
        if missing:
            raise ValueError(f"{type(self).__name__} lacks {sorted(missing)}")
        n = None
        for name, dtype in self.FIELDS.items():
            a = np.asarray(arrays[name], dtype=dtype)
            if n is None:
                n = len(a)
            elif len(a) != n:
                raise ValueError(f"{type(self).__name__}.{name} has {len(a)} rows, expected {n}")
            setattr(self, name, a)

    @classmethod
    def _wrap(cls, arrays: dict):
        """Build from arrays already of the declared dtypes and equal length (no checks:
        the stages call this once per small batch, so it must be cheap)."""
        obj = cls.__new__(cls)
        for k in cls.FIELDS:
            setattr(obj, k, arrays[k])
        return obj

    @classmethod
    def empty(cls):
        return cls._wrap({k: np.empty(0, dtype=d) for k, d in cls.FIELDS.items()})

    @classmethod
    def from_lists(cls, lists: dict[str, list]):
        first = lists[next(iter(cls.FIELDS))]
        if not first:
            return cls.empty()
        n = len(first)
        out = {}
        for k, d in cls.FIELDS.items():
            values = lists[k]
            if len(values) != n:
                raise ValueError(f"{cls.__name__}.{k} has {len(values)} rows, expected {n}")
            if d is object:
                a = np.empty(n, dtype=object)
                a[:] = values
            else:
                a = np.array(values, dtype=d)
            out[k] = a
        return cls._wrap(out)

    @classmethod
    def concat(cls, parts):
        parts = [p for p in parts if p is not None]
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls._wrap({k: np.concatenate([getattr(p, k) for p in parts]) for k in cls.FIELDS})

    def take(self, index):
        return type(self)._wrap({k: getattr(self, k)[index] for k in self.FIELDS})

    def __len__(self) -> int:
        first = next(iter(self.FIELDS))
        return len(getattr(self, first))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} rows)"


class SentenceTable(Columns):
    """One row per framed AIS sentence (``!xxVDM`` / ``!xxVDO``) that passed framing.

    time: receive time, float64 epoch seconds, NaN when the line carried none.
    seq: sequential message id, -1 when empty. group: ``g:`` tag-block group id, "" when none.
    text: the raw sentence (tag block and all) for reject records.
    """

    FIELDS = {"source": np.int32, "line": np.int64, "time": np.float64, "station": object,
              "channel": object, "count": np.int8, "number": np.int8, "seq": np.int16,
              "group": object, "payload": object, "fill": np.int8, "text": object}


class MessageTable(Columns):
    """One row per assembled AIS message: payload of all fragments joined, fill bits of the last.

    line: line of the first fragment; time: first receive time among its fragments.
    """

    FIELDS = {"source": np.int32, "line": np.int64, "time": np.float64, "station": object,
              "payload": object, "fill": np.int8, "msg_type": np.int16, "text": object}


class RejectTable(Columns):
    """One row per rejected line, sentence, fragment or message: reason from ``ais.reasons``."""

    FIELDS = {"source": np.int32, "line": np.int64, "reason": object, "text": object}


def pack_payloads(payloads: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate armoured payloads into one uint8 buffer plus int64 offsets
    (message i is ``buf[offsets[i]:offsets[i+1]]``): the layout numba kernels read."""
    if len(payloads) == 0:
        return np.empty(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    lengths = np.fromiter((len(p) for p in payloads), dtype=np.int64, count=len(payloads))
    offsets = np.zeros(len(payloads) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    buf = np.frombuffer(b"".join(payloads), dtype=np.uint8)
    return buf, offsets
