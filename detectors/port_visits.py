"""Port visits: a vessel's stay inside a port polygon.

Definition (DESIGN.md, contract): a port visit is a vessel's consecutive positions inside
a port polygon with at least ``min_dwell_minutes`` between the first and the last;
arrival and departure are the first and last positions inside. The state machine
(CONVENTIONS.md 6) has two stored states, at sea and in port, plus the in-port gap
checked between consecutive rows of a visit:

- at sea -> in port P: a position strictly inside P's polygon (entry uses no buffer);
- in port P stays in port while positions are inside P **or within ``exit_buffer_nm`` of
  it** (hysteresis: a vessel jittering on the polygon edge makes one visit, not a storm);
- in port P -> at sea: a position farther than ``exit_buffer_nm`` from P;
- in port P -> in port Q: a position strictly inside another port's polygon (two ports
  sharing an edge hand over at once instead of waiting for the buffer);
- two consecutive positions of a visit more than ``gap_hours`` apart (strictly more, like
  a dark period) close the visit at the earlier one; the later one starts afresh. A gap of
  exactly ``gap_hours`` keeps the visit.

A visit shorter than ``min_dwell_minutes`` (first to last position inside, ``>=``) is
dropped: a pass through the polygon is not a call. A visit still going at the vessel's
last position is emitted with ``open_at_end = True`` when it already has the minimum
dwell. Rows flagged ``spoofed`` (see :mod:`detectors.cleaning`) and rows without a
position or time are ignored. Visits are per vessel, a vessel being an (mmsi, track):
the ships of a shared MMSI (:mod:`detectors.identity_tracks`) each have their own, and
each visit says its ``track``.

Defaults: ``min_dwell_minutes`` 60 and ``gap_hours`` 6 are DESIGN.md's; ``gap_hours`` is
the GFW gap threshold (REFERENCE.md: GFW gaps >= 6 h). ``exit_buffer_nm`` 0.5 follows
GFW port events, which enter within 3 km of an anchorage and exit beyond 4 km: a
1 km (0.54 nm) band of hysteresis.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from detectors._frames import (check_non_negative, epoch_seconds, tracks_of, usable_positions,
                               utc_ns, vessel_slices, with_track)
from detectors import _port_visits_kernel
from detectors._ids import event_id
from detectors.columns import PORT_VISIT_TABLE


@dataclasses.dataclass(frozen=True, kw_only=True)
class PortVisitParams:
    """Thresholds of the port-visit state machine (units in the names)."""

    min_dwell_minutes: float = 60.0
    gap_hours: float = 6.0
    exit_buffer_nm: float = 0.5

    def __post_init__(self):
        check_non_negative(self, ("min_dwell_minutes", "gap_hours", "exit_buffer_nm"))
        if self.gap_hours == 0:
            raise ConfigError(None, "gap_hours = 0 would split every visit",
                              "set gap_hours to a positive number of hours")


def empty_visits() -> pd.DataFrame:
    return pd.DataFrame({
        "visit_id": pd.Series([], dtype=object), "mmsi": pd.Series([], dtype="int64"),
        "name": pd.Series([], dtype=object), "port": pd.Series([], dtype=object),
        "arrival_utc": pd.Series([], dtype="datetime64[ns, UTC]"),
        "departure_utc": pd.Series([], dtype="datetime64[ns, UTC]"),
        "dwell_hours": pd.Series([], dtype="float64"),
        "n_positions": pd.Series([], dtype="int64"), "track": pd.Series([], dtype="int64"),
        "call_id": pd.Series([], dtype=object),
        "open_at_end": pd.Series([], dtype=bool), "lat": pd.Series([], dtype="float64"),
        "lon": pd.Series([], dtype="float64")})[list(PORT_VISIT_TABLE)]


def find_port_visits(positions: pd.DataFrame, registry, params: PortVisitParams = PortVisitParams(),
                     names: Mapping[int, str] | None = None) -> pd.DataFrame:
    """Port visits of every vessel: :data:`detectors.columns.PORT_VISIT_TABLE`, sorted by
    (mmsi, arrival_utc).

    ``positions`` is the positions frame (any row order; a ``spoofed`` column is
    honoured); ``registry`` a :class:`ports.PortRegistry`; ``names`` maps mmsi to vessel
    name ("" when unknown).
    """
    if not isinstance(params, PortVisitParams):
        raise TypeError("params must be a PortVisitParams")
    pos = usable_positions(positions)
    if pos.empty or len(registry.names) == 0:
        return empty_visits()
    mmsi = pos["mmsi"].to_numpy(dtype=np.int64)
    track = tracks_of(pos)
    offsets = vessel_slices(mmsi, track)
    start, end, port, is_open = _port_visits_kernel.run(
        epoch_seconds(pos["timestamp"]),
        np.ascontiguousarray(pos["lat"].to_numpy(dtype=np.float64)),
        np.ascontiguousarray(pos["lon"].to_numpy(dtype=np.float64)),
        offsets, params.min_dwell_minutes * 60.0, params.gap_hours * 3600.0,
        params.exit_buffer_nm, registry.arrays)
    if len(start) == 0:
        return empty_visits()
    ts = utc_ns(pos["timestamp"])
    arrival = ts.iloc[start].reset_index(drop=True)
    departure = ts.iloc[end].reset_index(drop=True)
    vessel = mmsi[start]
    tracks = track[start]
    port_names = np.asarray(registry.names, dtype=object)[port]
    ids = [event_id("V", *with_track(("port_visit", int(m), int(a.value), p), k))
           for m, a, p, k in zip(vessel, arrival, port_names, tracks)]
    names = names or {}
    out = pd.DataFrame({
        "visit_id": pd.Series(ids, dtype=object),
        "mmsi": vessel.astype(np.int64),
        "name": pd.Series([names.get(int(m), "") or "" for m in vessel], dtype=object),
        "port": pd.Series(port_names, dtype=object),
        "arrival_utc": arrival,
        "departure_utc": departure,
        "dwell_hours": (departure - arrival).dt.total_seconds().to_numpy() / 3600.0,
        "n_positions": (end - start + 1).astype(np.int64),
        "track": tracks.astype(np.int64),
        "call_id": pd.Series(ids, dtype=object),
        "open_at_end": is_open.astype(bool),
        "lat": pos["lat"].to_numpy()[start],
        "lon": pos["lon"].to_numpy()[start],
    })
    return out[list(PORT_VISIT_TABLE)].sort_values(["mmsi", "arrival_utc"],
                                                   kind="mergesort").reset_index(drop=True)
