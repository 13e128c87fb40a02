"""Claim by claim: what the AIS shows, as a verdict with its evidence.

Counting (DESIGN.md, "In a claim's window"): a leg counts when its departure from the
origin lies in [start 00:00Z, end 24:00Z], both ends included (for a possible call at the
origin, the dark period's start); a round trip counts when its first leg does. A port
call counts when the stay overlaps the window (an observed visit from arrival to
departure; a possible call for the whole dark period), because a call is a stay, not a
departure. A dark period counts when it starts in the window. Counts add up over the
claim's vessels (the union of their MMSIs, so a ship named twice is counted once).

Observed events are observed visits, legs and round trips; inferred ones involve a
possible port call during a dark period (inferred only for the pairs of interest, which
include every claim's two ports). A ``port_calls`` claim counts as possible calls at its
port every dark period of the vessel in which the port was reachable.

Verdicts (DESIGN.md, "Claims file"), with ``n = at_least``:

- ``supported``: observed >= n;
- ``consistent_with_dark_activity``: observed < n <= observed + inferred;
- ``contradicted``: observed + inferred < n and every named vessel was received throughout
  the window with no dark period (see :mod:`shadowfleet.claims.vessels`);
- ``not_observed``: otherwise. A claim naming no vessel is never ``contradicted``.

- ``untestable``: a claim AIS cannot test (kind ``untestable``, with its reason); nothing
  is counted for it, and claims.csv leaves its counts empty.

Identity (DESIGN.md, "Claims file"; issue 17): a vessel named by IMO is evaluated over every
MMSI that held that IMO in the window, and the identity anomalies of the claim's MMSIs
that overlap the window (``identity.csv``) are listed in the claim's evidence (after the
events counted, which they do not add to) and caveats; those that put an identity in
doubt keep a named vessel from counting as covered
(:mod:`shadowfleet.claims.vessels`).

Claims are evaluated with the run's own thresholds and port registry (DESIGN.md): both
are required arguments, so no caller can fall back to defaults by forgetting them.
:meth:`ClaimParams.of` takes the thresholds from the run's settings (coverage uses the
run's ``gap_hours``), and ``near`` a port measures to the run's polygon of that port.
Caveats (:mod:`shadowfleet.claims.caveats`) are computed from the data and the registry.
"""

from __future__ import annotations

from pathlib import Path

import dataclasses
import math
from typing import Iterable, Mapping, Sequence

import pandas as pd

from ais.errors import ConfigError
from shadowfleet.claims.loader import check_ports
from shadowfleet.claims.model import Claim, normalise_name
from shadowfleet.outputs.columns import CLAIM_COLUMNS
from shadowfleet.claims.vessels import (Coverage, IdentityConflict, VesselMatch, coverage,
                                        identity_in_window, resolve_vessels, statics_view)

EXTRA_COLUMNS = ("kind", "statement", "published", "url", "window_start_utc", "window_end_utc",
                 "vessels", "identity_conflicts", "coverage", "caveats", "summary", "file")
VERDICTS = ("supported", "consistent_with_dark_activity", "not_observed", "contradicted",
            "untestable")
# what coverage and the spoofing caveat read of the claimed vessels' positions
CLAIM_POSITION_COLUMNS = ("mmsi", "timestamp", "spoofed")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ClaimParams:
    """The run's thresholds that claim evaluation uses; they belong to the dark-period
    detector and are not set on their own: build them with :meth:`of` from the run's
    settings, so the claims and the detectors read the same values.

    ``gap_hours``: a silence longer than this (strictly) is a dark period [6, DESIGN.md,
    after Global Fishing Watch's 6 h gap events]; it decides whether a named vessel was
    received throughout a window. ``reception_radius_nm``: how near another vessel must
    have been received for a silence to count as heard-around [20]; the reception caveats
    quote it.
    """

    gap_hours: float = 6.0
    reception_radius_nm: float = 20.0
    identity_min_reports: int = 2

    def __post_init__(self):
        for name in ("gap_hours", "reception_radius_nm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool)
                    and math.isfinite(value) and value > 0):
                raise ConfigError(None, f"claims {name} {value!r} must be a number > 0",
                                  f"set {name} to a positive number")
        n = self.identity_min_reports
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(None, f"claims identity_min_reports {n!r} must be a whole "
                              "number >= 1", "set identity_min_reports to a count of reports")

    @classmethod
    def of(cls, settings) -> "ClaimParams":
        """The claims' thresholds of a run (``shadowfleet.config.Settings``): the dark-period
        detector's ``gap_hours`` and ``reception_radius_nm``, and the identity detector's
        ``identity_min_reports`` (which static reports of an IMO count, to follow a ship
        through its MMSIs)."""
        gaps = settings.gaps
        return cls(gap_hours=float(gaps.gap_hours),
                   reception_radius_nm=float(gaps.reception_radius_nm),
                   identity_min_reports=int(settings.identity.identity_min_reports))


@dataclasses.dataclass(frozen=True)
class ClaimResult:
    """One claim's verdict and everything that produced it."""

    claim: Claim
    observed: int | None              # None for an untestable claim
    inferred: int | None
    verdict: str
    sentence: str
    evidence: pd.DataFrame            # EVIDENCE_COLUMNS, one row per counted event
    evidence_ids: tuple[str, ...]     # ids a reader finds in the output files
    matches: tuple[VesselMatch, ...]
    conflicts: tuple[IdentityConflict, ...]
    coverages: tuple[Coverage, ...]
    caveats: tuple[str, ...]
    identity: pd.DataFrame | None = None   # identity.csv rows of its MMSIs in the window


@dataclasses.dataclass(frozen=True)
class ClaimsEvaluation:
    """Every claim's result; ``table`` is claims.csv (contract columns first);
    ``evidence_claims`` maps every evidence id (trip, leg, visit, possible call, gap) to
    the ids of the claims it counted for, so alerts can fill ``claim_ids``."""

    results: tuple[ClaimResult, ...]
    table: pd.DataFrame
    evidence: pd.DataFrame
    evidence_claims: Mapping[str, tuple[str, ...]]

    @property
    def verdicts(self) -> dict[str, str]:
        return {r.claim.id: r.verdict for r in self.results}


def decide(observed: int, inferred: int, at_least: int, *, named: bool,
           all_covered: bool) -> str:
    """The verdict of DESIGN.md from the counts and the coverage of the named vessels."""
    if observed >= at_least:
        return "supported"
    if observed + inferred >= at_least:
        return "consistent_with_dark_activity"
    if named and all_covered:
        return "contradicted"
    return "not_observed"


def evaluate_claims(claims: Sequence[Claim], *, registry, params: ClaimParams,
                    visits: pd.DataFrame | None = None,
                    legs: pd.DataFrame | None = None, round_trips: pd.DataFrame | None = None,
                    possible_calls: pd.DataFrame | None = None,
                    dark_periods: pd.DataFrame | None = None,
                    positions: pd.DataFrame | None = None,
                    statics: pd.DataFrame | None = None,
                    encounters: pd.DataFrame | None = None,
                    loitering: pd.DataFrame | None = None,
                    identity: pd.DataFrame | None = None,
                    partitions=None) -> ClaimsEvaluation:
    """Evaluate every claim against the event tables of one run (see module doc).

    ``registry``: the run's port registry; the claims' ports must be in it (a ClaimsError
    naming the file and claim otherwise), ``near`` and the reception caveats measure to
    its polygons. ``params``: the run's thresholds (``ClaimParams.of(settings)``).
    ``identity``: the run's identity table (found from ``statics`` and ``positions``
    when not given).
    ``partitions``: where the positions are when they were not gathered into ``positions``
    (a Dask run's ``shadowfleet.scale.writer.PartitionWriter``): read from it are each
    vessel's last receive time (the IMO spells), the claimed vessels' positions (coverage,
    spoofed fixes in the window) and, one partition at a time, the positions a reception
    caveat searches; ``identity`` must then be given.
    """
    from detectors.identity import IdentityParams, find_identity_anomalies, imo_spells
    from shadowfleet.claims import counting
    from shadowfleet.claims.caveats import PartitionedReception, ReceptionIndex, caveats

    if registry is None:
        raise TypeError("evaluate_claims needs the run's port registry")
    canonical = check_ports(claims, registry)
    tables = counting.Tables.build(visits=visits, legs=legs, round_trips=round_trips,
                                   possible_calls=possible_calls, dark_periods=dark_periods,
                                   registry=registry, encounters=encounters,
                                   loitering=loitering)
    view = statics_view(statics)
    id_params = IdentityParams(identity_min_reports=params.identity_min_reports)
    if partitions is not None and identity is None:
        raise TypeError("evaluate_claims with partitions needs the run's identity table")
    spells = imo_spells(statics, id_params,
                        positions=positions if partitions is None else partitions.last_seen())
    if identity is None:
        identity = find_identity_anomalies(positions, statics, id_params)
    index: list = []

    def index_of():
        if not index:
            index.append(ReceptionIndex(positions) if partitions is None else
                         PartitionedReception(partitions.each_partition,
                                              size=getattr(partitions, "reception_size", None)))
        return index[0]

    results = []
    for claim in claims:
        if not claim.testable:
            results.append(_untestable(claim))
            continue
        matches, conflicts = resolve_vessels(claim, statics, view=view, spells=spells,
                                             identity=identity)
        mmsis = None if claim.vessels.any else {m for v in matches for m in v.mmsis}
        with_mmsis = None
        if len(claim.with_vessels):
            # the other vessel of each meeting: resolved like the claim's own, its
            # coverage part of the verdict (a meeting needs both ships heard)
            others, other_conflicts = resolve_vessels(
                dataclasses.replace(claim, vessels=claim.with_vessels), statics, view=view,
                spells=spells, identity=identity)
            with_mmsis = {m for v in others for m in v.mmsis}
            matches = list(matches) + [dataclasses.replace(v, given=f"with {v.given}")
                                       for v in others]
            conflicts = list(conflicts) + [c for c in other_conflicts if c not in conflicts]
        evidence = counting.count(_as_registry_names(claim, canonical), tables, mmsis,
                                  with_mmsis)
        if partitions is not None:      # the claimed vessels' positions the claim consults
            positions = partitions.positions_of({m for v in matches for m in v.mmsis},
                                                CLAIM_POSITION_COLUMNS,
                                                window=(claim.window.start_utc,
                                                        claim.window.end_utc))
        observed = int((evidence["status"] == "observed").sum()) if len(evidence) else 0
        inferred = int((evidence["status"] == "inferred").sum()) if len(evidence) else 0
        coverages = tuple(coverage(m, claim.window, positions=positions,
                                   dark_periods=dark_periods, gap_hours=params.gap_hours,
                                   conflicts=conflicts) for m in matches)
        named = not claim.vessels.any
        verdict = decide(observed, inferred, claim.at_least, named=named,
                         all_covered=bool(coverages) and all(c.throughout for c in coverages))
        # identity notes of the named vessels' MMSIs, or of those whose events counted
        about = mmsis if mmsis is not None else set(evidence["mmsi"].astype(int)) \
            if len(evidence) else set()
        notes = identity_in_window(identity, about, claim.window)
        ids = _reader_ids(evidence) + tuple(notes["identity_id"].astype(str))
        texts = caveats(claim, verdict, evidence, matches, conflicts, positions,
                        gaps_by_id=tables.gaps_by_id, index_of=index_of, registry=registry,
                        reception_radius_nm=params.reception_radius_nm, identity=notes)
        results.append(ClaimResult(
            claim=claim, observed=observed, inferred=inferred, verdict=verdict,
            sentence=sentence(claim, verdict, observed, inferred, coverages),
            evidence=evidence, evidence_ids=ids, matches=tuple(matches),
            conflicts=tuple(conflicts), coverages=coverages, caveats=tuple(texts),
            identity=notes))
    return ClaimsEvaluation(results=tuple(results), table=_table(results),
                            evidence=_all_evidence(results),
                            evidence_claims=_evidence_claims(results))


def _untestable(claim: Claim) -> ClaimResult:
    """An untestable claim on record: nothing counted, its reason as the sentence."""
    from shadowfleet.claims.counting import empty_evidence

    return ClaimResult(claim=claim, observed=None, inferred=None, verdict="untestable",
                       sentence=f"Untestable with AIS: {claim.reason}", evidence=empty_evidence(),
                       evidence_ids=(), matches=(), conflicts=(), coverages=(), caveats=())


def _as_registry_names(claim: Claim, canonical: Mapping[str, tuple[str, ...]]) -> Claim:
    """The claim with its ports spelt as the registry (and so the event tables) spell them."""
    names = canonical.get(claim.id)
    if not names:
        return claim
    ports, near = names[:len(claim.ports)], names[len(claim.ports):]
    return dataclasses.replace(claim, ports=tuple(ports), near=near[0] if near else claim.near)


def _reader_ids(evidence: pd.DataFrame) -> tuple[str, ...]:
    """The ids claims.csv lists, in time order: those a reader finds in the output files.
    A round trip is its trip id (and the dark period of an inferred call); a leg, which
    has no file of its own, is its two visits (or dark periods); a call its visit or dark
    period; a dark period its gap id."""
    out: list[str] = []
    if not len(evidence):
        return ()
    for what, ids in zip(evidence["what"], evidence["ids"]):
        keep = {"round trip": ("T-", "G-"), "encounter": ("E-",),
                "loitering": ("LO",)}.get(what, ("V-", "G-"))
        for i in ids.split(";"):
            if i and i[:2] in keep and i not in out:
                out.append(i)
    return tuple(out)


def _things(claim: Claim, n: int) -> str:
    s = "" if n == 1 else "s"
    if claim.kind == "round_trips":
        return f"round trip{s} {claim.ports[0]} <-> {claim.ports[1]}"
    if claim.kind == "legs":
        return f"leg{s} {claim.ports[0]} -> {claim.ports[1]}"
    if claim.kind == "port_calls":
        return f"call{s} at {claim.ports[0]}"
    if claim.kind == "encounters":
        other = f" with {claim.describe_with()}" if len(claim.with_vessels) else ""
        return f"encounter{s} at sea{other}"
    if claim.kind == "loitering":
        where = (f" within {claim.radius_nm:g} nm of {claim.near}" if claim.near else "")
        return f"loitering event{s}{where}"
    return f"dark period{s}"


def sentence(claim: Claim, verdict: str, observed: int, inferred: int,
             coverages: Iterable[Coverage]) -> str:
    """The verdict in one sentence."""
    n = claim.at_least
    window = f"between {claim.window.start.isoformat()} and {claim.window.end.isoformat()}"
    if verdict == "supported":
        more = f" (and {inferred} more inferred)" if inferred else ""
        return (f"Supported: the AIS shows {observed} observed {_things(claim, observed)} "
                f"{window}{more}, where the claim says at least {n}.")
    if verdict == "consistent_with_dark_activity":
        return (f"Consistent with dark activity: the AIS shows {observed} observed "
                f"{_things(claim, observed)} {window}, and with {inferred} inferred during dark "
                f"periods the total of {observed + inferred} reaches the claimed {n}.")
    if verdict == "contradicted":
        return (f"Contradicted: the AIS shows {observed + inferred} {_things(claim, 2)} "
                f"{window}, fewer than the claimed {n}, and every named vessel was received "
                f"throughout the window with no dark period.")
    gaps = [c for c in coverages if not c.throughout]
    if claim.vessels.any:
        why = "the claim names no vessel, so AIS cannot rule it out"
    elif any(c.n_positions == 0 for c in gaps):
        why = "a named vessel is absent from the data for the window, which leaves room for them"
    else:
        why = "dark periods or gaps in reception leave room for them"
    return (f"Not observed: the AIS shows {observed} observed and {inferred} inferred "
            f"{_things(claim, 2)} {window}, fewer than the claimed {n}, but {why}.")


def _table(results: list[ClaimResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        c = r.claim
        w = c.window
        rows.append({
            "claim_id": c.id, "source": c.source,
            "window_start": w.start.isoformat() if w else "",
            "window_end": w.end.isoformat() if w else "",
            "ports": ";".join(c.ports or ((c.near,) if c.near else ())),
            "expected": c.at_least, "observed": r.observed, "inferred": r.inferred,
            "verdict": r.verdict, "evidence": ";".join(r.evidence_ids),
            "kind": c.kind, "statement": c.statement, "published": c.published, "url": c.url,
            "window_start_utc": w.start_utc if w else pd.NaT,
            "window_end_utc": w.end_utc if w else pd.NaT,
            "vessels": "; ".join(m.describe() for m in r.matches),
            "identity_conflicts": "; ".join(x.describe() for x in r.conflicts),
            "coverage": "; ".join(x.describe() for x in r.coverages),
            "caveats": " ".join(r.caveats), "summary": r.sentence, "file": _claim_file(c.file),
        })
    if not rows:
        return pd.DataFrame({k: pd.Series([], dtype=object)
                             for k in CLAIM_COLUMNS + EXTRA_COLUMNS})
    table = pd.DataFrame(rows, columns=list(CLAIM_COLUMNS + EXTRA_COLUMNS))
    for col in ("expected", "observed", "inferred"):   # empty for an untestable claim
        values = table[col].astype(object).where(table[col].notna(), None)
        table[col] = pd.array(list(values), dtype="Int64")
    for col in ("window_start_utc", "window_end_utc"):
        table[col] = pd.to_datetime(table[col], utc=True)
    return table


def _all_evidence(results: list[ClaimResult]) -> pd.DataFrame:
    frames = [r.evidence for r in results if len(r.evidence)]
    if not frames:
        from shadowfleet.claims.counting import empty_evidence

        return empty_evidence()
    return pd.concat(frames, ignore_index=True)


def _evidence_claims(results: list[ClaimResult]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for r in results:
        if r.identity is not None:
            for i in r.identity["identity_id"].astype(str):
                if r.claim.id not in out.setdefault(i, []):
                    out[i].append(r.claim.id)
        if not len(r.evidence):
            continue
        for eid, ids in zip(r.evidence["evidence_id"], r.evidence["ids"]):
            for i in [eid] + ids.split(";"):
                if i and r.claim.id not in out.setdefault(i, []):
                    out[i].append(r.claim.id)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def port_key(name: object) -> str:
    """Port names compare case-, space- and punctuation-insensitively."""
    return normalise_name(name)


def _claim_file(path: str) -> str:
    """The claims file as given; ``bundled:NAME`` for a file shipped with shadowfleet (no
    machine path in the outputs)."""
    if not path:
        return ""
    from shadowfleet.claims.loader import bundled_claim_files

    bundled = {p.resolve() for p in bundled_claim_files()}
    p = Path(path)
    return f"bundled:{p.name}" if p.resolve() in bundled else str(path)
