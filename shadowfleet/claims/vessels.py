"""A claim's vessels, found in the data, and how well AIS covers them in the window.

Resolution (issues 6 and 17): a vessel named by IMO is followed through every MMSI that
held that IMO inside the claim's window, [start 00:00Z, end 24:00Z]: a ship re-flagged to a
new MMSI, or whose IMO a second transmitter also sends, is evaluated over all of them, and
their events add up. An MMSI holds an IMO from its first static report of it (AIS type 5)
until it reports another IMO or, failing that, until it was last received
(:func:`detectors.identity.imo_spells`: the identity detector's rule, so a single garbled
report of an IMO among others links no MMSI to it). A vessel named by name is found
through the names broadcast within the window (types 5, 19, 24), after
:func:`~shadowfleet.claims.model.normalise_name` (case, spaces, punctuation, ``@``
padding); an MMSI stands for itself. When no MMSI held the IMO (or broadcast the name)
in the window, the rest of the data is used and the match is marked ``outside_window``.
A name-only match is ``weak``: other ships share names (REFERENCE.md lists a second
ANGARA, IMO 9124043).

Identity anomalies (``identity.csv``, :mod:`detectors.identity`) of the claim's MMSIs
that overlap the window are the claim's identity notes (:func:`identity_in_window`):
they go into its evidence and caveats. Those that put the identity itself in doubt
are *conflicts*, reported, never silently merged: a change of IMO or name, a shared
MMSI (several ships at once), an IMO also sent by another MMSI at the same time. Such an
MMSI's track may be more than one ship, so it cannot show that one named ship was
elsewhere: a vessel with a conflicting MMSI never counts as covered.

Coverage: a vessel is "received throughout the window" (DESIGN.md, the condition for
``contradicted``) when the union of its MMSIs' trusted positions (not flagged ``spoofed``)
leaves no silence longer than ``gap_hours`` touching the window, counting the silence
from the window's start to the first position when nothing was received before it, and
from the last position to the window's end when nothing was received after it, and when
no dark period of its MMSIs overlaps the window. A silence of exactly ``gap_hours`` is
not a dark period (DESIGN.md: strictly more).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from shadowfleet.claims.model import Claim, Window, normalise_name


@dataclasses.dataclass(frozen=True)
class VesselMatch:
    """One vessel a claim names, and the MMSIs it resolved to (empty: not in the data)."""

    given: str                  # "IMO 9179842", "MMSI 273123456", "name ANGARA"
    by: str                     # "imo" | "mmsi" | "name"
    key: str                    # the IMO/MMSI digits or the normalised name
    label: str                  # a display name ("" when none is known)
    mmsis: tuple[int, ...]
    weak: bool = False          # matched by name only
    outside_window: bool = False  # resolved through statics outside the window

    def describe(self) -> str:
        name = f"{self.label} ({self.given})" if self.label else self.given
        if not self.mmsis:
            return f"{name}: not found in the data"
        how = "by name only (weak)" if self.weak else f"by {self.by.upper()}"
        where = ", from static reports outside the window" if self.outside_window else ""
        return f"{name}: MMSI {', '.join(map(str, self.mmsis))} {how}{where}"


# identity anomalies that put an MMSI's identity in doubt (the others are notes only)
CONFLICT_KINDS = ("shared_mmsi", "imo_on_several_mmsi")
CONFLICT_FIELDS = ("imo", "name")


@dataclasses.dataclass(frozen=True)
class IdentityConflict:
    """An MMSI whose identity the window puts in doubt: it changed IMO or name, several
    ships broadcast it at once, or another MMSI sent its IMO at the same time.
    ``identity_ids``: the rows of ``identity.csv`` that say so."""

    mmsi: int
    imos: tuple[int, ...]
    names: tuple[str, ...]
    shared: bool = False                 # several ships broadcast the MMSI at once
    others: tuple[int, ...] = ()         # other MMSIs sending one of its IMOs at once
    identity_ids: tuple[str, ...] = ()

    def describe(self) -> str:
        parts = []
        if len(self.imos) > 1:
            parts.append("IMO " + " and ".join(map(str, self.imos)))
        if len(self.names) > 1:
            parts.append("names " + " and ".join(self.names))
        text = f"MMSI {self.mmsi}"
        if parts:
            text += f" broadcast {'; '.join(parts)} in the window (not merged)"
        if self.shared:
            text += (f"{';' if parts else ''} was broadcast by several ships at once in "
                     "the window (a shared MMSI; its ships' tracks are kept apart)")
        if self.others:
            text += (f"{';' if parts or self.shared else ''} sent its IMO while MMSI "
                     f"{', '.join(map(str, self.others))} sent it too")
        if self.identity_ids:
            text += f" ({', '.join(self.identity_ids)})"
        return text


@dataclasses.dataclass(frozen=True)
class Coverage:
    """How AIS covers one named vessel over a claim's window."""

    given: str
    mmsis: tuple[int, ...]
    n_positions: int
    first_utc: pd.Timestamp | None
    last_utc: pd.Timestamp | None
    longest_silence_hours: float
    dark_period_ids: tuple[str, ...]
    throughout: bool
    reason: str

    def describe(self) -> str:
        if not self.n_positions:
            return f"{self.given}: {self.reason}"
        span = f"{_iso(self.first_utc)} .. {_iso(self.last_utc)}"
        return (f"{self.given}: {self.n_positions} positions in the window ({span}), longest "
                f"silence {self.longest_silence_hours:.1f} h; {self.reason}")


def _iso(ts) -> str:
    return "" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%dT%H:%MZ")


def _in_window(ts: pd.Series, window: Window) -> pd.Series:
    return (ts >= window.start_utc) & (ts <= window.end_utc)


def statics_view(statics: pd.DataFrame | None) -> pd.DataFrame:
    """The statics reduced to what resolution needs (mmsi, timestamp, imo > 0 or NaN,
    normalised name ``key``, broadcast name ``raw``), sorted by (mmsi, timestamp).
    Build it once per run: names are normalised once per distinct name."""
    if statics is None or len(statics) == 0:
        return pd.DataFrame({"mmsi": pd.Series([], dtype="int64"),
                             "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
                             "imo": pd.Series([], dtype="float64"),
                             "key": pd.Series([], dtype=object),
                             "raw": pd.Series([], dtype=object)})
    if "name" in statics:
        raw = statics["name"].astype(object).where(statics["name"].notna(), "")
        keys = {u: normalise_name(u) for u in pd.unique(raw)}
        key = raw.map(keys)
    else:
        raw = key = pd.Series("", index=statics.index, dtype=object)
    view = pd.DataFrame({
        "mmsi": statics["mmsi"].astype("int64"),
        "timestamp": pd.to_datetime(statics["timestamp"], utc=True),
        "imo": pd.to_numeric(statics["imo"], errors="coerce") if "imo" in statics
        else np.nan,
        "key": key, "raw": raw})
    view.loc[~(view["imo"] > 0), "imo"] = np.nan
    return view.sort_values(["mmsi", "timestamp"], kind="mergesort",
                            na_position="first").reset_index(drop=True)


def resolve_vessels(claim: Claim, statics: pd.DataFrame | None, *,
                    view: pd.DataFrame | None = None, spells: pd.DataFrame | None = None,
                    identity: pd.DataFrame | None = None
                    ) -> tuple[list[VesselMatch], list[IdentityConflict]]:
    """The claim's named vessels with their MMSIs, and the identity conflicts among them.
    ``view``: :func:`statics_view` of ``statics``; ``spells``:
    :func:`detectors.identity.imo_spells` of them; ``identity``: the run's identity table
    (each computed from ``statics`` when not given)."""
    if view is None:
        view = statics_view(statics)
    if spells is None:
        from detectors.identity import imo_spells

        spells = imo_spells(statics)
    inside = view[_in_window(view["timestamp"], claim.window)]
    matches: list[VesselMatch] = []

    def lookup(column: str, value) -> tuple[tuple[int, ...], bool]:
        found = inside.loc[inside[column] == value, "mmsi"]
        if len(found):
            return tuple(sorted(set(int(m) for m in found.unique()))), False
        found = view.loc[view[column] == value, "mmsi"]
        return tuple(sorted(set(int(m) for m in found.unique()))), bool(len(found))

    for imo in claim.vessels.imo:
        mmsis, outside = holders(spells, int(imo), claim.window)
        label = claim.label(imo) or _display(view, inside, mmsis)
        matches.append(VesselMatch(f"IMO {imo}", "imo", str(imo), label, mmsis,
                                   outside_window=outside))
    for mmsi in claim.vessels.mmsi:
        label = claim.label(mmsi) or _display(view, inside, (int(mmsi),))
        matches.append(VesselMatch(f"MMSI {mmsi}", "mmsi", str(mmsi), label, (int(mmsi),)))
    for name in claim.vessels.names:
        key = normalise_name(name)
        mmsis, outside = lookup("key", key) if key else ((), False)
        matches.append(VesselMatch(f"name {name}", "name", key, name, mmsis, weak=True,
                                   outside_window=outside))

    if identity is None:
        from detectors.identity import find_identity_anomalies

        identity = find_identity_anomalies(None, statics)
    notes = identity_in_window(identity, {m for match in matches for m in match.mmsis},
                               claim.window)
    return matches, identity_conflicts(notes, identity)


def holders(spells: pd.DataFrame, imo: int, window: Window) -> tuple[tuple[int, ...], bool]:
    """(MMSIs that held ``imo`` in the window, False) or, when none did, (those that held
    it at any time, True)."""
    mine = spells[spells["imo"] == int(imo)]
    lo, hi = window.start_utc.value, window.end_utc.value
    inside = mine[(mine["start_ns"] <= hi) & (mine["end_ns"] >= lo)]
    if len(inside):
        return tuple(sorted(set(int(m) for m in inside["mmsi"]))), False
    return tuple(sorted(set(int(m) for m in mine["mmsi"]))), bool(len(mine))


def identity_in_window(identity: pd.DataFrame | None, mmsis, window: Window) -> pd.DataFrame:
    """The rows of the identity table about ``mmsis`` whose time overlaps the window (an
    anomaly without times, e.g. an invalid MMSI never received with a time, counts)."""
    if identity is None or not len(identity) or not mmsis:
        from detectors.identity import empty_identity

        return empty_identity()
    rows = identity[identity["mmsi"].isin(list(mmsis))]
    start = pd.to_datetime(rows["start_utc"], utc=True)
    end = pd.to_datetime(rows["end_utc"], utc=True).fillna(start)
    hit = (start.isna() | (start <= window.end_utc)) & (end.isna() | (end >= window.start_utc))
    return rows[hit].reset_index(drop=True)


def identity_conflicts(notes: pd.DataFrame, identity: pd.DataFrame | None = None
                       ) -> list[IdentityConflict]:
    """Per MMSI, the identity notes that put its identity in doubt (module doc);
    ``identity``: the whole table, where the other MMSIs of a shared IMO are found."""
    out = []
    if notes is None or not len(notes):
        return out
    doubt = notes["kind"].isin(CONFLICT_KINDS) | (
        (notes["kind"] == "identity_change") & notes["field"].isin(CONFLICT_FIELDS))
    for mmsi, rows in notes[doubt].groupby("mmsi", sort=True):
        imos: set[int] = set()
        names: list[str] = []
        others: set[int] = set()
        shared = False
        for r in rows.to_dict("records"):
            if r["kind"] == "identity_change" and r["field"] == "imo":
                imos.update(int(x) for x in (r["before"], r["after"]) if str(x).isdigit())
            elif r["kind"] == "identity_change":
                names += [x for x in (r["before"], r["after"]) if x and x not in names]
            elif r["kind"] == "shared_mmsi":
                shared = True
            else:
                others.update(_other_holders(identity if identity is not None else notes, r))
        out.append(IdentityConflict(int(mmsi), tuple(sorted(imos)), tuple(names), shared,
                                    tuple(sorted(others - {int(mmsi)})),
                                    tuple(rows["identity_id"].astype(str))))
    return out


def _other_holders(identity: pd.DataFrame, row: dict) -> set[int]:
    """The MMSIs of the ``imo_on_several_mmsi`` rows of the same IMO overlapping ``row``."""
    same = identity[(identity["kind"] == "imo_on_several_mmsi").to_numpy()
                    & identity["imo"].eq(row["imo"]).fillna(False).to_numpy(dtype=bool)
                    & (identity["start_utc"] <= row["end_utc"]).to_numpy()
                    & (identity["end_utc"] >= row["start_utc"]).to_numpy()]
    return {int(m) for m in same["mmsi"]}


def _display(view: pd.DataFrame, inside: pd.DataFrame, mmsis: tuple[int, ...]) -> str:
    """The last name one of ``mmsis`` broadcast (preferring the window), as broadcast
    without the ``@`` padding, for display; "" when none."""
    for frame in (inside, view):
        rows = frame[frame["mmsi"].isin(list(mmsis)) & frame["key"].astype(bool)]
        if len(rows):
            return " ".join(str(rows["raw"].iloc[-1]).split("@", 1)[0].split())
    return ""


def coverage(match: VesselMatch, window: Window, *, positions: pd.DataFrame | None,
             dark_periods: pd.DataFrame | None, gap_hours: float,
             conflicts: list[IdentityConflict] = ()) -> Coverage:
    """Whether AIS accounts for the vessel's whole time in the window (see module doc)."""
    given = f"{match.label} ({match.given})" if match.label else match.given
    if not match.mmsis:
        return Coverage(given, (), 0, None, None, float("nan"), (), False, "not found in the data")
    times = _times(positions, match.mmsis)
    start, end = window.start_utc, window.end_utc
    in_window = times[(times >= start) & (times <= end)]
    gaps = _overlapping_gaps(dark_periods, match.mmsis, window)
    if not len(times) or not len(in_window) and not (len(times[times < start])
                                                     and len(times[times > end])):
        return Coverage(given, match.mmsis, 0, None, None, window.days * 24.0, gaps, False,
                        "no position received in the window")
    before = times[times <= start]
    after = times[times >= end]
    points = [before.iloc[-1] if len(before) else start]
    points += list(times[(times > start) & (times < end)])
    points.append(after.iloc[0] if len(after) else end)
    diffs = np.diff(np.array([p.value for p in points], dtype=np.int64)) / 3.6e12
    longest = float(diffs.max()) if len(diffs) else 0.0
    conflicting = [c for c in conflicts if c.mmsi in match.mmsis]
    first = in_window.iloc[0] if len(in_window) else None
    last = in_window.iloc[-1] if len(in_window) else None
    if conflicting:
        reason = "identity uncertain: " + "; ".join(c.describe() for c in conflicting)
        ok = False
    elif gaps:
        reason = f"dark period {', '.join(gaps)} in the window"
        ok = False
    elif longest > gap_hours:
        reason = f"silent for {longest:.1f} h (> {gap_hours:g} h) in the window"
        ok = False
    else:
        reason = "received throughout the window with no dark period"
        ok = True
    return Coverage(given, match.mmsis, int(len(in_window)), first, last, longest, gaps, ok,
                    reason)


def _times(positions: pd.DataFrame | None, mmsis: tuple[int, ...]) -> pd.Series:
    if positions is None or len(positions) == 0:
        return pd.Series([], dtype="datetime64[ns, UTC]")
    mask = positions["mmsi"].isin(list(mmsis))
    if "spoofed" in positions:
        mask &= ~positions["spoofed"].fillna(False).astype(bool)
    ts = pd.to_datetime(positions.loc[mask, "timestamp"], utc=True).dropna()
    return ts.sort_values(kind="mergesort").reset_index(drop=True)


def _overlapping_gaps(dark_periods: pd.DataFrame | None, mmsis: tuple[int, ...],
                      window: Window) -> tuple[str, ...]:
    if dark_periods is None or len(dark_periods) == 0:
        return ()
    g = dark_periods[dark_periods["mmsi"].isin(list(mmsis))]
    if not len(g):
        return ()
    start = pd.to_datetime(g["start_utc"], utc=True)
    end = pd.to_datetime(g["end_utc"], utc=True)
    hit = (start < window.end_utc) & (end.isna() | (end > window.start_utc))
    return tuple(str(i) for i in g.loc[hit, "gap_id"])


def coverage_positions(positions: pd.DataFrame, start: pd.Timestamp,
                       end: pd.Timestamp) -> pd.DataFrame:
    """The rows of ``positions`` a claim with the window [``start``, ``end``] consults
    (:func:`coverage`, the spoofing caveat): every row inside the window, and of each
    vessel the last trusted position (not ``spoofed``) before ``start`` and the first one
    after ``end`` (the silences that touch the window; every trusted row at that time). Evaluating a claim on these rows
    gives what it gives on all of them; a job or a Dask run reads no more."""
    if not len(positions):
        return positions
    ts = pd.to_datetime(positions["timestamp"], utc=True)
    inside = ((ts >= start) & (ts <= end)).to_numpy()
    trusted = ts.notna().to_numpy().copy()
    if "spoofed" in positions:
        trusted &= ~positions["spoofed"].fillna(False).astype(bool).to_numpy()
    keep = inside.copy()
    mmsi = positions["mmsi"].to_numpy(dtype=np.int64)
    ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    for side, nearest in (((ts < start).to_numpy(), "max"), ((ts > end).to_numpy(), "min")):
        pick = np.flatnonzero(side & trusted)
        if len(pick):
            at = pd.Series(ns[pick]).groupby(mmsi[pick]).transform(nearest).to_numpy()
            keep[pick[ns[pick] == at]] = True       # every row at that time (ties)
    return positions.loc[keep]
