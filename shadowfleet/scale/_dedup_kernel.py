"""Kernel of the copies across files (:func:`shadowfleet.scale.partitions.cross_file_duplicates`)."""

from __future__ import annotations

import numpy as np

from ais._numba import njit


@njit
def mark_copies(key, t, source, order, window_s, dup):
    """Walk the rows in ``order`` (sorted by content ``key``, then receive time ``t``):
    a row is a copy (``dup`` set) when it has the content of the last kept row, comes
    from another file (``source``) and was received within ``window_s`` of it; any other
    row with a time is kept. A row without a time (NaN) is kept and ends the run."""
    have = False
    last_key = key[0] if key.shape[0] else 0
    kept_t = -np.inf
    kept_source = -1
    for j in range(order.shape[0]):
        i = order[j]
        ti = t[i]
        if np.isnan(ti):
            have = False
            continue
        if have and key[i] == last_key and ti - kept_t <= window_s and source[i] != kept_source:
            dup[i] = True
            continue
        have = True
        last_key = key[i]
        kept_t = ti
        kept_source = source[i]
