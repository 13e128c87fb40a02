"""Caveats of a claim's verdict: identity, reception and inference, computed from the
run's data and port registry, never written for one port (DESIGN.md, "Claims file").

Reception (REFERENCE.md, coverage caveat): a dark period during which no other vessel
was received within ``reception_radius_nm`` of its start or end fix
(``others_received`` = 0) proves nothing about the transponder: the receivers may not
have covered the place. The caveat says how far the nearest receiving evidence was,
measured in these data:

- where the dark period began and ended, against the run's registry (in a port, or so
  many nm from the nearest one);
- the nearest position of any other vessel received while it lasted (strictly between
  its start and end, to the end of the data when it is open; spoofed positions left
  out), its distance from the nearer bounding fix and where it was;
- when no other vessel was received anywhere while it lasted, that (the feed itself may
  have stopped) and the nearest position another vessel ever had in the data.

A dark period with ``own_messages`` > 0 (the vessel's own messages without a usable
position received while it lasted) is *positions withheld*: its transponder was on, and
the caveat says so instead.

Identity: every identity anomaly of the claim's vessels in the window (``identity.csv``)
is a caveat of its own, in the words of its alert (what changed, which MMSI, which IMO),
with its ``identity_id``; an MMSI whose identity they put in doubt gets one more caveat
saying its track may be more than one ship.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from ports._geo import haversine_nm_array
from shadowfleet.claims.model import Claim
from shadowfleet.claims.vessels import IdentityConflict, VesselMatch

MAX_GAPS_DESCRIBED = 6   # a claim resting on more silent dark periods lists the rest by id


class ReceptionIndex:
    """Every trusted position of the run in receive-time order: what was received, where,
    while a dark period lasted. Built once per evaluation, on first use."""

    def __init__(self, positions: pd.DataFrame | None):
        if positions is None or not len(positions):
            self.t = np.zeros(0, dtype=np.int64)
            self.mmsi = np.zeros(0, dtype=np.int64)
            self.lat = self.lon = np.zeros(0, dtype=np.float64)
            return
        keep = positions["lat"].notna() & positions["lon"].notna() & \
            positions["timestamp"].notna()
        if "spoofed" in positions:
            keep &= ~positions["spoofed"].fillna(False).astype(bool)
        frame = positions.loc[keep, ["mmsi", "timestamp", "lat", "lon"]]
        t = pd.to_datetime(frame["timestamp"], utc=True)
        t = ((t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(1, "ns")).to_numpy(np.int64)
        order = np.argsort(t, kind="stable")
        self.t = t[order]
        self.mmsi = frame["mmsi"].to_numpy(dtype=np.int64)[order]
        self.lat = np.ascontiguousarray(frame["lat"].to_numpy(dtype=np.float64)[order])
        self.lon = np.ascontiguousarray(frame["lon"].to_numpy(dtype=np.float64)[order])

    def __len__(self) -> int:
        return len(self.t)

    def nearest(self, own_mmsi: int, points: list[tuple[float, float]],
                start: pd.Timestamp | None = None, end: pd.Timestamp | None = None):
        """(distance nm, lat, lon) of the position of another vessel nearest to any of
        ``points``, received strictly between ``start`` and ``end`` (None: no bound);
        None when there is none."""
        best = self.best(own_mmsi, points, start, end)
        return None if best is None else (best[0], best[3], best[4])

    def best(self, own_mmsi: int, points: list[tuple[float, float]],
             start: pd.Timestamp | None = None, end: pd.Timestamp | None = None):
        """:meth:`nearest` as (distance nm, receive time ns, mmsi, lat, lon): of equally
        near positions, the first received (then the lowest MMSI), as :meth:`nearest` picks."""
        lo = 0 if start is None else int(np.searchsorted(self.t, start.value, side="right"))
        hi = len(self.t) if end is None else int(np.searchsorted(self.t, end.value, side="left"))
        if hi <= lo or not points:
            return None
        sel = np.flatnonzero(self.mmsi[lo:hi] != own_mmsi) + lo
        if not len(sel):
            return None
        lat, lon = self.lat[sel], self.lon[sel]
        best = np.full(len(sel), np.inf)
        for p_lat, p_lon in points:
            d = haversine_nm_array(np.full(len(sel), p_lat), np.full(len(sel), p_lon), lat, lon)
            best = np.minimum(best, d)
        k = int(np.argmin(best))
        return (float(best[k]), int(self.t[sel[k]]), int(self.mmsi[sel[k]]), float(lat[k]),
                float(lon[k]))

    @property
    def end(self) -> pd.Timestamp | None:
        """The last receive time of the data (an open dark period lasts until then)."""
        return pd.Timestamp(int(self.t[-1]), tz="UTC") if len(self.t) else None


class PartitionedReception:
    """The :class:`ReceptionIndex` of a run whose positions stay in partitions (each vessel
    in one; the Dask engine's, or a job's archive and tails): ``parts(start=, end=)``
    gives each partition's positions in turn, a search runs on one partition at a time and
    the nearest of theirs is kept (equally near: the first received, then the lowest
    MMSI, as one index over all picks), so no more than one partition's positions are
    held at once. Given a window, ``parts`` may leave out every partition (and row) with
    no position received strictly between ``start`` and ``end`` (a job's archive opens
    only the chunks the window overlaps). ``size()``, when given, is the number of trusted
    positions and the last receive time of one (:meth:`ReceptionIndex.end`), known
    without reading every partition; otherwise they are counted on first use."""

    def __init__(self, parts: Callable[..., Iterable[pd.DataFrame]], *,
                 size: Callable[[], tuple[int, pd.Timestamp | None]] | None = None):
        self._parts = parts
        self._size_of = size
        self._size: tuple[int, pd.Timestamp | None] | None = None

    def _sized(self) -> tuple[int, pd.Timestamp | None]:
        if self._size is None and self._size_of is not None:
            self._size = self._size_of()
        if self._size is None:
            n, end = 0, None
            for frame in self._parts(start=None, end=None):
                index = ReceptionIndex(frame)
                n += len(index)
                if len(index):
                    end = index.end if end is None else max(end, index.end)
            self._size = (n, end)
        return self._size

    def __len__(self) -> int:
        return self._sized()[0]

    @property
    def end(self) -> pd.Timestamp | None:
        return self._sized()[1]

    def nearest(self, own_mmsi: int, points: list[tuple[float, float]],
                start: pd.Timestamp | None = None, end: pd.Timestamp | None = None):
        """As :meth:`ReceptionIndex.nearest` over every partition."""
        best = None
        for frame in self._parts(start=start, end=end):
            found = ReceptionIndex(frame).best(own_mmsi, points, start, end)
            if found is not None and (best is None or found[:3] < best[:3]):
                best = found
        return None if best is None else (best[0], best[3], best[4])


def where(registry, lat: float, lon: float) -> str:
    """"in Najin" or "12.3 nm from Najin" (the nearest port of the run's registry)."""
    names = tuple(getattr(registry, "names", ()) or ())
    if not names or not hasattr(registry, "distance_nm") or np.isnan(lat) or np.isnan(lon):
        return ""
    d = np.asarray(registry.distance_nm(np.array([lat]), np.array([lon])))[0]
    if not np.isfinite(d).any():
        return ""
    k = int(np.nanargmin(d))
    return f"in {names[k]}" if d[k] <= 0.0 else f"{d[k]:.1f} nm from {names[k]}"


def _fixes(gap: dict) -> list[tuple[float, float]]:
    out = []
    for lat, lon in ((gap.get("start_lat"), gap.get("start_lon")),
                     (gap.get("end_lat"), gap.get("end_lon"))):
        if lat is not None and lon is not None and not pd.isna(lat) and not pd.isna(lon):
            out.append((float(lat), float(lon)))
    return out


def _count(value) -> int | None:
    if value is None or pd.isna(value):
        return None
    return int(value)


def reception_caveat(gap: dict, *, index: ReceptionIndex | None, registry,
                     reception_radius_nm: float) -> str:
    """The reception caveat of one dark period (see the module doc)."""
    gid = gap["gap_id"]
    own = _count(gap.get("own_messages"))
    if own:
        return (f"Reception: {own} message{'s' if own != 1 else ''} of the vessel itself "
                f"without a usable position {'were' if own != 1 else 'was'} received during "
                f"{gid}: its transponder was on, so positions were withheld (or not "
                "available), not AIS switched off.")
    fixes = _fixes(gap)
    places = []
    if fixes:
        start = where(registry, *fixes[0])
        end = where(registry, *fixes[1]) if len(fixes) > 1 else ""
        if start and end and start != end:
            places.append(f"it began {start} and ended {end}")
        elif start:
            places.append(f"it began {start}" + (" and ended there" if end else ""))
    head = (f"Reception: no other vessel was received within {reception_radius_nm:g} nm of "
            f"{gid} while it lasted" + (f" ({places[0]})" if places else ""))
    if index is None or not len(index) or not fixes:
        return (head + ", so the silence may be a lack of coverage rather than a transponder "
                "switched off.")
    start_t = gap.get("start_utc")
    end_t = gap.get("end_utc")
    if end_t is None or pd.isna(end_t):    # open: to the end of the data, included
        end_t = index.end + pd.Timedelta(1, "ns")
    own_mmsi = int(gap["mmsi"])
    during = index.nearest(own_mmsi, fixes, start_t, end_t)
    if during is not None:
        dist, lat, lon = during
        spot = where(registry, lat, lon)
        return (f"{head}; the nearest position received from another vessel meanwhile was "
                f"{dist:.1f} nm away{f' (that position {spot})' if spot else ''}, so the "
                "silence may be a lack of coverage there rather than a transponder switched "
                "off.")
    ever = index.nearest(own_mmsi, fixes)
    text = (f"{head}; no other vessel was received anywhere in the data while it lasted "
            "(the feed itself may have stopped)")
    if ever is not None:
        dist, lat, lon = ever
        spot = where(registry, lat, lon)
        text += (f", and the nearest position another vessel ever had in the data is "
                 f"{dist:.1f} nm away{f' (that position {spot})' if spot else ''}")
    return text + ": the silence proves nothing about the transponder."


def caveats(claim: Claim, verdict: str, evidence: pd.DataFrame, matches: list[VesselMatch],
            conflicts: list[IdentityConflict], positions: pd.DataFrame | None, *,
            gaps_by_id: dict[str, dict], index_of, registry,
            reception_radius_nm: float, identity: pd.DataFrame | None = None) -> list[str]:
    """Reception, identity and inference caveats that apply to this claim's verdict.
    ``index_of()`` gives the run's :class:`ReceptionIndex` (built on first call);
    ``identity``: the identity anomalies of the claim's vessels in its window."""
    out: list[str] = []
    if claim.vessels.any:
        out.append("No vessel is named: every vessel in the data counts, and the claim can "
                   "never be contradicted.")
    for m in matches:
        out += _match_caveats(m)
    for c in conflicts:
        out.append(f"Identity: {c.describe()}; its track may be more than one ship.")
    out += identity_caveats(identity, matches)
    if len(evidence):
        out += _reception(evidence, gaps_by_id, index_of, registry, reception_radius_nm)
        if (evidence["status"] == "inferred").any():
            out.append("Inferred events rest on reachability during dark periods: AIS shows "
                       "the vessel could have called, not that it did.")
    if verdict == "not_observed" and not claim.vessels.any:
        out.append("Absence from AIS is not evidence of absence: ships can sail dark.")
    if verdict != "supported":
        out += _behaviour_caveats(claim)
    spoofed = _spoofed(positions, {m for v in matches for m in v.mmsis}, claim)
    if spoofed:
        out.append(f"Spoofing: {spoofed} positions of the named vessels in the window imply "
                   "impossible speeds; they were kept out of visits and coverage.")
    return out


def _behaviour_caveats(claim: Claim) -> list[str]:
    """What an encounter or loitering count cannot see, said where a count falls short."""
    if claim.kind == "encounters":
        return ["Encounters: a meeting is seen only while both ships are received, close and "
                "slow, at sea away from every port (encounter_port_distance_nm): a transfer "
                "with either ship dark, or alongside in a port, is not counted."]
    if claim.kind == "loitering":
        return ["Loitering: a ship is seen loitering only while it is received at least every "
                "loiter_max_gap_minutes, slow and away from every port: a wait with AIS off "
                "is a dark period, not loitering."]
    return []


MAX_IDENTITY_DESCRIBED = 8   # more anomalies are listed by id


def identity_caveats(identity: pd.DataFrame | None, matches: list[VesselMatch]) -> list[str]:
    """One caveat per identity anomaly (module doc), in time order; past
    ``MAX_IDENTITY_DESCRIBED`` the rest by id."""
    from detectors.identity_alerts import summary

    if identity is None or not len(identity):
        return []
    labels = {m: v.label for v in matches for m in v.mmsis if v.label}
    rows = identity.to_dict("records")
    out = [f"Identity anomaly {r['identity_id']} ({r['kind']}): "
           f"{summary(r, labels.get(int(r['mmsi']), ''))}."
           for r in rows[:MAX_IDENTITY_DESCRIBED]]
    rest = [str(r["identity_id"]) for r in rows[MAX_IDENTITY_DESCRIBED:]]
    if rest:
        out.append(f"Identity: {len(rest)} more anomalies of the named vessels in the "
                   f"window: {', '.join(rest)}.")
    return out


def _match_caveats(m: VesselMatch) -> list[str]:
    out = []
    if not m.mmsis:
        how = ("no static report (type 5) in the data carries this IMO; AIS without "
               "type 5 cannot link a track to it" if m.by == "imo" else
               "no static report in the data carries this name")
        out.append(f"{m.describe()}: {how}.")
    elif m.weak:
        out.append(f"{m.describe()}: other ships share names; check the IMO before "
                   "relying on it.")
    elif m.by == "mmsi":
        out.append(f"{m.describe()}: MMSIs are reassigned between ships; an IMO is firmer.")
    if m.mmsis and m.outside_window:
        what = "no MMSI held this IMO" if m.by == "imo" else "no static report carries it"
        out.append(f"{m.describe()}: {what} in the window itself.")
    if len(m.mmsis) > 1:
        out.append(f"{m.given} resolved to {len(m.mmsis)} MMSIs; their events are added up.")
    return out


def _reception(evidence: pd.DataFrame, gaps_by_id: dict[str, dict], index_of, registry,
               reception_radius_nm: float) -> list[str]:
    """One caveat per dark period the evidence rests on that no other vessel was received
    near, or whose vessel was heard during it; the first ``MAX_GAPS_DESCRIBED`` in time
    order described, the rest listed."""
    ids: list[str] = []
    for text in evidence["gap_ids"]:
        for gid in str(text).split(";"):
            if gid and gid not in ids and gid in gaps_by_id and _notable(gaps_by_id[gid]):
                ids.append(gid)
    ids.sort(key=lambda g: (gaps_by_id[g]["start_utc"], g))
    if not ids:
        return []
    index = index_of()
    out = [reception_caveat(gaps_by_id[g], index=index, registry=registry,
                            reception_radius_nm=reception_radius_nm)
           for g in ids[:MAX_GAPS_DESCRIBED]]
    rest = ids[MAX_GAPS_DESCRIBED:]
    if rest:
        out.append(f"Reception: {len(rest)} more dark periods with no other vessel received "
                   f"nearby: {', '.join(rest)}.")
    return out


def _notable(gap: dict) -> bool:
    """A dark period worth a reception caveat: nobody else heard nearby, or the vessel
    itself heard."""
    own = _count(gap.get("own_messages"))
    return bool(own) or _count(gap.get("others_received")) == 0


def _spoofed(positions: pd.DataFrame | None, mmsis: Iterable[int], claim: Claim) -> int:
    mmsis = set(mmsis)
    if positions is None or not len(positions) or not mmsis or "spoofed" not in positions \
            or claim.window is None:
        return 0
    ts = pd.to_datetime(positions["timestamp"], utc=True)
    mask = (positions["mmsi"].isin(list(mmsis)) & (ts >= claim.window.start_utc)
            & (ts <= claim.window.end_utc))
    return int(positions.loc[mask, "spoofed"].fillna(False).astype(bool).sum())
