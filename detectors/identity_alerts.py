"""Alerts of kind ``identity``: one per row of the identity table (DESIGN.md, "Behaviour and
identity detectors"; :mod:`detectors.identity`, :mod:`detectors.identity_tracks`).

Each alert names what changed or what is wrong, the MMSI and the IMO: its ``summary``
says it in a sentence (the old and new value of a change, the problem of an invalid
number, the other MMSIs of an IMO, the ships of a shared MMSI), ``evidence`` is the
anomaly's ``identity_id`` (its row in ``identity.csv``), ``start_utc``/``end_utc`` are
the anomaly's, and the position (``lat``/``lon``) is the MMSI's trusted fix nearest in
time to the start, so the map can put it where the vessel was. The ``alert_id`` is
``A-`` + a hash of (``identity``, mmsi, start, identity_id): the same input gives the
same ids. Identity alerts are about an MMSI, not one of its tracks: ``track`` is 0.

**Score** (0-1), by what the anomaly says about who is transmitting:

============================  =====  ===================================================
anomaly                       score  why
============================  =====  ===================================================
``shared_mmsi``               0.8    two or more ships at once under one MMSI: at least
                                     one of them is not the ship it claims to be
``imo_on_several_mmsi``       0.7    one IMO on several transmitters at once: the same,
                                     told by the static reports
``identity_change`` of IMO    0.6    an IMO stays with a hull for life: a new IMO on an
                                     MMSI is another hull or a false number
``identity_change`` of name   0.5    renamed, the commonest step of a ship changing
                                     hands or hiding its past
``invalid_imo``               0.5    a number that cannot be an IMO: false or mistyped
``identity_change`` of        0.4    re-flagged or re-registered (a call sign follows the
call sign                            flag)
``invalid_mmsi``              0.3    most often a transponder set up wrong, sometimes a
                                     made-up identity
``identity_change`` of ship   0.3    a change of what the ship says it is
type
============================  =====  ===================================================

The scores rank identity alerts among the others (a long dark period near a port of
interest scores 0.6-0.9, an observed round trip between two ports of interest 1.0):
a shared MMSI ranks with strong dark activity, a misconfigured transponder low.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from detectors._frames import usable_positions
from detectors._identity_rows import (IDENTITY_CHANGE, IMO_ON_SEVERAL_MMSI, INVALID_IMO,
                                      INVALID_MMSI, SHARED_MMSI)
from detectors.alerts import alert_frame, alert_row

KIND = "identity"
SCORES = {SHARED_MMSI: 0.8, IMO_ON_SEVERAL_MMSI: 0.7, INVALID_IMO: 0.5, INVALID_MMSI: 0.3}
CHANGE_SCORES = {"imo": 0.6, "name": 0.5, "callsign": 0.4, "ship_type": 0.3}
_FIELD_WORDS = {"imo": "IMO", "name": "name", "callsign": "call sign", "ship_type": "ship type"}


def identity_score(kind: str, field: str = "") -> float:
    """The score of an identity alert (table in the module docstring)."""
    if kind == IDENTITY_CHANGE:
        return CHANGE_SCORES.get(field, 0.3)
    return SCORES.get(kind, 0.3)


def _when(ts) -> str:
    if ts is None or pd.isna(ts):
        return "?"
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%d %H:%MZ")


def _who(mmsi: int, name: str, imo) -> str:
    imo_text = f", IMO {int(imo)}" if imo is not None and not pd.isna(imo) else ""
    name = name.strip() if isinstance(name, str) else ""
    return f"{name} (MMSI {mmsi}{imo_text})" if name else f"MMSI {mmsi}{imo_text}"


def _first_part(evidence: str) -> str:
    return str(evidence or "").split("; ")[0]


def summary(row: Mapping, name: str = "") -> str:
    """What the anomaly says, in one sentence (what changed, which MMSI, which IMO)."""
    kind = row["kind"]
    mmsi = int(row["mmsi"])
    imo = row.get("imo")
    who = _who(mmsi, name, imo)
    evidence = str(row.get("evidence") or "")
    start, end = _when(row.get("start_utc")), _when(row.get("end_utc"))
    if kind == IDENTITY_CHANGE:
        word = _FIELD_WORDS.get(row.get("field"), str(row.get("field")))
        return (f"{who} changed its {word} from \"{row.get('before', '')}\" to "
                f"\"{row.get('after', '')}\" between {start} and {end} ({evidence})")
    if kind == SHARED_MMSI:
        return (f"{who} was broadcast by several ships at once from {start} to {end}, in "
                f"places no one ship could join: {evidence}")
    if kind == IMO_ON_SEVERAL_MMSI:
        return f"{who}: {evidence}"
    if kind == INVALID_IMO:
        return f"{who} broadcast a number that is no valid IMO number: {evidence}"
    if kind == INVALID_MMSI:
        return (f"{who} is no valid station identity ({_first_part(evidence)}); heard from "
                f"{start} to {end}: {evidence.split('; ', 1)[-1]}")
    return f"{who}: {kind} from {start} to {end}: {evidence}"


def _positions_at(identity: pd.DataFrame, positions: pd.DataFrame | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(lat, lon) per anomaly: its MMSI's trusted fix nearest in time to its start (NaN
    when the MMSI has no fix or the anomaly no start)."""
    n = len(identity)
    lat, lon = np.full(n, np.nan), np.full(n, np.nan)
    if positions is None or not len(positions) or not n:
        return lat, lon
    pos = usable_positions(positions[positions["mmsi"].isin(identity["mmsi"].unique())])
    if not len(pos):
        return lat, lon
    fixes = pd.DataFrame({"mmsi": pos["mmsi"].to_numpy(dtype=np.int64),
                          "t": pd.to_datetime(pos["timestamp"], utc=True).dt.as_unit("ns"),
                          "lat": pos["lat"].to_numpy(dtype=np.float64),
                          "lon": pos["lon"].to_numpy(dtype=np.float64)}).sort_values("t")
    want = pd.DataFrame({"row": np.arange(n), "mmsi": identity["mmsi"].to_numpy(dtype=np.int64),
                         "t": pd.to_datetime(identity["start_utc"], utc=True).dt.as_unit("ns")})
    want = want[want["t"].notna()].sort_values("t", kind="mergesort")
    if not len(want):
        return lat, lon
    got = pd.merge_asof(want, fixes, on="t", by="mmsi", direction="nearest")
    rows = got["row"].to_numpy()
    lat[rows] = got["lat"].to_numpy(dtype=np.float64)
    lon[rows] = got["lon"].to_numpy(dtype=np.float64)
    return lat, lon


def identity_alerts(identity: pd.DataFrame | None, *, positions: pd.DataFrame | None = None,
                    names: Mapping[int, str] | None = None) -> pd.DataFrame:
    """One ``identity`` alert per row of ``identity`` (the identity table of
    :func:`detectors.identity.find_identity_anomalies`), in the alert table's columns and
    order. ``positions``: where each MMSI was (the alert's lat/lon); ``names``: mmsi ->
    vessel name."""
    if identity is None or not len(identity):
        return alert_frame([])
    names = names or {}
    lat, lon = _positions_at(identity, positions)
    rows = []
    for i, r in enumerate(identity.to_dict("records")):
        mmsi = int(r["mmsi"])
        name = names.get(mmsi, "") or ""
        imo = r.get("imo")
        imo = None if imo is None or pd.isna(imo) else int(imo)
        rows.append(alert_row(KIND, mmsi, name, imo, r["start_utc"], r["end_utc"], lat[i],
                              lon[i], identity_score(r["kind"], r.get("field") or ""),
                              summary(r, name), [r["identity_id"]], track=0))
    return alert_frame(rows)


__all__ = ["KIND", "identity_alerts", "identity_score", "summary"]
