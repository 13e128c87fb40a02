"""Composition of the whole job: decode -> clean -> detect -> claims -> outputs.

``detect`` is what ``shadowfleet detect`` and the notebook API run; ``analyse`` starts
from already decoded frames (scheduled jobs and live watch carry those between runs).

The first step is the identity step (:func:`identify`): the positions of an MMSI that
several ships broadcast at once are split into the tracks of those ships (a ``track``
column, :mod:`detectors.identity_tracks`) before the cleaning and every other detector,
which then work per (mmsi, track); and the identity anomalies are found
(:mod:`detectors.identity`). Everything after reads the vessels' IMOs from that step
(noise-aware: an IMO seen once among others is not the vessel's).
"""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd

import ais
from ais.errors import InputError
from ais.progress import Progress
from shadowfleet import provenance, tuning
from shadowfleet.outputs.columns import CLAIM_COLUMNS, EVENT_FILES
from shadowfleet.outputs.files import atomic_write_text
from shadowfleet.outputs.tables import write_csv, write_parquet


# the columns of the positions the detectors read (``usable`` in ``analyse``): the
# vessel, time and place of each row. ``spoofed`` leaves a row out and is then dropped;
# (source, line), the order of rows at one time, is not copied: the cleaned positions
# are in that order already and the detectors' row filters keep it (4.6M usable rows of
# the 5M-message e2e feed: 5 columns, 184 MB, rather than 8, 263 MB)
DETECTOR_COLUMNS = ("mmsi", "track", "timestamp", "lat", "lon")


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


def _empty_encounters() -> pd.DataFrame:
    from detectors.encounters import empty_encounters

    return empty_encounters()


def _empty_loitering() -> pd.DataFrame:
    from detectors.loitering import empty_loitering

    return empty_loitering()


def _empty_stops() -> pd.DataFrame:
    from detectors.stops import empty_stops

    return empty_stops()


def _empty_stays() -> pd.DataFrame:
    from detectors.stops import empty_stays

    return empty_stays()


def _empty_vessels() -> pd.DataFrame:
    from detectors.ranking import empty_vessels

    return empty_vessels()


@dataclasses.dataclass
class Result:
    """Everything one run found, as DataFrames with the contract columns first."""

    positions: pd.DataFrame
    statics: pd.DataFrame
    rejects: pd.DataFrame
    port_visits: pd.DataFrame
    round_trips: pd.DataFrame
    dark_periods: pd.DataFrame
    alerts: pd.DataFrame
    claims: pd.DataFrame
    legs: pd.DataFrame
    possible_calls: pd.DataFrame
    jumps: pd.DataFrame
    summary: dict
    identity: pd.DataFrame = dataclasses.field(default_factory=lambda: _empty_identity())
    tracks: pd.DataFrame = dataclasses.field(default_factory=lambda: _empty_tracks())
    claim_objects: tuple = ()
    claims_evaluation: Any = None
    registry: Any = None
    settings: Any = None
    simulated_note: str | None = None     # set when the data are (partly) simulated
    # the behaviour detectors (DESIGN.md, "Behaviour and identity detectors"): encounters,
    # loitering, unlisted stops and the stays behind them, the ranking of vessels
    encounters: pd.DataFrame = dataclasses.field(default_factory=_empty_encounters)
    loitering: pd.DataFrame = dataclasses.field(default_factory=_empty_loitering)
    stops: pd.DataFrame = dataclasses.field(default_factory=_empty_stops)
    stays: pd.DataFrame = dataclasses.field(default_factory=_empty_stays)
    vessels: pd.DataFrame = dataclasses.field(default_factory=_empty_vessels)
    # the Dask engine (shadowfleet.scale): the number of vessels, and what writes
    # positions.parquet and statics.parquet from its partitions, when ``positions`` and
    # ``statics`` were not gathered into this process (None: from the frames)
    n_vessels: int | None = None
    decoded_writer: Any = None

    @property
    def data(self) -> str:
        """``simulated`` or ``real``: the value of the ``data`` column of claims.csv and
        alerts.csv (DESIGN.md, "Simulated data says so"; see shadowfleet.provenance)."""
        return provenance.data_value(self.simulated_note)

    def counts(self) -> dict[str, Any]:
        trips = self.round_trips
        status = trips["status"] if len(trips) else pd.Series([], dtype=object)
        alerts_by_kind = (self.alerts["kind"].value_counts().sort_index().to_dict()
                          if len(self.alerts) else {})
        identity_by_kind = (self.identity["kind"].value_counts().sort_index().to_dict()
                            if len(self.identity) else {})
        return {
            "vessels": (self.n_vessels if self.n_vessels is not None else
                        int(self.positions["mmsi"].nunique()) if len(self.positions) else 0),
            "port_visits": int(len(self.port_visits)),
            "round_trips_observed": int((status == "observed").sum()),
            "round_trips_inferred": int((status == "inferred").sum()),
            "legs": int(len(self.legs)),
            "dark_periods": int(len(self.dark_periods)),
            "possible_port_calls": int(len(self.possible_calls)),
            "spoofing_jumps": int(len(self.jumps)),
            "encounters": int(len(self.encounters)),
            "loitering": int(len(self.loitering)),
            "unlisted_stops": int(len(self.stops)),
            "stays": int(len(self.stays)),
            "vessels_ranked": int(len(self.vessels)),
            "identity_anomalies": int(len(self.identity)),
            "shared_mmsis": int(self.tracks["mmsi"].nunique()) if len(self.tracks) else 0,
            "alerts": int(len(self.alerts)),
            "alerts_by_kind": {str(k): int(v) for k, v in alerts_by_kind.items()},
            "identity_by_kind": {str(k): int(v) for k, v in identity_by_kind.items()},
            "claims": int(len(self.claims)),
        }

    def write(self, out_dir: str | Path, *, figures: bool = True,
              map_vessels: int | None = None, progress: Progress | None = None,
              decoded: bool = True) -> Path:
        """Write every contract file (and claims.md, map.html, timeline.png) to ``out_dir``;
        the map shows at most ``map_vessels`` vessels of interest (default 50).
        ``progress`` reports the tables and each figure (``ais.progress``); ``decoded``
        False leaves out positions.parquet and statics.parquet (for a second analysis of
        frames already written elsewhere)."""
        progress = progress if progress is not None else Progress.off()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        progress.step("writing tables")
        pool = pending = None
        if decoded and self.decoded_writer is not None:
            self.decoded_writer(out)
        elif decoded:
            # on a thread while the CSV files and the figures are made: pyarrow encodes and
            # compresses the Parquet pages without holding the GIL (measured on the
            # 5M-message e2e feed: positions.parquet is about 2 s of a run)
            pool = ThreadPoolExecutor(max_workers=1)
            pending = pool.submit(self._write_decoded, out)
        try:
            write_csv(self.rejects, out / "rejects.csv", columns=ais.REJECT_COLUMNS)
            for attr, (filename, columns) in EVENT_FILES.items():
                frame = getattr(self, attr)
                if attr == "claims":
                    frame = provenance.mark_claims(frame, self.data)
                elif attr == "alerts":
                    frame = provenance.with_data_column(frame, self.data)
                write_csv(frame, out / filename, columns=columns)
            if self.claims_evaluation is not None and self.claim_objects:
                from shadowfleet.outputs.claims_report import write_claims_report

                demo = self.summary.get("demo") or {}
                write_claims_report(self.claims_evaluation, out / "claims.md",
                                    simulated=self.simulated_note,
                                    stand_ins=demo.get("stand_ins", ()))
            if figures:
                from shadowfleet.outputs.map import write_map
                from shadowfleet.outputs.timeline import write_timeline

                progress.step("map")
                write_map(self, out / "map.html", **_map_options(map_vessels))
                progress.step("timeline")
                write_timeline(self, out / "timeline.png")
        finally:
            if pool is not None:
                if pending is not None and not pending.done():
                    progress.step("writing positions.parquet")
                pool.shutdown(wait=True)
        if pending is not None:
            pending.result()        # its error, if it failed
        progress.end_step()
        atomic_write_text(out / "summary.json",
                          json.dumps(self.summary, indent=2, sort_keys=False, default=str) + "\n")
        return out

    def _write_decoded(self, out: Path) -> None:
        """positions.parquet (without the cleaning's ``spoofed`` flag) and statics.parquet."""
        write_parquet(self.positions[[c for c in self.positions.columns if c != "spoofed"]],
                      out / "positions.parquet")
        write_parquet(self.statics, out / "statics.parquet")

    def trajectories(self, *, gap_hours: float | None = None):
        """The positions as a movingpandas ``TrajectoryCollection``, one trajectory per
        vessel segment (segments split at dark periods, i.e. gaps over ``gap_hours``)."""
        from shadowfleet.trajectories import to_trajectories

        if gap_hours is None:
            gap_hours = self.settings.gaps.gap_hours if self.settings is not None else 6.0
        return to_trajectories(self.positions, gap_hours=gap_hours,
                               names=vessel_names(self.statics))


def _map_options(map_vessels: int | None) -> dict:
    return {} if map_vessels is None else {"vessels": int(map_vessels)}


def vessel_names(statics: pd.DataFrame) -> dict[int, str]:
    """mmsi -> the name it broadcast most recently (type 5 / 19 / 24), "" unknown."""
    if statics is None or len(statics) == 0:
        return {}
    s = statics[["mmsi", "timestamp", "name"]].copy()
    s = s[s["name"].notna() & (s["name"].astype(str).str.strip() != "")]
    if s.empty:
        return {}
    s = s.sort_values(["mmsi", "timestamp"], kind="mergesort", na_position="first")
    last = s.groupby("mmsi", sort=True)["name"].last()
    return {int(k): str(v) for k, v in last.items()}


def _empty_identity() -> pd.DataFrame:
    from detectors.identity import empty_identity

    return empty_identity()


def _empty_tracks() -> pd.DataFrame:
    from detectors.identity_tracks import empty_tracks

    return empty_tracks()


@dataclasses.dataclass(frozen=True)
class Identity:
    """What the identity step found (:func:`identify`).

    ``positions``: the decoded positions with the ``track`` column (0 for an MMSI nobody
    shares); ``statics``: the decoded statics with the ``track`` of the ship each static
    report is attributed to (:func:`detectors.identity_tracks.label_messages`), for the
    detectors only (``statics.parquet`` keeps what was decoded); ``table``: the identity
    table (``identity.csv``); ``tracks``: one row per (mmsi, track) of the shared MMSIs;
    ``imos``: mmsi -> the IMO it counts as broadcasting (:func:`detectors.identity.vessel_imos`)."""

    positions: pd.DataFrame
    statics: pd.DataFrame
    table: pd.DataFrame
    tracks: pd.DataFrame
    imos: dict


def identify(decoded, settings) -> Identity:
    """The identity step: split shared MMSIs into tracks, label the rows, find the
    identity anomalies (DESIGN.md, "Behaviour and identity detectors", identity part).
    An MMSI nobody shares costs the segmentation kernel's pass over its rows and nothing
    after: its rows are all track 0. The table (``Result.identity``) is also what the
    vessel ranking takes as ``rank_vessels(..., identity=...)``."""
    from detectors.identity import find_identity_anomalies, vessel_imos
    from detectors.identity_tracks import label_messages, split_tracks

    statics = decoded.statics
    imos = vessel_imos(statics, settings.identity) if statics is not None else {}
    # the command's process gives back the heap's holes (``tuning.trim_heap``) once the
    # positions frame is built from the read's columns and once the split's arrays go
    positions = decoded.positions
    tuning.trim_heap()
    split = split_tracks(positions, settings.tracks, imos=imos)
    del positions
    tuning.trim_heap()
    positions = decoded.positions.assign(track=split.track)
    if statics is not None and len(split.tracks):
        statics = statics.assign(track=label_messages(statics, positions))
    table = find_identity_anomalies(positions, statics, settings.identity, shared=split.shared,
                                    imos=imos)
    return Identity(positions=positions, statics=statics, table=table, tracks=split.tracks,
                    imos=imos)


def _resolve_pairs(registry, pairs: Iterable, claims: Sequence) -> list[tuple[str, str]]:
    """Pairs of interest: --pair / config pairs and every claim's two ports, as canonical
    registry names, each unordered pair once, in first-given order."""
    seen: set[frozenset] = set()
    out: list[tuple[str, str]] = []
    candidates = list(pairs) + [tuple(c.ports[:2]) for c in claims if len(c.ports) >= 2]
    for pair in candidates:
        if isinstance(pair, str):
            pair = tuple(p.strip() for p in pair.split(","))
        if len(pair) != 2:
            raise InputError(None, f"pair {pair!r} is not two port names",
                             "give --pair A,B with two port names")
        a, b = (registry.names[registry.index(p)] for p in pair)
        if a == b:
            raise InputError(None, f"pair {pair!r} names the same port twice",
                             "give two different ports")
        key = frozenset((a, b))
        if key not in seen:
            seen.add(key)
            out.append((a, b))
    return out


def analyse(decoded, *, registry, claims: Sequence = (), params=None,
            pairs: Iterable = (), watchlists: Sequence = (),
            data_end: pd.Timestamp | None = None, simulated: str | None = None,
            progress: Progress | None = None) -> Result:
    """Run every detector, the watchlists and the claims over decoded frames.

    Claims are evaluated with ``registry`` and the thresholds of ``params`` (the run's
    own: DESIGN.md, "Claims file"). The outputs are marked simulated when ``simulated``
    (a note) is given or the decoded inputs carry the simulator's note
    (:mod:`shadowfleet.provenance`). ``progress`` reports each group of detectors
    (``ais.progress``)."""
    from detectors._frames import usable_positions
    from detectors.cleaning import clean_positions
    from shadowfleet import warmup
    from detectors.identity_alerts import identity_alerts
    from detectors.dark_periods import find_dark_periods, messages_without_position
    from detectors.port_visits import find_port_visits
    from shadowfleet.config import Settings

    settings = params if params is not None else Settings.defaults()
    names = vessel_names(decoded.statics)
    all_pairs = _resolve_pairs(registry, list(settings.pairs) + list(pairs), claims)

    progress = progress if progress is not None else Progress.off()
    # the first run after an install: the analysis kernels from the second process
    warmup.wait_for(progress)
    progress.step("identity, cleaning and port visits")
    ident = identify(decoded, settings)
    stats, statics, rejects = decoded.stats, decoded.statics, decoded.rejects
    # from here on the decoded positions are reached through ``ident`` only: a caller
    # that keeps no reference to ``decoded`` (``detect``) sees that frame freed once the
    # cleaning has its own (a copy when the shared MMSIs' tracks reorder the rows)
    del decoded
    imos, identity_table, tracks = ident.imos, ident.table, ident.tracks
    own = messages_without_position(ident.positions, ident.statics)
    # the identity step's positions are handed over: reordered a column at a time when
    # the shared MMSIs' tracks move rows, never two whole frames at once
    positions, jumps = clean_positions(ident.positions, settings.cleaning, consume=True)
    del ident
    # the decoded positions' arrays are gone: the command's process gives back the
    # holes they leave in its heap (the read made them there); so after each detector
    tuning.trim_heap()
    # the rows the detectors use (spoofed fixes left out), taken once for all of them
    # rather than by each, and only the columns they read (a copy of 5 columns rather
    # than of all 12 when some rows are spoofed); the end of the data stays the latest
    # time of all positions, spoofed ones too (DESIGN.md, dark periods)
    usable = usable_positions(positions[[c for c in (*DETECTOR_COLUMNS, "spoofed")
                                         if c in positions.columns]])
    usable = usable[[c for c in DETECTOR_COLUMNS if c in usable.columns]]
    if data_end is None:
        data_end = _latest_time(positions)
    visits = find_port_visits(usable, registry, settings.visits, names=names)
    tuning.trim_heap()
    progress.step("dark periods, round trips and alerts")
    gaps = find_dark_periods(usable, registry, settings.gaps, names=names, data_end=data_end,
                             own_messages=own)
    tuning.trim_heap()
    trips, alerts = trips_and_alerts(visits, gaps, jumps,
                                     identity_alerts(identity_table, positions=usable,
                                                     names=names),
                                     registry=registry, settings=settings, pairs=all_pairs,
                                     names=names, imos=imos)
    progress.step("behaviour at sea")
    behaviour = _behaviour(usable, registry, settings, names=names, imos=imos,
                           dark_periods=gaps, port_visits=visits, data_end=data_end,
                           identity=identity_table)
    del usable
    return conclude(stats, positions=positions, statics=statics,
                    rejects=rejects, registry=registry, settings=settings,
                    claims=claims, watchlists=watchlists, pairs=all_pairs, visits=visits,
                    trips=trips, gaps=gaps, jumps=jumps, alerts=alerts, identity=identity_table,
                    tracks=tracks, behaviour=behaviour, simulated=simulated,
                    progress=progress)


def trips_and_alerts(visits, gaps, jumps, identity_alerts, *, registry, settings, pairs, names,
                     imos):
    """Round trips (per vessel, from its visits and dark periods) and the alerts of the
    visits, trips, possible calls, dark periods and jumps, joined to ``identity_alerts``."""
    from detectors.alerts import build_alerts, concat_alerts
    from detectors.round_trips import find_round_trips

    trips = find_round_trips(visits, gaps, registry, pairs, settings.trips, names=names)
    ports_of_interest = sorted({p for pair in pairs for p in pair})
    alerts = concat_alerts(
        build_alerts(visits, trips.round_trips, trips.possible_calls, gaps, jumps,
                     ports_of_interest=ports_of_interest, names=names, imos=imos),
        identity_alerts)
    return trips, alerts


def conclude(stats: dict, *, positions, statics, rejects, registry, settings, claims, watchlists,
             pairs, visits, trips, gaps, jumps, alerts, identity, tracks, behaviour,
             simulated=None, progress=None, n_vessels=None, decoded_writer=None,
             partitions=None) -> Result:
    """The end of every analysis, from the detectors' tables: the behaviour alerts joined
    to ``alerts``, the watchlists, the claims, the ``Result`` and its summary. ``stats``:
    the decoded counts (``Decoded.stats``); ``pairs``: the resolved pairs of interest;
    ``partitions``: where the claims and the watchlists read the positions when
    ``positions`` does not hold them (``shadowfleet.claims.evaluate_claims``,
    ``shadowfleet.watchlist.match_watchlists``)."""
    progress = progress if progress is not None else Progress.off()
    alerts = concat_alerts_of(alerts, behaviour.alerts)

    if watchlists:
        from shadowfleet.watchlist import apply_watchlists

        progress.step("watchlists")
        alerts = apply_watchlists(alerts, watchlists, positions=positions, statics=statics,
                                  partitions=partitions)

    evaluation = None
    claims_table = _empty(CLAIM_COLUMNS)
    if claims:
        from shadowfleet.claims import ClaimParams, evaluate_claims

        progress.step("claims")
        evaluation = evaluate_claims(claims, registry=registry,
                                     params=ClaimParams.of(settings), visits=visits,
                                     legs=trips.legs, round_trips=trips.round_trips,
                                     possible_calls=trips.possible_calls,
                                     dark_periods=gaps, positions=positions,
                                     statics=statics, identity=identity,
                                     encounters=behaviour.encounters,
                                     loitering=behaviour.loitering, partitions=partitions)
        claims_table = evaluation.table
        alerts = _tag_alerts_with_claims(alerts, evaluation)

    note = simulated or provenance.simulated_note(stats)
    data = provenance.data_value(note)
    result = Result(positions=positions, statics=statics, rejects=rejects,
                    port_visits=visits, round_trips=trips.round_trips, dark_periods=gaps,
                    alerts=provenance.with_data_column(alerts, data),
                    claims=provenance.mark_claims(claims_table, data), legs=trips.legs,
                    possible_calls=trips.possible_calls, jumps=jumps, summary={},
                    identity=identity, tracks=tracks,
                    claim_objects=tuple(claims), claims_evaluation=evaluation,
                    registry=registry, settings=settings, simulated_note=note,
                    encounters=behaviour.encounters, loitering=behaviour.loitering,
                    stops=behaviour.stops, stays=behaviour.stays, vessels=behaviour.vessels,
                    n_vessels=n_vessels, decoded_writer=decoded_writer)
    result.summary = _summary(stats, result, pairs)
    progress.end_step()
    return result


def concat_alerts_of(*frames) -> pd.DataFrame:
    from detectors.alerts import concat_alerts

    return concat_alerts(*frames)


def _latest_time(positions: pd.DataFrame) -> "pd.Timestamp | None":
    """The latest receive time of ``positions`` (None when it has none): what the dark
    periods and the ranking take as the end of the data when none is given."""
    if not len(positions):
        return None
    from detectors._frames import utc_ns

    latest = utc_ns(positions["timestamp"]).max()
    return None if pd.isna(latest) else pd.Timestamp(latest)


class Behaviour(NamedTuple):
    """What the behaviour detectors found in one run, and their alerts."""

    encounters: pd.DataFrame
    loitering: pd.DataFrame
    stops: pd.DataFrame
    stays: pd.DataFrame
    vessels: pd.DataFrame
    alerts: pd.DataFrame


def _behaviour(positions: pd.DataFrame, registry, settings, *, names, imos, dark_periods,
               port_visits, data_end=None, identity: pd.DataFrame | None = None) -> Behaviour:
    """Encounters, loitering, unlisted stops (and their stays) over the cleaned positions
    (spoofed fixes left out by each detector), the ranking of every vessel over all the
    run's events (``identity``: the identity anomalies, when the run has them), and the
    alerts of encounters, loitering and unlisted stops (:mod:`detectors.behaviour_alerts`)."""
    from detectors.encounters import find_encounters
    from detectors.loitering import find_loitering
    from detectors.stops import find_unlisted_stops

    encounters = find_encounters(positions, registry, settings.encounters, names=names)
    tuning.trim_heap()
    loitering = find_loitering(positions, registry, settings.loitering, names=names)
    tuning.trim_heap()
    stops, stays = find_unlisted_stops(positions, registry, settings.stops, names=names)
    tuning.trim_heap()
    return behaviour_of(positions, encounters=encounters, loitering=loitering, stops=stops,
                        stays=stays, settings=settings, names=names, imos=imos,
                        dark_periods=dark_periods, port_visits=port_visits, data_end=data_end,
                        identity=identity)


def behaviour_of(positions: pd.DataFrame, *, encounters, loitering, stops, stays, settings,
                 names, imos, dark_periods, port_visits, data_end=None,
                 identity: pd.DataFrame | None = None,
                 alerts: pd.DataFrame | None = None) -> Behaviour:
    """The ranking and the behaviour alerts from the behaviour detectors' tables.
    ``positions``: what the ranking reads of them: which vessels have a usable position
    and the first of each (and the data's end when ``data_end`` is None). ``alerts``:
    the behaviour alerts when the caller built them already (a job reuses its settled
    ones: :mod:`shadowfleet.job_tails`)."""
    from detectors.behaviour_alerts import build_behaviour_alerts
    from detectors.ranking import rank_vessels

    vessels = rank_vessels(positions, dark_periods=dark_periods, port_visits=port_visits,
                           encounters=encounters, loitering=loitering, stays=stays,
                           identity=identity, names=names, imos=imos, params=settings.ranking,
                           data_end=data_end)
    if alerts is None:
        alerts = build_behaviour_alerts(encounters, loitering, stops, stays, dark_periods,
                                        names=names, imos=imos)
    return Behaviour(encounters, loitering, stops, stays, vessels, alerts)


def _tag_alerts_with_claims(alerts: pd.DataFrame, evaluation) -> pd.DataFrame:
    """Fill ``claim_ids`` of every alert whose evidence supports a claim."""
    mapping: Mapping[str, Iterable[str]] = getattr(evaluation, "evidence_claims", {}) or {}
    if not len(alerts) or not mapping:
        return alerts
    alerts = alerts.copy()

    def ids_for(row) -> str:
        found: list[str] = []
        for part in str(row["evidence"] or "").split(";"):
            for cid in mapping.get(part.strip(), ()):
                if cid not in found:
                    found.append(cid)
        for cid in str(row.get("claim_ids") or "").split(";"):
            if cid and cid not in found:
                found.append(cid)
        return ";".join(sorted(found))

    alerts["claim_ids"] = alerts.apply(ids_for, axis=1)
    return alerts


def _ports_file(registry) -> str:
    """The ports file as the user gave it; "bundled" for the registry shipped with ports/."""
    import ports as ports_pkg

    path = Path(str(getattr(registry, "path", "") or ""))
    bundled = Path(ports_pkg.__file__).resolve().parent
    if not str(path) or bundled in path.resolve().parents:
        return f"bundled:{path.name}" if str(path) else "bundled"
    return str(path)


def _summary(stats: dict, result: Result, pairs) -> dict:
    from shadowfleet.outputs.decoded import build_summary

    events = result.counts()
    by_kind = events.pop("alerts_by_kind")
    identity_by_kind = events.pop("identity_by_kind")
    summary = build_summary(stats, events)
    summary["alerts_by_kind"] = by_kind
    summary["identity_by_kind"] = identity_by_kind
    summary["pairs_of_interest"] = [list(p) for p in pairs]
    summary["ports"] = {"file": _ports_file(result.registry),
                        "names": list(result.registry.names)}
    summary["thresholds"] = result.settings.as_dict() if result.settings is not None else {}
    summary["data"] = result.data
    if result.simulated_note:
        summary["simulated"] = result.simulated_note
    if len(result.claims):
        summary["verdicts"] = dict(zip(result.claims["claim_id"].astype(str),
                                       result.claims["verdict"].astype(str)))
    return summary


def detect(inputs, *, ports=None, claims=None, config=None, pairs=(), watchlists=(),
           engine: str = "local", decoder: str = "fast", progress: "bool | Progress" = False,
           simulated: str | None = None, scheduler: str | None = None,
           work: str | Path | None = None, partitions: int | None = None,
           keep_frames: bool = True, figures: bool = True) -> Result:
    """Decode ``inputs`` (paths, directories, '-') and run the whole job.

    ``ports``: a GeoJSON path or a ``PortRegistry`` (default: the bundled registry);
    ``claims``: claim file paths (or loaded ``Claim`` objects); ``config``: a TOML path or
    ``Settings``; ``pairs``: extra pairs of interest ("A,B" or (A, B));
    ``watchlists``: watchlist file paths; ``simulated``: a note marking the outputs
    simulated whatever the inputs say (inputs written by the simulator are recognised
    without it). The claims are evaluated with these ports and this config.
    ``engine``: ``local`` or ``dask`` (:mod:`shadowfleet.scale`; ``scheduler``: a Dask
    scheduler address or local scheduler name, default a ``LocalCluster``; ``work``: the
    directory for its partitions, default a temporary one; ``partitions``: how many;
    ``keep_frames`` False: the result's ``positions`` stay in the partitions (the
    figures, claims and watchlists read only what they need of them) and the files are
    written from them; its ``statics`` too unless figures (``figures``), claims or
    watchlists read them).
    """
    from ports import load_ports
    from shadowfleet.config import Settings, load_config

    progress = Progress.of(progress)
    registry = ports if hasattr(ports, "locate") else load_ports(ports)
    settings = config if isinstance(config, Settings) else load_config(config)
    claim_list = load_claim_list(claims)
    watch = load_watchlist_list(watchlists)
    if engine == "dask":
        from shadowfleet.scale import analyse_dask

        if isinstance(inputs, (str, Path)):
            inputs = [inputs]
        return analyse_dask(list(inputs), registry=registry, settings=settings,
                            claims=claim_list, watchlists=watch, pairs=pairs, decoder=decoder,
                            progress=progress, scheduler=scheduler, work=work,
                            partitions=partitions, simulated=simulated, keep_frames=keep_frames,
                            figures=figures)
    # the decoded frames are handed to ``analyse`` with no reference kept here, so that it
    # can let the decoded positions go once it has the cleaned ones
    return analyse(decode(inputs, engine=engine, decoder=decoder, progress=progress,
                          scheduler=scheduler), registry=registry, claims=claim_list, params=settings,
                   pairs=pairs, watchlists=watch, simulated=simulated, progress=progress)


def decode(inputs, *, engine: str = "local", decoder: str = "fast",
           progress: "bool | Progress" = False, scheduler: str | None = None) -> "ais.Decoded":
    """Decode ``inputs`` as :func:`detect` does (receive times required; inputs written
    by the simulator marked so), for analyses that start from the same decoded frames."""
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    if engine == "dask":
        from shadowfleet.scale import read_inputs_dask

        decoded = read_inputs_dask(list(inputs), decoder=decoder, require_times=True,
                                   progress=progress, scheduler=scheduler)
    elif engine == "local":
        decoded = ais.read_inputs(list(inputs), decoder=decoder, require_times=True,
                                  progress=progress, release=tuning.trim_heap)
    else:
        raise InputError(None, f"unknown engine {engine!r}", "use --engine local or --engine dask")
    decoded.stats["inputs"] = provenance.mark_inputs(decoded.stats.get("inputs", []))
    tuning.end_bulk_read()      # the command's process: the analysis's freed arrays go back
    return decoded


def load_claim_list(claims) -> list:
    if not claims:
        return []
    if isinstance(claims, (str, Path)):
        claims = [claims]
    items = list(claims)
    if all(hasattr(c, "kind") and hasattr(c, "ports") for c in items):
        return items
    from shadowfleet.claims import load_claims

    return load_claims([Path(c) for c in items])


def load_watchlist_list(watchlists) -> list:
    if not watchlists:
        return []
    if isinstance(watchlists, (str, Path)):
        watchlists = [watchlists]
    items = list(watchlists)
    from shadowfleet.watchlist import load_watchlists

    paths = [w for w in items if isinstance(w, (str, Path))]
    loaded = [w for w in items if not isinstance(w, (str, Path))]
    return loaded + (load_watchlists([Path(p) for p in paths]) if paths else [])
