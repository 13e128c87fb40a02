"""CSV and Parquet writers for the contract tables.

CSV rules (DESIGN.md, "Output files"):
- times as UTC ISO-8601 with ``Z`` (``2023-09-07T12:00:00Z``), empty when missing;
- numbers as numbers;
- every text value that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return
  gets a leading ``'``: names and destinations are free text from the air and these files
  are opened in spreadsheets (OWASP "CSV injection").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from shadowfleet.outputs.files import atomic_path

_DANGEROUS_FIRST = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Prefix a text value that a spreadsheet would run as a formula with ``'``."""
    if isinstance(value, str) and value.startswith(_DANGEROUS_FIRST):
        return "'" + value
    return value


def format_utc(values: pd.Series) -> pd.Series:
    """Datetimes -> ``YYYY-MM-DDTHH:MM:SSZ`` strings (fractional seconds kept when present);
    NaT -> empty."""
    ts = pd.to_datetime(values, utc=True)
    valid = ts.dropna()
    has_fraction = bool(((valid.dt.microsecond != 0) | (valid.dt.nanosecond != 0)).any())
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if has_fraction else "%Y-%m-%dT%H:%M:%SZ"
    out = ts.dt.strftime(fmt)
    return out.astype(object).where(ts.notna(), "")


def csv_ready(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with datetimes formatted and text neutralised; numbers untouched."""
    out = pd.DataFrame(index=df.index)
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s.dtype):
            out[col] = format_utc(s)
        elif s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            # element by element into an object column: Series.map would infer a float
            # column from whole numbers beside a missing value (an IMO 9179842 written
            # as 9179842.0)
            out[col] = pd.Series([neutralise(v) for v in s.astype(object)], index=s.index,
                                 dtype=object)
        else:
            out[col] = s
    return out


def write_csv(df: pd.DataFrame, path: str | Path, columns: tuple[str, ...] | None = None) -> Path:
    """Write ``df`` (contract ``columns`` first, extras after) atomically as CSV."""
    if columns is not None:
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise ValueError(f"table for {Path(path).name} lacks columns {missing}")
        df = df[list(columns) + [c for c in df.columns if c not in columns]]
    ready = csv_ready(df)
    with atomic_path(path) as tmp:
        ready.to_csv(tmp, index=False, lineterminator="\n")
    return Path(path)


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` atomically as Parquet (pyarrow)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow")
    return Path(path)
