"""Identity anomalies of the static reports and of the MMSIs themselves.

Definitions (DESIGN.md, "Behaviour and identity detectors", contract), one row each in the
identity table (:data:`COLUMNS`, ``identity.csv``):

- ``identity_change``: an MMSI's IMO, name, call sign or ship type changes in its static
  reports (AIS types 5, 19, 24; the statics frame, which also holds the static columns of
  decoded tables): ``before``, ``after``, and when (``start_utc`` = the last report of the
  old value, ``end_utc`` = the first report of the new one; the change happened between).
- ``invalid_imo``: an IMO number whose check digit fails, or that does not have 7 digits.
  IMO 0 / missing is not invalid (AIS sends 0 for "no IMO").
- ``invalid_mmsi``: an MMSI that is not 9 digits or whose MID is not an ITU country code
  (:mod:`detectors.identity_numbers`). Base stations, groups, SAR aircraft, handhelds,
  auxiliary craft, AtoN, AIS-SART, MOB, EPIRB and AMRD ranges are recognised and not
  flagged.
- ``imo_on_several_mmsi``: one (valid) IMO broadcast by several MMSIs in overlapping
  time, one row per MMSI involved.
- ``shared_mmsi`` rows come from :mod:`detectors.identity_tracks`;
  :func:`find_identity_anomalies` merges them in.

**What counts as a value.** Empty values never count: a missing IMO (0), an empty or
all-``@`` name or call sign, ship type 0 ("not available"). Names and call signs are
compared by :func:`detectors.identity_numbers.name_key` (case, padding and punctuation
do not make a change), ship types by kind (:func:`~detectors.identity_numbers.ship_type_kind`:
a cargo ship's hazard-category digit follows its cargo). Reports without a time are left
out (they cannot be put in order). Per MMSI and field, the reports in time order form
*runs* of one value; a run **persists** when it has at least ``identity_min_reports`` [2]
reports. A row of a decoded table (``msg_type`` 0) persists by itself: ``ais`` keeps one
static row per distinct value of a table, standing for every row that repeats it.

- ``identity_change`` compares the values an MMSI *held*: its persisting runs, with
  consecutive runs of one value merged and the short runs of the value held before them
  absorbed (``MARIA`` x5, ``MAR!A``, ``MARIA``: the last report is still MARIA's). Other
  short runs are noise: a value seen once between reports of another
  (``MARIA``, ``MAR!A``, ``MARIA``) is decode or transmission noise, not a renaming; the
  evidence counts the values skipped so between two held ones. A value seen once at the
  very end of the data is not (yet) a change.
- ``invalid_imo`` and ``imo_on_several_mmsi`` use the persisting values, and also a value
  seen once when it is the only one that MMSI ever sent in that field (nothing contradicts
  it).
- An IMO *holds* from its first report until the MMSI reports another IMO, or else until
  the MMSI was last received (its last static report or position): static data is set in
  the transponder and stays until someone changes it. Two MMSIs' spells of one IMO
  overlapping by at least ``imo_min_overlap_hours`` [1] make an ``imo_on_several_mmsi``;
  a shorter overlap is a hand-over seen through receive delays (a ship re-flagged to a new
  MMSI), not two transmitters at once.

Defaults are this project's: 2 reports is the least that shows a value was meant (Class A
ships repeat type 5 every 6 minutes); 1 h of overlap is well above the minutes a
satellite feed may deliver a report late.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ais.errors import ConfigError
from ais.schema import sort_by_vessel_time
from detectors._frames import check_non_negative
from detectors._identity_rows import (COLUMNS, CONTRACT_COLUMNS, IDENTITY_CHANGE,
                                      IMO_ON_SEVERAL_MMSI, INVALID_IMO, INVALID_MMSI, KINDS,
                                      SHARED_MMSI, concat_identity, empty_identity,
                                      identity_frame)
from detectors.identity_numbers import (classify_mmsi, imo_check_digit_ok, imo_problem,
                                        name_key, ship_type_kinds)

__all__ = ["COLUMNS", "CONTRACT_COLUMNS", "KINDS", "SHARED_MMSI", "IDENTITY_CHANGE",
           "INVALID_IMO", "INVALID_MMSI", "IMO_ON_SEVERAL_MMSI", "FIELDS", "IdentityParams",
           "find_identity_anomalies", "find_identity_changes", "find_invalid_imos",
           "find_invalid_mmsis", "find_imo_on_several_mmsi", "imo_on_several_mmsi_of_spells", "empty_identity", "imo_spells",
           "vessel_imos"]

FIELDS = ("imo", "name", "callsign", "ship_type")
NAT = np.iinfo(np.int64).min


@dataclasses.dataclass(frozen=True, kw_only=True)
class IdentityParams:
    """Thresholds of the static-report anomalies (units in the names)."""

    identity_min_reports: int = 2
    imo_min_overlap_hours: float = 1.0

    def __post_init__(self):
        n = self.identity_min_reports
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(None, f"identity_min_reports = {n!r} is not a whole number >= 1",
                              "set identity_min_reports to a count of reports (default 2)")
        check_non_negative(self, ("imo_min_overlap_hours",))


def _iso(ns: int) -> str:
    return "" if ns == NAT else pd.Timestamp(int(ns), tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(ns: int):
    return pd.NaT if ns == NAT else pd.Timestamp(int(ns), tz="UTC")


def _times_ns(col: pd.Series) -> np.ndarray:
    return pd.to_datetime(col, utc=True).dt.as_unit("ns").array.asi8.copy()


def _display(value) -> str:
    """A broadcast text value as shown in ``before``/``after``: the AIS ``@`` padding and
    surrounding spaces dropped."""
    return str(value).split("@", 1)[0].strip()


@dataclasses.dataclass(frozen=True)
class _Field:
    """One static field's non-empty values in time order per MMSI: ``frame`` (mmsi, ns,
    key, shown, weight; ``key`` an int64 code of what is compared, ``shown`` an int64 code
    of what is reported) and the texts of the codes (``key_text``, ``shown_text``; None:
    the code itself is the value, as for IMOs and ship types). Integer codes keep a
    million static reports in numpy: every distinct text is worked on once."""

    field: str
    frame: pd.DataFrame
    key_text: np.ndarray | None = None
    shown_text: np.ndarray | None = None

    def key(self, code) -> str:
        return str(int(code)) if self.key_text is None else str(self.key_text[int(code)])

    def shown(self, code) -> str:
        return str(int(code)) if self.shown_text is None else str(self.shown_text[int(code)])


def _values(statics: pd.DataFrame, field: str, params: IdentityParams) -> _Field:
    """Non-empty values of ``field``: mmsi, ns, key (what is compared), shown (what is
    reported), weight (reports it stands for), in time order per MMSI (see
    :class:`_Field`)."""
    if statics is None or len(statics) == 0 or field not in statics.columns:
        return _Field(field, pd.DataFrame({c: pd.Series([], dtype="int64")
                                           for c in ("mmsi", "ns", "key", "shown", "weight")}))
    ns = _times_ns(statics["timestamp"])
    raw = statics[field]
    key_text = shown_text = None
    if field == "imo":
        v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        ok = np.isfinite(v) & (v > 0)
        key = np.where(ok, v, 0).astype(np.int64)
        shown = key
    elif field == "ship_type":
        v = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        key = ship_type_kinds(v)
        ok = key >= 0
        shown = np.where(ok, v, 0).astype(np.int64)
    else:
        # each distinct text once: a name is repeated in every report of a ship
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        keys_u = [name_key(x) for x in uniques] + [""]       # code -1 (missing): ""
        key_codes, key_text = pd.factorize(np.array(keys_u, dtype=object))
        key_text = np.asarray(key_text, dtype=object)
        shown_text = np.array([_display(x) if k else "" for x, k in zip(uniques, keys_u)]
                              + [""], dtype=object)
        key = key_codes[codes].astype(np.int64)
        shown = np.where(codes < 0, len(uniques), codes).astype(np.int64)
        ok = np.array([k != "" for k in keys_u], dtype=bool)[codes]
    ok &= ns != NAT
    weight = np.ones(len(statics), dtype=np.int64)
    if "msg_type" in statics.columns:
        table = pd.to_numeric(statics["msg_type"], errors="coerce").fillna(-1).to_numpy() == 0
        weight[table] = params.identity_min_reports
    frame = pd.DataFrame({"mmsi": statics["mmsi"].to_numpy(dtype=np.int64)[ok],
                          "timestamp": ns[ok], "key": key[ok], "shown": shown[ok],
                          "weight": weight[ok]})
    for c in ("source", "line"):
        if c in statics.columns:
            frame[c] = statics[c].to_numpy()[ok]
    # (mmsi, time, source, line) order; a frame in that order already (as ais delivers
    # statics) is not sorted again
    frame = sort_by_vessel_time(frame).rename(columns={"timestamp": "ns"})
    return _Field(field, frame[["mmsi", "ns", "key", "shown", "weight"]], key_text, shown_text)


_RUN_COLUMNS = ("mmsi", "key", "shown", "n", "first_ns", "last_ns", "run", "persists",
                "counts")


def _runs(values: pd.DataFrame, params: IdentityParams) -> pd.DataFrame:
    """Runs of one value per MMSI: mmsi, key, shown (its first spelling), n (reports),
    first_ns, last_ns, run (index in time order), persists, counts (persists, or the only
    value the MMSI sent). ``values``: the frame of a :class:`_Field`."""
    m = values["mmsi"].to_numpy(dtype=np.int64)
    k = values["key"].to_numpy(dtype=np.int64)
    if len(m) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=bool if c in ("persists", "counts")
                                          else "int64") for c in _RUN_COLUMNS})
    starts = np.flatnonzero(np.r_[True, (m[1:] != m[:-1]) | (k[1:] != k[:-1])])
    ends = np.r_[starts[1:], len(m)]
    ns = values["ns"].to_numpy(dtype=np.int64)
    rm, rk = m[starts], k[starts]
    n = np.add.reduceat(values["weight"].to_numpy(dtype=np.int64), starts)
    persists = n >= params.identity_min_reports
    # distinct values per MMSI (the runs are grouped by MMSI)
    pairs = np.unique(np.c_[rm, rk], axis=0)
    vm, per = np.unique(pairs[:, 0], return_counts=True)
    distinct = per[np.searchsorted(vm, rm)]
    return pd.DataFrame({"mmsi": rm, "key": rk,
                         "shown": values["shown"].to_numpy(dtype=np.int64)[starts],
                         "n": n, "first_ns": ns[starts], "last_ns": ns[ends - 1],
                         "run": np.arange(len(starts), dtype=np.int64),
                         "persists": persists, "counts": persists | (distinct == 1)})


def _held_values(runs: pd.DataFrame) -> pd.DataFrame:
    """The persisting values of each MMSI in time order: consecutive persisting runs of one
    value merged; a short run of the value held before it is part of it (before the first
    held value, a short run of that first value is part of it); the other short runs are
    noise (``skipped`` counts those between a held value and the one before)."""
    cols = ("mmsi", "key", "shown", "n", "first_ns", "last_ns", "skipped")
    persists = runs["persists"].to_numpy(dtype=bool)
    if not persists.any():
        return pd.DataFrame({c: pd.Series([], dtype="int64") for c in cols})
    m = runs["mmsi"].to_numpy(dtype=np.int64)
    k = runs["key"].to_numpy(dtype=np.int64)
    idx = np.arange(len(runs))
    p = idx[persists]
    new = np.r_[True, (m[p][1:] != m[p][:-1]) | (k[p][1:] != k[p][:-1])]
    group = np.full(len(runs), -1, dtype=np.int64)
    group[p] = np.cumsum(new) - 1
    prev = np.maximum.accumulate(np.where(persists, idx, -1))          # last persisting <= i
    nxt = np.minimum.accumulate(np.where(persists, idx, len(runs))[::-1])[::-1]
    # a short run of the value held before it joins that value; before the MMSI's first
    # held value, a short run of that first value joins it (group ids stay monotonic)
    jp = np.clip(prev, 0, len(runs) - 1)
    has_prev = (prev >= 0) & (m[jp] == m)
    ok = (group < 0) & has_prev & (k[jp] == k)
    group[ok] = group[jp[ok]]
    jn = np.clip(nxt, 0, len(runs) - 1)
    ok = (group < 0) & ~has_prev & (nxt < len(runs)) & (m[jn] == m) & (k[jn] == k)
    group[ok] = group[jn[ok]]
    kept = np.flatnonzero(group >= 0)        # group ids never decrease along the runs
    g = group[kept]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    first_run = kept[starts]
    last_run = kept[ends - 1]
    hm = m[first_run]
    same = np.r_[False, hm[1:] == hm[:-1]]
    skipped = np.where(same, first_run - np.r_[-1, last_run[:-1]] - 1, 0)
    return pd.DataFrame({
        "mmsi": hm, "key": k[first_run],
        "shown": runs["shown"].to_numpy(dtype=np.int64)[first_run],
        "n": np.add.reduceat(runs["n"].to_numpy(dtype=np.int64)[kept], starts),
        "first_ns": runs["first_ns"].to_numpy(dtype=np.int64)[first_run],
        "last_ns": np.maximum.reduceat(runs["last_ns"].to_numpy(dtype=np.int64)[kept], starts),
        "skipped": skipped})


def find_identity_changes(statics: pd.DataFrame, params: IdentityParams = IdentityParams(),
                          *, imos: dict | None = None) -> pd.DataFrame:
    """``identity_change`` rows: one per change of a persisting IMO, name, call sign or
    ship type of an MMSI. ``imos``: mmsi -> IMO for the rows' ``imo`` column (a change of
    IMO shows the new one)."""
    rows = []
    imos = imos or {}
    for field in FIELDS:
        values = _values(statics, field, params)
        held = _held_values(_runs(values.frame, params))
        if len(held) < 2:
            continue
        same = held["mmsi"].to_numpy()[1:] == held["mmsi"].to_numpy()[:-1]
        recs = held.to_dict("records")
        for i in np.flatnonzero(same):
            a, b = recs[i], recs[i + 1]
            m = int(a["mmsi"])
            before, after = values.shown(a["shown"]), values.shown(b["shown"])
            evidence = (f'{field} "{before}" in {a["n"]} reports {_iso(a["first_ns"])} to '
                        f'{_iso(a["last_ns"])}, then "{after}" in {b["n"]} reports from '
                        f'{_iso(b["first_ns"])}')
            if b["skipped"]:
                evidence += (f"; {b['skipped']} other value(s) seen fewer than "
                             f"{params.identity_min_reports} times in between ignored as noise")
            imo = int(b["key"]) if field == "imo" else imos.get(m)
            rows.append({"kind": IDENTITY_CHANGE, "mmsi": m, "imo": imo,
                         "start_utc": _utc(a["last_ns"]), "end_utc": _utc(b["first_ns"]),
                         "before": before, "after": after, "evidence": evidence,
                         "field": field,
                         "id_parts": (field, values.key(a["key"]), values.key(b["key"]))})
    return identity_frame(rows)


def _counted_imos(statics: pd.DataFrame, params: IdentityParams) -> pd.DataFrame:
    runs = _runs(_values(statics, "imo", params).frame, params)
    runs = runs[runs["counts"]].reset_index(drop=True)
    runs["imo"] = runs["key"].astype(np.int64)           # an IMO's code is the number
    return runs


def vessel_imos(statics: pd.DataFrame, params: IdentityParams = IdentityParams()) -> dict:
    """mmsi -> the IMO it counts as broadcasting last (see the module docstring)."""
    runs = _counted_imos(statics, params)
    if runs.empty:
        return {}
    last = runs.sort_values(["mmsi", "last_ns"], kind="mergesort").groupby("mmsi")["imo"].last()
    return {int(k): int(v) for k, v in last.items()}


def find_invalid_imos(statics: pd.DataFrame, params: IdentityParams = IdentityParams()
                      ) -> pd.DataFrame:
    """``invalid_imo`` rows: one per (MMSI, IMO broadcast) failing the IMO rule."""
    runs = _counted_imos(statics, params)
    rows = []
    if not runs.empty:
        g = runs.groupby(["mmsi", "imo"], sort=True).agg(
            n=("n", "sum"), first_ns=("first_ns", "min"), last_ns=("last_ns", "max"))
        for (m, imo), r in g.iterrows():
            problem = imo_problem(int(imo))
            if not problem:
                continue
            rows.append({"kind": INVALID_IMO, "mmsi": int(m), "imo": int(imo),
                         "start_utc": _utc(r["first_ns"]), "end_utc": _utc(r["last_ns"]),
                         "evidence": f"{problem}; {r['n']} reports {_iso(r['first_ns'])} to "
                                     f"{_iso(r['last_ns'])}",
                         "field": "imo", "id_parts": (int(imo),)})
    return identity_frame(rows)


def _last_seen(positions: pd.DataFrame | None, statics: pd.DataFrame | None) -> pd.Series:
    parts = []
    for frame in (positions, statics):
        if frame is not None and len(frame):
            parts.append(pd.DataFrame({"mmsi": frame["mmsi"].to_numpy(dtype=np.int64),
                                       "ns": _times_ns(frame["timestamp"])}))
    if not parts:
        return pd.Series([], dtype="int64")
    both = pd.concat(parts, ignore_index=True)
    both = both[both["ns"] != NAT]
    return both.groupby("mmsi")["ns"].max()


def imo_spells(statics: pd.DataFrame | None, params: IdentityParams = IdentityParams(), *,
               positions: pd.DataFrame | None = None) -> pd.DataFrame:
    """While each MMSI held each valid IMO: one row per spell (``mmsi``, ``imo``,
    ``start_ns``, ``end_ns``, int64 ns), in (mmsi, start) order. An IMO counts as in the
    module docstring (noise left out); it holds from its first report until the MMSI
    reports another IMO, or else until the MMSI was last received (``positions``, when
    given, and the statics). Claims follow a ship named by IMO through these spells
    (``shadowfleet.claims.vessels``)."""
    empty = pd.DataFrame({c: pd.Series([], dtype="int64")
                          for c in ("mmsi", "imo", "start_ns", "end_ns")})
    if statics is None or not len(statics):
        return empty
    spells = _imo_spells(statics, positions, params)
    if spells.empty:
        return empty
    return spells[["mmsi", "imo", "start_ns", "end_ns"]].astype("int64").reset_index(drop=True)


def _imo_spells(statics, positions, params) -> pd.DataFrame:
    """mmsi, imo, start_ns, end_ns: while each MMSI held each valid IMO."""
    runs = _counted_imos(statics, params)
    if runs.empty:
        return runs.assign(start_ns=[], end_ns=[])
    runs = runs.sort_values(["mmsi", "first_ns"], kind="mergesort").reset_index(drop=True)
    m = runs["mmsi"].to_numpy()
    imo = runs["imo"].to_numpy()
    new = np.r_[True, (m[1:] != m[:-1]) | (imo[1:] != imo[:-1])]
    runs["spell"] = np.cumsum(new) - 1
    spells = runs.groupby("spell", sort=True).agg(mmsi=("mmsi", "first"), imo=("imo", "first"),
                                                  start_ns=("first_ns", "min"),
                                                  last_ns=("last_ns", "max"))
    sm = spells["mmsi"].to_numpy()
    nxt = np.r_[spells["start_ns"].to_numpy()[1:], NAT]
    has_next = np.r_[sm[1:] == sm[:-1], False]
    seen = _last_seen(positions, statics)
    last = seen.reindex(sm).to_numpy(dtype=np.float64)
    last = np.where(np.isnan(last), spells["last_ns"].to_numpy(), last).astype(np.int64)
    spells["end_ns"] = np.where(has_next, nxt, np.maximum(last, spells["last_ns"].to_numpy()))
    spells = spells[[imo_check_digit_ok(int(x)) for x in spells["imo"]]]
    return spells.reset_index(drop=True)


def find_imo_on_several_mmsi(statics: pd.DataFrame, params: IdentityParams = IdentityParams(),
                             *, positions: pd.DataFrame | None = None) -> pd.DataFrame:
    """``imo_on_several_mmsi`` rows: one per (IMO, MMSI) whose spell of that IMO overlaps
    another MMSI's by at least ``imo_min_overlap_hours``. ``positions`` (optional) tells
    until when each MMSI was received."""
    return imo_on_several_mmsi_of_spells(_imo_spells(statics, positions, params), params)


def imo_on_several_mmsi_of_spells(spells: pd.DataFrame,
                                  params: IdentityParams = IdentityParams()) -> pd.DataFrame:
    """``imo_on_several_mmsi`` rows from the spells of :func:`imo_spells` (``mmsi``,
    ``imo``, ``start_ns``, ``end_ns``; any order): each MMSI's spells are its own, so the
    spells of groups of MMSIs, found apart and put together, give the rows of all."""
    spells = spells.sort_values(["mmsi", "start_ns"], kind="mergesort")
    rows = []
    min_ns = params.imo_min_overlap_hours * 3600e9
    for imo, g in spells.groupby("imo", sort=True):
        if g["mmsi"].nunique() < 2:
            continue
        found: dict[int, list] = {}
        recs = list(g.itertuples(index=False))
        for x in range(len(recs)):
            for y in range(x + 1, len(recs)):
                a, b = recs[x], recs[y]
                if a.mmsi == b.mmsi:
                    continue
                lo, hi = max(a.start_ns, b.start_ns), min(a.end_ns, b.end_ns)
                if hi - lo < min_ns or hi <= lo:
                    continue
                found.setdefault(int(a.mmsi), []).append((lo, hi, int(b.mmsi)))
                found.setdefault(int(b.mmsi), []).append((lo, hi, int(a.mmsi)))
        for m, overlaps in sorted(found.items()):
            lo = min(o[0] for o in overlaps)
            hi = max(o[1] for o in overlaps)
            others = "; ".join(f"also broadcast by MMSI {o} from {_iso(a)} to {_iso(b)} "
                               f"({(b - a) / 3600e9:.1f} h at once)"
                               for a, b, o in sorted(overlaps, key=lambda o: (o[0], o[2])))
            rows.append({"kind": IMO_ON_SEVERAL_MMSI, "mmsi": m, "imo": int(imo),
                         "start_utc": _utc(lo), "end_utc": _utc(hi),
                         "evidence": f"IMO {int(imo)} {others}", "field": "imo",
                         "id_parts": (int(imo),)})
    return identity_frame(rows)


def find_invalid_mmsis(positions: pd.DataFrame | None, statics: pd.DataFrame | None = None,
                       *, imos: dict | None = None) -> pd.DataFrame:
    """``invalid_mmsi`` rows: one per MMSI of the positions or statics that is no valid
    station identity (non-ship ranges with an allocated MID are valid)."""
    frames = [(what, frame) for what, frame in (("positions", positions),
                                                ("static reports", statics))
              if frame is not None and len(frame)]
    if not frames:
        return empty_identity()
    # each MMSI classified once; only the rows of the invalid ones are looked at again
    mmsis = np.unique(np.concatenate([f["mmsi"].to_numpy(dtype=np.int64) for _, f in frames]))
    invalid = np.array([m for m in mmsis.tolist() if not classify_mmsi(m).is_valid],
                       dtype=np.int64)
    counts = []
    for what, frame in frames:
        mm = frame["mmsi"].to_numpy(dtype=np.int64)
        keep = np.isin(mm, invalid)
        counts.append(pd.DataFrame({"mmsi": mm[keep],
                                    "ns": _times_ns(frame["timestamp"])[keep], "what": what}))
    seen = pd.concat(counts, ignore_index=True)
    imos = imos or {}
    rows = []
    for m, g in seen.groupby("mmsi", sort=True):
        info = classify_mmsi(int(m))
        if info.is_valid:
            continue
        ns = g["ns"].to_numpy()
        ns = ns[ns != NAT]
        first = int(ns.min()) if len(ns) else NAT
        last = int(ns.max()) if len(ns) else NAT
        n = g["what"].value_counts()
        tally = ", ".join(f"{int(n[w])} {w}" for w in ("positions", "static reports") if w in n)
        rows.append({"kind": INVALID_MMSI, "mmsi": int(m), "imo": imos.get(int(m)),
                     "start_utc": _utc(first), "end_utc": _utc(last),
                     "evidence": f"{info.problem}; {tally}", "field": "mmsi", "id_parts": ()})
    return identity_frame(rows)


def find_identity_anomalies(positions: pd.DataFrame | None, statics: pd.DataFrame | None,
                            params: IdentityParams = IdentityParams(), *,
                            shared: pd.DataFrame | None = None,
                            imos: dict | None = None) -> pd.DataFrame:
    """The identity table: every kind above, plus the ``shared_mmsi`` rows given in
    ``shared`` (``split_tracks(...).shared``), sorted by (mmsi, start_utc, kind, id).
    ``imos``: :func:`vessel_imos` of ``statics`` when already known."""
    if not isinstance(params, IdentityParams):
        raise TypeError("params must be an IdentityParams")
    if imos is None:
        imos = vessel_imos(statics, params) if statics is not None else {}
    parts = [find_invalid_mmsis(positions, statics, imos=imos)]
    if statics is not None and len(statics):
        parts += [find_identity_changes(statics, params, imos=imos),
                  find_invalid_imos(statics, params),
                  find_imo_on_several_mmsi(statics, params, positions=positions)]
    if shared is not None and len(shared):
        shared = shared.copy()
        fill = shared["imo"].isna() & shared["mmsi"].isin(list(imos))
        shared.loc[fill, "imo"] = shared.loc[fill, "mmsi"].map(imos)
        parts.append(shared)
    return concat_identity(parts)
