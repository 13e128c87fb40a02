"""Precision and recall of detected events against a simulator truth file (one-to-one
matching: same vessel and keys, every time within a tolerance; open ends match open ends)."""

from __future__ import annotations

import pandas as pd

# (truth list, Result attribute, keys that must be equal, time columns, tolerance seconds)
EVENT_KINDS = {
    "port_visits": ("port_visits", ("mmsi", "port"), ("arrival_utc", "departure_utc"), 1800),
    "dark_periods": ("dark_periods", ("mmsi",), ("start_utc", "end_utc"), 300),
    "round_trips": ("round_trips", ("mmsi", "status", "origin", "destination"),
                    ("depart_origin_utc", "return_origin_utc"), 1800),
}


def _t(value):
    if value is None or (isinstance(value, str) and not value):
        return None
    ts = pd.Timestamp(value)
    return None if pd.isna(ts) else (ts.tz_localize("UTC") if ts.tzinfo is None else ts)


def score(truth_rows: list[dict], found: pd.DataFrame, keys, times, tolerance_s: float):
    """(precision, recall, missed truth rows, unmatched found rows)."""
    found = found.reset_index(drop=True)
    groups: dict[tuple, list[int]] = {}
    for i, row in found.iterrows():
        groups.setdefault(tuple(str(row[k]) for k in keys), []).append(i)
    used: set[int] = set()
    missed = []
    for row in truth_rows:
        match = None
        for i in groups.get(tuple(str(row[k]) for k in keys), []):
            if i in used:
                continue
            ok = True
            for c in times:
                a, b = _t(row[c]), _t(found.at[i, c])
                if (a is None) != (b is None) or (a is not None and abs((a - b).total_seconds()) > tolerance_s):
                    ok = False
                    break
            if ok:
                match = i
                break
        if match is None:
            missed.append(row)
        else:
            used.add(match)
    tp = len(truth_rows) - len(missed)
    precision = tp / len(found) if len(found) else 1.0
    recall = tp / len(truth_rows) if truth_rows else 1.0
    return precision, recall, missed, found.drop(index=list(used))


def score_result(truth: dict, result) -> dict[str, tuple[float, float]]:
    """{kind: (precision, recall)} for port visits, dark periods and round trips."""
    out = {}
    for kind, (attr, keys, times, tol) in EVENT_KINDS.items():
        p, r, _, _ = score(truth[kind], getattr(result, attr), keys, times, tol)
        out[kind] = (p, r)
    return out
