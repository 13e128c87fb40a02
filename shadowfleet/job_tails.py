"""Per-vessel tails: what a scheduled job keeps between runs so a run costs time in
proportion to the new data and the open events (DESIGN.md, "Scale").

After each run the job keeps, per vessel, only the positions the next run needs (its
*tail*) and the events found so far; everything older is *retired* to the state's archive
(:mod:`shadowfleet.job_state`), written once and not read again by an ordinary run.

**Where a vessel's tail starts.** ``H`` = the data's end minus ``tail_hours`` [24]. A
vessel's pin ``s`` starts at ``H`` and moves back to the start of every event of that
vessel that ends less than ``margin`` before ``s`` or has no end (an open visit, dark
period, loitering, stay or encounter: both ships), repeated until nothing moves (an
encounter pins its other ship, whose events may pin further). An MMSI that several ships
share, or that is no valid station identity, is pinned to its first position (its
identity row spans all of it). The tail starts at the last trusted position before ``s``
(the fix the first new gap or jump is measured from), and always holds the vessel's last
position. ``margin`` is the longest a closed event can still be extended or merged by later
data: the dark-period threshold, the in-port gap, the encounter merge window, plus an hour.

So every event of a vessel either ends more than ``margin`` before its tail (it is
*settled*: later data in time order cannot touch it) or starts inside the tail (the next
run finds it again from the tail and the new data, exactly as one ``detect`` over all the
files does). Each run therefore runs the detectors over the tails plus the new data only,
takes the settled events from the state and the rest from this run, and rebuilds what is
derived from events (round trips, unlisted stops from the stays, the ranking, alerts).

**Settled alerts.** The alerts of dark periods, spoofing jumps, encounters, loitering,
round trips and possible calls are kept in the state (``settled-alerts.parquet``) with
what they rest on; a run reuses one, rather than building it again, when its event and
every event it reads (for encounters and loitering: within ``DARK_NEAR_HOURS`` of it;
for a round trip: its calls and their dark periods) start before each of its vessels'
tails (the run takes those from the state unchanged and cannot find a new one that
would join them), the names, IMOs and ports of interest it was built with are this
run's (a later static report renaming a vessel rebuilds its alerts) and, for a round
trip or a possible call, the run still finds it. So building those alerts costs a run in
proportion to the open and recent events (:func:`_alerts`). Still done over all events at
every run: the round trips and possible calls themselves (a greedy pairing over each
vessel's whole chain of calls), unlisted stops and their alerts (a clustering of every
stay), the ranking, the claims, the alert book and the output files.

**What still reads more.**

- ``others_received`` of a dark period that started before other vessels' tails counts
  their retired positions near its ends: the archive's chunks whose times overlap the
  dark period are read for a closed one when it is first found with that end (a run
  that finds it again as the state has it, ended before the earliest new position,
  keeps its count: nothing new was received while it lasted). An open one (a vessel that
  never transmits again is dark from its last position for good) is read only when the
  state does not know whom it counted (when it first opens before other vessels'
  tails, in a state of an older version, after a full re-analysis): the state keeps,
  per open dark period, the
  other vessels counted near its start up to the run's data end (``open_others``), and
  the next run counts the union of those and the ones near its start in its tails and
  new data (which hold every position after that end). Distinct vessels do not add up,
  so the vessels are kept, not the count;
- a file with positions older than the last run's ``H`` (a late delivery, earliest at
  ``L``) is re-analysed from ``L`` on (:func:`rewind`): every vessel whose archived rows
  reach ``L`` minus ``margin`` gets them back from its pin computed with ``L`` for the
  horizon (so from the start of its events that ``L`` can still change, and of the
  events those pin), not only the late file's vessels (its positions count in other
  vessels' dark periods and meet other ships). The chunks holding those rows are read
  whole (by their indexes: whose rows a chunk holds and until when) and their other rows
  rewritten as one chunk: the cost grows with how late the data is (and how far back
  the events open at ``L`` reach), not with the archive. Its settled events stay as
  they are: they ended more than ``margin`` before ``L``;
- claims read the archive as the Dask engine reads its partitions
  (:class:`shadowfleet.job_state.KeptPositions`): the claimed vessels' rows (the chunks
  are sorted by vessel: an MMSI filter skips their other row groups), only those a
  claim's window consults, each vessel's last time (in its tail) and, for a reception
  caveat, the chunks whose times overlap its dark period; only a caveat of a dark period
  during which nobody at all was received searches every chunk (the nearest position
  ever received). Watchlists read the chunks' indexes (a listed vessel's first and last
  time with a position) and no row but the last fix of a listed vessel whose tail holds
  no position;
- the static reports are kept whole (the identity detectors count them).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from ais.errors import ConfigError

NS_HOUR = 3_600_000_000_000
_INF = np.iinfo(np.int64).max

# stored event tables: name -> (start column, end column, sort columns)
EVENT_TABLES = {
    "visits": ("arrival_utc", "departure_utc", ["mmsi", "arrival_utc"]),
    "gaps": ("start_utc", "end_utc", ["mmsi", "start_utc"]),
    "jumps": ("utc", "utc", ["mmsi", "utc"]),
    "loitering": ("start_utc", "end_utc", ["mmsi", "start_utc"]),
    "stays": ("start_utc", "end_utc", ["mmsi", "start_utc"]),
    "encounters": ("start_utc", "end_utc", ["mmsi_1", "start_utc", "mmsi_2"]),
}
_NAME_COLUMNS = {"encounters": (("mmsi_1", "name_1"), ("mmsi_2", "name_2"))}
# identity kinds that span all of an MMSI's positions
_WHOLE_KINDS = ("shared_mmsi", "invalid_mmsi")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TailParams:
    """How much of every vessel's track a job keeps beyond its open events.

    ``tail_hours``: positions of every vessel within this many hours of the data's end
    are kept [24], and never fewer than twice the margin (:func:`hours_kept`), so that an
    event still being recognised at the end of one run (an encounter not yet two hours
    long, a silence not yet a dark period) starts inside the next run's tails."""

    tail_hours: float = 24.0

    def __post_init__(self):
        if not (self.tail_hours > 0 and np.isfinite(self.tail_hours)):
            raise ConfigError(None, f"tail_hours must be a positive number of hours, got "
                                    f"{self.tail_hours!r}", "give a number of hours, e.g. 24")


def margin_hours(settings) -> float:
    """Hours after its end during which later data may still extend or merge an event."""
    return max(float(settings.gaps.gap_hours), float(getattr(settings.visits, "gap_hours", 0.0)),
               float(settings.encounters.encounter_merge_hours),
               float(settings.loitering.loiter_min_hours), float(settings.stops.stop_min_hours),
               float(settings.encounters.encounter_min_minutes) / 60.0) + 1.0


def hours_kept(params: TailParams, settings) -> float:
    """The tails' length: ``tail_hours``, or twice the margin when that is longer (a
    ``gap_hours`` of 12 keeps 26 hours)."""
    return max(float(params.tail_hours), 2 * margin_hours(settings))


def ns(col: pd.Series) -> np.ndarray:
    """int64 nanoseconds of a time column (``_INF`` for a missing time: open events)."""
    values = pd.to_datetime(col, utc=True).dt.as_unit("ns")
    out = values.astype("int64").to_numpy().copy()
    out[values.isna().to_numpy()] = _INF
    return out


def event_spans(events: dict[str, pd.DataFrame], identity: pd.DataFrame) -> pd.DataFrame:
    """(mmsi, start, end) ns of every event, one row per vessel it belongs to (an
    encounter twice); open events end at ``_INF``; identity rows of the whole-MMSI kinds
    start at the smallest time."""
    parts = []
    for name, (start, end, _) in EVENT_TABLES.items():
        frame = events.get(name)
        if frame is None or not len(frame):
            continue
        s, e = ns(frame[start]), ns(frame[end])
        e = np.where(s == _INF, _INF, e)
        who = ("mmsi_1", "mmsi_2") if name == "encounters" else ("mmsi",)
        for col in who:
            parts.append(pd.DataFrame({"mmsi": frame[col].to_numpy(dtype=np.int64),
                                       "start": s, "end": e}))
    if identity is not None and len(identity):
        whole = identity[identity["kind"].isin(_WHOLE_KINDS) & identity["mmsi"].notna()]
        if len(whole):
            parts.append(pd.DataFrame({"mmsi": whole["mmsi"].to_numpy(dtype=np.int64),
                                       "start": np.iinfo(np.int64).min, "end": _INF}))
    if not parts:
        return pd.DataFrame({"mmsi": np.zeros(0, np.int64), "start": np.zeros(0, np.int64),
                             "end": np.zeros(0, np.int64)})
    return pd.concat(parts, ignore_index=True)


def pins(vessels: np.ndarray, spans: pd.DataFrame, horizon_ns: int, margin_ns: int) -> pd.Series:
    """Each vessel's pin (ns): ``horizon_ns`` moved back to the start of every event that
    ends within ``margin_ns`` of it or later, until nothing moves. Encounters pin both
    ships (their two rows in ``spans``)."""
    s = pd.Series(np.int64(horizon_ns), index=pd.Index(vessels, name="mmsi"), dtype=np.int64)
    if not len(spans):
        return s
    m = spans["mmsi"].to_numpy(dtype=np.int64)
    start = spans["start"].to_numpy(dtype=np.int64)
    end = spans["end"].to_numpy(dtype=np.int64)
    for _ in range(64):
        threshold = s.reindex(m).fillna(np.int64(horizon_ns)).to_numpy(dtype=np.int64)
        with np.errstate(over="ignore"):
            hit = (end == _INF) | (end >= threshold - margin_ns)
        if not hit.any():
            break
        earliest = pd.Series(start[hit], index=m[hit]).groupby(level=0).min()
        # an encounter pins its other ship too: both rows carry the same start
        moved = earliest.reindex(s.index).fillna(np.int64(horizon_ns)).astype(np.int64)
        new = np.minimum(s.to_numpy(), moved.to_numpy())
        extra = earliest.index.difference(s.index)
        if len(extra):
            s = pd.concat([s, earliest.loc[extra].astype(np.int64)])
            continue
        if (new == s.to_numpy()).all():
            break
        s = pd.Series(new, index=s.index, dtype=np.int64)
    return s


def tail_mask(positions: pd.DataFrame, pin: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Which rows of ``positions`` (with ``spoofed``) are kept, and each vessel's first
    kept time (ns): from the last trusted fix before its pin, or from its pin (its last
    row at the latest) when it has none before it. ``pin``: mmsi -> ns, every vessel."""
    m = positions["mmsi"].to_numpy(dtype=np.int64)
    t = ns(positions["timestamp"])
    s = pin.reindex(m).to_numpy(dtype=np.int64)
    timed = t != _INF
    trusted = (positions["lat"].notna() & positions["lon"].notna()).to_numpy() & timed
    if "spoofed" in positions.columns:
        trusted &= ~positions["spoofed"].fillna(False).to_numpy(dtype=bool)
    frame = pd.DataFrame({"m": m, "t": t})
    pred = frame[trusted & (t < s)].groupby("m")["t"].max()
    last = frame[timed].groupby("m")["t"].max()
    cut = pd.Series(np.minimum(pin.reindex(last.index).to_numpy(dtype=np.int64),
                               last.to_numpy(dtype=np.int64)), index=last.index)
    cut.loc[pred.index] = pred.to_numpy(dtype=np.int64)
    keep = timed & (t >= cut.reindex(m, fill_value=_INF).to_numpy(dtype=np.int64))
    return keep, cut.astype(np.int64)


def merge_events(stored: pd.DataFrame | None, new: pd.DataFrame, name: str,
                 first: pd.Series, names: dict) -> pd.DataFrame:
    """The events of table ``name``: the stored ones that start before their vessel's
    first row of this run (``first``: mmsi -> ns; both ships' for an encounter: before
    the later), and all of this run's (none of which starts earlier)."""
    start, _, order = EVENT_TABLES[name]
    if stored is None or not len(stored):
        out = new
    else:
        s = ns(stored[start])
        if name == "encounters":
            b = np.maximum(_first_of(first, stored["mmsi_1"]), _first_of(first, stored["mmsi_2"]))
        else:
            b = _first_of(first, stored["mmsi"])
        old = stored[s < b]
        out = new if not len(old) else (old if not len(new) else pd.concat(
            [old, new.astype({c: old[c].dtype for c in new.columns
                              if c in old.columns and len(new) == 0})], ignore_index=True))
        out = out.reset_index(drop=True)
    out = _renamed(out, name, names)
    if len(out):
        out = out.sort_values(order, kind="mergesort").reset_index(drop=True)
    return out


def _first_of(first: pd.Series, mmsi: pd.Series) -> np.ndarray:
    # a vessel with no row in this run keeps every stored event
    return first.reindex(mmsi.to_numpy(dtype=np.int64), fill_value=_INF).to_numpy(dtype=np.int64)


def _renamed(frame: pd.DataFrame, name: str, names: dict) -> pd.DataFrame:
    """Event rows carry the vessel's latest name, as one analysis of all the data gives."""
    if not len(frame):
        return frame
    frame = frame.copy()
    for mcol, ncol in _NAME_COLUMNS.get(name, (("mmsi", "name"),)):
        if ncol in frame.columns:
            frame[ncol] = pd.Series([names.get(int(v), "") for v in frame[mcol]],
                                    index=frame.index, dtype=object)
    return frame


def events_of(result: Any, jumps: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """The stored event tables of an analysis ``Result``."""
    return {"visits": result.port_visits, "gaps": result.dark_periods,
            "jumps": result.jumps if jumps is None else jumps,
            "loitering": result.loitering, "stays": result.stays,
            "encounters": result.encounters}


def first_times(positions: pd.DataFrame) -> pd.Series:
    """mmsi -> ns of its first timed row."""
    t = ns(positions["timestamp"])
    timed = t != _INF
    return pd.Series(t[timed], index=positions["mmsi"].to_numpy(dtype=np.int64)[timed]
                     ).groupby(level=0).min()


def first_fixes_of(usable: pd.DataFrame, stored: pd.DataFrame | None) -> pd.DataFrame:
    """Each vessel's first trusted fix (mmsi, timestamp, lat, lon): what the ranking reads
    of the positions (which vessels, and since when)."""
    cols = ["mmsi", "timestamp", "lat", "lon"]
    parts = [usable[cols]]
    if stored is not None and len(stored):
        parts.insert(0, stored[cols])
    both = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if not len(both):
        return both.reset_index(drop=True)
    both = both.sort_values(["mmsi", "timestamp"], kind="mergesort")
    return both.drop_duplicates("mmsi", keep="first").reset_index(drop=True)


def analyse(state, analysis, *, state_dir=None, progress=None,
            tail: TailParams = TailParams()):
    """The run's analysis over ``state`` (its tails plus the new data ``accumulate``
    added) and the next state's tails. Returns (Result, the state with its new tails,
    events and the positions to retire). Re-analyses everything (archive included) when
    the state has no tails yet; from the late data's time on (:func:`rewind`) when a new
    position is older than the tails' horizon."""
    from ais.progress import Progress
    from shadowfleet import pipeline
    from shadowfleet.job_state import read_archive

    progress = progress if progress is not None else Progress.off()
    settings = analysis.settings
    late = (state.new_earliest_ns is not None and state.horizon_ns is not None
            and state.new_earliest_ns < state.horizon_ns)
    full = state.events is None or state.horizon_ns is None
    if late and not full:
        if state_dir is None and state.archive:
            full = True
        elif state.archive:
            with progress.phase("reading the archive from the late data's time on"):
                state = rewind(state, state_dir, settings)
    archived = None
    if state_dir is not None and state.archive and full:
        with progress.phase("reading the archive"):
            archived = read_archive(state_dir, state.archive)
    if full:
        positions = state.positions
        if archived is not None and len(archived):
            import ais.schema as schema

            positions = schema.sort_by_vessel_time(pd.concat(
                [archived[list(schema.POSITION_COLUMNS)], state.positions], ignore_index=True))
        result = pipeline.analyse(_decoded(state, positions), registry=analysis.registry,
                                  claims=list(analysis.claims), params=settings,
                                  pairs=list(analysis.pairs),
                                  watchlists=list(analysis.watchlists),
                                  simulated=_note(state), progress=progress)
        cleaned, raw = result.positions, positions
        events = events_of(result)
        first_fixes = first_fixes_of(_usable(cleaned), None)
        # not kept: the next run counts its open dark periods' others from the archive
        # and builds every alert from the events
        open_others = settled = None
    else:
        result, cleaned, events, first_fixes, open_others, settled = _analyse_tails(
            state, analysis, state_dir, progress)
        raw = state.positions
    state = dataclasses.replace(state, open_others=open_others, settled_alerts=settled)
    return result, _next_tails(state, _flagged(raw, cleaned), events, first_fixes,
                               result.identity, settings, tail, replace=full)


def rewind(state, state_dir, settings):
    """``state`` with its tails reaching back as far as a late delivery (a new position
    older than the last run's horizon, earliest at ``L``) needs. A vessel whose archived
    rows reach ``L`` minus ``margin`` (the chunks' indexes say whose rows a chunk holds
    and until when) gets back its archived rows from its pin, computed as the tails'
    are with ``L`` for the horizon (:func:`pins` over the stored events: an event that
    ends less than ``margin`` before it or later moves its vessel's pin to its start, an
    encounter both ships'), from the last trusted fix before it (from the pin when it
    has none). Every stored event that starts before a vessel's rows of this run then
    ended more than ``margin`` before ``L`` and before its rows: nothing the late data
    brings changes it; the others are found again, as in an ordinary run. Not only the
    vessels of the late file: its positions may be received during another vessel's
    dark period (its ``others_received``) or meet another ship (an encounter) whose
    rows of that time are archived. A vessel whose archived rows end earlier needs
    none: its tail holds everything from ``L`` minus ``margin`` on, and its events
    that start before its tail ended more than ``margin`` before it.

    Of the archive only those rows are read (the chunks that hold them, an MMSI and time
    filter: :class:`shadowfleet.job_state.KeptPositions`), and each chunk's entry lists
    them as ``superseded`` (every reader leaves them out), so that no row is both in the
    tails and in the archive; the chunks themselves stay as written."""
    from shadowfleet.job_state import NO_TIME, KeptPositions, archive_index, supersede

    pos = state.positions
    m = pos["mmsi"].to_numpy(dtype=np.int64)
    t = ns(pos["timestamp"])
    late = int(state.new_earliest_ns)
    margin = int(margin_hours(settings) * NS_HOUR)
    # the vessels with archived rows the late data can change (less than margin before
    # it or later); each chunk's index says whose rows it holds and until when
    indexes = [archive_index(state_dir, e) for e in state.archive]
    reach = [index.loc[index["last_ns"] >= late - margin, "mmsi"] for index in indexes]
    reach = np.unique(np.concatenate([r.to_numpy(dtype=np.int64) for r in reach]))
    if not len(reach):
        return state
    pin = pins(np.unique(m), event_spans(state.events or {}, None), late, margin)
    # of them, those whose rows of this run start at or after their pin (new rows are
    # at L or later): a tail starting before the pin holds the last trusted fix before
    # it, or the vessel has none (nothing archived is needed)
    timed = t != _INF
    start = pd.Series(t[timed], index=m[timed]).groupby(level=0).min()
    pin = pin[pin.index.isin(reach)]
    short = pin[start.reindex(pin.index, fill_value=_INF).to_numpy() >= pin.to_numpy()]
    if not len(short):
        return state
    # per vessel, the earliest archived time needed: its last trusted fix before the pin
    # in a chunk whose last such fix is before the pin (a later one is in a chunk read
    # for the rows after the pin)
    lo = short.copy()
    cand = [index.loc[index["mmsi"].isin(short.index), ["mmsi", "trusted_last_ns"]]
            for index in indexes]
    cand = pd.concat(cand, ignore_index=True) if cand else None
    if cand is not None and len(cand):
        fix = cand["trusted_last_ns"].to_numpy(dtype=np.int64)
        cm = cand["mmsi"].to_numpy(dtype=np.int64)
        before = (fix != NO_TIME) & (fix < short.reindex(cm).to_numpy(dtype=np.int64))
        latest = pd.Series(fix[before], index=cm[before]).groupby(level=0).max()
        lo.loc[latest.index] = latest.to_numpy(dtype=np.int64)
    import pyarrow.dataset as ds

    import ais.schema as schema

    cols = list(schema.POSITION_COLUMNS)
    reader = KeptPositions(state_dir, state.archive, pos[["mmsi", "timestamp"]])
    parts = []
    for k, (entry, index) in enumerate(zip(state.archive, indexes)):
        sub = index[index["mmsi"].isin(lo.index)]
        need = lo.reindex(sub["mmsi"], fill_value=_INF)
        sub = sub[sub["last_ns"].to_numpy(dtype=np.int64) >= need.to_numpy(dtype=np.int64)]
        if not len(sub):
            continue
        # the vessels' rows from their earliest time needed (an MMSI filter skips the
        # chunk's other row groups)
        who = sub["mmsi"].to_numpy(dtype=np.int64)
        since = pd.Timestamp(int(lo.reindex(who).min()), tz="UTC")
        frame = reader._read([entry], cols + ["spoofed"], ds.field("mmsi").isin(who)
                             & (ds.field("timestamp") >= since))
        if frame is not None and len(frame):
            parts.append(frame.assign(_chunk=k))
    if not parts:
        return state
    rows = pd.concat(parts, ignore_index=True)
    reader.rows_read["late"] = len(rows)
    rm = rows["mmsi"].to_numpy(dtype=np.int64)
    rt = ns(rows["timestamp"])
    # the exact cut: the last trusted fix before the pin (as tail_mask finds it)
    near = rt >= lo.reindex(rm, fill_value=_INF).to_numpy(dtype=np.int64)
    ok = near & (rows["lat"].notna() & rows["lon"].notna()).to_numpy() \
        & ~rows["spoofed"].fillna(False).to_numpy(dtype=bool)
    p = short.reindex(rm, fill_value=_INF).to_numpy(dtype=np.int64)
    pred = pd.Series(rt[ok & (rt < p)], index=rm[ok & (rt < p)]).groupby(level=0).max()
    cut = short.copy()
    cut.loc[pred.index] = pred.to_numpy(dtype=np.int64)
    back = near & (rt >= cut.reindex(rm, fill_value=_INF).to_numpy(dtype=np.int64))
    if not back.any():
        return state
    taken = rows.loc[back]
    archive = list(state.archive)
    for k, part in taken.groupby("_chunk"):
        whose = np.unique(part["mmsi"].to_numpy(dtype=np.int64))
        archive[k] = supersede(archive[k], part, cut.loc[whose])
    positions = schema.sort_by_vessel_time(pd.concat(
        [taken[cols], pos[cols]], ignore_index=True))
    return dataclasses.replace(state, positions=positions, archive=archive)


_ROW_KEY = ["mmsi", "timestamp", "source", "line"]


def _flagged(raw: pd.DataFrame, cleaned: pd.DataFrame) -> pd.DataFrame:
    """Every analysed row (those without a position too: a dark period's own messages
    count them) with the ``spoofed`` and ``track`` the cleaning gave it (False and 0 for
    a row without a position)."""
    import ais.schema as schema

    cols = [c for c in ("spoofed", "track") if c in cleaned.columns]
    flags = cleaned[_ROW_KEY + cols].drop_duplicates(_ROW_KEY)
    out = raw[list(schema.POSITION_COLUMNS)].merge(flags, on=_ROW_KEY, how="left")
    out["spoofed"] = (out["spoofed"].fillna(False).astype(bool) if "spoofed" in out
                      else False)
    out["track"] = out["track"].fillna(0).astype(np.int64) if "track" in out else np.int64(0)
    return schema.sort_by_vessel_time(out)


def _note(state):
    from shadowfleet import provenance

    return provenance.simulated_note(state.stats or {})


def _usable(positions: pd.DataFrame) -> pd.DataFrame:
    from detectors._frames import usable_positions

    return usable_positions(positions)


def _decoded(state, positions: pd.DataFrame):
    import ais

    stats = dict(state.stats or {})
    decoded = ais.Decoded(positions, state.statics, state.rejects, counts=stats,
                          messages_by_type=stats.get("messages_by_type", {}),
                          rejected_by_reason=stats.get("rejected_by_reason"),
                          inputs=stats.get("inputs", []))
    decoded.stats.update({k: v for k, v in stats.items()
                          if k in ("positions", "statics", "vessels", "time_span")
                          or k not in decoded.stats})
    return decoded


def _analyse_tails(state, analysis, state_dir, progress):
    """Every detector over the tails and the new data; events merged with the settled
    ones; what derives from events rebuilt from all of them."""
    from detectors.cleaning import clean_positions
    from detectors.dark_periods import find_dark_periods, messages_without_position
    from detectors.encounters import find_encounters
    from detectors.identity_alerts import identity_alerts
    from detectors.loitering import find_loitering
    from detectors.port_visits import find_port_visits
    from detectors.stops import cluster_stays, find_stays
    from shadowfleet import pipeline

    settings, registry = analysis.settings, analysis.registry
    decoded = _decoded(state, state.positions)
    names = pipeline.vessel_names(state.statics)
    all_pairs = pipeline._resolve_pairs(registry, list(settings.pairs) + list(analysis.pairs),
                                        list(analysis.claims))
    progress.step("identity, cleaning and port visits (tails)")
    ident = pipeline.identify(decoded, settings)
    cleaned, jumps = clean_positions(ident.positions, settings.cleaning)
    usable = _usable(cleaned)
    data_end = pipeline._latest_time(cleaned)
    first = first_times(cleaned)
    stored = state.events or {}
    new = {"visits": find_port_visits(usable, registry, settings.visits, names=names)}
    progress.step("dark periods, behaviour at sea (tails)")
    own = messages_without_position(ident.positions, ident.statics)
    gaps = find_dark_periods(usable, registry, settings.gaps, names=names, data_end=data_end,
                             own_messages=own)
    gaps, open_others = _others_received(state, gaps, usable, settings.gaps, state_dir,
                                         data_end)
    new.update(gaps=gaps, jumps=jumps,
               loitering=find_loitering(usable, registry, settings.loitering, names=names),
               stays=find_stays(usable, registry, settings.stops, names),
               encounters=find_encounters(usable, registry, settings.encounters, names=names))
    events = {k: merge_events(stored.get(k), new[k], k, first, names) for k in EVENT_TABLES}
    id_alerts = _settled_places(identity_alerts(ident.table, positions=usable, names=names),
                                state.book, first)
    stops, stays = cluster_stays(events["stays"], registry, settings.stops)
    events["stays"] = stays
    trips, alerts, behaviour_alerts, settled = _alerts(
        events, stops, stays, id_alerts, state.settled_alerts, first, registry=registry,
        settings=settings, pairs=all_pairs, names=names, imos=ident.imos)
    first_fixes = first_fixes_of(usable, state.first_fixes)
    behaviour = pipeline.behaviour_of(
        first_fixes, encounters=events["encounters"], loitering=events["loitering"],
        stops=stops, stays=stays, settings=settings, names=names, imos=ident.imos,
        dark_periods=events["gaps"], port_visits=events["visits"], data_end=data_end,
        identity=ident.table, alerts=behaviour_alerts)
    kept = None
    if state_dir is not None and state.archive and (analysis.claims or analysis.watchlists):
        from shadowfleet.job_state import KeptPositions

        # claims and watchlists read the archive as the Dask engine's partitions: the
        # claimed and listed vessels' rows, the chunks a reception caveat's window overlaps
        kept = KeptPositions(state_dir, state.archive, cleaned,
                             vessels=state.positions["mmsi"].unique())
    result = pipeline.conclude(
        decoded.stats, positions=cleaned, statics=state.statics, rejects=state.rejects,
        registry=registry, settings=settings, claims=list(analysis.claims),
        watchlists=list(analysis.watchlists), pairs=all_pairs, visits=events["visits"],
        trips=trips, gaps=events["gaps"], jumps=events["jumps"], alerts=alerts,
        identity=ident.table, tracks=ident.tracks, behaviour=behaviour,
        simulated=_note(state), progress=progress, partitions=kept)
    result.positions = cleaned
    return result, cleaned, events, first_fixes, open_others, settled


def _gap_key(mmsi, track, start_ns) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays([np.asarray(mmsi, dtype=np.int64),
                                      np.asarray(track, dtype=np.int64),
                                      np.asarray(start_ns, dtype=np.int64)])


def _others_received(state, gaps, usable, params, state_dir, data_end):
    """``gaps`` with ``others_received`` counted over all the data, and the other
    vessels each open one counted (the next state's ``open_others``).

    A dark period that started before other vessels' tails (``state.complete_ns``) also
    counts their archived positions while it lasted: the archive's chunks overlapping it
    are read. Not for one that was open at the last run and still is (same vessel and
    start) when the state has the vessels it counted then (all positions up to the last
    run's data end; an open period has no end fix, only its start matters): everything
    after that is in this run's tails and new data, so its count is the union of those
    vessels and the ones near its start in this run's positions."""
    from detectors._frames import tracks_of
    from detectors.dark_periods import count_others_received, others_received_keys
    from shadowfleet.job_state import OPEN_OTHERS_COLUMNS, read_archive

    none = pd.DataFrame({c: pd.Series([], dtype="datetime64[ns, UTC]" if c == "start_utc"
                                      else "int64") for c in OPEN_OTHERS_COLUMNS})
    if not len(gaps):
        return gaps, none
    start = ns(gaps["start_utc"])
    track = tracks_of(gaps)
    is_open = gaps["open"].to_numpy(dtype=bool)
    known = np.zeros(len(gaps), dtype=bool)
    stored = state.open_others
    before = (state.events or {}).get("gaps")
    if stored is not None and before is not None and len(before):
        was_open = before[before["open"].to_numpy(dtype=bool)]
        known = is_open & _gap_key(gaps["mmsi"], track, start).isin(
            _gap_key(was_open["mmsi"], tracks_of(was_open), ns(was_open["start_utc"])))
    pool = usable.assign(track=tracks_of(usable))[["mmsi", "track", "timestamp", "lat", "lon"]]
    early = np.zeros(len(gaps), dtype=bool)
    if state.complete_ns is not None and state_dir is not None and state.archive:
        early = (start < state.complete_ns) & ~known
        if early.any() and before is not None and len(before) \
                and state.new_earliest_ns is not None:
            # a closed one the state has (same vessel, track, start and end) that ended
            # before the earliest new position: nothing new was received while it
            # lasted (what a late file's run takes back from the archive is not new),
            # its count stays
            shut = before[~before["open"].to_numpy(dtype=bool)]
            end = ns(gaps["end_utc"])
            key = pd.MultiIndex.from_arrays([gaps["mmsi"].to_numpy(dtype=np.int64), track,
                                             start, end])
            old = pd.Series(shut["others_received"].to_numpy(), index=pd.MultiIndex.from_arrays(
                [shut["mmsi"].to_numpy(dtype=np.int64), tracks_of(shut),
                 ns(shut["start_utc"]), ns(shut["end_utc"])]))
            old = old[~old.index.duplicated()]
            same = early & ~is_open & key.isin(old.index) & (end < state.new_earliest_ns)
            if same.any():
                gaps.loc[same, "others_received"] = old.reindex(key[same]).to_numpy()
                early &= ~same
    if early.any():
        # other vessels' positions before their tails while the vessel was dark (the
        # chunks overlapping the dark periods; an open one lasts to the data's end)
        windows = np.c_[start[early], ns(gaps.loc[early, "end_utc"])]
        extra = read_archive(state_dir, state.archive, windows=windows)
        extra = extra[~extra["spoofed"].to_numpy(dtype=bool)]
        pool = pd.concat([pool, extra[list(pool.columns)]], ignore_index=True)
        closed = early & ~is_open
        if closed.any():
            gaps.loc[closed, "others_received"] = count_others_received(
                pool, gaps[closed].reset_index(drop=True), params, data_end=data_end)
    if not is_open.any():
        return gaps, none
    opened = gaps[is_open].reset_index(drop=True)
    heard = others_received_keys(pool, opened, params, data_end=data_end)
    heard = pd.DataFrame({"mmsi": opened["mmsi"].to_numpy(dtype=np.int64)[heard["gap"]],
                          "track": track[is_open][heard["gap"]],
                          "start_utc": opened["start_utc"].to_numpy()[heard["gap"]],
                          "other_mmsi": heard["mmsi"].to_numpy(),
                          "other_track": heard["track"].to_numpy()})
    if known.any():
        keep = _gap_key(stored["mmsi"], stored["track"], ns(stored["start_utc"])).isin(
            _gap_key(gaps.loc[known, "mmsi"], track[known], start[known]))
        heard = pd.concat([stored[keep], heard], ignore_index=True)
    heard["start_utc"] = pd.to_datetime(heard["start_utc"], utc=True).astype(
        "datetime64[ns, UTC]")
    heard = heard.drop_duplicates(list(OPEN_OTHERS_COLUMNS)).sort_values(
        list(OPEN_OTHERS_COLUMNS), kind="mergesort").reset_index(drop=True)
    row = _gap_key(opened["mmsi"], track[is_open], ns(opened["start_utc"])).get_indexer(
        _gap_key(heard["mmsi"], heard["track"], ns(heard["start_utc"])))
    counts = np.bincount(row, minlength=len(opened))
    gaps.loc[is_open, "others_received"] = counts.astype(np.int64)
    return gaps, heard[list(OPEN_OTHERS_COLUMNS)]


def _settled_places(alerts: pd.DataFrame, book: pd.DataFrame, first: pd.Series) -> pd.DataFrame:
    """An identity alert's place is its MMSI's fix nearest its start: for one that starts
    before the vessel's tail, the place the book has (found when those fixes were kept)."""
    if not len(alerts) or book is None or not len(book):
        return alerts
    before = ns(alerts["start_utc"]) < _first_of(first, alerts["mmsi"])
    known = alerts["alert_id"].isin(set(book["alert_id"]))
    fix = before & known.to_numpy()
    if not fix.any():
        return alerts
    alerts = alerts.copy()
    places = book.drop_duplicates("alert_id").set_index("alert_id")
    ids = alerts.loc[fix, "alert_id"]
    alerts.loc[fix, "lat"] = places.loc[ids, "lat"].to_numpy(dtype=np.float64)
    alerts.loc[fix, "lon"] = places.loc[ids, "lon"].to_numpy(dtype=np.float64)
    return alerts


def _next_tails(state, cleaned, events, first_fixes, identity, settings, tail, *, replace):
    """``state`` with the tails the next run needs and the positions that leave them
    (``cleaned``: every analysed row, with ``spoofed`` and ``track``)."""
    import ais.schema as schema

    cols = list(schema.POSITION_COLUMNS)
    if not len(cleaned):
        return dataclasses.replace(state, events=events, first_fixes=first_fixes,
                                   retired=None, replace_archive=replace, new_earliest_ns=None)
    end = int(ns(cleaned["timestamp"])[ns(cleaned["timestamp"]) != _INF].max())
    horizon = end - int(hours_kept(tail, settings) * NS_HOUR)
    vessels = np.unique(cleaned["mmsi"].to_numpy(dtype=np.int64))
    pin = pins(vessels, event_spans(events, identity), horizon,
               int(margin_hours(settings) * NS_HOUR))
    keep, cut = tail_mask(cleaned, pin)
    kept = cleaned.loc[keep, cols].reset_index(drop=True)
    out = cleaned.loc[~keep].copy()
    out["spoofed"] = out["spoofed"].fillna(False).astype(bool) if "spoofed" in out else False
    out["track"] = out["track"].astype(np.int64) if "track" in out else np.int64(0)
    retired = out[cols + ["spoofed", "track"]].reset_index(drop=True)
    retired = retired[retired["timestamp"].notna()].reset_index(drop=True)
    return dataclasses.replace(state, positions=kept, events=events, first_fixes=first_fixes,
                               horizon_ns=horizon, complete_ns=int(cut.max()) if len(cut) else None,
                               retired=retired, replace_archive=replace, new_earliest_ns=None)


# -------------------------------------------------------------- settled alerts

# the alert kinds a run takes from the state once settled: each rests on one event and,
# for the behaviour kinds, on the dark periods and encounters of its vessels within
# DARK_NEAR_HOURS of it (detectors.behaviour_alerts)
SETTLED_KINDS = ("dark_period", "spoofing_jump", "encounter", "loitering", "round_trip",
                 "possible_port_call")
# of which rebuilt with the round trips at every run: reused only while they still are
_DERIVED_KINDS = ("round_trip", "possible_port_call")
# the columns kept with a settled alert besides detectors.columns.ALERT_TABLE: the event
# it is built from (its evidence's first id), the vessels whose tails must start after
# ``_until`` (ns) for it to be reused (``_v2`` -1: none), the names and IMOs it was
# built with (a vessel renamed by a later static report rebuilds it) and the ports of
# interest its score read
SETTLED_EXTRA = ("_event", "_v1", "_v2", "_until", "_names", "_poi")


def _near_ns() -> int:
    from detectors.behaviour_alerts import DARK_NEAR_HOURS

    return int(DARK_NEAR_HOURS * NS_HOUR)


def _names_key(deps, names: dict, imos: dict) -> str:
    return "\x1f".join(f"{names.get(int(m), '') or ''}\x1e{imos.get(int(m)) or ''}"
                       for m in deps)


def _alerts(events, stops, stays, id_alerts, cache, first, *, registry, settings, pairs,
            names, imos):
    """Round trips, the alerts (with ``id_alerts``), the behaviour alerts, and the
    settled alerts the next run may reuse (``SETTLED_KINDS`` with ``SETTLED_EXTRA``).

    The same tables :func:`shadowfleet.pipeline.trips_and_alerts` and the behaviour
    alerts of :func:`shadowfleet.pipeline.behaviour_of` give over all the events, but an
    alert of ``cache`` (the last run's) is reused, not rebuilt, when everything it reads
    is settled: its event and the events within ``DARK_NEAR_HOURS`` of it start before
    every vessel's first row of this run (``first``), so this run takes them from the
    state unchanged and finds no new one that could join them; and the names, IMOs and
    ports of interest it read are this run's (:func:`_reusable`); a round trip's or a
    possible call's only while this run still finds it. Only the other events' alerts
    are built; the round trips and possible calls themselves, and the unlisted stops with
    their alerts, are built from all the events."""
    from detectors.alerts import build_alerts, concat_alerts
    from detectors.behaviour_alerts import build_behaviour_alerts
    from detectors.round_trips import find_round_trips

    trips = find_round_trips(events["visits"], events["gaps"], registry, pairs,
                             settings.trips, names=names)
    poi = sorted({p for pair in pairs for p in pair})
    poi_key = "|".join(poi)
    reused = _reusable(cache, first, names, imos, poi_key, events["gaps"])
    calls = trips.possible_calls
    if len(reused):
        exists = set(trips.round_trips["trip_id"]) | set(calls["call_id"])
        reused = reused[~reused["kind"].isin(_DERIVED_KINDS) |
                        reused["_event"].isin(exists)].reset_index(drop=True)
    covered = set(reused["_event"])
    gaps, jumps = events["gaps"], events["jumps"]
    encounters, loitering = events["encounters"], events["loitering"]

    def todo(frame, col):
        if frame is None or not len(frame) or not covered:
            return frame
        return frame[~frame[col].isin(covered)].reset_index(drop=True)

    trips_todo = todo(trips.round_trips, "trip_id")
    # the possible calls and dark periods the trips built rest on (a trip's score reads
    # its calls' dark periods), the visits their places are read from
    call_ids = set(todo(calls, "call_id")["call_id"]) if len(calls) else set()
    for ids in trips_todo["call_ids"] if len(trips_todo) else ():
        call_ids.update(str(ids).split(";"))
    calls_build = calls[calls["call_id"].isin(call_ids)] if len(calls) else calls
    gap_ids = set(todo(gaps, "gap_id")["gap_id"]) if len(gaps) else set()
    if len(calls_build):
        gap_ids.update(calls_build["gap_id"])
    gaps_build = gaps[gaps["gap_id"].isin(gap_ids)] if len(gaps) else gaps
    visits = events["visits"]
    if len(trips_todo) and len(visits):
        firsts = {str(c).split(";")[0] for c in trips_todo["call_ids"]}
        visits = visits[visits["visit_id"].isin(firsts)]
    else:
        visits = visits.iloc[:0]
    fresh = build_alerts(visits, trips_todo, calls_build, gaps_build,
                         todo(jumps, "jump_id"), ports_of_interest=poi, names=names, imos=imos)
    # encounters whose alerts are built, and those a loitering built overlaps
    enc_todo = todo(encounters, "encounter_id")
    lo_todo = todo(loitering, "loiter_id")
    if lo_todo is not None and len(lo_todo) and len(encounters):
        t0 = pd.Series(ns(lo_todo["start_utc"]), index=lo_todo["mmsi"].to_numpy(np.int64)
                       ).groupby(level=0).min()
        e_end = ns(encounters["end_utc"])
        since = np.minimum(_first_of(t0, encounters["mmsi_1"]),
                           _first_of(t0, encounters["mmsi_2"]))
        # in the table's order: a loitering's summary lists its encounters in it
        enc_build = encounters[(e_end >= since) | encounters["encounter_id"].isin(
            set(enc_todo["encounter_id"]))].reset_index(drop=True)
    else:
        enc_build = enc_todo
    windows = []
    if enc_build is not None and len(enc_build):
        for col in ("mmsi_1", "mmsi_2"):
            windows.append((enc_build[col], enc_build["start_utc"], enc_build["end_utc"]))
    if lo_todo is not None and len(lo_todo):
        windows.append((lo_todo["mmsi"], lo_todo["start_utc"], lo_todo["end_utc"]))
    behaviour_fresh = build_behaviour_alerts(
        enc_build, lo_todo, None, None, _gaps_near(gaps, windows), names=names, imos=imos)
    stop_alerts = build_behaviour_alerts(
        None, None, stops, stays,
        _gaps_near(gaps, [(stays["mmsi"], stays["start_utc"], stays["end_utc"])]
                   if stays is not None and len(stays) else []),
        names=names, imos=imos)
    table = list(_alert_table_columns())
    old = reused[table].astype({"imo": object}) if len(reused) else None
    old_basic = None if old is None else old[~old["kind"].isin(("encounter",
                                                                "loitering"))]
    old_behaviour = None if old is None else old[old["kind"].isin(("encounter",
                                                                   "loitering"))]
    alerts = concat_alerts(fresh, id_alerts, old_basic)
    behaviour = concat_alerts(behaviour_fresh, stop_alerts, old_behaviour)
    settled = _settled_table(
        concat_alerts(fresh, behaviour_fresh), reused, enc_build, names=names, imos=imos,
        poi_key=poi_key)
    return trips, alerts, behaviour, settled


def _alert_table_columns():
    from detectors.columns import ALERT_TABLE

    return ALERT_TABLE


def _empty_settled() -> pd.DataFrame:
    from detectors.alerts import alert_frame

    out = alert_frame([])
    for c in SETTLED_EXTRA:
        out[c] = pd.Series([], dtype=np.int64 if c in ("_v1", "_v2", "_until") else object)
    return out


def _reusable(cache, first: pd.Series, names: dict, imos: dict, poi_key: str,
              gaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """The rows of ``cache`` this run reuses (see :func:`_alerts`). Only the scores of
    dark periods, possible calls and round trips read the ports of interest: when those
    changed, a dark period's alert is still reused if its proximity to them is the same
    (``gaps``: this run's dark periods), the others are built again."""
    if cache is None or not len(cache):
        return _empty_settled()
    until = cache["_until"].to_numpy(dtype=np.int64)
    v2 = cache["_v2"].to_numpy(dtype=np.int64)
    ok = until < _first_of(first, cache["_v1"])
    ok &= (v2 < 0) | (until < first.reindex(v2, fill_value=_INF).to_numpy(dtype=np.int64))
    moved = ok & (cache["_poi"] != poi_key).to_numpy() & cache["kind"].isin(
        ("dark_period", "possible_port_call", "round_trip")).to_numpy()
    if moved.any():
        ok &= ~moved
        dark = np.flatnonzero(moved & (cache["kind"] == "dark_period").to_numpy())
        if len(dark) and gaps is not None and len(gaps):
            by_id = gaps.drop_duplicates("gap_id").set_index("gap_id")
            ids = cache["_event"].iloc[dark]
            found = ids.isin(by_id.index).to_numpy()
            dark, ids = dark[found], ids[found]
            rows = by_id.loc[ids.to_numpy()].reset_index(drop=True)
            then = cache["_poi"].iloc[dark].to_numpy()
            same = np.zeros(len(rows), dtype=bool)
            for key in set(then):
                sel = then == key
                same[sel] = (_proximity(rows[sel].reset_index(drop=True), key)
                             == _proximity(rows[sel].reset_index(drop=True), poi_key))
            ok[dark[same]] = True
    rows = cache[ok].reset_index(drop=True)
    same = _same_names(rows, names, imos)
    out = rows[same].reset_index(drop=True)
    # what they read of the ports of interest is this run's too
    out["_poi"] = pd.Series([poi_key] * len(out), index=out.index, dtype=object)
    return out


def _proximity(gaps: pd.DataFrame, poi_key: str) -> np.ndarray:
    """Each dark period's proximity to the ports of interest ``poi_key`` (``|``-joined),
    as :func:`detectors.alerts._gap_proximity` gives it: 1 when it starts or ends in
    one, 0.5 when it could have called at one, else 0."""
    poi = {p for p in poi_key.split("|") if p}
    if not poi or not len(gaps):
        return np.zeros(len(gaps))
    ends = np.zeros(len(gaps), dtype=bool)
    for col in ("start_port", "end_port"):
        if col in gaps.columns:
            ends |= gaps[col].map(lambda v: isinstance(v, str) and v in poi).to_numpy(bool)
    calls = np.zeros(len(gaps), dtype=bool)
    if "possible_port_calls" in gaps.columns:
        calls = gaps["possible_port_calls"].map(
            lambda v: isinstance(v, str) and any(p.strip() in poi for p in v.split(";"))
        ).to_numpy(bool)
    return np.where(ends, 1.0, np.where(calls, 0.5, 0.0))


def _same_names(rows: pd.DataFrame, names: dict, imos: dict) -> np.ndarray:
    """Whether each settled alert of ``rows`` was built with this run's names and IMOs of
    its vessels (``_names``): per vessel once, per row only for a loitering that names
    the ships it met."""
    if not len(rows):
        return np.zeros(0, dtype=bool)
    v1 = rows["_v1"].to_numpy(dtype=np.int64)
    v2 = rows["_v2"].to_numpy(dtype=np.int64)
    vessels = np.unique(np.concatenate([v1, v2[v2 >= 0]]))
    key = {int(m): _names_key([m], names, imos) for m in vessels}
    k1 = pd.Series(v1).map(key)
    k2 = pd.Series(v2).map(key).fillna("")
    both = (v2 >= 0) & (v2 != v1)
    want = (k1 + pd.Series(np.where(both, "\x1f", ""), dtype=object) + k2.where(both, "")
            ).to_numpy(dtype=object)
    stored = rows["_names"].to_numpy(dtype=object)
    same = want == stored
    others = rows["_names"].str.contains("\x1d", regex=False).to_numpy(dtype=bool)
    for i in np.flatnonzero(others):
        same[i] = _names_key(_deps(v1[i], v2[i], _dep_list(stored[i])), names,
                             imos) + "\x1d" + stored[i].rsplit("\x1d", 1)[1] == stored[i]
    return same


def _deps(v1, v2, others) -> list:
    out = [int(v1)] + ([int(v2)] if int(v2) >= 0 else [])
    return out + [m for m in others if m not in out]


def _dep_list(key: str) -> list:
    """The other vessels a loitering alert names (kept after a ``\\x1d`` in ``_names``)."""
    if "\x1d" not in key:
        return []
    return [int(m) for m in key.rsplit("\x1d", 1)[1].split(",") if m]


def _settled_table(fresh, reused, encounters, *, names, imos, poi_key) -> pd.DataFrame:
    """The alerts of ``SETTLED_KINDS`` the next run may reuse: this run's fresh ones with
    what they rest on, and the reused ones as they were."""
    from detectors.columns import ALERT_TABLE

    rows = fresh[fresh["kind"].isin(SETTLED_KINDS)].reset_index(drop=True) \
        if len(fresh) else fresh
    if not len(rows):
        return reused.reset_index(drop=True) if len(reused) else _empty_settled()
    if len(reused):
        rows = rows[~rows["alert_id"].isin(set(reused["alert_id"]))].reset_index(drop=True)
    kind = rows["kind"].to_numpy()
    event = rows["evidence"].astype(str).str.split(";").str[0]
    start, end = ns(rows["start_utc"]), ns(rows["end_utc"])
    v1 = rows["mmsi"].to_numpy(dtype=np.int64)
    v2 = np.full(len(rows), -1, dtype=np.int64)
    behaviour = np.isin(kind, ("encounter", "loitering"))
    with np.errstate(over="ignore"):
        until = np.where(behaviour, np.where(end == _INF, _INF, end + _near_ns()), start)
    until = np.where((kind == "dark_period") & (end == _INF), _INF, until)
    # a round trip or possible call: everything it rests on starts by its end (a trip's
    # last call, a possible call's dark period); reused while it is still found
    until = np.where(np.isin(kind, _DERIVED_KINDS), end, until)
    pairs = {}
    if encounters is not None and len(encounters):
        pairs = dict(zip(encounters["encounter_id"],
                         zip(encounters["mmsi_1"].astype(np.int64),
                             encounters["mmsi_2"].astype(np.int64))))
    keys = []
    for i, (k, ev, m, evidence) in enumerate(zip(kind, event, v1, rows["evidence"])):
        others = []
        if k == "encounter":
            a, b = pairs.get(ev, (m, -1))
            v2[i] = b if a == m else a
        elif k == "loitering":
            for part in str(evidence).split(";")[1:]:
                if part in pairs:
                    a, b = pairs[part]
                    others.append(int(b if a == m else a))
        key = _names_key(_deps(m, v2[i], others), names, imos)
        keys.append(key + ("\x1d" + ",".join(map(str, others)) if others else ""))
    out = rows[list(ALERT_TABLE)].copy()
    out["_event"] = pd.Series(list(event), index=out.index, dtype=object)
    out["_v1"], out["_v2"], out["_until"] = v1, v2, until.astype(np.int64)
    out["_names"] = pd.Series(keys, dtype=object)
    out["_poi"] = pd.Series([poi_key] * len(out), index=out.index, dtype=object)
    if len(reused):
        out = pd.concat([reused[list(out.columns)], out], ignore_index=True)
    return out.sort_values(["mmsi", "start_utc", "kind", "alert_id"],
                           kind="mergesort").reset_index(drop=True)


def _gaps_near(gaps: pd.DataFrame, windows: list) -> pd.DataFrame:
    """The dark periods of ``gaps`` that meet one of ``windows`` ((mmsi, start, end)
    columns; an open end is its start) widened by ``DARK_NEAR_HOURS`` on each side, with
    the vessel's: all :class:`detectors.behaviour_alerts._Dark` can find for them."""
    if gaps is None or not len(gaps) or not windows:
        return gaps.iloc[:0] if gaps is not None else gaps
    m = np.concatenate([np.asarray(w[0], dtype=np.int64) for w in windows])
    a = np.concatenate([ns(w[1]) for w in windows])
    b = np.concatenate([ns(w[2]) for w in windows])
    b = np.where(b == _INF, a, b)
    near = _near_ns()
    win = pd.DataFrame({"mmsi": m, "lo": a - near, "hi": b + near}).sort_values(
        ["mmsi", "lo"], kind="mergesort")
    # per vessel, the latest window end among the windows starting at or before each
    win["reach"] = win.groupby("mmsi")["hi"].cummax()
    g0 = ns(gaps["start_utc"])
    g1 = np.where(ns(gaps["end_utc"]) == _INF, _INF, ns(gaps["end_utc"]))
    left = pd.DataFrame({"mmsi": gaps["mmsi"].to_numpy(dtype=np.int64), "t1": g1, "t0": g0,
                         "row": np.arange(len(gaps))}).sort_values("t1", kind="mergesort")
    hit = pd.merge_asof(left, win.sort_values("lo", kind="mergesort")[["mmsi", "lo", "reach"]],
                        left_on="t1", right_on="lo", by="mmsi", direction="backward")
    keep = hit["reach"].notna().to_numpy() & (hit["reach"].fillna(-1).to_numpy() >= hit["t0"].to_numpy())
    rows = np.sort(hit["row"].to_numpy()[keep])
    return gaps.iloc[rows].reset_index(drop=True)
