"""Multi-receiver deduplication, on the message table.

Used by both decoders (pyais reference and fast path, whose packed window is
``ais.assembly.fast_dedup``) and by ``IncrementalDecoder``.

**Deduplication.** Several receivers hear the same broadcast: a message whose payload
equals the payload of a kept message within ``window_s`` [10] seconds (``|dt| <=
window_s``, by receive time, either direction) is a duplicate, counted and dropped; the
first copy in input order is kept. This is the Danish Maritime Authority AisLib rule.
Messages without a receive time are never duplicates and never the kept copy. Kept
copies are remembered ``retention_s`` [600] after the latest receive time seen, and at
most ``max_window_messages`` [1,000,000] of them (the most recent): this bounds memory
and is the out-of-order tolerance between ``feed`` calls (live feeds). ``read_inputs``
uses a retention of a day, so files of several receivers covering the same hours are
deduplicated against each other whatever order they are read in. One kept time is
remembered per payload (the latest kept copy), so when inputs are far out of time order,
a payload broadcast unchanged many times (a static report every 6 minutes) can escape
deduplication; position reports, which change with every broadcast, do not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ais._numba import njit
from ais.tables.columns import MessageTable
from ais.errors import ConfigError

__all__ = ["DedupParams", "Deduplicator", "dedup_kernel"]


@dataclass(frozen=True, kw_only=True)
class DedupParams:
    window_s: float = 10.0
    retention_s: float = 600.0
    max_window_messages: int = 1_000_000

    def __post_init__(self):
        if self.max_window_messages < 1:
            raise ConfigError(None, "max_window_messages must be >= 1", "use a positive count")
        if not self.window_s >= 0:
            raise ConfigError(None, f"window_s={self.window_s} must be >= 0", "use 0 to keep every copy")
        if not self.retention_s >= self.window_s:
            raise ConfigError(None, f"retention_s={self.retention_s} must be >= window_s",
                              "raise retention_s")


@njit
def dedup_kernel(codes, t, kept, window_s, dup):
    """Mark duplicates in input order. ``codes``: payload id per message; ``t``: receive
    time (NaN: never a duplicate, never kept); ``kept``: receive time of the kept copy per
    payload id (NaN: none yet), updated in place; ``dup``: output, bool per message."""
    for i in range(codes.shape[0]):
        ti = t[i]
        if np.isnan(ti):
            continue
        c = codes[i]
        k = kept[c]
        if not np.isnan(k) and abs(ti - k) <= window_s:
            dup[i] = True
        else:
            kept[c] = ti


class Deduplicator:
    """Stateful multi-receiver dedup (see module docstring). Picklable.

    The state is the window of kept copies: ``window``, a dict payload ``bytes`` -> kept
    receive time in insertion order, which the reference path (``keep_mask``) works on.
    The fast path (``ais.assembly.fast_dedup``) keeps the same window as packed arrays instead;
    reading ``window`` makes the dict from them (same keys, times and order), and from
    then on the dict is the state again until the fast path takes it back.
    """

    def __init__(self, params: DedupParams = DedupParams()):
        self.params = params
        self._window: dict[bytes, float] | None = {}
        self._arena = None          # the fast path's packed window, the state when set
        self.latest = -np.inf
        self.duplicates = 0

    @property
    def window(self) -> dict[bytes, float]:
        if self._arena is not None:
            self._window, self._arena = self._arena.to_dict(), None
        return self._window

    @window.setter
    def window(self, window: dict[bytes, float]) -> None:
        self._window, self._arena = window, None

    def live_mask(self, kept: np.ndarray) -> np.ndarray:
        """Which kept copies (receive times ``kept``, NaN for none) stay in the window after
        a batch: within ``retention_s`` of the latest time seen, at most
        ``max_window_messages`` of them (the most recent). Both paths prune with this."""
        live = kept >= self.latest - self.params.retention_s
        if int(live.sum()) > self.params.max_window_messages:
            idx = np.flatnonzero(live)
            live = np.zeros(len(kept), dtype=bool)
            live[idx[self.most_recent(kept[idx])]] = True
        return live

    def most_recent(self, kept: np.ndarray) -> np.ndarray:
        """Positions of the ``max_window_messages`` latest of ``kept`` (no NaN), ties
        broken as ``np.argpartition`` does: the fast path calls this with the same array
        (the live kept times in window order), so both choose the same copies."""
        cap = self.params.max_window_messages
        return np.argpartition(-kept, cap - 1)[:cap]

    def keep_mask(self, m: MessageTable) -> np.ndarray:
        n = len(m)
        if n == 0:
            return np.ones(0, dtype=bool)
        prior = np.empty(len(self.window), dtype=object)
        prior[:] = list(self.window.keys())
        allp = np.concatenate([prior, m.payload])
        codes, uniques = pd.factorize(allp)
        kept = np.full(len(uniques), np.nan)
        kept[codes[:len(prior)]] = np.fromiter(self.window.values(), dtype=np.float64,
                                               count=len(prior))
        dup = np.zeros(n, dtype=np.bool_)
        dedup_kernel(codes[len(prior):].astype(np.int64), np.ascontiguousarray(m.time), kept,
                     float(self.params.window_s), dup)
        self.duplicates += int(dup.sum())
        finite = m.time[~np.isnan(m.time)]
        if len(finite):
            self.latest = max(self.latest, float(finite.max()))
        live = self.live_mask(kept)
        self.window = dict(zip(np.asarray(uniques, dtype=object)[live].tolist(),
                               kept[live].tolist()))
        return ~dup
