"""Deterministic event ids: a short prefix and 12 hex digits of a SHA-1 of the parts.

``event_id("V", "port_visit", mmsi, start_ns, port)`` gives e.g. ``V-3f9a1c2b7d01``. The
parts are the event's kind, vessel, start (integer ns since the epoch, so the id never
depends on how a time is printed) and whatever else tells two events apart; a re-run on
the same input reproduces every id, so scheduled runs never duplicate an event.
"""

from __future__ import annotations

import hashlib

import pandas as pd


def time_ns(value) -> int:
    """Integer ns since the epoch of a timestamp (-1 for NaT/None)."""
    if value is None or value is pd.NaT:
        return -1
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        return -1
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return int(ts.value)


def event_id(prefix: str, *parts) -> str:
    """``PREFIX-`` + 12 hex digits of SHA-1 over the ``|``-joined parts."""
    text = "|".join(str(p) for p in parts)
    return f"{prefix}-{hashlib.sha1(text.encode('utf-8')).hexdigest()[:12]}"
