"""The identity table (``identity.csv``, DESIGN.md contract): its columns, declared once,
and how its rows are built, identified and ordered. Shared by
:mod:`detectors.identity_tracks` (``shared_mmsi``) and :mod:`detectors.identity` (the
static-report anomalies), which re-exports the names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from detectors._ids import event_id, time_ns

from detectors.columns import IDENTITY_COLUMNS as CONTRACT_COLUMNS, IDENTITY_TABLE as COLUMNS

SHARED_MMSI = "shared_mmsi"
IDENTITY_CHANGE = "identity_change"
INVALID_IMO = "invalid_imo"
INVALID_MMSI = "invalid_mmsi"
IMO_ON_SEVERAL_MMSI = "imo_on_several_mmsi"
KINDS = (SHARED_MMSI, IDENTITY_CHANGE, INVALID_IMO, INVALID_MMSI, IMO_ON_SEVERAL_MMSI)

_DTYPES = {"identity_id": object, "kind": object, "mmsi": "int64", "imo": "Int64",
           "start_utc": "datetime64[ns, UTC]", "end_utc": "datetime64[ns, UTC]",
           "before": object, "after": object, "evidence": object, "field": object}


def empty_identity() -> pd.DataFrame:
    """An identity table without rows, with the declared columns and dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=_DTYPES[c]) for c in COLUMNS})


def identity_id(kind: str, mmsi: int, start, *parts) -> str:
    """``I-`` + 12 hex digits: the same anomaly of the same input always has the same id."""
    return event_id("I", kind, int(mmsi), time_ns(start), *parts)


def identity_frame(rows: list[dict]) -> pd.DataFrame:
    """The identity table of ``rows`` (dicts with the columns but ``identity_id``, plus
    ``id_parts``: what tells two rows of the same kind, vessel and start apart), with ids,
    declared dtypes and sorted by (mmsi, start_utc, kind, identity_id); NaT starts last."""
    if not rows:
        return empty_identity()
    out = {c: [] for c in COLUMNS}
    for r in rows:
        out["identity_id"].append(identity_id(r["kind"], r["mmsi"], r["start_utc"],
                                              *r.get("id_parts", ())))
        for c in COLUMNS[1:]:
            v = r.get(c)
            if c in ("before", "after", "evidence", "field") and v is None:
                v = ""
            out[c].append(v)
    frame = pd.DataFrame({
        c: (pd.to_datetime(pd.Series(out[c], dtype=object), utc=True)
            if _DTYPES[c] == "datetime64[ns, UTC]"
            else pd.Series([pd.NA if v is None else v for v in out[c]], dtype=_DTYPES[c])
            if c == "imo" else pd.Series(out[c], dtype=_DTYPES[c]))
        for c in COLUMNS})
    frame["start_utc"] = frame["start_utc"].dt.as_unit("ns")
    frame["end_utc"] = frame["end_utc"].dt.as_unit("ns")
    return sort_identity(frame)


def sort_identity(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in the table's fixed order: (mmsi, start_utc, kind, identity_id), NaT last."""
    if frame.empty:
        return frame.reset_index(drop=True)
    start = frame["start_utc"].array.asi8.copy()
    start[frame["start_utc"].isna().to_numpy()] = np.iinfo(np.int64).max
    order = np.lexsort((frame["identity_id"].to_numpy(dtype=object).astype(str),
                        frame["kind"].to_numpy(dtype=object).astype(str),
                        start, frame["mmsi"].to_numpy(dtype=np.int64)))
    return frame.take(order).reset_index(drop=True)


def concat_identity(frames) -> pd.DataFrame:
    """One identity table of several, in the fixed order."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty_identity()
    return sort_identity(pd.concat([f[list(COLUMNS)] for f in frames], ignore_index=True))
