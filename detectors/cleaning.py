"""Cleaning of the positions frame: "not available" positions and spoofing jumps.

- A position whose latitude or longitude is "not available" (AIS lat 91 / lon 181,
  NaN after decoding) says nothing about where the vessel was: the row is dropped.
- A **spoofing jump** (DESIGN.md, contract): consecutive positions of a vessel implying
  more than ``max_speed_kn`` [50]. The later position is kept in the frame but flagged
  ``spoofed = True``; detectors leave flagged rows out of visits and dark periods.
  "Consecutive" is taken from the vessel's last trusted (unflagged) position: after an
  isolated outlier A, B*, C the jump is A -> B* and C is compared with A, so the return
  to the real track is not flagged too. Two ships sharing one MMSI thus keep the first
  ship's track and flag the second's positions.
- When ``new_track_positions`` [3] flagged positions in a row (no trusted one between
  them) follow one another at a plausible speed, they are a track and the trusted
  position before them was the odd one (a false first position such as 0 N 0 E, or a
  real relocation after a long silence that still implies too high a speed): the first
  of them stays flagged as the jump, the others are unflagged and the last becomes the
  reference. Without this a false first position would flag every real one after it
  until the implied speed from it fell below the threshold (days for 0 N 0 E).
  ``new_track_positions = 1`` gives the plain pairwise rule (every later position of an
  impossible pair is flagged).
- Positions less than ``min_jump_nm`` [1.0] from the reference are never a jump: receive
  times from different stations (clock skew, queued satellite delivery) can be off by
  up to a minute, and at ``max_speed_kn`` a minute covers 0.83 nm, so closer positions
  cannot prove an impossible speed. Time differences below one second count as one
  second (receive times have one-second resolution in most feeds), so two distinct
  positions at the same time imply a finite but huge speed.
- Rows without a receive time are kept but neither checked nor used as a reference.
- A frame with a ``track`` column (the ships of a shared MMSI,
  :mod:`detectors.identity_tracks`) is checked per (mmsi, track): one ship's fixes are
  never a jump from another's.

Defaults: ``max_speed_kn`` 50 is DESIGN.md's: four times the 12 kn REFERENCE.md times
the Najin-Dunay crossing at and twice the service speed of a fast Ro-Ro, so only a
position error, a spoofed position or two ships sharing one MMSI exceed it.
``min_jump_nm`` 1 and ``new_track_positions`` 3 are this project's choices (reasons
above). Distances are haversine nm
(:mod:`ports._geo`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from detectors._frames import (check_non_negative, epoch_seconds, tracks_of, utc_ns,
                               vessel_slices, with_track)
from ais.schema import sort_by_vessel_time
from detectors import _cleaning_kernel
from ports._geo import haversine_nm_array, implied_speed_kn
from detectors._ids import event_id
from detectors.columns import JUMP_COLUMNS

MIN_SECONDS = 1.0


@dataclasses.dataclass(frozen=True, kw_only=True)
class CleaningParams:
    """Thresholds of the spoofing-jump check (units in the names)."""

    max_speed_kn: float = 50.0
    min_jump_nm: float = 1.0
    new_track_positions: int = 3

    def __post_init__(self):
        n = self.new_track_positions
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(None, f"new_track_positions = {n!r} is not a whole number >= 1",
                              "set new_track_positions to a count of positions (default 3)")
        check_non_negative(self, ("max_speed_kn", "min_jump_nm"))
        if self.max_speed_kn == 0:
            raise ConfigError(None, "max_speed_kn = 0 would flag every move as a jump",
                              "set max_speed_kn to a positive speed in knots (default 50)")



def empty_jumps() -> pd.DataFrame:
    return pd.DataFrame({
        "jump_id": pd.Series([], dtype=object), "mmsi": pd.Series([], dtype="int64"),
        "prev_utc": pd.Series([], dtype="datetime64[ns, UTC]"),
        "utc": pd.Series([], dtype="datetime64[ns, UTC]"),
        **{c: pd.Series([], dtype="float64") for c in JUMP_COLUMNS[4:-1]},
        "track": pd.Series([], dtype="int64")})


def clean_positions(positions: pd.DataFrame, params: CleaningParams = CleaningParams(),
                    *, consume: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cleaned positions, jumps).

    ``consume``: the caller hands ``positions`` over and makes no further use of it (it
    may be left without columns): the rows are then reordered a column at a time
    (``ais.schema.sort_by_vessel_time``), which spares a second copy of the whole frame.

    The positions keep every column of the input, lose the rows without a position, gain
    the bool column ``spoofed`` and come back sorted by (mmsi, timestamp, source, line)
    with a fresh index (by (mmsi, track, timestamp, source, line) when the input has a
    ``track`` column). ``jumps`` has :data:`JUMP_COLUMNS`, one row per flagged position
    (``prev_*`` is the trusted position it jumped from), sorted by (mmsi, utc).
    """
    if not isinstance(params, CleaningParams):
        raise TypeError("params must be a CleaningParams")
    keep = positions["lat"].notna() & positions["lon"].notna()
    # no row to drop (the usual case): no copy of every column, the frame's columns are
    # shared (copy on write) and only ``spoofed`` is new
    if bool(keep.all()):
        pos = sort_by_vessel_time(positions, consume=consume)
    else:       # the selected rows are a frame of this function's own
        pos = sort_by_vessel_time(positions.loc[keep], consume=True)
    del positions
    if pos.empty:
        pos = pos.copy()
        pos["spoofed"] = pd.Series([], dtype=bool)
        return pos, empty_jumps()
    mmsi = pos["mmsi"].to_numpy(dtype=np.int64)
    track = tracks_of(pos)
    lat = np.ascontiguousarray(pos["lat"].to_numpy(dtype=np.float64))
    lon = np.ascontiguousarray(pos["lon"].to_numpy(dtype=np.float64))
    t = epoch_seconds(pos["timestamp"])
    spoofed, ref = _cleaning_kernel.run(t, lat, lon, vessel_slices(mmsi, track),
                                        params.max_speed_kn, params.min_jump_nm, MIN_SECONDS,
                                        params.new_track_positions)
    pos["spoofed"] = spoofed
    rows = np.flatnonzero(spoofed)
    if len(rows) == 0:
        return pos, empty_jumps()
    prev = ref[rows]
    ts = utc_ns(pos["timestamp"])
    utc = ts.iloc[rows].reset_index(drop=True)
    prev_utc = ts.iloc[prev].reset_index(drop=True)
    dist = haversine_nm_array(lat[prev], lon[prev], lat[rows], lon[rows])
    speed = np.array([implied_speed_kn(d, max(s, MIN_SECONDS))
                      for d, s in zip(dist, t[rows] - t[prev])], dtype=np.float64)
    ids = [event_id("J", *with_track(("spoofing_jump", int(m), int(u.value), int(p.value)), k))
           for m, u, p, k in zip(mmsi[rows], utc, prev_utc, track[rows])]
    jumps = pd.DataFrame({
        "jump_id": pd.Series(ids, dtype=object),
        "mmsi": mmsi[rows],
        "prev_utc": prev_utc,
        "utc": utc,
        "prev_lat": lat[prev], "prev_lon": lon[prev],
        "lat": lat[rows], "lon": lon[rows],
        "distance_nm": dist,
        "implied_speed_kn": speed,
        "track": track[rows],
    })
    jumps = jumps.sort_values(["mmsi", "utc"], kind="mergesort").reset_index(drop=True)
    return pos, jumps
