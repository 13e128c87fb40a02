"""Dark periods: a vessel not received for longer than ``gap_hours``.

Definition (DESIGN.md, contract): a dark period is two consecutive positions of a vessel
more than ``gap_hours`` [6] apart, strictly (a gap of exactly ``gap_hours`` is not one).
A vessel silent from its last position to the end of the data (``data_end``: by default
the latest timestamp of the whole positions frame, every vessel and spoofed rows
included, since they too show the feed was running) by more than ``gap_hours`` has an
**open** dark period: ``end_utc`` empty, ``hours`` counted up to ``data_end``, no end
fix, distance, speed or reachable ports (the end of the silence is unknown).

Each record holds:

- the bounding positions, ``distance_nm`` (haversine, :mod:`ports._geo`) and
  ``implied_speed_kn`` (distance / hours);
- ``others_received``: how many **other** vessels had a position within
  ``reception_radius_nm`` [20] of the start fix or of the end fix received strictly
  between the gap's start and end (up to and including ``data_end`` for an open gap).
  Many means the receivers were working there and the vessel, not the coverage, went
  quiet; 0 means the silence proves nothing (REFERENCE.md, coverage caveat: Najin is
  beyond shore-based range). Spoofed positions do not count;
- ``possible_port_calls``: every registry port P, other than the ports the gap starts or
  ends in, with ``distance(start, P) + distance(P, end) <= reach_speed_kn * (hours -
  min_dwell_minutes / 60)`` (DESIGN.md), ``;``-separated in registry order. Distances to
  a port are :meth:`ports.PortRegistry.distance_nm`: to the nearest edge of the polygon
  (0 inside), in the local equirectangular projection of :mod:`ports._geo`;
- ``own_messages``: the vessel's **own** messages received strictly between the gap's
  start and end (up to and including ``data_end`` for an open gap) that carry no
  usable position: static reports (types 5, 19, 24) and position reports whose
  position is "not available" (lat 91 / lon 181). More than 0 means the transponder
  was on and the positions were withheld: the vessel did not switch AIS off. Spoofed
  positions do not count (they may be another ship's). The caller gives these
  messages (:func:`messages_without_position`); none given counts 0.
  ``own_first_utc`` / ``own_last_utc``: the first and last of them (empty when none):
  a static report heard minutes after the last position and then silence is a
  switch-off a few minutes late, not days of withheld positions;
- ``start_port`` / ``end_port``: the port whose polygon holds the bounding fix ("" at
  sea), ``open``: the gap is still open.

Rows without a position or a time, and rows flagged ``spoofed`` by
:mod:`detectors.cleaning`, are left out. A vessel is an (mmsi, track): the ships of a
shared MMSI (:mod:`detectors.identity_tracks`) each have their own dark periods, one
ship's fixes never end another's silence, each counts the others among
``others_received``, and ``own_messages`` counts the messages labelled with its track
(``track`` column of the messages; none: track 0). Defaults: ``gap_hours`` 6 is the GFW gap
threshold and Skylight's "potential dark activity" (REFERENCE.md); ``reception_radius_nm``
20 is about the range of a shore station to a ship's antenna, so a vessel received within
it could have been heard at the dark vessel's position too; ``reach_speed_kn`` 15 and
``min_dwell_minutes`` 60 are DESIGN.md's (a cargo ship's service speed; the shortest
port visit).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from detectors._frames import (check_non_negative, epoch_seconds, tracks_of, usable_positions,
                               utc_ns, vessel_keys, vessel_slices, with_track)
from detectors import _dark_periods_kernel as _k
from ports._geo import haversine_nm_array
from detectors._ids import event_id
from detectors.columns import DARK_PERIOD_TABLE as COLUMNS


@dataclasses.dataclass(frozen=True, kw_only=True)
class DarkPeriodParams:
    """Thresholds of the dark-period detector (units in the names)."""

    gap_hours: float = 6.0
    reception_radius_nm: float = 20.0
    reach_speed_kn: float = 15.0
    min_dwell_minutes: float = 60.0

    def __post_init__(self):
        check_non_negative(self, ("gap_hours", "reception_radius_nm", "reach_speed_kn",
                                  "min_dwell_minutes"))
        if self.gap_hours == 0:
            raise ConfigError(None, "gap_hours = 0 would make every interval a dark period",
                              "set gap_hours to a positive number of hours (default 6)")


def empty_gaps() -> pd.DataFrame:
    cols = {c: pd.Series([], dtype="float64") for c in COLUMNS}
    for c in ("gap_id", "name", "possible_port_calls", "start_port", "end_port"):
        cols[c] = pd.Series([], dtype=object)
    cols["mmsi"] = pd.Series([], dtype="int64")
    cols["track"] = pd.Series([], dtype="int64")
    cols["others_received"] = pd.Series([], dtype="int64")
    cols["own_messages"] = pd.Series([], dtype="int64")
    cols["start_utc"] = pd.Series([], dtype="datetime64[ns, UTC]")
    cols["end_utc"] = pd.Series([], dtype="datetime64[ns, UTC]")
    cols["own_first_utc"] = pd.Series([], dtype="datetime64[ns, UTC]")
    cols["own_last_utc"] = pd.Series([], dtype="datetime64[ns, UTC]")
    cols["open"] = pd.Series([], dtype=bool)
    return pd.DataFrame(cols)[list(COLUMNS)]


def _data_end_seconds(positions: pd.DataFrame, data_end) -> float | None:
    if data_end is not None:
        ts = pd.Timestamp(data_end)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.as_unit("ns").value / 1e9
    times = pd.to_datetime(positions["timestamp"], utc=True)
    latest = times.max() if len(times) else pd.NaT
    return None if pd.isna(latest) else pd.Timestamp(latest).as_unit("ns").value / 1e9


def messages_without_position(positions: pd.DataFrame | None,
                              statics: pd.DataFrame | None) -> pd.DataFrame:
    """``mmsi``, ``timestamp``, ``track`` of every message that says a vessel's
    transponder was on without giving a usable position: position reports with a "not
    available" (NaN) latitude or longitude, and static reports. ``track`` is the frames'
    own column (0 when a frame has none: see
    :func:`detectors.identity_tracks.label_messages`). Rows without a time are left out;
    sorted by (mmsi, track, timestamp). Columns only: no Python object per message."""
    frames = []
    if positions is not None and len(positions):
        frames.append(positions.loc[positions["lat"].isna() | positions["lon"].isna()])
    if statics is not None and len(statics):
        frames.append(statics)
    parts = [pd.DataFrame({"mmsi": f["mmsi"].to_numpy(dtype=np.int64),
                           "timestamp": pd.to_datetime(f["timestamp"], utc=True)
                           .dt.as_unit("ns").array,
                           "track": tracks_of(f)}) for f in frames]
    if not parts:
        return pd.DataFrame({"mmsi": pd.Series([], dtype="int64"),
                             "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                             "track": pd.Series([], dtype="int64")})
    out = pd.concat(parts, ignore_index=True)
    out["timestamp"] = pd.to_datetime(out["timestamp"], utc=True).dt.as_unit("ns")
    out = out[out["timestamp"].notna()]
    return out.sort_values(["mmsi", "track", "timestamp"],
                           kind="mergesort").reset_index(drop=True)


def find_dark_periods(positions: pd.DataFrame, registry, params: DarkPeriodParams = DarkPeriodParams(),
                      names: Mapping[int, str] | None = None, *, data_end=None,
                      own_messages: pd.DataFrame | None = None) -> pd.DataFrame:
    """Dark periods of every vessel: :data:`COLUMNS`, sorted by (mmsi, start_utc).

    ``positions``: the positions frame (any row order; a ``spoofed`` column is honoured);
    ``registry``: a :class:`ports.PortRegistry`; ``names``: mmsi -> vessel name;
    ``data_end``: end of the data for open dark periods (a timestamp, naive = UTC;
    default the latest timestamp in ``positions``); ``own_messages``: the vessels'
    messages without a usable position (``mmsi``, ``timestamp``; any order), as
    :func:`messages_without_position` gives them.
    """
    if not isinstance(params, DarkPeriodParams):
        raise TypeError("params must be a DarkPeriodParams")
    end_s = _data_end_seconds(positions, data_end)
    pos = usable_positions(positions)
    if pos.empty or end_s is None:
        return empty_gaps()
    mmsi = np.ascontiguousarray(pos["mmsi"].to_numpy(dtype=np.int64))
    track = tracks_of(pos)
    lat = np.ascontiguousarray(pos["lat"].to_numpy(dtype=np.float64))
    lon = np.ascontiguousarray(pos["lon"].to_numpy(dtype=np.float64))
    t = epoch_seconds(pos["timestamp"])
    gi, gj = _k.find_gaps(t, vessel_slices(mmsi, track), params.gap_hours * 3600.0, end_s)
    if len(gi) == 0:
        return empty_gaps()
    is_open = gj < 0
    jj = np.where(is_open, gi, gj)
    lat1 = np.where(is_open, np.nan, lat[jj])
    lon1 = np.where(is_open, np.nan, lon[jj])
    t0 = t[gi]
    t1 = np.where(is_open, end_s, t[jj])
    hours = (t1 - t0) / 3600.0
    dist = haversine_nm_array(lat[gi], lon[gi], lat1, lon1)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(is_open, np.nan, dist / hours)

    msgs = _messages(own_messages)
    key, msg_key = vessel_keys((mmsi, track), (msgs["mmsi"].to_numpy(dtype=np.int64),
                                               tracks_of(msgs)))
    index = _k.ReceptionIndex(t, lat, lon, key, params.reception_radius_nm,
                              params.gap_hours * 3600.0)
    t_hi = np.where(is_open, np.nextafter(end_s, np.inf), t1)
    others = index.count_others(key[gi], lat[gi], lon[gi], lat1, lon1,
                                np.ascontiguousarray(t0), np.ascontiguousarray(t_hi))

    own, own_first, own_last = _own_messages(msg_key, epoch_seconds(msgs["timestamp"]),
                                             key[gi], t0, t_hi)

    start_port, end_port, reach = _ports(registry, lat[gi], lon[gi], lat1, lon1, hours,
                                         is_open, params)
    ts = utc_ns(pos["timestamp"])
    start_utc = ts.iloc[gi].reset_index(drop=True)
    end_utc = ts.iloc[jj].reset_index(drop=True).where(~pd.Series(is_open), pd.NaT)
    vessel = mmsi[gi]
    tracks = track[gi]
    names = names or {}
    out = pd.DataFrame({
        "gap_id": pd.Series([event_id("G", *with_track(("dark_period", int(m), int(s.value)), k))
                             for m, s, k in zip(vessel, start_utc, tracks)], dtype=object),
        "mmsi": vessel,
        "name": pd.Series([names.get(int(m), "") or "" for m in vessel], dtype=object),
        "start_utc": start_utc,
        "end_utc": end_utc,
        "hours": hours,
        "start_lat": lat[gi], "start_lon": lon[gi],
        "end_lat": lat1, "end_lon": lon1,
        "distance_nm": dist,
        "implied_speed_kn": speed,
        "others_received": others.astype(np.int64),
        "possible_port_calls": pd.Series(reach, dtype=object),
        "own_messages": own,
        "track": tracks.astype(np.int64),
        "start_port": pd.Series(start_port, dtype=object),
        "end_port": pd.Series(end_port, dtype=object),
        "open": is_open,
        "own_first_utc": _utc_seconds(own_first),
        "own_last_utc": _utc_seconds(own_last),
    })
    return out.sort_values(["mmsi", "start_utc"], kind="mergesort").reset_index(drop=True)


def count_others_received(positions: pd.DataFrame, gaps: pd.DataFrame,
                          params: DarkPeriodParams = DarkPeriodParams(), *,
                          data_end) -> np.ndarray:
    """``others_received`` of each dark period of ``gaps`` (:func:`find_dark_periods`
    rows of any vessels) counted over the vessels of ``positions`` only, the gap's own
    left out: the Dask engine counts over each partition apart (no vessel is in two) and
    adds the counts up. ``data_end``: the end of the whole data (open gaps run to it)."""
    query = _reception_query(positions, gaps, params, data_end)
    if query is None:
        return np.zeros(len(gaps), dtype=np.int64)
    index, args, _ = query
    return index.count_others(*args)


def others_received_keys(positions: pd.DataFrame, gaps: pd.DataFrame,
                         params: DarkPeriodParams = DarkPeriodParams(), *,
                         data_end) -> pd.DataFrame:
    """The vessels :func:`count_others_received` counts, as rows (``gap``: the row
    number in ``gaps``, ``mmsi``, ``track`` of the other vessel), each pair once, by
    gap. A job keeps them for an open dark period, so that the next run counts the
    union of these and the ones its new data adds (distinct vessels do not add up)."""
    empty = pd.DataFrame({"gap": pd.Series([], dtype="int64"),
                          "mmsi": pd.Series([], dtype="int64"),
                          "track": pd.Series([], dtype="int64")})
    query = _reception_query(positions, gaps, params, data_end)
    if query is None:
        return empty
    index, args, (key, mmsi, track) = query
    gap, other = index.others(*args)
    if not len(gap):
        return empty
    # the vessel keys back to (mmsi, track): keys are ordered as (mmsi, track) are
    keys, first = np.unique(key, return_index=True)
    row = first[np.searchsorted(keys, other)]
    return pd.DataFrame({"gap": gap.astype(np.int64), "mmsi": mmsi[row], "track": track[row]})


def _reception_query(positions, gaps, params, data_end):
    """(the :class:`ReceptionIndex` over ``positions``' usable rows, the gaps' query
    arguments, (the rows' vessel keys, mmsi, track)); None when nothing to count."""
    n = len(gaps)
    pos = usable_positions(positions)
    if pos.empty or n == 0:
        return None
    end_s = _data_end_seconds(positions, data_end)
    mmsi = np.ascontiguousarray(pos["mmsi"].to_numpy(dtype=np.int64))
    track = tracks_of(pos)
    key, gap_key = vessel_keys((mmsi, track),
                               (gaps["mmsi"].to_numpy(dtype=np.int64), tracks_of(gaps)))
    index = _k.ReceptionIndex(epoch_seconds(pos["timestamp"]),
                              np.ascontiguousarray(pos["lat"].to_numpy(dtype=np.float64)),
                              np.ascontiguousarray(pos["lon"].to_numpy(dtype=np.float64)),
                              key, params.reception_radius_nm, params.gap_hours * 3600.0)
    is_open = gaps["open"].to_numpy(dtype=bool)
    t_hi = np.where(is_open, np.nextafter(end_s, np.inf), epoch_seconds(gaps["end_utc"]))

    def col(name):
        return np.ascontiguousarray(gaps[name].to_numpy(dtype=np.float64))

    args = (np.ascontiguousarray(gap_key, dtype=np.int64), col("start_lat"),
            col("start_lon"), col("end_lat"), col("end_lon"),
            epoch_seconds(gaps["start_utc"]), np.ascontiguousarray(t_hi))
    return index, args, (np.asarray(key), mmsi, track)


def _utc_seconds(seconds: np.ndarray) -> pd.Series:
    """float epoch seconds (NaN: none) -> UTC datetimes, to the microsecond."""
    us = np.round(seconds * 1e6)
    return pd.Series(pd.to_datetime(us, unit="us", utc=True)).dt.as_unit("ns")


def _messages(messages: pd.DataFrame | None) -> pd.DataFrame:
    """The own messages with a time (mmsi, timestamp and track when given)."""
    if messages is None or len(messages) == 0:
        return pd.DataFrame({"mmsi": pd.Series([], dtype="int64"),
                             "timestamp": pd.Series([], dtype="datetime64[ns, UTC]")})
    cols = [c for c in ("mmsi", "timestamp", "track") if c in messages.columns]
    msgs = messages[cols]
    return msgs[msgs["timestamp"].notna()]


def _own_messages(m, t, gap_key, t_lo, t_hi):
    """(count, first, last) of the messages of each gap's vessel inside it; ``m`` the
    messages' vessel keys, ``t`` their epoch seconds."""
    if len(m) == 0:
        n = len(gap_key)
        return np.zeros(n, dtype=np.int64), np.full(n, np.nan), np.full(n, np.nan)
    order = np.lexsort((t, m))
    return _k.count_own_messages(np.ascontiguousarray(m[order]), np.ascontiguousarray(t[order]),
                                 np.ascontiguousarray(gap_key, dtype=np.int64), t_lo, t_hi)


def _ports(registry, lat0, lon0, lat1, lon1, hours, is_open, params: DarkPeriodParams):
    """(start port names, end port names, ``;``-joined reachable ports) per gap."""
    n = len(lat0)
    port_names = np.asarray(list(registry.names) + [""], dtype=object)
    if len(registry.names) == 0:
        empty = [""] * n
        return empty, empty, empty
    p0 = registry.locate(lat0, lon0)
    p1 = registry.locate(lat1, lon1)              # -1 for the NaN end of open gaps
    d0 = registry.distance_nm(lat0, lon0)
    d1 = registry.distance_nm(lat1, lon1)     # NaN rows for open gaps
    budget = params.reach_speed_kn * (hours - params.min_dwell_minutes / 60.0)
    ok = (d0 + d1) <= budget[:, None]          # NaN compares False: open gaps reach nothing
    rows = np.arange(n)
    ok[rows[p0 >= 0], p0[p0 >= 0]] = False
    ok[rows[p1 >= 0], p1[p1 >= 0]] = False
    names = list(registry.names)
    reach = [";".join(names[p] for p in np.flatnonzero(row)) for row in ok]
    return list(port_names[p0]), list(port_names[p1]), reach
