"""Decoded AIS tables in: MarineCadastre CSV, Danish Maritime Authority CSV, and CSV or
Parquet with the positions columns (at least mmsi, timestamp, lat, lon).

The format is found from content: Parquet by its ``PAR1`` magic, CSV by its header
(MarineCadastre: ``MMSI``, ``BaseDateTime``, ``LAT``, ``LON`` in any order; DMA: a
first line starting ``# Timestamp`` with ``MMSI``, ``Latitude``, ``Longitude``).

Values follow ``ais.decoding.fields``: lat 91 / lon 181 / SOG 102.3 / heading >= 360 -> NaN; COG
outside [0, 360) -> NaN (MarineCadastre carries negative courses, which AIS cannot send);
other out-of-range positions, and rows whose MMSI, time or coordinates do not parse,
are rejects. ``msg_type`` is 0 (a decoded table does not say which message a row came
from), ``source`` the file name, ``line`` the row's line in the file; a positions table
that has ``msg_type``, ``source`` or ``line`` columns (shadowfleet's own
positions.parquet) keeps them. Empty coordinates are "not available" (NaN); an empty
time is kept as NaT (no receive time), one that does not parse is a reject. Statics: one row
per distinct (vessel, name, IMO, call sign, type, dimensions, destination), at its first row.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from ais import reasons
from ais.decoding import fields
from ais.tables.decoded import Decoded
from ais.errors import InputError
from ais.tables.frames import to_epoch

__all__ = ["sniff", "read_table"]

MARINECADASTRE = "marinecadastre"
DMA = "dma"
POSITIONS_CSV = "positions_csv"
PARQUET = "parquet"


def sniff(head: bytes, gz: bool = False) -> str | None:
    """The table kind of a file from its first bytes (decompressed), or None (NMEA)."""
    if head[:4] == b"PAR1":
        return PARQUET
    first = head.split(b"\n", 1)[0].strip().lstrip(b"\xef\xbb\xbf").decode("utf-8", "replace")
    cols = [c.strip() for c in first.split(",")]
    if {"MMSI", "BaseDateTime", "LAT", "LON"} <= set(cols):
        return MARINECADASTRE
    if first.startswith("# Timestamp") and {"MMSI", "Latitude", "Longitude"} <= set(cols):
        return DMA
    if {"mmsi", "timestamp", "lat", "lon"} <= {c.lower() for c in cols}:
        return POSITIONS_CSV
    return None


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)


def _txt(s: pd.Series | None, n: int) -> np.ndarray:
    """Text column -> object array of str, None for empty / "Unknown" / missing."""
    if s is None:
        return np.full(n, None, dtype=object)
    t = s.astype("string").str.strip()
    missing = (t.isna() | (t == "") | t.str.lower().isin(["unknown", "undefined", "nan"])).to_numpy(dtype=bool)
    out = t.astype(object).to_numpy().copy()
    out[missing] = None
    return out


def _unparseable(s: pd.Series | None, values: np.ndarray) -> np.ndarray:
    """Cells holding text that is not a number (empty cells are "not available")."""
    if s is None or not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
        return np.zeros(len(values), dtype=bool)
    present = s.astype("string").str.strip().fillna("").ne("").to_numpy(dtype=bool)
    return present & np.isnan(values)


def read_table(name: str, data: bytes, kind: str) -> Decoded:
    """Decode a table file's bytes (already decompressed) of ``kind`` (see ``sniff``)."""
    try:
        if kind == PARQUET:
            df = pd.read_parquet(io.BytesIO(data))
        else:
            skip = 0
            df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False,
                             skiprows=skip, on_bad_lines="skip")
            if kind == DMA:
                df.columns = [c.lstrip("# ").strip() for c in df.columns]
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types
        raise InputError(name, f"cannot read as {kind} ({type(exc).__name__}: {exc})".replace("\n", " "),
                         "check the file is a complete table") from None
    n = len(df)
    lines = np.arange(2, n + 2, dtype=np.int64) if kind != PARQUET else np.arange(1, n + 1)
    raw_lines = data.split(b"\n")[1:] if kind != PARQUET else None
    station = Path(name).name
    if kind == MARINECADASTRE:
        c = {"mmsi": "MMSI", "time": "BaseDateTime", "lat": "LAT", "lon": "LON", "sog": "SOG",
             "cog": "COG", "heading": "Heading", "name": "VesselName", "imo": "IMO",
             "callsign": "CallSign", "ship_type": "VesselType", "length": "Length",
             "beam": "Width", "draught": "Draft", "destination": None, "eta": None}
        dayfirst = False
    elif kind == DMA:
        c = {"mmsi": "MMSI", "time": "Timestamp", "lat": "Latitude", "lon": "Longitude",
             "sog": "SOG", "cog": "COG", "heading": "Heading", "name": "Name", "imo": "IMO",
             "callsign": "Callsign", "ship_type": "Ship type", "length": "Length",
             "beam": "Width", "draught": "Draught", "destination": "Destination", "eta": "ETA"}
        dayfirst = True
    else:
        lower = {col.lower(): col for col in df.columns}
        c = {k: lower.get(k) for k in ("mmsi", "lat", "lon", "sog", "cog", "heading")}
        c.update(time=lower["timestamp"], name=None, imo=None, callsign=None, ship_type=None,
                 length=None, beam=None, draught=None, destination=None, eta=None)
        dayfirst = False

    def col(key):
        return df[c[key]] if c.get(key) is not None and c[key] in df.columns else None

    def nums(key):
        s = col(key)
        return _num(s) if s is not None else np.full(n, np.nan)

    mmsi = nums("mmsi")
    ts = col("time")
    if ts is not None and pd.api.types.is_datetime64_any_dtype(ts.dtype):
        t = to_epoch(ts)
    else:
        parsed = pd.to_datetime(ts.astype(str), utc=True, errors="coerce", dayfirst=dayfirst,
                                format="mixed")
        t = to_epoch(parsed)
    lat, lon, sog, cog, heading = (nums(k) for k in ("lat", "lon", "sog", "cog", "heading"))
    reason = np.full(n, None, dtype=object)
    time_bad = np.zeros(n, dtype=bool)
    if not pd.api.types.is_datetime64_any_dtype(ts.dtype):
        present = ts.astype("string").str.strip().fillna("").ne("").to_numpy(dtype=bool)
        time_bad = present & np.isnan(t)
    bad = (np.isnan(mmsi) | (mmsi != np.floor(mmsi)) | time_bad
           | _unparseable(col("lat"), lat) | _unparseable(col("lon"), lon))
    reason[bad] = reasons.BAD_ROW
    lat = np.where(lat == fields.LAT_NOT_AVAILABLE, np.nan, lat)
    lon = np.where(lon == fields.LON_NOT_AVAILABLE, np.nan, lon)
    reason[(reason == None) & (np.abs(lat) > 90)] = reasons.LAT_OUT_OF_RANGE  # noqa: E711
    reason[(reason == None) & (np.abs(lon) > 180)] = reasons.LON_OUT_OF_RANGE  # noqa: E711
    sog = np.where(sog == fields.SOG_NOT_AVAILABLE, np.nan, sog)
    cog = np.where((cog < 0) | (cog >= fields.COG_LIMIT), np.nan, cog)
    heading = np.where(heading >= fields.HEADING_LIMIT, np.nan, heading)
    ok = reason == None  # noqa: E711
    from ais.tables.frames import positions_frame, statics_frame

    idx = np.flatnonzero(ok)
    msg_type = np.zeros(n, dtype=np.int64)
    source = np.full(n, station, dtype=object)
    if kind in (POSITIONS_CSV, PARQUET):      # a positions table written by shadowfleet keeps these
        lower = {c_.lower(): c_ for c_ in df.columns}
        if "msg_type" in lower:
            mt = _num(df[lower["msg_type"]])
            msg_type = np.where(np.isnan(mt), 0, mt).astype(np.int64)
        if "source" in lower:
            src = _txt(df[lower["source"]], n)
            source = np.where(pd.isna(src), station, src).astype(object)
        if "line" in lower:
            ln = _num(df[lower["line"]])
            lines = np.where(np.isnan(ln), lines, ln).astype(np.int64)
    positions = positions_frame(
        mmsi=mmsi[idx].astype(np.int64), time=t[idx], lat=lat[idx], lon=lon[idx], sog=sog[idx],
        cog=cog[idx], heading=heading[idx], msg_type=msg_type[idx],
        source=source[idx], line=lines[idx])
    statics = _statics(col, nums, n, ok, mmsi, t, station, lines, statics_frame)
    bad_idx = np.flatnonzero(~ok)
    texts = []
    for i in bad_idx:
        if raw_lines is not None and i < len(raw_lines):
            texts.append(reasons.reject_text(raw_lines[i].rstrip(b"\r")))
        else:
            texts.append(",".join(str(v) for v in df.iloc[i].tolist())[:200])
    rejects = pd.DataFrame({"source": pd.Series([name] * len(bad_idx), dtype=object),
                            "line": lines[bad_idx].astype(np.int64),
                            "reason": pd.Series(reason[bad_idx], dtype=object),
                            "text": pd.Series(texts, dtype=object)})
    return Decoded(positions, statics, rejects,
                   {"lines_read": n, "messages": n, "no_receive_time": int(np.isnan(t[idx]).sum())},
                   {0: int(ok.sum())} if ok.any() else {})


def _statics(col, nums, n, ok, mmsi, t, station, lines, statics_frame):
    name_s = col("name")
    if name_s is None and col("imo") is None and col("callsign") is None:
        return statics_frame(**{k: [] for k in ("mmsi", "time", "imo", "name", "callsign",
                                                "ship_type", "length", "beam", "draught",
                                                "destination", "eta", "msg_type", "source",
                                                "line")})
    imo_s = col("imo")
    imo = (_num(imo_s.astype(str).str.replace("IMO", "", regex=False)) if imo_s is not None
           else np.full(n, np.nan))
    imo = np.where(imo > 0, imo, np.nan)
    ship_type = nums("ship_type")
    ship_type = np.where(ship_type > 0, ship_type, np.nan)
    length, beam, draught = (np.where(v > 0, v, np.nan) for v in (nums("length"), nums("beam"),
                                                                   nums("draught")))
    names, calls, dest = _txt(name_s, n), _txt(col("callsign"), n), _txt(col("destination"), n)
    eta_raw = col("eta")
    eta = np.empty(n, dtype=object)
    if eta_raw is not None:
        parsed = pd.to_datetime(eta_raw.astype(str), errors="coerce", dayfirst=True, format="mixed")
        good = parsed.notna().to_numpy()
        eta[good] = parsed[good].dt.strftime("%m-%d %H:%M").to_numpy()
    frame = pd.DataFrame({"mmsi": mmsi, "imo": imo, "name": names, "callsign": calls,
                          "ship_type": ship_type, "length": length, "beam": beam,
                          "draught": draught, "destination": dest, "eta": eta})
    has = ok & (pd.notna(frame[["imo", "name", "callsign"]]).any(axis=1).to_numpy())
    keyed = frame[["mmsi", "imo", "name", "callsign", "ship_type", "length", "beam", "draught",
                   "destination"]].astype(str)
    changed = has & ~keyed.duplicated().to_numpy()
    idx = np.flatnonzero(changed)
    sub = frame.iloc[idx]
    return statics_frame(
        mmsi=mmsi[idx].astype(np.int64), time=t[idx], imo=sub["imo"].to_numpy(),
        name=sub["name"].tolist(), callsign=sub["callsign"].tolist(),
        ship_type=sub["ship_type"].to_numpy(), length=sub["length"].to_numpy(),
        beam=sub["beam"].to_numpy(), draught=sub["draught"].to_numpy(),
        destination=sub["destination"].tolist(), eta=sub["eta"].tolist(),
        msg_type=np.zeros(len(idx), dtype=np.int64), source=[station] * len(idx),
        line=lines[idx])
