"""Shared helpers of map.html and timeline.png: vessel labels, colours, times."""

from __future__ import annotations

import pandas as pd

# Qualitative palettes: Okabe-Ito (colour-blind safe) plus purple and brown for ports, so
# the first ports of the registry (Najin, Dunay) get the most distinct colours; Tableau 20
# for vessels.
PORT_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#6A3D9A", "#56B4E9",
                "#F0E442", "#8C564B", "#000000")
VESSEL_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                  "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
DARK_COLOUR = "#444444"


def table(result, name: str) -> pd.DataFrame:
    """``result.<name>`` or an empty frame when the attribute is missing or None."""
    df = getattr(result, name, None)
    return df if isinstance(df, pd.DataFrame) else pd.DataFrame()


def _partitions(result):
    """What holds the positions of a Dask run that were not gathered into ``result``
    (``shadowfleet.scale.writer.PartitionWriter``), or None: the figures then read
    ``result.positions``."""
    source = getattr(result, "decoded_writer", None)
    return source if hasattr(source, "positions_of") else None


def position_counts(result) -> pd.Series:
    """Positions per vessel (index mmsi, in no particular order)."""
    source = _partitions(result)
    if source is not None:
        return source.position_counts()
    positions = table(result, "positions")
    if not len(positions) or "mmsi" not in positions:
        return pd.Series([], dtype="int64")
    return positions["mmsi"].value_counts(sort=False)


def positions_of(result, mmsis) -> pd.DataFrame:
    """The positions of the vessels ``mmsis`` (vessel then time order): read from the
    partitions of a Dask run, only those vessels' rows."""
    source = _partitions(result)
    if source is not None:
        return source.positions_of(mmsis)
    positions = table(result, "positions")
    if not len(positions) or "mmsi" not in positions:
        return positions
    return positions[positions["mmsi"].isin(list(mmsis))]


def position_times(result, mmsis) -> pd.DataFrame:
    """The first and last receive time (columns min, max) of each of the vessels ``mmsis``
    that has positions (index mmsi, ascending)."""
    source = _partitions(result)
    if source is not None:
        return source.position_times(mmsis)
    positions = table(result, "positions")
    if not len(positions) or "timestamp" not in positions:
        return pd.DataFrame({"min": [], "max": []})
    drawn = positions[positions["mmsi"].isin(list(mmsis))]
    return drawn.groupby("mmsi")["timestamp"].agg(["min", "max"])


def position_span(result) -> "tuple[pd.Timestamp, pd.Timestamp] | None":
    """The first and last receive time of the positions (None without any)."""
    source = _partitions(result)
    if source is not None:
        return source.position_span()
    positions = table(result, "positions")
    if "timestamp" not in positions or not len(positions):
        return None
    ts = utc(positions["timestamp"]).dropna()
    return (ts.min(), ts.max()) if len(ts) else None


def utc(values) -> pd.Series:
    """Any times (datetimes, ISO strings, empty strings) -> datetime64[ns, UTC], NaT missing."""
    s = pd.Series(values)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        s = s.replace("", None)
    return pd.to_datetime(s, utc=True, errors="coerce")


def epoch_seconds(values) -> "np.ndarray":
    """Times -> float seconds since 1970 whatever the datetime resolution (pandas 3 may
    hold microseconds, so ``astype("int64")`` is not nanoseconds)."""
    ts = utc(values)
    return ((ts - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(dtype=float)


def vessel_names(result) -> dict[int, str]:
    """mmsi -> name: the last one broadcast (statics), else the first an event table gives.
    Vectorised: an archive's statics hold millions of rows."""
    names: dict[int, str] = {}
    statics = table(result, "statics")
    if len(statics) and {"mmsi", "name"} <= set(statics.columns):
        cols = ["mmsi", "name"] + (["timestamp"] if "timestamp" in statics.columns else [])
        s = statics[cols]
        s = s.assign(name=s["name"].astype(object).where(s["name"].notna(), "")
                     .astype(str).str.strip())
        s = s[s["name"] != ""]
        if "timestamp" in s.columns:
            s = s.sort_values("timestamp", kind="mergesort", na_position="first")
        last = s.groupby("mmsi", sort=False)["name"].last()
        names = {int(m): str(n) for m, n in last.items()}
    for attr in ("port_visits", "dark_periods", "round_trips"):
        df = table(result, attr)
        if len(df) and {"mmsi", "name"} <= set(df.columns):
            e = df[["mmsi", "name"]]
            e = e[e["name"].map(lambda n: isinstance(n, str) and bool(n.strip()))]
            e = e[~e["mmsi"].astype("int64").isin(list(names))].drop_duplicates("mmsi")
            names.update({int(m): n.strip() for m, n in zip(e["mmsi"], e["name"])})
    return names


def vessel_label(mmsi: int, names: dict[int, str]) -> str:
    name = names.get(int(mmsi), "")
    return f"{name} ({mmsi})" if name else str(mmsi)


def port_order(result) -> list[str]:
    """Ports in registry order when there is a registry, else in order of appearance."""
    registry = getattr(result, "registry", None)
    seen = list(getattr(registry, "names", ()) or ())
    for attr, col in (("port_visits", "port"), ("possible_calls", "port")):
        df = table(result, attr)
        if col in df.columns:
            for p in df[col].astype(str):
                if p not in seen:
                    seen.append(p)
    return seen


def port_colours(result) -> dict[str, str]:
    return {p: PORT_COLOURS[i % len(PORT_COLOURS)] for i, p in enumerate(port_order(result))}


def gap_hours(result, default: float = 6.0) -> float:
    settings = getattr(result, "settings", None)
    gaps = getattr(settings, "gaps", None)
    return float(getattr(gaps, "gap_hours", default))


def data_of(result) -> str:
    """``simulated`` or ``real`` (:mod:`shadowfleet.provenance`) for any Result-like object."""
    from shadowfleet.provenance import data_value

    return data_value(getattr(result, "simulated_note", None))
